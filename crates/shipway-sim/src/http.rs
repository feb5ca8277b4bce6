//! The HTTP layer: one axum fallback handler that routes Kubernetes paths by hand.
//!
//! Kubernetes URLs are a small grammar (`/api/v1/namespaces/{ns}/{resource}/{name}`,
//! `/apis/{group}/{version}/…`) whose meaning depends on the resource table (is
//! `namespaces/x/configmaps` a collection or a namespace subresource?), so one handler
//! parses them against [`crate::resources`] instead of registering hundreds of routes. The
//! query string is parsed here too, tolerating kube-rs's empty pairs (`?&limit=500`). Every
//! answer is JSON; aggregated discovery, Tables and `PartialObjectMetadata` name their kind
//! in the Content-Type, as a real server's do. Injected faults are answered before routing.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Simulator;
use crate::error::ApiError;
use crate::protobuf;
use crate::resources::ResourceType;
use crate::selector::Selector;
use crate::store::{
    self, DeleteOptions, Deleted, FieldValidation, ListOptions, PatchType, Propagation,
    Subresource, WriteOptions, Written,
};
use crate::{discovery, openapi, table, watch};

/// Request bodies above this are refused with 413, as a real server's
/// `--max-request-bytes` default (3 MiB) refuses them.
const MAX_BODY: usize = 3 * 1024 * 1024;

/// The one handler behind every path.
pub(crate) async fn handle(State(simulator): State<Simulator>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error_response(&ApiError::TooLarge(MAX_BODY));
    };
    let request = ParsedRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parse_query(parts.uri.query().unwrap_or_default()),
        headers: &parts.headers,
        body: &body,
    };
    if let Some(fault) = simulator.take_fault(request.method.as_str(), request.path) {
        return error_response(&fault);
    }
    // The proxy subresources answer with the pod's own response, not JSON.
    if let Some(mut target) = crate::proxy::target(&simulator, request.path, parts.uri.query()) {
        // A pod's listener is bound by the controllers' loop a moment after it turns
        // Ready; a real Ready pod already listens, so wait that moment out.
        let started = tokio::time::Instant::now();
        while matches!(target, Err(ApiError::ServiceUnavailable(_)))
            && started.elapsed() < std::time::Duration::from_secs(3)
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            target = crate::proxy::target(&simulator, request.path, parts.uri.query())
                .expect("the same path is still a proxy path");
        }
        let forwarded = match target {
            Ok((address, path)) => {
                crate::proxy::forward(address, request.method, &path, body.clone()).await
            }
            Err(error) => Err(error),
        };
        return forwarded.unwrap_or_else(|error| error_response(&error));
    }
    match route(&simulator, &request) {
        Ok(answer) => answer.into_response(),
        Err(error) => error_response(&error),
    }
}

/// What a request parsed into.
struct ParsedRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

impl ParsedRequest<'_> {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// An object body: JSON, or protobuf for the kinds [`crate::protobuf`] decodes.
    fn object_body(&self) -> Result<Value, ApiError> {
        let content_type = self.header(header::CONTENT_TYPE);
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        match media_type {
            "" | "application/json" | "*/*" => self.json_body(),
            protobuf::MEDIA_TYPE => protobuf::decode(self.body),
            _ => Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, {}",
                protobuf::MEDIA_TYPE
            ))),
        }
    }

    /// A server-side apply body: JSON (what kubectl and kube-rs send) or YAML.
    fn apply_body(&self) -> Result<Value, ApiError> {
        if let Ok(value) = serde_json::from_slice(self.body) {
            return Ok(value);
        }
        let text = std::str::from_utf8(self.body)
            .map_err(|_| ApiError::BadRequest("the apply body is not UTF-8".into()))?;
        // The shared reader bounds what aliases expand to by bytes, relative to the body:
        // an alias bomb is a 400 here, not gigabytes.
        shipway_model::yaml::parse_one(text)
            .map(|node| node.to_json())
            .map_err(|error| ApiError::BadRequest(format!("error decoding YAML: {error}")))
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(self.body)
            .map_err(|error| ApiError::BadRequest(format!("the body is not valid JSON: {error}")))
    }
}

