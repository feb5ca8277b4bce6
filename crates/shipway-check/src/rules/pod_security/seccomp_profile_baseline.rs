//! `pod-security/seccompProfile_baseline`: the baseline check that no seccomp profile is
//! set to anything but `RuntimeDefault` or `Localhost`.

use shipway_model::Node;

use super::{Check as Pss, container_name, evaluate, field_at, nearest, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `baseline` level, `spec.securityContext.seccompProfile` and every
    /// container's `securityContext.seccompProfile`, when set, must have `type`
    /// `RuntimeDefault` or `Localhost` (so not `Unconfined`). At `restricted`,
    /// `pod-security/seccompProfile_restricted` checks these fields instead.
    ///
    /// ## Why it matters
    /// `Unconfined` turns off system call filtering, the main guard against kernel
    /// exploits from a container. The API server rejects such pods in a namespace that
    /// enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: RuntimeDefault
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: a program may need a custom `Localhost` profile.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static SECCOMP_PROFILE_BASELINE = {
        code: "pod-security/seccompProfile_baseline",
        summary: "A seccomp profile is `Unconfined` (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(seccomp_profile_baseline),
    };
}

fn seccomp_profile_baseline(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::SeccompProfileBaseline,
        |ctx, pod, policy| {
            let level = policy.level.name();
            let key = ["securityContext", "seccompProfile"];
            let mut targets = vec![(
                "the pod".to_string(),
                format!("{}.securityContext.seccompProfile.type", pod.spec_path),
                field_at(pod.spec, &key),
            )];
            for (list, index, container) in containers(pod.spec) {
                targets.push((
                    format!("container `{}`", container_name(container)),
                    format!(
                        "{}.{list}[{index}].securityContext.seccompProfile.type",
                        pod.spec_path
                    ),
                    field_at(container, &key),
                ));
            }
            for (who, path, profile) in targets {
                let Some(profile) = profile else {
                    continue;
                };
                let kind = text_at(profile, &["type"]);
                if !valid_type(kind) {
                    ctx.report(
                    rule,
                    object,
                    &nearest(object, &path),
                    format!(
                        "{who} must not set `securityContext.seccompProfile.type` to `{kind}`; use `RuntimeDefault` or `Localhost` ({level})"
                    ),
                );
                }
            }
        },
    );
}

/// The seccomp profile types both seccomp checks accept.
pub(super) fn valid_type(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}
