//! `pod-security/seLinuxOptions`: the baseline check that `SELinux` options only pick one of
//! the container types and never set a custom user or role.

use shipway_model::Node;

use super::{Check as Pss, Policy, container_name, evaluate, field_at, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, in `spec.securityContext.seLinuxOptions` and in
    /// every container's `securityContext.seLinuxOptions`:
    /// - `type` must be unset, empty, `container_t`, `container_init_t`, `container_kvm_t`,
    ///   or (from policy v1.31) `container_engine_t`;
    /// - `user` and `role` must be unset or empty.
    ///
    /// ## Why it matters
    /// A custom `SELinux` type, user or role can lift the confinement that keeps a container
    /// away from the node. The API server rejects such pods in a namespace that enforces
    /// `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     type: spc_t
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     level: "s0:c123,c456"
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static SE_LINUX_OPTIONS = {
        code: "pod-security/seLinuxOptions",
        summary: "SELinux options set a forbidden type, a user or a role (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(se_linux_options),
    };
}

fn se_linux_options(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::SeLinuxOptions, |ctx, pod, policy| {
        let key = ["securityContext", "seLinuxOptions"];
        let mut targets = vec![(
            "the pod".to_string(),
            format!("{}.securityContext.seLinuxOptions", pod.spec_path),
            field_at(pod.spec, &key),
        )];
        for (list, index, container) in containers(pod.spec) {
            targets.push((
                format!("container `{}`", container_name(container)),
                format!(
                    "{}.{list}[{index}].securityContext.seLinuxOptions",
                    pod.spec_path
                ),
                field_at(container, &key),
            ));
        }
        for (who, base, options) in targets {
            let Some(options) = options else {
                continue;
            };
            let level = policy.level.name();
            let kind = text_at(options, &["type"]);
            if !allowed_type(kind, policy) {
                let allowed = if policy.minor >= 31 {
                    "`container_t`, `container_init_t`, `container_kvm_t` or `container_engine_t`"
                } else {
                    "`container_t`, `container_init_t` or `container_kvm_t`"
                };
                ctx.report(
                    rule,
                    object,
                    &format!("{base}.type"),
                    format!(
                        "{who} must not set `seLinuxOptions.type` to `{kind}`; use {allowed}, or leave it unset ({level})"
                    ),
                );
            }
            for field in ["user", "role"] {
                let value = text_at(options, &[field]);
                if !value.is_empty() {
                    ctx.report(
                        rule,
                        object,
                        &format!("{base}.{field}"),
                        format!(
                            "{who} must not set `seLinuxOptions.{field}` (here `{value}`) ({level})"
                        ),
                    );
                }
            }
        }
    });
}

fn allowed_type(kind: &str, policy: Policy) -> bool {
    matches!(
        kind,
        "" | "container_t" | "container_init_t" | "container_kvm_t"
    ) || (policy.minor >= 31 && kind == "container_engine_t")
}