/// A successful answer: a JSON document (with any `Warning` headers) or a watch stream.
pub(crate) enum Answer {
    /// A JSON body.
    Json {
        /// HTTP status.
        status: StatusCode,
        /// The body.
        value: Value,
        /// `Warning: 299 - "…"` header texts.
        warnings: Vec<String>,
    },
    /// A streamed response (watch).
    Stream(Response),
    /// A `text/plain` body (logs, health checks).
    Text(StatusCode, String),
}

impl Answer {
    fn json(status: StatusCode, value: Value) -> Self {
        Self::Json {
            status,
            value,
            warnings: Vec::new(),
        }
    }

    /// 201 for a create, 200 otherwise, with the write's warnings.
    fn written(written: Written) -> Self {
        Self::Json {
            status: if written.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            value: written.object,
            warnings: written.warnings,
        }
    }

    fn written_view(written: Written, subresource: Subresource) -> Self {
        let view = store::subresource_view(&written.object, subresource);
        Self::written(Written {
            object: view,
            ..written
        })
    }

    fn into_response(self) -> Response {
        match self {
            Self::Json {
                status,
                value,
                warnings,
            } => {
                // Aggregated discovery and tables name their kind in the Content-Type.
                let mut response = json_response(status, &value);
                for warning in warnings {
                    let text = format!("299 - {}", serde_json::Value::String(warning));
                    if let Ok(value) = HeaderValue::from_str(&text) {
                        response.headers_mut().append(header::WARNING, value);
                    }
                }
                response
            }
            Self::Stream(response) => response,
            Self::Text(status, body) => {
                let mut response = Response::new(axum::body::Body::from(body));
                *response.status_mut() = status;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        }
    }
}

type Reply = Result<Answer, ApiError>;

fn route(simulator: &Simulator, request: &ParsedRequest<'_>) -> Reply {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    // Discovery and OpenAPI follow the served types, custom resources included.
    let types = || simulator.lock().resource_types();
    let crd_schema = |resource: &ResourceType| resource.custom_schema.cloned();
    let accept = request.header(header::ACCEPT);
    match segments.as_slice() {
        ["version"] => discovery(request, version()),
        ["api"] => discovery(
            request,
            discovery::api(accept, request.header(header::HOST), &types()),
        ),
        ["apis"] => discovery(request, discovery::apis(accept, &types())),
        ["api", "v1"] => discovery(request, discovery::resource_list("", "v1", &types())?),
        ["apis", group] => discovery(request, discovery::api_group(group, &types())?),
        ["apis", group, version] => {
            discovery(request, discovery::resource_list(group, version, &types())?)
        }
        ["openapi", "v3"] => discovery(request, openapi::index(&types(), &crd_schema)),
        ["openapi", "v3", rest @ ..] => discovery(
            request,
            openapi::document_at(rest, &types(), &crd_schema).ok_or(ApiError::NoRoute)?,
        ),
        ["healthz" | "livez" | "readyz", rest @ ..] => health(request, segments[0], rest),
        ["shipway", "prometheus", "http-sd"] if *request.method == Method::GET => {
            let pods = crate::resources::find("", "v1", "pods").ok_or(ApiError::NoRoute)?;
            let store = simulator.lock();
            let pods: Vec<Value> = store.objects_of(pods, None).cloned().collect();
            Ok(Answer::json(
                StatusCode::OK,
                crate::prometheus::http_sd(&pods),
            ))
        }
        ["api", "v1", rest @ ..] => resource_request(simulator, request, "", "v1", rest),
        ["apis", group, version, rest @ ..] => {
            resource_request(simulator, request, group, version, rest)
        }
        _ => Err(ApiError::NoRoute),
    }
}

/// The checks `/healthz`, `/livez` and `/readyz` list with `?verbose` (the real server's
/// names; every one passes, since the simulator is up when it answers).
const HEALTH_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/bootstrap-controller",
];

