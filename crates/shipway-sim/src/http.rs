//! The HTTP layer: one axum fallback handler that routes Kubernetes paths by hand.
//!
//! Kubernetes URLs are a small grammar (`/api/v1/namespaces/{ns}/{resource}/{name}`,
//! `/apis/{group}/{version}/…`) whose meaning depends on the resource table (is
//! `namespaces/x/configmaps` a collection or a namespace subresource?), so one handler
//! parses them against [`crate::resources`] instead of registering hundreds of routes. The
//! query string is parsed here too, tolerating kube-rs's empty pairs (`?&limit=500`). Every
//! answer is JSON: aggregated discovery and Table requests get the legacy/plain form, which
//! kubectl accepts (research note, appendix A.4).

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Simulator;
use crate::error::ApiError;
use crate::patch;
use crate::protobuf;
use crate::resources::{self, ResourceType};
use crate::selector::Selector;
use crate::store::Deleted;
use crate::strategic;
use crate::{discovery, openapi};

/// Request bodies above this are refused; a real server's limit is 3 MiB.
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
    match route(&simulator, &request) {
        Ok((status, value)) => json_response(status, &value),
        Err(error) => error_response(&error),
    }
}

/// What a handler needs of a request.
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

    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(self.body)
            .map_err(|error| ApiError::BadRequest(format!("the body is not valid JSON: {error}")))
    }
}

type Answer = Result<(StatusCode, Value), ApiError>;

fn route(simulator: &Simulator, request: &ParsedRequest<'_>) -> Answer {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => discovery(request, version()),
        ["api"] => discovery(
            request,
            discovery::api(
                request.header(header::ACCEPT),
                request.header(header::HOST),
                &discovery::builtin(),
            ),
        ),
        ["apis"] => discovery(
            request,
            discovery::apis(request.header(header::ACCEPT), &discovery::builtin()),
        ),
        ["api", "v1"] => discovery(
            request,
            discovery::resource_list("", "v1", &discovery::builtin())?,
        ),
        ["apis", group] => discovery(request, discovery::api_group(group, &discovery::builtin())?),
        ["apis", group, version] => discovery(
            request,
            discovery::resource_list(group, version, &discovery::builtin())?,
        ),
        ["openapi", "v3"] => discovery(request, openapi::index(&discovery::builtin(), &|_| None)),
        ["openapi", "v3", rest @ ..] => discovery(
            request,
            openapi::document_at(rest, &discovery::builtin(), &|_| None)
                .ok_or(ApiError::NoRoute)?,
        ),
        ["api", "v1", rest @ ..] => resource_request(simulator, request, "", "v1", rest),
        ["apis", group, version, rest @ ..] => {
            resource_request(simulator, request, group, version, rest)
        }
        _ => Err(ApiError::NoRoute),
    }
}

