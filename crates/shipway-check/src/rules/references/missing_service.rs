//! `references/missing-service`: Services (and their ports) that StatefulSets, Ingresses,
//! Gateway API routes and ServiceMonitors refer to but that are not there.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::context::{effective_namespace, namespace_of};
use crate::rules::references::pod_refs::seq;
use crate::rules::references::services::{Lookup, PortRef, exposes, lookup_service, port_ref};
use crate::rules::{Check, Rule, rule};
use crate::selector::Selector;

rule! {
    /// ## What it checks
    /// References to Services, each in the referrer's namespace unless it names another:
    /// - StatefulSet `spec.serviceName`;
    /// - Ingress `spec.defaultBackend.service` and `spec.rules[].http.paths[].backend.service`:
    ///   the `name`, and `port.number` or `port.name` must be a port of that Service;
    /// - Gateway API `HTTPRoute` `spec.rules[].backendRefs[]` of kind `Service` (or no kind):
    ///   `name`, `namespace` and `port`;
    /// - Prometheus operator `ServiceMonitor` `spec.selector` must match some Service in
    ///   `spec.namespaceSelector.matchNames` (or its own namespace), and every
    ///   `spec.endpoints[].port` must be a named port of a matched Service.
    ///
    /// A Service resolves when it is in the input or declared in the configuration's
    /// `external` list (whose `ports`, when given, are checked too).
    ///
    /// ## Why it matters
    /// A route to a missing Service or port answers 503 or 404; a ServiceMonitor that selects
    /// nothing silently scrapes nothing, so the alerts built on it never fire; a StatefulSet
    /// without its governing Service gets no stable DNS names for its pods.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   rules:
    ///   - http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend:
    ///           service: {name: web, port: {number: 8080}}   # Service web exposes 80
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    ///           service: {name: web, port: {number: 80}}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file, with optional `ports`.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/services-networking/ingress/>
    /// - <https://gateway-api.sigs.k8s.io/reference/spec/#httpbackendref>
    /// - <https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor>
    pub static MISSING_SERVICE = {
        code: "references/missing-service",
        summary: "A Service or Service port that another object refers to is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_service),
    };
}