/// `/healthz`, `/livez`, `/readyz` (`ok`, or one line per check with `?verbose`) and a
/// single check (`/livez/ping`); `readyz` adds the informer sync check as upstream does.
fn health(request: &ParsedRequest<'_>, endpoint: &str, rest: &[&str]) -> Reply {
    if *request.method != Method::GET {
        return Err(method_not_allowed());
    }
    let mut checks: Vec<&str> = HEALTH_CHECKS.to_vec();
    if endpoint == "readyz" {
        checks.insert(2, "informer-sync");
    }
    let body = if rest.is_empty() {
        if request.query("verbose").is_some() {
            let mut lines: Vec<String> = checks.iter().map(|c| format!("[+]{c} ok")).collect();
            lines.push(format!("{endpoint} check passed\n"));
            lines.join("\n")
        } else {
            "ok".to_owned()
        }
    } else if checks.contains(&rest.join("/").as_str()) {
        "ok".to_owned()
    } else {
        return Err(ApiError::NoRoute);
    };
    Ok(Answer::Text(StatusCode::OK, body))
}

/// Discovery documents are read-only.
fn discovery(request: &ParsedRequest<'_>, document: Value) -> Reply {
    if *request.method == Method::GET {
        Ok(Answer::json(StatusCode::OK, document))
    } else {
        Err(method_not_allowed())
    }
}

/// `/version`: minor 32, so the machine's kubectl dispatcher runs `kubectl.1.32`.
fn version() -> Value {
    json!({
        "major": "1",
        "minor": crate::SERVER_MINOR,
        "gitVersion": format!("v1.{}.0", crate::SERVER_MINOR),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Collections, objects and subresources: `[namespaces/{ns}/]{resource}[/{name}[/{sub}]]`.
fn resource_request(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Reply {
    let find = |plural: &str| simulator.lock().find(group, version, plural);
    // `namespaces/x/configmaps` is a namespaced collection; `namespaces/x/status` is a
    // namespace subresource. The table decides which.
    let (namespace, rest) = match rest {
        ["namespaces", namespace, plural, tail @ ..]
            if find(plural).is_some_and(|r| r.namespaced) =>
        {
            let rest: Vec<&str> = std::iter::once(*plural)
                .chain(tail.iter().copied())
                .collect();
            (Some(*namespace), rest)
        }
        _ => (None, rest.to_vec()),
    };
    let Some(resource) = rest.first().and_then(|plural| find(plural)) else {
        return Err(ApiError::NoRoute);
    };
    let options = write_options(request)?;
    match rest.as_slice() {
        [_] => collection(simulator, request, resource, namespace, &options),
        [_, name] => object(
            simulator,
            request,
            resource,
            namespace,
            name,
            Subresource::Main,
            &options,
        ),
        [_, name, "status"] if resource.has_status => object(
            simulator,
            request,
            resource,
            namespace,
            name,
            Subresource::Status,
            &options,
        ),
        [_, name, "scale"] if resource.has_scale() => object(
            simulator,
            request,
            resource,
            namespace,
            name,
            Subresource::Scale,
            &options,
        ),
        [_, name, "log"] if resource.group.is_empty() && resource.plural == "pods" => {
            if *request.method != Method::GET {
                return Err(method_not_allowed());
            }
            let pod = simulator.lock().get(resource, namespace, name)?;
            let number = |key: &str| request.query(key).and_then(|v| v.parse::<usize>().ok());
            let options = crate::logs::LogOptions {
                container: request.query("container"),
                tail_lines: number("tailLines"),
                timestamps: request.query("timestamps") == Some("true"),
                previous: request.query("previous") == Some("true"),
                limit_bytes: number("limitBytes"),
            };
            Ok(Answer::Text(
                StatusCode::OK,
                crate::logs::pod_log(&pod, &options)?,
            ))
        }
        [
            _,
            name,
            verb @ ("exec" | "attach" | "portforward" | "proxy"),
            ..,
        ] if matches!(resource.plural, "pods" | "services" | "nodes")
            && resource.group.is_empty() =>
        {
            // Streams need a container runtime; a clear refusal beats a 404, which kubectl
            // would report as a missing object.
            simulator.lock().get(resource, namespace, name)?;
            let command = match *verb {
                "portforward" => "port-forward",
                "proxy" => "proxy",
                other => other,
            };
            Err(ApiError::BadRequest(format!(
                "`kubectl {command}` is not supported by the shipway sandbox: its containers are simulated and run no processes"
            )))
        }
        [_, name, "finalize"] if resource.is_namespace() && *request.method == Method::PUT => {
            object(
                simulator,
                request,
                resource,
                namespace,
                name,
                Subresource::Main,
                &options,
            )
        }
        _ => Err(ApiError::NoRoute),
    }
}

/// `fieldManager`, `dryRun`, `fieldValidation` and `force` from the query.
fn write_options(request: &ParsedRequest<'_>) -> Result<WriteOptions, ApiError> {
    let dry_run = match request.query("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "Invalid dry run value: {other}: supported values: \"All\""
            )));
        }
    };
    let validation = request.query("fieldValidation").unwrap_or_default();
    let validation = FieldValidation::parse(validation).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "fieldValidation: Unsupported value: \"{validation}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))
    })?;
    let manager = match request.query("fieldManager") {
        Some(manager) if !manager.is_empty() => manager.to_owned(),
        // The real server names an unnamed manager after the client's product token.
        _ => request
            .header(header::USER_AGENT)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    if manager.len() > 128 {
        return Err(ApiError::Unprocessable(
            "fieldManager: Too long: may not be more than 128 bytes".into(),
        ));
    }
    Ok(WriteOptions {
        manager,
        dry_run,
        validation,
        force: request.query("force") == Some("true"),
    })
}

