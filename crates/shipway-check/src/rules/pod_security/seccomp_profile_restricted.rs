//! `pod-security/seccompProfile_restricted`: the restricted check that every container
//! runs with a `RuntimeDefault` or `Localhost` seccomp profile, set at the pod or the
//! container level.

use shipway_model::Node;

use super::seccomp_profile_baseline::valid_type;
use super::{Check as Pss, container_name, evaluate, field_at, is_windows, nearest, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `restricted` level, `spec.securityContext.seccompProfile.type` must be
    /// `RuntimeDefault` or `Localhost`, or every container, init container and ephemeral
    /// container must set `securityContext.seccompProfile.type` to one of them; no profile
    /// at either level may have another type. It replaces
    /// `pod-security/seccompProfile_baseline` at this level. From policy v1.25, Windows
    /// pods (`spec.os.name: windows`) are exempt.
    ///
    /// ## Why it matters
    /// Without a profile the container runs without system call filtering unless the node
    /// defaults to one. The API server rejects such pods in a namespace that enforces
    /// `restricted`.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     seccompProfile:
    ///       type: RuntimeDefault
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix, although `RuntimeDefault` rarely breaks a program.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static SECCOMP_PROFILE_RESTRICTED = {
        code: "pod-security/seccompProfile_restricted",
        summary: "A container has no `RuntimeDefault` or `Localhost` seccomp profile (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(seccomp_profile_restricted),
    };
}

fn seccomp_profile_restricted(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::SeccompProfileRestricted,
        |ctx, pod, policy| {
            if is_windows(pod.spec) {
                return;
            }
            let level = policy.level.name();
            let key = ["securityContext", "seccompProfile"];
            let allowed = "`RuntimeDefault` or `Localhost`";
            let pod_profile = field_at(pod.spec, &key);
            let pod_valid = pod_profile.is_some_and(|p| valid_type(text_at(p, &["type"])));
            if let Some(profile) = pod_profile
                && !pod_valid
            {
                let path = format!("{}.securityContext.seccompProfile.type", pod.spec_path);
                ctx.report(
                rule,
                object,
                &nearest(object, &path),
                format!(
                    "the pod must not set `securityContext.seccompProfile.type` to `{}`; use {allowed} ({level})",
                    text_at(profile, &["type"])
                ),
            );
            }
            for (list, index, container) in containers(pod.spec) {
                let name = container_name(container);
                let path = format!(
                    "{}.{list}[{index}].securityContext.seccompProfile.type",
                    pod.spec_path
                );
                match field_at(container, &key) {
                Some(profile) if !valid_type(text_at(profile, &["type"])) => ctx.report(
                    rule,
                    object,
                    &nearest(object, &path),
                    format!(
                        "container `{name}` must not set `securityContext.seccompProfile.type` to `{}`; use {allowed} ({level})",
                        text_at(profile, &["type"])
                    ),
                ),
                // An invalid pod-level profile is already reported; it is what to fix.
                None if pod_profile.is_none() => ctx.report(
                    rule,
                    object,
                    &nearest(object, &path),
                    format!(
                        "container `{name}` must set `securityContext.seccompProfile.type` to {allowed}, or the pod `spec.securityContext.seccompProfile.type` ({level})"
                    ),
                ),
                Some(_) | None => {}
            }
            }
        },
    );
}
