//! The API server's proxy subresources, `pods/{name}/proxy/…` and
//! `services/{name}/proxy/…`, forwarded to the pods' loopback listeners (see
//! [`crate::controllers`]' pod HTTP): how `kubectl get --raw`, smoke checks and metric
//! readers reach a pod through the API server on a real cluster, so the same code works
//! on both. A Service picks one of its Ready, serving pods in turn; with none it answers
//! 503 "no endpoints available for service", as a real API server does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

use crate::Simulator;
use crate::controllers::{ENDPOINT_ANNOTATION, annotation, pod_ready};
use crate::error::ApiError;

/// How long a proxied request may take before the answer is a 503.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Which pod a Service's next proxied request goes to.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Where a proxy path goes: the pod listener and the path (with query) to ask it for.
/// `None` when `path` is not a proxy path.
pub(crate) fn target(
    simulator: &Simulator,
    path: &str,
    query: Option<&str>,
) -> Option<Result<(SocketAddr, String), ApiError>> {
    let segments: Vec<&str> = path.split('/').collect();
    // "", "api", "v1", "namespaces", ns, "pods"|"services", name, "proxy", rest…
    let [
        "",
        "api",
        "v1",
        "namespaces",
        namespace,
        plural @ ("pods" | "services"),
        name,
        "proxy",
        rest @ ..,
    ] = segments.as_slice()
    else {
        return None;
    };
    let forwarded = format!(
        "/{}{}",
        rest.join("/"),
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    Some(resolve(simulator, namespace, plural, name).map(|address| (address, forwarded)))
}

fn resolve(
    simulator: &Simulator,
    namespace: &str,
    plural: &str,
    name: &str,
) -> Result<SocketAddr, ApiError> {
    // `name`, `name:port` or (Services) `scheme:name:port`: the simulated pods answer
    // on every port.
    let parts: Vec<&str> = name.split(':').collect();
    let name = match (plural, parts.as_slice()) {
        ("services", [scheme, name, _]) if matches!(*scheme, "http" | "https" | "") => *name,
        (_, [name, ..]) => *name,
        _ => name,
    };
    let store = simulator.lock();
    let resource = |plural: &str| {
        crate::resources::find("", "v1", plural)
            .ok_or_else(|| ApiError::Internal(format!("no {plural} resource")))
    };
    let serving = |pod: &Value| {
        let address = annotation(pod, ENDPOINT_ANNOTATION);
        (pod.pointer("/metadata/deletionTimestamp").is_none() && !address.is_empty())
            .then(|| address.parse::<SocketAddr>().ok())
            .flatten()
    };
    if plural == "pods" {
        let pod = store.get(resource("pods")?, Some(namespace), name)?;
        return serving(&pod).ok_or_else(|| {
            ApiError::ServiceUnavailable(format!(
                "error trying to reach service: pod {name} is not serving (not running, or it declares no container port)"
            ))
        });
    }
    let service = store.get(resource("services")?, Some(namespace), name)?;
    let selector = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty());
    let addresses: Vec<SocketAddr> = match selector {
        None => Vec::new(),
        Some(selector) => store
            .objects_of(resource("pods")?, Some(namespace))
            .filter(|pod| {
                selector.iter().all(|(key, value)| {
                    pod.pointer("/metadata/labels")
                        .and_then(|labels| labels.get(key))
                        == Some(value)
                }) && pod_ready(pod)
            })
            .filter_map(serving)
            .collect(),
    };
    if addresses.is_empty() {
        return Err(ApiError::ServiceUnavailable(format!(
            "no endpoints available for service \"{name}\""
        )));
    }
    Ok(addresses[NEXT.fetch_add(1, Ordering::Relaxed) % addresses.len()])
}

/// Sends the request to the pod and answers with what it answered.
pub(crate) async fn forward(
    address: SocketAddr,
    method: &Method,
    path: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let unreachable = |error: &dyn std::fmt::Display| {
        ApiError::ServiceUnavailable(format!("error trying to reach service: {error}"))
    };
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(&e))?;
        tokio::spawn(connection);
        let request = axum::http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, address.to_string())
            .body(Full::new(body))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let (parts, body) = answer.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        Ok::<_, ApiError>((parts, bytes))
    };
    let (parts, bytes) = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| unreachable(&"the pod did not answer in 10s"))??;
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(kind) = parts.headers.get(header::CONTENT_TYPE) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_bytes(kind.as_bytes())
                .unwrap_or(HeaderValue::from_static("text/plain")),
        );
    }
    Ok(response)
}