fn list_options(
    request: &ParsedRequest<'_>,
    resource: &ResourceType,
) -> Result<ListOptions, ApiError> {
    Ok(ListOptions {
        labels: Selector::labels(request.query("labelSelector").unwrap_or_default())
            .map_err(ApiError::BadRequest)?,
        fields: Selector::fields_of(
            resource.group,
            resource.kind,
            request.query("fieldSelector").unwrap_or_default(),
        )
        .map_err(ApiError::BadRequest)?,
        limit: request
            .query("limit")
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(0),
        continue_token: request.query("continue").map(String::from),
    })
}

fn collection(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    resource: &'static ResourceType,
    namespace: Option<&str>,
    options: &WriteOptions,
) -> Reply {
    if namespace.is_none() && resource.namespaced && *request.method != Method::GET {
        return Err(method_not_allowed());
    }
    match *request.method {
        Method::GET => {
            let list = list_options(request, resource)?;
            if request
                .query("watch")
                .is_some_and(|w| w == "true" || w == "1")
            {
                return Ok(Answer::Stream(watch::start(
                    simulator,
                    resource,
                    namespace,
                    list,
                    &watch::WatchParams::from_query(
                        |name| request.query(name),
                        table::wants_table(request.header(header::ACCEPT)),
                    )?,
                )?));
            }
            let store = simulator.lock();
            let mut list = store.list(resource, namespace, &list)?;
            if table::wants_table(request.header(header::ACCEPT)) {
                let items = list["items"].as_array().cloned().unwrap_or_default();
                list = table::table(
                    resource,
                    &items,
                    table::IncludeObject::from_query(request.query("includeObject")),
                    list["metadata"].take(),
                    store.now(),
                );
            }
            Ok(Answer::json(StatusCode::OK, list))
        }
        Method::POST => {
            let object = request.object_body()?;
            let written = simulator
                .lock()
                .create(resource, namespace, object, options)?;
            Ok(Answer::written(written))
        }
        Method::DELETE => {
            let list = list_options(request, resource)?;
            let delete = delete_options(request, options)?;
            let deleted = simulator.lock().delete_collection(
                resource,
                namespace,
                |object| list.labels.matches_labels(object) && list.fields.matches_fields(object),
                &delete,
            )?;
            Ok(Answer::json(StatusCode::OK, deleted))
        }
        _ => Err(method_not_allowed()),
    }
}

