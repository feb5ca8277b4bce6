//! Service networking: `EndpointSlices` for selector Services, and load-balancer addresses
//! for `LoadBalancer` Services and Ingresses.
//!
//! Each Service with a selector gets one `discovery.k8s.io/v1` `EndpointSlice`
//! (`generateName: <service>-`, label `kubernetes.io/service-name`, owned by the Service)
//! listing every matching pod that has an IP, sorted by pod name, with the `ready`,
//! `serving` and `terminating` conditions the real controller writes (unready pods are
//! listed with `ready: false`, as on a real cluster, so consumers must filter), and the
//! Service's ports resolved to target ports (named ones through the pods' container ports).
//! `LoadBalancer` Services get `status.loadBalancer.ingress[{ip, ipMode: VIP}]` and Ingresses
//! `status.loadBalancer.ingress[{ip}]` `load_balancer_delay` seconds after creation, unless
//! annotated `sim.shipway.dev/fault: pending`.

use serde_json::{Value, json};

use super::{
    CONTROLLER_MANAGER, Ctx, FAULT_ANNOTATION, annotation, controller_uid, is_deleting, name,
    namespace, owner_reference, pod_ready, pod_terminal, resource, set_path, str_at, uid,
    with_status,
};
use crate::clock;

/// The label tying a slice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One pass over every Service and Ingress.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(services) = resource("", "services") else {
        return;
    };
    for service in ctx.list(services) {
        if is_deleting(&service) {
            continue;
        }
        sync_slice(ctx, &service);
        if str_at(&service, "/spec/type") == "LoadBalancer" {
            assign_load_balancer(ctx, services, &service, true);
        }
    }
    if let Some(ingresses) = resource("networking.k8s.io", "ingresses") {
        for ingress in ctx.list(ingresses) {
            if !is_deleting(&ingress) {
                assign_load_balancer(ctx, ingresses, &ingress, false);
            }
        }
    }
}

/// The target port number of a Service port for `pod` (named ports resolve through the
/// pod's container ports).
fn target_port(port: &Value, pods: &[Value]) -> Option<i64> {
    match port.get("targetPort") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(named)) => named.parse().ok().or_else(|| {
            pods.iter().find_map(|pod| {
                pod.pointer("/spec/containers")?
                    .as_array()?
                    .iter()
                    .flat_map(|c| {
                        c.get("ports")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                    })
                    .find(|p| str_at(p, "/name") == named)?
                    .get("containerPort")?
                    .as_i64()
            })
        }),
        _ => port.get("port").and_then(Value::as_i64),
    }
}

fn sync_slice(ctx: &mut Ctx<'_>, service: &Value) {
    let (Some(pods), Some(slices)) = (
        resource("", "pods"),
        resource("discovery.k8s.io", "endpointslices"),
    ) else {
        return;
    };
    let Some(selector) = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
        .cloned()
    else {
        return;
    };
    if str_at(service, "/spec/type") == "ExternalName" {
        return;
    }
    let ns = namespace(service).to_owned();
    let mut matching: Vec<Value> = ctx
        .list_in(pods, &ns)
        .into_iter()
        .filter(|pod| {
            let labels = pod.pointer("/metadata/labels");
            selector
                .iter()
                .all(|(key, value)| labels.and_then(|l| l.get(key)) == Some(value))
        })
        .filter(|pod| !pod_terminal(pod) && !str_at(pod, "/status/podIP").is_empty())
        .collect();
    matching.sort_by(|a, b| name(a).cmp(name(b)));
    let endpoints: Vec<Value> = matching
        .iter()
        .map(|pod| {
            let terminating = is_deleting(pod);
            let ready = pod_ready(pod) && !terminating;
            let mut endpoint = json!({
                "addresses": [str_at(pod, "/status/podIP")],
                "conditions": {"ready": ready, "serving": pod_ready(pod), "terminating": terminating},
                "targetRef": {"kind": "Pod", "name": name(pod), "namespace": ns, "uid": uid(pod)},
            });
            let node = str_at(pod, "/spec/nodeName");
            if !node.is_empty() {
                set_path(&mut endpoint, &["nodeName"], node.into());
            }
            endpoint
        })
        .collect();
    let ports: Vec<Value> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|port| {
            let number = target_port(port, &matching)?;
            Some(json!({
                "name": str_at(port, "/name"),
                "port": number,
                "protocol": match str_at(port, "/protocol") { "" => "TCP", p => p },
            }))
        })
        .collect();
    let service_uid = uid(service).to_owned();
    let existing = ctx
        .list_in(slices, &ns)
        .into_iter()
        .find(|slice| controller_uid(slice) == Some(service_uid.as_str()));
    let labels = json!({
        SERVICE_NAME_LABEL: name(service),
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    });
    if let Some(slice) = existing {
        let mut next = slice.clone();
        set_path(&mut next, &["endpoints"], Value::Array(endpoints));
        set_path(&mut next, &["ports"], Value::Array(ports));
        set_path(&mut next, &["metadata", "labels"], labels);
        if next != slice {
            ctx.update(slices, next, CONTROLLER_MANAGER);
        }
    } else {
        let slice = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": format!("{}-", name(service)), "namespace": ns,
                         "labels": labels, "ownerReferences": owner_reference(service)},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        });
        let _ = ctx.create(slices, &ns, slice, CONTROLLER_MANAGER);
    }
}