/// Discovery documents are read-only.
fn discovery(request: &ParsedRequest<'_>, document: Value) -> Answer {
    if *request.method == Method::GET {
        Ok((StatusCode::OK, document))
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

/// Collections and objects: `[namespaces/{ns}/]{resource}[/{name}]`.
fn resource_request(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Answer {
    // `namespaces/x/configmaps` is a namespaced collection; `namespaces/x/status` would be a
    // namespace subresource. The table decides which.
    let (namespace, rest) = match rest {
        ["namespaces", namespace, plural, tail @ ..]
            if resources::find(group, version, plural).is_some_and(|r| r.namespaced) =>
        {
            let rest: Vec<&str> = std::iter::once(*plural)
                .chain(tail.iter().copied())
                .collect();
            (Some(*namespace), rest)
        }
        _ => (None, rest.to_vec()),
    };
    let Some(resource) = rest
        .first()
        .and_then(|plural| resources::find(group, version, plural))
    else {
        return Err(ApiError::NoRoute);
    };
    if request
        .query("dryRun")
        .is_some_and(|value| !value.is_empty())
    {
        return Err(ApiError::BadRequest(
            "dryRun is not supported by the shipway simulator yet".into(),
        ));
    }
    match rest.as_slice() {
        [_] => collection(simulator, request, resource, namespace),
        [_, name] => object(simulator, request, resource, namespace, name),
        // Subresources (status, scale, finalize) come with a later phase.
        _ => Err(ApiError::NoRoute),
    }
}

fn collection(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    resource: &'static ResourceType,
    namespace: Option<&str>,
) -> Answer {
    match *request.method {
        Method::GET => {
            if request
                .query("watch")
                .is_some_and(|w| w == "true" || w == "1")
            {
                return Err(ApiError::MethodNotAllowed(
                    "watch is not supported by the shipway simulator yet".into(),
                ));
            }
            let labels = Selector::labels(request.query("labelSelector").unwrap_or_default())
                .map_err(ApiError::BadRequest)?;
            let fields = Selector::fields(request.query("fieldSelector").unwrap_or_default())
                .map_err(ApiError::BadRequest)?;
            let store = simulator.lock();
            Ok((
                StatusCode::OK,
                store.list(resource, namespace, &labels, &fields),
            ))
        }
        Method::POST if resource.namespaced == namespace.is_some() => {
            let object = request.object_body()?;
            let created = simulator.lock().create(resource, namespace, object)?;
            Ok((StatusCode::CREATED, created))
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
) -> Answer {
    if resource.namespaced != namespace.is_some() {
        return Err(ApiError::NoRoute);
    }
    match *request.method {
        Method::GET => Ok((
            StatusCode::OK,
            simulator.lock().get(resource, namespace, name)?,
        )),
        Method::PUT => {
            let object = request.object_body()?;
            let updated = simulator.lock().update(resource, namespace, name, object)?;
            Ok((StatusCode::OK, updated))
        }
        Method::PATCH => patch_object(simulator, request, resource, namespace, name),
        Method::DELETE => {
            let options = if request.body.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                request.json_body()?
            };
            if options
                .get("dryRun")
                .is_some_and(|d| d.as_array().is_some_and(|d| !d.is_empty()))
            {
                return Err(ApiError::BadRequest(
                    "dryRun is not supported by the shipway simulator yet".into(),
                ));
            }
            let deleted =
                simulator
                    .lock()
                    .delete(resource, namespace, name, options.get("preconditions"))?;
            match deleted {
                Deleted::Object(object) | Deleted::Status(object) => Ok((StatusCode::OK, object)),
            }
        }
        _ => Err(method_not_allowed()),
    }
}

fn patch_object(
    simulator: &Simulator,
    request: &ParsedRequest<'_>,
    resource: &'static ResourceType,
    namespace: Option<&str>,
    name: &str,
) -> Answer {
    let content_type = request.header(header::CONTENT_TYPE);
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    match media_type {
        "application/merge-patch+json"
        | "application/json-patch+json"
        | "application/strategic-merge-patch+json" => {}
        "application/apply-patch+yaml" => {
            // Refused rather than approximated with a merge patch: a wrong merge of lists
            // would hide exactly the bugs the simulator exists to catch.
            return Err(ApiError::UnsupportedMediaType(format!(
                "the shipway simulator does not implement {media_type} yet - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            )));
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json".into(),
            ));
        }
    }
    let patch_body = request.json_body()?;
    let mut store = simulator.lock();
    let mut object = store.get(resource, namespace, name)?;
    if media_type == "application/strategic-merge-patch+json" {
        let schema = shipway_schema::bundled(&format!("1.{}", crate::SERVER_MINOR))
            .ok_or_else(|| ApiError::Internal("the bundled schema is missing".into()))?;
        let definition = schema.definition_for(resource.group, resource.version, resource.kind);
        strategic::apply(schema, definition, &mut object, &patch_body)?;
    } else if media_type == "application/merge-patch+json" {
        if !patch_body.is_object() {
            return Err(ApiError::BadRequest(
                "a merge patch must be a JSON object".into(),
            ));
        }
        patch::merge_patch(&mut object, &patch_body);
    } else {
        if !patch_body.is_array() {
            return Err(ApiError::BadRequest(
                "a JSON patch must be a JSON array".into(),
            ));
        }
        patch::json_patch(&mut object, &patch_body)
            .map_err(|error| ApiError::Unprocessable(error.to_string()))?;
    }
    let updated = store.update(resource, namespace, name, object)?;
    Ok((StatusCode::OK, updated))
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
    json_response(status, &error.to_status())
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
