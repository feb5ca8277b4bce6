//! `references/service-target-port`: Service `targetPort`s that no selected container
//! exposes.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::context::{name_of, namespace_of};
use crate::rules::references::pod_refs::seq;
use crate::rules::references::services::{PortRef, port_ref};
use crate::rules::{Check, Rule, rule};
use crate::selector::Selector;
use crate::workload::{containers, pod_template};

rule! {
    /// ## What it checks
    /// Every `spec.ports[].targetPort` of a Service with a selector (it defaults to `port`)
    /// against the containers of the pod templates the selector matches:
    /// - a named `targetPort` must be the `name` of a container port;
    /// - a numeric `targetPort` must be a `containerPort`, when the selected containers
    ///   declare any ports at all (declaring ports is optional in Kubernetes, so a pod that
    ///   declares none may still listen there).
    ///
    /// Services that select no pod template are left to `reliability/selector-matches-nothing`.
    ///
    /// ## Why it matters
    /// The Service's endpoints point at a port nothing listens on: connections are refused
    /// or, for a name that no container declares, the endpoints stay empty.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   selector: {app: web}
    ///   ports: [{port: 80, targetPort: http}]   # the container port is named web
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    ///   ports: [{port: 80, targetPort: web}]
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: either side may be wrong.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service>
    pub static SERVICE_TARGET_PORT = {
        code: "references/service-target-port",
        summary: "A Service `targetPort` is not a port of the containers it selects",
        severity: Error,
        status: Preview,
        check: Check::PerObject(service_target_port),
    };
}

fn service_target_port(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if object.str_at(&["kind"]) != Some("Service") {
        return;
    }
    let Some(selector) = object
        .get_path(&["spec", "selector"])
        .and_then(Selector::from_map)
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    // The container ports of every selected pod template: (name, number).
    let mut ports: Vec<(Option<&str>, Option<i64>)> = Vec::new();
    let mut any_template = false;
    for workload in ctx.pods().matching(namespace_of(object), &selector) {
        any_template = true;
        let Some(pod) = pod_template(workload) else {
            continue;
        };
        for (_, _, container) in containers(pod.spec) {
            for (_, port) in seq(container.get("ports")) {
                let number = match port.get("containerPort").map(|n| &n.value) {
                    Some(Value::Int(n)) => Some(*n),
                    _ => None,
                };
                ports.push((port.str_at(&["name"]), number));
            }
        }
    }
    if !any_template {
        return;
    }
    for (i, port) in seq(object.get_path(&["spec", "ports"])) {
        let (target, path) = match port.get("targetPort") {
            Some(t) => (port_ref(t), format!("spec.ports[{i}].targetPort")),
            None => (
                port.get("port").and_then(port_ref),
                format!("spec.ports[{i}].port"),
            ),
        };
        let missing = match target {
            Some(PortRef::Name(name)) => !ports.iter().any(|(n, _)| *n == Some(name)),
            Some(PortRef::Number(number)) => {
                !ports.is_empty() && !ports.iter().any(|(_, n)| *n == Some(number))
            }
            None => false,
        };
        if missing {
            let target = target.map(|t| t.to_string()).unwrap_or_default();
            ctx.report(
                rule,
                object,
                &path,
                format!(
                    "target port {target} of Service `{}` is not a container port of the pods it selects",
                    name_of(object)
                ),
            );
        }
    }
}