fn object(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    resource: &'static ResourceType,
    namespace: Option<&str>,
    name: &str,
    subresource: Subresource,
    options: &WriteOptions,
) -> Reply {
    if resource.namespaced != namespace.is_some() {
        return Err(ApiError::NoRoute);
    }
    match *request.method {
        Method::GET => {
            let store = simulator.lock();
            let object = store.get(resource, namespace, name)?;
            if subresource == Subresource::Main
                && table::wants_table(request.header(header::ACCEPT))
            {
                let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                return Ok(Answer::json(
                    StatusCode::OK,
                    table::table(
                        resource,
                        std::slice::from_ref(&object),
                        table::IncludeObject::from_query(request.query("includeObject")),
                        metadata,
                        store.now(),
                    ),
                ));
            }
            Ok(Answer::json(
                StatusCode::OK,
                store::subresource_view(&object, subresource),
            ))
        }
        Method::PUT => {
            let object = request.object_body()?;
            let written =
                simulator
                    .lock()
                    .update(resource, namespace, name, object, subresource, options)?;
            Ok(Answer::written_view(written, subresource))
        }
        Method::PATCH => {
            let content_type = request.header(header::CONTENT_TYPE);
            let media_type = content_type.split(';').next().unwrap_or_default().trim();
            let patch_type = match media_type {
                "application/merge-patch+json" => PatchType::Merge,
                "application/json-patch+json" => PatchType::Json,
                "application/strategic-merge-patch+json" => PatchType::Strategic,
                "application/apply-patch+yaml" | "application/apply-patch+cbor" => PatchType::Apply,
                _ => {
                    return Err(ApiError::UnsupportedMediaType(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json".into(),
                    ));
                }
            };
            if patch_type != PatchType::Apply && options.force {
                return Err(ApiError::Unprocessable(
                    "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch".into(),
                ));
            }
            let body = if patch_type == PatchType::Apply {
                request.apply_body()?
            } else {
                request.json_body()?
            };
            let written = simulator.lock().patch(
                resource,
                namespace,
                name,
                patch_type,
                &body,
                subresource,
                options,
            )?;
            Ok(Answer::written_view(written, subresource))
        }
        Method::DELETE if subresource == Subresource::Main => {
            let delete = delete_options(request, options)?;
            let deleted = simulator
                .lock()
                .delete(resource, namespace, name, &delete)?;
            match deleted {
                Deleted::Object(object) | Deleted::Status(object) => {
                    Ok(Answer::json(StatusCode::OK, object))
                }
            }
        }
        _ => Err(method_not_allowed()),
    }
}

/// `DeleteOptions` from the JSON body (both clients send one) and the query.
fn delete_options(
    request: &ParsedRequest<'_>,
    options: &WriteOptions,
) -> Result<DeleteOptions, ApiError> {
    let body = if request.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        request.json_body()?
    };
    let propagation = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| request.query("propagationPolicy"));
    let mut propagation = match propagation {
        None | Some("") => None,
        Some(text) => Some(Propagation::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "propagationPolicy: Unsupported value: \"{text}\": supported values: \"Background\", \"Foreground\", \"Orphan\""
            ))
        })?),
    };
    let orphan = body
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| request.query("orphanDependents").map(|o| o == "true"));
    if propagation.is_none() && orphan == Some(true) {
        propagation = Some(Propagation::Orphan);
    }
    let dry_run = options.dry_run
        || body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation,
        preconditions: body.get("preconditions").cloned(),
        dry_run,
    })
}

fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed(
        "the server does not allow this method on the requested resource".into(),
    )
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, discovery::content_type(value))],
        value.to_string(),
    )
        .into_response()
}

fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.to_status());
    if let ApiError::Injected {
        retry_after: Some(seconds),
        ..
    } = error
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Splits a query string into decoded pairs as Go's `url.ParseQuery` does (`+` is a space),
/// skipping the empty pairs kube-rs leaves (`?&limit=500`).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 2;
                    }
                    None => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_tolerates_empty_pairs_and_decodes() {
        assert_eq!(
            parse_query("&fieldSelector=metadata.name%3Dweb&&labelSelector=a+in+(b)&watch"),
            vec![
                ("fieldSelector".into(), "metadata.name=web".into()),
                ("labelSelector".into(), "a in (b)".into()),
                ("watch".into(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%2"), "%2");
    }
}
