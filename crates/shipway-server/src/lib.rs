//! The HTTP side of `shipway serve`: the JSON API the CLI's `--server` and the UI use,
//! git webhooks, server-sent events, `/metrics`, `/healthz` and `/readyz`.
//!
//! Every `/api/v1` call needs a bearer token ([`auth::Tokens`]); reads need `viewer`,
//! syncs and rollbacks `deployer`. Webhooks are authenticated by their signature instead
//! ([`webhook`]). Responses carry what the controller knows — names, revisions, health,
//! messages and diffs from the engine, which masks Secret values — never a Secret's value.

pub mod auth;
pub mod webhook;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use shipway_controller::metrics::Delivery;
use shipway_controller::{Controller, Trigger};

use crate::auth::{Role, Tokens};

/// What the handlers share.
pub struct Server {
    /// The controller.
    pub controller: Controller,
    /// The accepted tokens.
    pub tokens: Tokens,
    /// The webhook secret; `None` refuses every delivery.
    pub webhook_secret: Option<Vec<u8>>,
}

/// The router of every endpoint.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/webhook", post(webhook_delivery))
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{name}", get(get_app))
        .route("/api/v1/apps/{name}/resources", get(resources))
        .route("/api/v1/apps/{name}/diff", get(diff))
        .route("/api/v1/apps/{name}/history", get(history))
        .route("/api/v1/apps/{name}/sync", post(sync))
        .route("/api/v1/apps/{name}/rollback", post(rollback))
        .route("/api/v1/apps/{name}/rollouts", get(rollouts))
        .route(
            "/api/v1/apps/{name}/rollouts/{rollout}/{verb}",
            post(rollout_action),
        )
        .route("/api/v1/events", get(events))
        .with_state(server)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"error": message, "code": status.as_u16()}))
}

/// The caller's name, or the 401/403 response (boxed: a `Response` is large).
fn authorize<'a>(
    server: &'a Server,
    headers: &HeaderMap,
    need: Role,
) -> Result<&'a str, Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some((role, name)) = token.and_then(|t| server.tokens.check(t)) else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required",
        )));
    };
    if role < need {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            &format!("token `{name}` may not do this (needs the {need:?} role)"),
        )));
    }
    Ok(name)
}

async fn readyz(State(server): State<Arc<Server>>) -> Response {
    if server.controller.is_ready() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "apps not read yet\n").into_response()
    }
}

async fn metrics(State(server): State<Arc<Server>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        server.controller.metrics().encode(),
    )
        .into_response()
}

fn query(uri: &Uri, key: &str) -> Option<String> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// `GET /api/v1/apps?limit=N&continue=NAME`: apps by name, a page at a time.
async fn list_apps(State(server): State<Arc<Server>>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    let limit = query(&uri, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(500);
    let after = query(&uri, "continue").unwrap_or_default();
    let apps: Vec<Value> = server
        .controller
        .list()
        .into_iter()
        .filter(|a| a["name"].as_str().unwrap_or("") > after.as_str())
        .collect();
    let next = (apps.len() > limit).then(|| apps[limit - 1]["name"].clone());
    let page: Vec<Value> = apps.into_iter().take(limit).collect();
    json_response(StatusCode::OK, &json!({"apps": page, "continue": next}))
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("no app `{name}`"))
}

async fn get_app(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    match server.controller.get(&name) {
        Some(state) => json_response(StatusCode::OK, &state.summary()),
        None => not_found(&name),
    }
}

async fn resources(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    match server.controller.get(&name) {
        Some(state) => json_response(
            StatusCode::OK,
            &json!({"app": name, "resources": state.resources}),
        ),
        None => not_found(&name),
    }
}

async fn diff(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    if server.controller.get(&name).is_none() {
        return not_found(&name);
    }
    match server.controller.diff(&name).await {
        Ok(plan) => json_response(StatusCode::OK, &plan),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &format!("{e:#}")),
    }
}

