//! Smoke checks: HTTP requests against a workload's pods or a Service, declared on the
//! object itself so they travel with the app's manifests (annotation
//! `shipway.dev/smoke-checks`, a YAML or JSON list):
//!
//! ```yaml
//! metadata:
//!   annotations:
//!     shipway.dev/smoke-checks: |
//!       - path: /health        # GET; 200 expected unless `status` says otherwise
//!       - path: /metrics
//!         port: 8080           # default: the first container port (Service: first port)
//!         metrics: true        # the body must parse as Prometheus text exposition
//!         contains: "http_requests_total"
//! ```
//!
//! On a Service the check goes through the Service once; on a Deployment, `StatefulSet`,
//! `DaemonSet` or Rollout it goes to each of its Ready pods (for a Rollout in progress, the
//! pods of the new template). Requests go through the API server's proxy subresource
//! (`pods/{name}:{port}/proxy/…`), so they work from outside the cluster, with the same
//! credentials as everything else.

use http_body_util::BodyExt as _;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::controller::resource;

/// The annotation that declares an object's smoke checks.
pub const ANNOTATION: &str = "shipway.dev/smoke-checks";

/// How long one request may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The path (with any query), starting with `/`.
    pub path: String,
    /// The port: a number or a port name (`None`: the first one declared).
    pub port: Option<String>,
    /// The expected status (default 200).
    pub status: u16,
    /// The body must parse as Prometheus text exposition.
    pub metrics: bool,
    /// The body must contain this text.
    pub contains: Option<String>,
}

/// The checks declared on `object`, if any; a malformed annotation is an error saying
/// what is wrong with it.
pub fn checks_of(object: &Value) -> Result<Option<Vec<Check>>, String> {
    let Some(text) = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        kind,
        "Service" | "Deployment" | "StatefulSet" | "DaemonSet" | "Rollout"
    ) {
        return Err(format!(
            "annotation `{ANNOTATION}` on a {kind}: smoke checks go on a Service, Deployment, StatefulSet, DaemonSet or Rollout"
        ));
    }
    parse(text)
        .map(Some)
        .map_err(|message| format!("annotation `{ANNOTATION}`: {message}"))
}

/// Parses the annotation's text.
pub fn parse(text: &str) -> Result<Vec<Check>, String> {
    let document = shipway_model::yaml::parse_one(text).map_err(|e| e.to_string())?;
    let list = document.to_json();
    let items = list
        .as_array()
        .ok_or("must be a list of checks (`- path: /health`)")?;
    let mut checks = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = |message: &str| format!("check {}: {message}", index + 1);
        let map = item.as_object().ok_or_else(|| at("must be a mapping"))?;
        if let Some(other) = map
            .keys()
            .find(|k| !["path", "port", "status", "metrics", "contains"].contains(&k.as_str()))
        {
            return Err(at(&format!(
                "unknown field `{other}` (known: path, port, status, metrics, contains)"
            )));
        }
        let path = map
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| at("needs a `path` starting with `/`"))?;
        let port = match map.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
            Some(_) => return Err(at("`port` must be a number or a port name")),
        };
        let status = match map.get("status") {
            None | Some(Value::Null) => 200,
            Some(value) => value
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| at("`status` must be an HTTP status code"))?,
        };
        checks.push(Check {
            path: path.to_string(),
            port,
            status,
            metrics: map.get("metrics").and_then(Value::as_bool).unwrap_or(false),
            contains: map
                .get("contains")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(checks)
}

/// Whether `text` is Prometheus text exposition with at least one sample.
pub fn parses_as_metrics(text: &str) -> Result<(), String> {
    match crate::exposition::parse(text)?.len() {
        0 => Err("no samples".into()),
        _ => Ok(()),
    }
}

/// GETs `path` (an API server path such as `/api/v1/namespaces/web/pods/p:8080/proxy/metrics`)
/// with kube's raw `send`, within `timeout`: the status and the body, at most `limit`
/// bytes of it.
pub(crate) async fn get_raw(
    client: &kube::Client,
    path: &str,
    timeout: std::time::Duration,
    limit: usize,
) -> Result<(u16, String), String> {
    let request = http::Request::get(path)
        .body(kube::client::Body::empty())
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let response = client.send(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer in {}s", timeout.as_secs()))?
}

/// The proxy path prefix of `pod`'s `port` (a number or name; `None`: its first container
/// port): `/api/v1/namespaces/{ns}/pods/{name}[:port]/proxy`.
pub(crate) fn pod_proxy(namespace: &str, pod: &Value, port: Option<&str>) -> String {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let port = port_of_pod(pod, port)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!("/api/v1/namespaces/{namespace}/pods/{name}{port}/proxy")
}

async fn probe(client: &kube::Client, proxy: &str, check: &Check) -> Result<(), String> {
    let (status, body) = get_raw(
        client,
        &format!("{proxy}{}", check.path),
        TIMEOUT,
        4 * 1024 * 1024,
    )
    .await?;
    let excerpt = || {
        // An answer of the API server itself (no pod to reach) is a Status: its message.
        let status: Option<Value> = serde_json::from_str(&body).ok();
        let text = status
            .as_ref()
            .filter(|s| s["kind"] == "Status")
            .and_then(|s| s["message"].as_str())
            .unwrap_or(&body);
        let text: String = text.trim().chars().take(160).collect();
        if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        }
    };
    if status != check.status {
        return Err(format!("{status} (expected {}){}", check.status, excerpt()));
    }
    if check.metrics {
        parses_as_metrics(&body)
            .map_err(|e| format!("{status}, but the body is not Prometheus metrics: {e}"))?;
    }
    if let Some(text) = &check.contains
        && !body.contains(text.as_str())
    {
        return Err(format!("{status}, but the body does not contain `{text}`"));
    }
    Ok(())
}

fn port_of_pod(pod: &Value, wanted: Option<&str>) -> Option<String> {
    let ports: Vec<&Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect();
    match wanted {
        Some(port) if port.parse::<u16>().is_ok() => Some(port.to_string()),
        Some(name) => ports
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|p| p.get("containerPort"))
            .map(ToString::to_string),
        None => ports
            .first()
            .and_then(|p| p.get("containerPort"))
            .map(ToString::to_string),
    }
}

