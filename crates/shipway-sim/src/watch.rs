//! Watch streams: chunked, newline-delimited JSON events, as kubectl and kube-rs read them.
//!
//! A watch starts from a resourceVersion: none or `"0"` sends the current objects as
//! synthetic `ADDED` events first; `sendInitialEvents=true` does the same and closes the
//! initial part with a bookmark annotated `k8s.io/initial-events-end`; any other version
//! replays the store's history after it, or — when that history was compacted — sends one
//! in-stream `ERROR` event with a `410 Expired` `Status` on an HTTP 200 stream, which is what
//! makes kube-rs's watcher relist (a plain HTTP 410 would make it retry the same version).
//! Label and field selectors apply per event, so an object that stops matching is sent as
//! `DELETED`. Streams end cleanly after `timeoutSeconds`, when a test drops watches, or when
//! the server shuts down.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::Simulator;
use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::store::{Event, EventType, ListOptions};
use crate::table;

/// A real server closes a watch without `timeoutSeconds` after 30–60 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// The watch query parameters beyond the selectors.
#[derive(Debug, Default)]
pub(crate) struct WatchParams {
    resource_version: Option<String>,
    bookmarks: bool,
    send_initial_events: bool,
    timeout: Option<Duration>,
    /// Each event's object as a one-row `Table` (kubectl `get -w`).
    table: Option<table::IncludeObject>,
}

impl WatchParams {
    /// Reads the parameters through `query`.
    pub(crate) fn from_query<'a>(
        query: impl Fn(&str) -> Option<&'a str>,
        wants_table: bool,
    ) -> Result<Self, ApiError> {
        let send_initial_events = query("sendInitialEvents") == Some("true");
        let bookmarks = query("allowWatchBookmarks") == Some("true");
        if send_initial_events
            && (query("resourceVersionMatch") != Some("NotOlderThan") || !bookmarks)
        {
            return Err(ApiError::Unprocessable(
                "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled and resourceVersionMatch is NotOlderThan with allowWatchBookmarks".into(),
            ));
        }
        let timeout = match query("timeoutSeconds") {
            None | Some("") => None,
            Some(text) => Some(Duration::from_secs(text.parse().map_err(|_| {
                ApiError::BadRequest(format!("invalid timeoutSeconds: {text}"))
            })?)),
        };
        Ok(Self {
            resource_version: query("resourceVersion")
                .filter(|v| !v.is_empty())
                .map(String::from),
            bookmarks,
            send_initial_events,
            timeout,
            table: wants_table.then(|| table::IncludeObject::from_query(query("includeObject"))),
        })
    }
}

/// What one watch matches.
struct Filter {
    resource: &'static ResourceType,
    namespace: Option<String>,
    list: ListOptions,
    table: Option<table::IncludeObject>,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        self.list.labels.matches_labels(object) && self.list.fields.matches_fields(object)
    }

    fn covers(&self, event: &Event) -> bool {
        event.group == self.resource.group
            && event.plural == self.resource.plural
            && self
                .namespace
                .as_deref()
                .is_none_or(|namespace| namespace == event.namespace)
    }

    /// The event this watch sends for a change, if any.
    fn translate(&self, event: &Event) -> Option<Value> {
        if !self.covers(event) {
            return None;
        }
        let now = self.matches(&event.object);
        let kind = match event.event_type {
            EventType::Added if now => EventType::Added,
            EventType::Deleted if now => EventType::Deleted,
            EventType::Modified => {
                let before = event.previous.as_deref().is_some_and(|p| self.matches(p));
                match (before, now) {
                    (true, true) => EventType::Modified,
                    (false, true) => EventType::Added,
                    (true, false) => EventType::Deleted,
                    (false, false) => return None,
                }
            }
            _ => return None,
        };
        Some(self.event(kind, &event.object))
    }

    /// An event of `kind` carrying `object` (as a one-row Table when asked).
    fn event(&self, kind: EventType, object: &Value) -> Value {
        match self.table {
            None => json!({"type": kind.name(), "object": object}),
            Some(include) => {
                let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                let now = crate::clock::wall_seconds();
                json!({"type": kind.name(), "object": table::table(
                    self.resource, std::slice::from_ref(object), include, metadata, now)})
            }
        }
    }
}