fn missing_service(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let namespace = namespace_of(object);
    // (report path, namespace, name, port, port path)
    let mut wanted: Vec<(String, &str, &str, Option<PortRef<'_>>, String)> = Vec::new();
    match object.str_at(&["kind"]) {
        Some("StatefulSet") => {
            if let Some(name) = object
                .str_at(&["spec", "serviceName"])
                .filter(|n| !n.is_empty())
            {
                wanted.push((
                    "spec.serviceName".into(),
                    namespace,
                    name,
                    None,
                    String::new(),
                ));
            }
        }
        Some("Ingress") => {
            let mut backends = Vec::new();
            if let Some(service) = object.get_path(&["spec", "defaultBackend", "service"]) {
                backends.push(("spec.defaultBackend.service".to_string(), service));
            }
            for (i, rule) in seq(object.get_path(&["spec", "rules"])) {
                for (j, path) in seq(rule.get_path(&["http", "paths"])) {
                    if let Some(service) = path.get_path(&["backend", "service"]) {
                        backends.push((
                            format!("spec.rules[{i}].http.paths[{j}].backend.service"),
                            service,
                        ));
                    }
                }
            }
            for (path, service) in backends {
                let Some(name) = service.str_at(&["name"]) else {
                    continue;
                };
                let (port, port_path) = match (
                    service.get_path(&["port", "number"]).map(|n| &n.value),
                    service.str_at(&["port", "name"]),
                ) {
                    (Some(Value::Int(n)), _) => {
                        (Some(PortRef::Number(*n)), format!("{path}.port.number"))
                    }
                    (_, Some(port)) => (Some(PortRef::Name(port)), format!("{path}.port.name")),
                    _ => (None, String::new()),
                };
                wanted.push((format!("{path}.name"), namespace, name, port, port_path));
            }
        }
        Some("HTTPRoute") => {
            for (i, route_rule) in seq(object.get_path(&["spec", "rules"])) {
                for (j, backend) in seq(route_rule.get("backendRefs")) {
                    let path = format!("spec.rules[{i}].backendRefs[{j}]");
                    let is_service = backend.str_at(&["kind"]).is_none_or(|k| k == "Service")
                        && backend.str_at(&["group"]).is_none_or(str::is_empty);
                    let Some(name) = backend.str_at(&["name"]).filter(|_| is_service) else {
                        continue;
                    };
                    let target = backend.str_at(&["namespace"]).unwrap_or(namespace);
                    let port = match backend.get("port").map(|n| &n.value) {
                        Some(Value::Int(n)) => Some(PortRef::Number(*n)),
                        _ => None,
                    };
                    wanted.push((
                        format!("{path}.name"),
                        target,
                        name,
                        port,
                        format!("{path}.port"),
                    ));
                }
            }
        }
        Some("ServiceMonitor")
            if object
                .str_at(&["apiVersion"])
                .is_some_and(|v| v.starts_with("monitoring.coreos.com/")) =>
        {
            service_monitor(ctx, rule, object);
            return;
        }
        _ => return,
    }
    for (path, target, name, port, port_path) in wanted {
        match lookup_service(ctx, object, target, name, port) {
            Lookup::Found => {}
            Lookup::MissingService => {
                ctx.check_reference(rule, object, &path, "Service", target, name);
            }
            Lookup::MissingPort => {
                let port = port.map(|p| p.to_string()).unwrap_or_default();
                ctx.report(
                    rule,
                    object,
                    &port_path,
                    format!("Service `{name}` has no port {port}"),
                );
            }
        }
    }
}

fn service_monitor(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let Some(selector) = object
        .get_path(&["spec", "selector"])
        .and_then(Selector::from_label_selector)
    else {
        return;
    };
    let namespace_selector = object.get_path(&["spec", "namespaceSelector"]);
    // `any: true` selects Services in every namespace of the cluster, which the input
    // cannot tell us about.
    if namespace_selector
        .and_then(|n| n.get("any"))
        .is_some_and(|a| matches!(a.value, Value::Bool(true)))
    {
        return;
    }
    let names: Vec<&str> = seq(namespace_selector.and_then(|n| n.get("matchNames")))
        .filter_map(|(_, n)| n.as_str())
        .collect();
    let namespaces = if names.is_empty() {
        vec![namespace_of(object)]
    } else {
        names
    };
    let matched: Vec<&Node> = namespaces
        .iter()
        .flat_map(|ns| ctx.services().matching(ns, &selector).collect::<Vec<_>>())
        .collect();
    // The control plane's `kubernetes` Service in `default` carries these labels; a
    // ServiceMonitor of the API server selects it.
    let selects_api_server = namespaces
        .iter()
        .any(|ns| effective_namespace(ns) == "default")
        && shipway_model::yaml::parse_one("{component: apiserver, provider: kubernetes}")
            .is_ok_and(|labels| selector.matches(Some(&labels)));
    if matched.is_empty() {
        if selects_api_server {
            return;
        }
        let external = ctx
            .settings
            .config
            .external
            .iter()
            .any(|e| e.kind == "Service")
            || namespaces
                .iter()
                .any(|ns| ctx.declared_external(object, "Service", ns, "*"));
        // Services declared external carry no labels, so with any declared the selector may
        // well match one of them.
        if !external {
            let listed = namespaces
                .iter()
                .map(|n| format!("`{}`", effective_namespace(n)))
                .collect::<Vec<_>>()
                .join(", ");
            // The same model as named references: an error where the input has Services to
            // match, a warning where the Services come from elsewhere (an operator, the
            // control plane, another app).
            if namespaces.iter().any(|ns| ctx.manages("Service", ns)) {
                ctx.report(
                    rule,
                    object,
                    "spec.selector",
                    format!("`spec.selector` matches no Service in namespace {listed}"),
                );
            } else {
                ctx.report_as(
                    rule,
                    rule.severity.min(shipway_model::Severity::Warning),
                    object,
                    "spec.selector",
                    format!(
                        "`spec.selector` matches no Service in namespace {listed}, where the input has none; if they are managed elsewhere, declare them with the annotation `{}: Service/*`",
                        crate::context::EXTERNAL_ANNOTATION
                    ),
                );
            }
        }
        return;
    }
    for (i, endpoint) in seq(object.get_path(&["spec", "endpoints"])) {
        let Some(PortRef::Name(port)) = endpoint.get("port").and_then(port_ref) else {
            continue;
        };
        if !matched.iter().any(|s| exposes(s, PortRef::Name(port))) {
            ctx.report(
                rule,
                object,
                &format!("spec.endpoints[{i}].port"),
                format!("no Service that `spec.selector` matches has a port named `{port}`"),
            );
        }
    }
}
