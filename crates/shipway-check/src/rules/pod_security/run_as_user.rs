//! `pod-security/runAsUser`: the restricted check that neither the pod nor a container
//! sets user id 0.

use shipway_model::{Node, Value};

use super::{Check as Pss, container_name, evaluate, field_at, in_user_namespace};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `restricted` level, `spec.securityContext.runAsUser` and
    /// `securityContext.runAsUser` of every container, init container and ephemeral
    /// container must be unset or non-zero. From policy v1.35 a pod with
    /// `spec.hostUsers: false` may set any value.
    ///
    /// ## Why it matters
    /// User id 0 is root. The API server rejects such pods in a namespace that enforces
    /// `restricted`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 0
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 10001
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the image's files must be readable by the new user.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static RUN_AS_USER = {
        code: "pod-security/runAsUser",
        summary: "A pod or container runs as user id 0 (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(run_as_user),
    };
}

fn run_as_user(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::RunAsUser, |ctx, pod, policy| {
        if in_user_namespace(pod.spec, policy) {
            return;
        }
        let level = policy.level.name();
        let key = ["securityContext", "runAsUser"];
        if is_root(pod.spec, &key) {
            ctx.report(
                rule,
                object,
                &format!("{}.securityContext.runAsUser", pod.spec_path),
                format!("the pod must not set `securityContext.runAsUser` to 0 ({level})"),
            );
        }
        for (list, index, container) in containers(pod.spec) {
            if is_root(container, &key) {
                ctx.report(
                    rule,
                    object,
                    &format!(
                        "{}.{list}[{index}].securityContext.runAsUser",
                        pod.spec_path
                    ),
                    format!(
                        "container `{}` must not set `securityContext.runAsUser` to 0 ({level})",
                        container_name(container)
                    ),
                );
            }
        }
    });
}

fn is_root(node: &Node, path: &[&str]) -> bool {
    matches!(field_at(node, path).map(|n| &n.value), Some(Value::Int(0)))
}