/// Starts a watch and answers its streaming response.
pub(crate) fn start(
    simulator: &Simulator,
    resource: &'static ResourceType,
    namespace: Option<&str>,
    list: ListOptions,
    params: &WatchParams,
) -> Result<Response, ApiError> {
    let filter = Filter {
        resource,
        namespace: namespace.map(String::from),
        list,
        table: params.table,
    };
    let (sender, receiver) = mpsc::channel::<Bytes>(256);
    let mut initial = Vec::new();
    let (start, mut changes) = {
        let store = simulator.lock();
        let current = store.resource_version();
        let start = match params.resource_version.as_deref() {
            None | Some("0") => {
                for object in store.objects_of(resource, namespace) {
                    if filter.matches(object) {
                        initial.push(filter.event(EventType::Added, object));
                    }
                }
                if params.send_initial_events {
                    initial.push(bookmark(resource, current, true));
                }
                current
            }
            Some(text) => {
                let version: u64 = text.parse().map_err(|_| {
                    ApiError::BadRequest(format!("invalid resource version: {text}"))
                })?;
                if params.send_initial_events {
                    for object in store.objects_of(resource, namespace) {
                        if filter.matches(object) {
                            initial.push(filter.event(EventType::Added, object));
                        }
                    }
                    initial.push(bookmark(resource, current, true));
                    current
                } else if version > current {
                    // A version from the future: the real server waits for it; nothing here
                    // can produce it, so it is treated as "now".
                    current
                } else if let Some(events) = store.events_after(version) {
                    initial.extend(events.filter_map(|event| filter.translate(event)));
                    current
                } else {
                    initial.push(expired(version, store.history_floor()));
                    let lines: Vec<Bytes> = initial.iter().map(line).collect();
                    return Ok(stream_response(lines, None));
                }
            }
        };
        (start, store.subscribe())
    };
    let timeout = params.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let bookmarks = params.bookmarks;
    let bookmark_every = simulator.bookmark_interval();
    let mut stop = simulator.watch_stop();
    let simulator = simulator.clone();
    tokio::spawn(async move {
        for event in &initial {
            if sender.send(line(event)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = start;
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return,
                _ = stop.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if sender.send(line(&bookmark(filter.resource, last, false))).await.is_err() {
                        return;
                    }
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let (events, newest) = {
                        let store = simulator.lock();
                        let newest = store.resource_version();
                        match store.events_after(last) {
                            Some(events) => (
                                events.filter_map(|event| filter.translate(event)).collect::<Vec<_>>(),
                                newest,
                            ),
                            None => (vec![expired(last, store.history_floor())], 0),
                        }
                    };
                    for event in &events {
                        if sender.send(line(event)).await.is_err() {
                            return;
                        }
                    }
                    if newest == 0 {
                        return;
                    }
                    last = newest;
                }
            }
        }
    });
    Ok(stream_response(Vec::new(), Some(receiver)))
}

/// A `BOOKMARK` event at `version`; the end-of-initial-events one carries the annotation
/// kube-rs's streaming lists wait for.
fn bookmark(resource: &ResourceType, version: u64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": version.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {
        "kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata}})
}

/// The in-stream `410 Expired` error for a compacted resourceVersion.
fn expired(version: u64, floor: u64) -> Value {
    json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {version} ({floor})"),
        "reason": "Expired", "code": 410}})
}

fn line(event: &Value) -> Bytes {
    let mut text = event.to_string();
    text.push('\n');
    Bytes::from(text)
}

/// A chunked 200 response: `first` lines, then whatever `receiver` yields until it closes.
fn stream_response(first: Vec<Bytes>, receiver: Option<mpsc::Receiver<Bytes>>) -> Response {
    let first = futures_util::stream::iter(first.into_iter().map(Ok::<Bytes, std::io::Error>));
    let rest = futures_util::stream::unfold(receiver, |receiver| async move {
        let mut receiver = receiver?;
        let chunk = receiver.recv().await?;
        Some((Ok::<Bytes, std::io::Error>(chunk), Some(receiver)))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(first, rest));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        body,
    )
        .into_response()
}