/// Whether `pod` is Ready and not being deleted.
pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

/// Runs `checks` against every Ready pod in `namespace` matching `labels`; returns one
/// line per failure (`pod web-1: GET /health: 503 (expected 200): not ready`). No Ready
/// pod is a failure too.
pub async fn run_pods(
    client: &kube::Client,
    namespace: &str,
    labels: &[(String, String)],
    checks: &[Check],
) -> Vec<String> {
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("", "v1", "Pod", "pods"),
    );
    let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let listed = match pods
        .list(&ListParams::default().labels(&selector.join(",")))
        .await
    {
        Ok(listed) => listed,
        Err(error) => return vec![format!("listing the pods {}: {error}", selector.join(","))],
    };
    let ready: Vec<Value> = listed
        .items
        .into_iter()
        .map(|pod| serde_json::to_value(pod).unwrap_or(Value::Null))
        .filter(is_ready)
        .collect();
    if ready.is_empty() {
        return vec![format!("no Ready pod matches {}", selector.join(","))];
    }
    let mut failures = Vec::new();
    for pod in &ready {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for check in checks {
            let proxy = pod_proxy(namespace, pod, check.port.as_deref());
            if let Err(why) = probe(client, &proxy, check).await {
                failures.push(format!("pod {name}: GET {}: {why}", check.path));
            }
        }
    }
    failures
}

/// Runs `checks` once through the Service `namespace/name`.
pub async fn run_service(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    checks: &[Check],
) -> Vec<String> {
    let services: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("", "v1", "Service", "services"),
    );
    let service = match services.get(name).await {
        Ok(service) => serde_json::to_value(service).unwrap_or(Value::Null),
        Err(error) => return vec![format!("Service {namespace}/{name}: {error}")],
    };
    let first_port = service
        .pointer("/spec/ports/0/port")
        .map(ToString::to_string);
    let mut failures = Vec::new();
    for check in checks {
        let port = check
            .port
            .clone()
            .or_else(|| first_port.clone())
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let proxy = format!("/api/v1/namespaces/{namespace}/services/{name}{port}/proxy");
        if let Err(why) = probe(client, &proxy, check).await {
            failures.push(format!("Service {name}: GET {}: {why}", check.path));
        }
    }
    failures
}

/// Runs the smoke checks an applied object declares: through a Service, or against a
/// workload's Ready pods (`extra` labels narrow them, e.g. a Rollout's new template
/// hash). `Ok(None)` when it declares none; `Err` for a malformed annotation.
pub async fn run_object(
    client: &kube::Client,
    object: &Value,
    extra: &[(String, String)],
) -> Result<Option<Vec<String>>, String> {
    let Some(checks) = checks_of(object)? else {
        return Ok(None);
    };
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let namespace = match text("/metadata/namespace") {
        "" => "default",
        namespace => namespace,
    };
    let name = text("/metadata/name");
    let kind = text("/kind");
    if kind == "Service" {
        return Ok(Some(run_service(client, namespace, name, &checks).await));
    }
    let mut labels: Vec<(String, String)> = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    if labels.is_empty() {
        return Err(format!(
            "annotation `{ANNOTATION}`: {kind} {name} has no spec.selector.matchLabels to find its pods by"
        ));
    }
    labels.extend(extra.iter().cloned());
    Ok(Some(run_pods(client, namespace, &labels, &checks).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_read_with_their_defaults_and_bad_ones_named() {
        let checks = parse(
            "- path: /health\n- path: /metrics\n  port: 9090\n  metrics: true\n  status: 200\n",
        )
        .unwrap();
        assert_eq!(checks[0].status, 200);
        assert_eq!(checks[0].port, None);
        assert!(checks[1].metrics);
        assert_eq!(checks[1].port.as_deref(), Some("9090"));
        assert!(parse("path: /x").unwrap_err().contains("list"));
        assert!(parse("- path: health").unwrap_err().contains("check 1"));
        assert!(
            parse("- path: /x\n  timeout: 3")
                .unwrap_err()
                .contains("unknown field `timeout`")
        );
        assert!(
            parse("- path: /x\n  status: 999")
                .unwrap_err()
                .contains("status")
        );
    }

    #[test]
    fn metrics_bodies_parse_or_say_which_line_does_not() {
        parses_as_metrics("# HELP x y\n# TYPE x counter\nx_total{code=\"200\",a=\"}\"} 12\nup 1 1700000000\nlat NaN\n").unwrap();
        assert!(
            parses_as_metrics("<html>oops</html>\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            parses_as_metrics("x 1\ny{a=\"b\"} one\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert_eq!(
            parses_as_metrics("# only comments\n").unwrap_err(),
            "no samples"
        );
    }
}