fn assign_load_balancer(
    ctx: &mut Ctx<'_>,
    resource: &'static crate::resources::ResourceType,
    object: &Value,
    is_service: bool,
) {
    let has_ingress = object
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|ingress| !ingress.is_empty());
    if has_ingress || annotation(object, FAULT_ANNOTATION) == "pending" {
        return;
    }
    let created =
        clock::parse_rfc3339(str_at(object, "/metadata/creationTimestamp")).unwrap_or(ctx.now);
    if ctx.now < created + ctx.state.config.load_balancer_delay {
        return;
    }
    let ip = ctx.state.load_balancer_ip(uid(object));
    let entry = if is_service {
        json!({"ip": ip, "ipMode": "VIP"})
    } else {
        json!({"ip": ip})
    };
    let mut status = object.get("status").cloned().unwrap_or_else(|| json!({}));
    set_path(&mut status, &["loadBalancer", "ingress"], json!([entry]));
    ctx.update_status(resource, with_status(object, status), CONTROLLER_MANAGER);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::SimulationConfig;
    use crate::controllers::testing::{Harness, template};

    #[test]
    fn slices_list_matching_pods_and_load_balancers_get_addresses() {
        let mut sim = Harness::new(SimulationConfig {
            load_balancer_delay: 5,
            ..SimulationConfig::default()
        });
        let mut tpl = template("web", "nginx:1");
        tpl["spec"]["containers"][0]["ports"] = json!([{"name": "http", "containerPort": 8080}]);
        sim.create(
            "apps",
            "deployments",
            json!({"metadata": {"name": "web"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": tpl}}),
        );
        sim.create(
            "",
            "pods",
            json!({"metadata": {"name": "other", "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "c", "image": "db"}]}}),
        );
        let service = sim.create(
            "",
            "services",
            json!({"metadata": {"name": "web"},
                   "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        );
        sim.advance(2);
        let slices = sim.list("discovery.k8s.io", "endpointslices");
        assert_eq!(slices.len(), 1);
        let slice = &slices[0];
        assert_eq!(
            slice["metadata"]["labels"]["kubernetes.io/service-name"],
            "web"
        );
        assert_eq!(
            slice["metadata"]["ownerReferences"][0]["uid"],
            service["metadata"]["uid"]
        );
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(
            slice["ports"],
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
        );
        let endpoints = slice["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), 2);
        assert!(endpoints.iter().all(|e| e["conditions"]["ready"] == true));
        assert!(
            endpoints
                .iter()
                .all(|e| e["targetRef"]["name"].as_str().unwrap().starts_with("web-"))
        );
        assert!(
            sim.get("", "services", "web")["status"]["loadBalancer"]
                .get("ingress")
                .is_none()
        );
        sim.advance(4);
        let ingress = &sim.get("", "services", "web")["status"]["loadBalancer"]["ingress"];
        assert!(ingress[0]["ip"].as_str().unwrap().starts_with("172.18."));
        sim.patch(
            "apps",
            "deployments",
            "web",
            &json!({"spec": {"replicas": 1}}),
        );
        sim.settle();
        let slices = sim.list("discovery.k8s.io", "endpointslices");
        assert_eq!(slices[0]["endpoints"].as_array().unwrap().len(), 1);
    }
}
