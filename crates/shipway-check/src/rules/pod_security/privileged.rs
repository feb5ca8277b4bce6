//! `pod-security/privileged`: the baseline check that no container runs privileged.

use shipway_model::Node;

use super::{Check as Pss, bool_at, container_name, evaluate};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, `securityContext.privileged` of every container,
    /// init container and ephemeral container must be unset or `false`.
    ///
    /// ## Why it matters
    /// A privileged container has every capability and every device of the node; it is
    /// root on the node. The API server rejects such pods in a namespace that enforces
    /// `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   privileged: true
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   privileged: false
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: node agents may need it (run them in a `privileged` namespace).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static PRIVILEGED = {
        code: "pod-security/privileged",
        summary: "A container runs privileged (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(privileged),
    };
}

fn privileged(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::Privileged, |ctx, pod, policy| {
        for (list, index, container) in containers(pod.spec) {
            if bool_at(container, &["securityContext", "privileged"], true) {
                ctx.report(
                    rule,
                    object,
                    &format!(
                        "{}.{list}[{index}].securityContext.privileged",
                        pod.spec_path
                    ),
                    format!(
                        "container `{}` must not set `securityContext.privileged` to true ({})",
                        container_name(container),
                        policy.level.name()
                    ),
                );
            }
        }
    });
}
