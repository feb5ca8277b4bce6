//! `pod-security/runAsNonRoot`: the restricted check that every container is required to
//! run as a non-root user, at the pod or the container level.

use shipway_model::Node;

use super::{Check as Pss, bool_at, container_name, evaluate, in_user_namespace, nearest};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `restricted` level, `spec.securityContext.runAsNonRoot` must be `true`, or
    /// every container, init container and ephemeral container must set
    /// `securityContext.runAsNonRoot: true` itself; no container may set it to `false`.
    /// From policy v1.35 a pod with `spec.hostUsers: false` may set any value.
    ///
    /// ## Why it matters
    /// With `runAsNonRoot: true` the kubelet refuses to start a container whose user is
    /// root. The API server rejects pods without it in a namespace that enforces
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
    ///     runAsNonRoot: true
    ///   containers:
    ///   - name: web
    ///     image: nginxinc/nginx-unprivileged:1.27
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: an image that runs as root then fails to start.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static RUN_AS_NON_ROOT = {
        code: "pod-security/runAsNonRoot",
        summary: "A container is not required to run as non-root (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(run_as_non_root),
    };
}

fn run_as_non_root(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::RunAsNonRoot, |ctx, pod, policy| {
        if in_user_namespace(pod.spec, policy) {
            return;
        }
        let level = policy.level.name();
        let key = ["securityContext", "runAsNonRoot"];
        let pod_true = bool_at(pod.spec, &key, true);
        let pod_false = bool_at(pod.spec, &key, false);
        if pod_false {
            ctx.report(
                rule,
                object,
                &format!("{}.securityContext.runAsNonRoot", pod.spec_path),
                format!("the pod must not set `securityContext.runAsNonRoot` to false ({level})"),
            );
        }
        for (list, index, container) in containers(pod.spec) {
            let path = format!(
                "{}.{list}[{index}].securityContext.runAsNonRoot",
                pod.spec_path
            );
            let name = container_name(container);
            if bool_at(container, &key, false) {
                ctx.report(
                    rule,
                    object,
                    &path,
                    format!(
                        "container `{name}` must not set `securityContext.runAsNonRoot` to false ({level})"
                    ),
                );
            } else if !bool_at(container, &key, true) && !pod_true && !pod_false {
                // When the pod sets false, that finding already says what to change.
                ctx.report(
                    rule,
                    object,
                    &nearest(object, &path),
                    format!(
                        "container `{name}` must set `securityContext.runAsNonRoot` to true, or the pod `spec.securityContext.runAsNonRoot` ({level})"
                    ),
                );
            }
        }
    });
}