async fn history(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    if server.controller.get(&name).is_none() {
        return not_found(&name);
    }
    let limit = query(&uri, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50);
    match server.controller.history().list(&name, limit) {
        Ok(ops) => json_response(
            StatusCode::OK,
            &json!({"app": name, "history": ops.iter().map(shipway_controller::history::Operation::to_json).collect::<Vec<_>>()}),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn sync(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = match authorize(&server, &headers, Role::Deployer) {
        Ok(who) => who.to_string(),
        Err(response) => return *response,
    };
    match server.controller.request(&name, Trigger::Api, true, &who) {
        Some(id) => json_response(
            StatusCode::ACCEPTED,
            &json!({"app": name, "queued": true, "request": id}),
        ),
        None => not_found(&name),
    }
}

async fn rollouts(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    match server.controller.rollouts(&name, None, None).await {
        Ok(Some(list)) => json_response(StatusCode::OK, &json!({"app": name, "rollouts": list})),
        Ok(None) => not_found(&name),
        Err(e) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
    }
}

async fn rollout_action(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path((name, rollout, verb)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Deployer) {
        return *response;
    }
    let full = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("full").and_then(Value::as_bool))
        .unwrap_or(false);
    let verb = match verb.as_str() {
        "promote" => shipway_rollouts::controller::Verb::Promote(full),
        "abort" => shipway_rollouts::controller::Verb::Abort,
        "retry" => shipway_rollouts::controller::Verb::Retry,
        "pause" => shipway_rollouts::controller::Verb::Pause,
        other => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("no rollout action `{other}` (promote, abort, retry, pause)"),
            );
        }
    };
    match server
        .controller
        .rollouts(&name, Some(&rollout), Some(verb))
        .await
    {
        Ok(Some(list)) => json_response(StatusCode::OK, &json!({"app": name, "rollouts": list})),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            &format!("app `{name}` has no Rollout `{rollout}`"),
        ),
        Err(e) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
    }
}

async fn rollback(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let who = match authorize(&server, &headers, Role::Deployer) {
        Ok(who) => who.to_string(),
        Err(response) => return *response,
    };
    if server.controller.get(&name).is_none() {
        return not_found(&name);
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let target = match (
        request.get("to").and_then(Value::as_str),
        request.get("steps").and_then(Value::as_u64),
    ) {
        (Some(to), None) => shipway_git::revert::Target::Commit(to.to_string()),
        (None, Some(steps)) if steps > 0 => shipway_git::revert::Target::Steps(steps as usize),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of {\"to\": COMMIT} or {\"steps\": N} (N ≥ 1)",
            );
        }
    };
    match server.controller.rollback(&name, target, &who).await {
        Ok(done) => json_response(StatusCode::OK, &done),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &format!("{e:#}")),
    }
}

/// `GET /api/v1/events`: every app's summary each time it changes, as server-sent events.
async fn events(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if let Err(response) = authorize(&server, &headers, Role::Viewer) {
        return *response;
    }
    let receiver = server.controller.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(value) => {
                    let event = Event::default().event("app").data(value.to_string());
                    return Some((Ok::<_, Infallible>(event), receiver));
                }
                // A slow reader misses some changes; the next one carries the whole state.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `POST /api/webhook`: a signed push refreshes the apps of its repository and branch.
async fn webhook_delivery(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = webhook::provider(&headers);
    let count = |result: &str| {
        server
            .controller
            .metrics()
            .webhook_deliveries
            .get_or_create(&Delivery {
                provider: provider.as_str().into(),
                result: result.into(),
            })
            .inc();
    };
    let signed = server
        .webhook_secret
        .as_deref()
        .is_some_and(|secret| webhook::verify(provider, &headers, &body, secret));
    if !signed {
        count("unauthorized");
        tracing::warn!(
            provider = provider.as_str(),
            "webhook delivery refused: unsigned or wrongly signed"
        );
        return error(
            StatusCode::UNAUTHORIZED,
            "the delivery is not signed with the webhook secret",
        );
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            count("invalid");
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the payload is not JSON: {e}"),
            );
        }
    };
    let Some(push) = webhook::push(provider, &payload) else {
        count("ignored");
        return json_response(StatusCode::OK, &json!({"apps": [], "note": "not a push"}));
    };
    let mut apps: Vec<String> = Vec::new();
    for url in &push.urls {
        for app in server
            .controller
            .request_repository(url, push.branch.as_deref())
        {
            if !apps.contains(&app) {
                apps.push(app);
            }
        }
    }
    count(if apps.is_empty() {
        "ignored"
    } else {
        "accepted"
    });
    tracing::info!(provider = provider.as_str(), apps = ?apps, "webhook delivery accepted");
    json_response(StatusCode::OK, &json!({"apps": apps}))
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
