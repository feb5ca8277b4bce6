//! `pod-security/hostNamespaces`: the baseline check that a pod shares none of the node's
//! network, process or IPC namespaces.

use shipway_model::Node;

use super::{Check as Pss, bool_at, evaluate};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, `spec.hostNetwork`, `spec.hostPID` and
    /// `spec.hostIPC` of a pod or pod template must be unset or `false`.
    ///
    /// ## Why it matters
    /// Sharing a host namespace lets the pod see and reach the node's processes, network
    /// interfaces or shared memory. The API server rejects such pods in a namespace that
    /// enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   hostNetwork: false
    /// ```
    /// and expose the pod through a Service.
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: node agents may need the host namespace (run them in a
    /// `privileged` namespace instead).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static HOST_NAMESPACES = {
        code: "pod-security/hostNamespaces",
        summary: "A pod shares the node's network, PID or IPC namespace (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(host_namespaces),
    };
}

fn host_namespaces(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::HostNamespaces, |ctx, pod, policy| {
        for key in ["hostNetwork", "hostPID", "hostIPC"] {
            if bool_at(pod.spec, &[key], true) {
                ctx.report(
                    rule,
                    object,
                    &format!("{}.{key}", pod.spec_path),
                    format!(
                        "the pod must not set `{key}` to true; leave it unset or false ({})",
                        policy.level.name()
                    ),
                );
            }
        }
    });
}
