//! `pod-security/hostPorts`: the baseline check that no container binds a port on the
//! node.

use shipway_model::{Node, Value};

use super::{Check as Pss, container_name, evaluate, field};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, `ports[*].hostPort` of every container, init
    /// container and ephemeral container must be unset or `0`.
    ///
    /// ## Why it matters
    /// A host port bypasses network policies and ties the pod to nodes where the port is
    /// free. The API server rejects such pods in a namespace that enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - containerPort: 8080
    ///   hostPort: 80
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// ports:
    /// - containerPort: 8080
    /// ```
    /// and expose the port through a Service.
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: clients of the host port need another way in.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static HOST_PORTS = {
        code: "pod-security/hostPorts",
        summary: "A container binds a port on the node (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(host_ports),
    };
}

fn host_ports(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::HostPorts, |ctx, pod, policy| {
        for (list, index, container) in containers(pod.spec) {
            let ports = field(container, "ports").and_then(Node::as_seq);
            for (i, port) in ports.into_iter().flatten().enumerate() {
                let host_port = match field(port, "hostPort").map(|n| &n.value) {
                    Some(Value::Int(0)) | None => continue,
                    Some(Value::Int(n)) => n.to_string(),
                    Some(Value::Uint(n)) => n.to_string(),
                    // Not a number: the API server rejects the pod for its type already.
                    Some(_) => continue,
                };
                ctx.report(
                    rule,
                    object,
                    &format!("{}.{list}[{index}].ports[{i}].hostPort", pod.spec_path),
                    format!(
                        "container `{}` must not set `hostPort` (here {host_port}); leave it unset or 0 ({})",
                        container_name(container),
                        policy.level.name()
                    ),
                );
            }
        }
    });
}
