//! Resolving a reference to a Service and one of its ports, shared by the rules that follow
//! Ingress backends, Gateway routes and in-cluster URLs.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::rules::references::pod_refs::seq;

/// A port as a reference gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortRef<'n> {
    /// `port.number`, a URL's port: the Service's `ports[].port`.
    Number(i64),
    /// `port.name`: the Service's `ports[].name`.
    Name(&'n str),
}

impl std::fmt::Display for PortRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(name) => write!(f, "`{name}`"),
        }
    }
}

/// The outcome of looking a Service up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The Service resolves and exposes the port (or no port was asked for, or an external
    /// Service declares no ports).
    Found,
    /// No such Service in the input or in `external`.
    MissingService,
    /// The Service exists but exposes no such port.
    MissingPort,
}

/// Looks up Service `name` in `namespace` and, when given, its `port`.
pub(crate) fn lookup_service(
    ctx: &Ctx<'_>,
    referrer: &Node,
    namespace: &str,
    name: &str,
    port: Option<PortRef<'_>>,
) -> Lookup {
    if let Some(service) = ctx.find("Service", namespace, name) {
        return match port {
            Some(port) if !exposes(service, port) => Lookup::MissingPort,
            _ => Lookup::Found,
        };
    }
    match ctx.settings.config.external("Service", namespace, name) {
        None if ctx.resolves(referrer, "Service", namespace, name) => Lookup::Found,
        None => Lookup::MissingService,
        // An external Service only lists numbers, and listing none means "any port".
        Some(external) => match port {
            Some(PortRef::Number(n))
                if !external.ports.is_empty() && !external.ports.contains(&n) =>
            {
                Lookup::MissingPort
            }
            _ => Lookup::Found,
        },
    }
}

/// Whether `service` (in the input) has the port.
pub(crate) fn exposes(service: &Node, port: PortRef<'_>) -> bool {
    seq(service.get_path(&["spec", "ports"])).any(|(_, p)| match port {
        PortRef::Number(n) => {
            matches!(p.get("port").map(|v| &v.value), Some(Value::Int(m)) if *m == n)
        }
        PortRef::Name(name) => p.str_at(&["name"]) == Some(name),
    })
}

/// A port field that holds a number or a name (`targetPort`, `port` of a ServiceMonitor).
pub(crate) fn port_ref(node: &Node) -> Option<PortRef<'_>> {
    match &node.value {
        Value::Int(n) => Some(PortRef::Number(*n)),
        Value::Str(s) => Some(s.parse().map_or(PortRef::Name(s), PortRef::Number)),
        _ => None,
    }
}
