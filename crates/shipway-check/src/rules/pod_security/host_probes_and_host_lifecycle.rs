//! `pod-security/hostProbesAndHostLifecycle`: the baseline check (policy v1.34+) that
//! probes and lifecycle hooks do not name a `host`, which would make the kubelet connect to
//! an arbitrary address.

use shipway_model::Node;

use super::{Check as Pss, container_name, evaluate, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

/// The probe and lifecycle handler fields that hold an action with a `host`.
const HANDLERS: [(&str, &str); 5] = [
    ("livenessProbe", ""),
    ("readinessProbe", ""),
    ("startupProbe", ""),
    ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
];

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, from policy v1.34: `httpGet.host` and
    /// `tcpSocket.host` of `livenessProbe`, `readinessProbe`, `startupProbe`,
    /// `lifecycle.postStart` and `lifecycle.preStop` of every container, init container and
    /// ephemeral container must be unset or empty.
    ///
    /// ## Why it matters
    /// The kubelet runs probes and hooks from the node. A `host` makes it connect to any
    /// address, including services reachable only from the node. The API server rejects
    /// such pods in a namespace that enforces `baseline` at v1.34 or later.
    ///
    /// ## Example
    /// ```yaml
    /// livenessProbe:
    ///   httpGet: {host: 10.0.0.1, port: 8080}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// livenessProbe:
    ///   httpGet: {port: 8080}
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the probe has to target the pod itself.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static HOST_PROBES_AND_HOST_LIFECYCLE = {
        code: "pod-security/hostProbesAndHostLifecycle",
        summary: "A probe or lifecycle hook sets `host` (baseline, v1.34+)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(host_probes_and_host_lifecycle),
    };
}

fn host_probes_and_host_lifecycle(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::HostProbesAndHostLifecycle,
        |ctx, pod, policy| {
            for (list, index, container) in containers(pod.spec) {
                for (outer, inner) in HANDLERS {
                    let handler: &[&str] = if inner.is_empty() {
                        &[outer]
                    } else {
                        &[outer, inner]
                    };
                    let handler_path = handler.join(".");
                    for action in ["httpGet", "tcpSocket"] {
                        let path: Vec<&str> =
                            handler.iter().copied().chain([action, "host"]).collect();
                        let host = text_at(container, &path);
                        if host.is_empty() {
                            continue;
                        }
                        ctx.report(
                        rule,
                        object,
                        &format!(
                            "{}.{list}[{index}].{handler_path}.{action}.host",
                            pod.spec_path
                        ),
                        format!(
                            "container `{}` must not set `{handler_path}.{action}.host` (here `{host}`); leave it unset ({})",
                            container_name(container),
                            policy.level.name()
                        ),
                    );
                    }
                }
            }
        },
    );
}
