//! `pod-security/allowPrivilegeEscalation`: the restricted check that every container sets
//! `securityContext.allowPrivilegeEscalation: false`.

use shipway_model::Node;

use super::{Check as Pss, bool_at, container_name, evaluate, is_windows, nearest};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `restricted` level, every container, init container and ephemeral container
    /// of a pod or pod template must set `securityContext.allowPrivilegeEscalation` to
    /// `false` explicitly. From policy v1.25, Windows pods (`spec.os.name: windows`) are
    /// exempt.
    ///
    /// ## Why it matters
    /// Without it a process can gain more privileges than its parent through set-user-ID
    /// binaries or file capabilities. The API server rejects such pods in a namespace that
    /// enforces `restricted`; the workload then never gets its pods.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27
    ///   securityContext:
    ///     allowPrivilegeEscalation: false
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: a program that relies on set-user-ID binaries stops working.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static ALLOW_PRIVILEGE_ESCALATION = {
        code: "pod-security/allowPrivilegeEscalation",
        summary: "A container does not set `allowPrivilegeEscalation: false` (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(allow_privilege_escalation),
    };
}

fn allow_privilege_escalation(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::AllowPrivilegeEscalation,
        |ctx, pod, policy| {
            if is_windows(pod.spec) {
                return;
            }
            for (list, index, container) in containers(pod.spec) {
                if bool_at(
                    container,
                    &["securityContext", "allowPrivilegeEscalation"],
                    false,
                ) {
                    continue;
                }
                let path = format!(
                    "{}.{list}[{index}].securityContext.allowPrivilegeEscalation",
                    pod.spec_path
                );
                ctx.report(
                rule,
                object,
                &nearest(object, &path),
                format!(
                    "container `{}` must set `securityContext.allowPrivilegeEscalation` to false ({})",
                    container_name(container),
                    policy.level.name()
                ),
            );
            }
        },
    );
}
