//! Prometheus HTTP service discovery of the simulated pods: `GET /shipway/prometheus/http-sd`
//! on the simulator's own address answers `http_sd_configs`' JSON, so a real Prometheus
//! (Debian's build has no Kubernetes discovery) finds and scrapes the pods.
//!
//! One target group per pod that serves HTTP (running, with a container port, and a bound
//! loopback listener: see the `pod_http` module). Its target is that listener,
//! `127.0.0.1:PORT`, which answers `/metrics` for that pod alone, so the usual
//! `__metrics_path__` works unchanged. Its labels are the ones `kubernetes_sd_configs` with
//! role `pod` gives the pod's first container port: `__meta_kubernetes_namespace`,
//! `__meta_kubernetes_pod_name`, `_ip`, `_uid`, `_node_name`, `_host_ip`, `_phase`,
//! `_ready`, `_label_<name>` and `_labelpresent_<name>`, `_annotation_<name>` and
//! `_annotationpresent_<name>`, `_container_name`, `_container_image`,
//! `_container_init`, `_container_port_name`, `_container_port_number`,
//! `_container_port_protocol`, `_controller_kind` and `_controller_name`, with label and
//! annotation names sanitized as Prometheus does (every character outside `[A-Za-z0-9_]`
//! becomes `_`). `__meta_kubernetes_pod_ip` is the simulated pod IP, not the scraped address.

use serde_json::{Map, Value, json};

use crate::controllers::ENDPOINT_ANNOTATION;

/// The path of the discovery document on the simulator's address.
pub const HTTP_SD_PATH: &str = "/shipway/prometheus/http-sd";

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Prometheus' `strutil.SanitizeLabelName`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The `http_sd_configs` document for `pods`.
pub(crate) fn http_sd(pods: &[Value]) -> Value {
    let mut groups = Vec::new();
    for pod in pods {
        let address = text(
            pod,
            &format!(
                "/metadata/annotations/{}",
                ENDPOINT_ANNOTATION.replace('/', "~1")
            ),
        );
        if address.is_empty() || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let mut labels = Map::new();
        let mut put = |key: String, value: &str| {
            labels.insert(key, Value::String(value.to_owned()));
        };
        put(
            "__meta_kubernetes_namespace".into(),
            text(pod, "/metadata/namespace"),
        );
        put(
            "__meta_kubernetes_pod_name".into(),
            text(pod, "/metadata/name"),
        );
        put(
            "__meta_kubernetes_pod_uid".into(),
            text(pod, "/metadata/uid"),
        );
        put(
            "__meta_kubernetes_pod_ip".into(),
            text(pod, "/status/podIP"),
        );
        put(
            "__meta_kubernetes_pod_host_ip".into(),
            text(pod, "/status/hostIP"),
        );
        put(
            "__meta_kubernetes_pod_node_name".into(),
            text(pod, "/spec/nodeName"),
        );
        put(
            "__meta_kubernetes_pod_phase".into(),
            text(pod, "/status/phase"),
        );
        let ready = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|list| list.iter().find(|c| text(c, "/type") == "Ready"))
            .map_or("unknown", |c| {
                if text(c, "/status") == "True" {
                    "true"
                } else {
                    "false"
                }
            });
        put("__meta_kubernetes_pod_ready".into(), ready);
        for (field, prefix) in [("labels", "label"), ("annotations", "annotation")] {
            for (key, value) in pod
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let name = sanitize(key);
                put(
                    format!("__meta_kubernetes_pod_{prefix}_{name}"),
                    value.as_str().unwrap_or_default(),
                );
                put(
                    format!("__meta_kubernetes_pod_{prefix}present_{name}"),
                    "true",
                );
            }
        }
        if let Some(owner) = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|owners| {
                owners
                    .iter()
                    .find(|o| o.get("controller") == Some(&json!(true)))
            })
        {
            put(
                "__meta_kubernetes_pod_controller_kind".into(),
                text(owner, "/kind"),
            );
            put(
                "__meta_kubernetes_pod_controller_name".into(),
                text(owner, "/name"),
            );
        }
        let containers = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let first_port = containers.iter().find_map(|container| {
            container
                .get("ports")
                .and_then(Value::as_array)
                .and_then(|ports| ports.first())
                .map(|port| (container, port))
        });
        if let Some((container, port)) = first_port {
            put(
                "__meta_kubernetes_pod_container_name".into(),
                text(container, "/name"),
            );
            put(
                "__meta_kubernetes_pod_container_image".into(),
                text(container, "/image"),
            );
            put("__meta_kubernetes_pod_container_init".into(), "false");
            put(
                "__meta_kubernetes_pod_container_port_name".into(),
                text(port, "/name"),
            );
            let number = port
                .get("containerPort")
                .map(ToString::to_string)
                .unwrap_or_default();
            put(
                "__meta_kubernetes_pod_container_port_number".into(),
                &number,
            );
            let protocol = match text(port, "/protocol") {
                "" => "TCP",
                other => other,
            };
            put(
                "__meta_kubernetes_pod_container_port_protocol".into(),
                protocol,
            );
        }
        groups.push(json!({"targets": [address], "labels": labels}));
    }
    Value::Array(groups)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::http_sd;

    #[test]
    fn serving_pods_become_targets_with_kubernetes_sd_labels() {
        let pod = json!({"metadata": {"name": "web-1", "namespace": "shop", "uid": "u1",
                "labels": {"app.kubernetes.io/name": "web"},
                "annotations": {"sim.shipway.dev/endpoint": "127.0.0.1:40001",
                    "prometheus.io/scrape": "true"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9", "controller": true}]},
            "spec": {"nodeName": "sim-node-1", "containers": [{"name": "app", "image": "web:1",
                "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.7", "hostIP": "172.18.0.2",
                "conditions": [{"type": "Ready", "status": "True"}]}});
        let pending = json!({"metadata": {"name": "web-2", "namespace": "shop"}});
        let document = http_sd(&[pod, pending]);
        let groups = document.as_array().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0]["targets"], json!(["127.0.0.1:40001"]));
        let labels = &groups[0]["labels"];
        for (key, value) in [
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_pod_name", "web-1"),
            ("__meta_kubernetes_pod_ip", "10.244.0.7"),
            ("__meta_kubernetes_pod_ready", "true"),
            ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"),
            (
                "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
                "true",
            ),
            (
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
                "true",
            ),
            ("__meta_kubernetes_pod_container_port_number", "8080"),
            ("__meta_kubernetes_pod_container_port_name", "http"),
            ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
            ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
            ("__meta_kubernetes_pod_node_name", "sim-node-1"),
        ] {
            assert_eq!(labels[key], value, "{key}");
        }
    }
}
