//! `pod-security/procMount`: the baseline check that containers keep the default masked
//! `/proc`, relaxed from policy v1.35 for pods in a user namespace.

use shipway_model::Node;

use super::{Check as Pss, Policy, container_name, evaluate, field_at, in_user_namespace};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::{PodTemplate, containers};

rule! {
    /// ## What it checks
    /// At the `baseline` level, `securityContext.procMount` of every container, init
    /// container and ephemeral container must be unset or `Default`. From policy v1.35 a
    /// pod with `spec.hostUsers: false` may set any value; at `restricted` from v1.35,
    /// `pod-security/procMount_restricted` checks the field instead, without that
    /// relaxation.
    ///
    /// ## Why it matters
    /// `Unmasked` exposes the node's `/proc` paths that the runtime normally hides. The
    /// API server rejects such pods in a namespace that enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   procMount: Unmasked
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   procMount: Default
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: nested container runtimes may need it (with `hostUsers: false`).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static PROC_MOUNT = {
        code: "pod-security/procMount",
        summary: "A container unmasks `/proc` (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(proc_mount),
    };
}

fn proc_mount(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::ProcMount, |ctx, pod, policy| {
        if in_user_namespace(pod.spec, policy) {
            return;
        }
        report_proc_mounts(ctx, rule, object, &pod, policy);
    });
}

/// Reports every container whose `procMount` is set to anything but `Default`; shared
/// with `pod-security/procMount_restricted`, which differs only in when it runs.
pub(super) fn report_proc_mounts(
    ctx: &mut Ctx<'_>,
    rule: &'static Rule,
    object: &Node,
    pod: &PodTemplate<'_>,
    policy: Policy,
) {
    for (list, index, container) in containers(pod.spec) {
        let Some(value) = field_at(container, &["securityContext", "procMount"]) else {
            continue;
        };
        let value = value.as_str().unwrap_or("");
        if value == "Default" {
            continue;
        }
        ctx.report(
            rule,
            object,
            &format!(
                "{}.{list}[{index}].securityContext.procMount",
                pod.spec_path
            ),
            format!(
                "container `{}` must not set `securityContext.procMount` to `{value}`; leave it unset or `Default` ({})",
                container_name(container),
                policy.level.name()
            ),
        );
    }
}
