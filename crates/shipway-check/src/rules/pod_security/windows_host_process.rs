//! `pod-security/windowsHostProcess`: the baseline check that no Windows pod or container
//! runs as a host process.

use shipway_model::Node;

use super::{Check as Pss, bool_at, container_name, evaluate};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `baseline` level and above,
    /// `spec.securityContext.windowsOptions.hostProcess` and every container's
    /// `securityContext.windowsOptions.hostProcess` must be unset or `false`.
    ///
    /// ## Why it matters
    /// A Windows `HostProcess` container runs directly on the node with the node's
    /// privileges. The API server rejects such pods in a namespace that enforces
    /// `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   windowsOptions:
    ///     hostProcess: true
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   windowsOptions:
    ///     runAsUserName: ContainerUser
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
    pub static WINDOWS_HOST_PROCESS = {
        code: "pod-security/windowsHostProcess",
        summary: "A Windows pod or container runs as a host process (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(windows_host_process),
    };
}

fn windows_host_process(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::WindowsHostProcess, |ctx, pod, policy| {
        let level = policy.level.name();
        let key = ["securityContext", "windowsOptions", "hostProcess"];
        if bool_at(pod.spec, &key, true) {
            ctx.report(
                rule,
                object,
                &format!(
                    "{}.securityContext.windowsOptions.hostProcess",
                    pod.spec_path
                ),
                format!(
                    "the pod must not set `securityContext.windowsOptions.hostProcess` to true ({level})"
                ),
            );
        }
        for (list, index, container) in containers(pod.spec) {
            if bool_at(container, &key, true) {
                ctx.report(
                    rule,
                    object,
                    &format!(
                        "{}.{list}[{index}].securityContext.windowsOptions.hostProcess",
                        pod.spec_path
                    ),
                    format!(
                        "container `{}` must not set `securityContext.windowsOptions.hostProcess` to true ({level})",
                        container_name(container)
                    ),
                );
            }
        }
    });
}
