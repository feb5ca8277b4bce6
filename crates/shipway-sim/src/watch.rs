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
//!
//! Memory is bounded per watcher: the backlog is read from the history in batches no
//! larger than the watcher's buffer, and each queued line holds byte permits from a
//! semaphore until the response body hands it to the connection. A watcher that cannot
//! queue within [`SLOW_WATCHER_GRACE`] has fallen behind (its client does not read) and is
//! dropped: its stream ends after what is queued, and the client re-watches, relisting if
//! its version was compacted meanwhile.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::Simulator;
use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::store::{Event, EventType, ListOptions, Store};
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

    /// The line this watch sends for a change, if any.
    fn translate(&self, event: &Event) -> Option<Bytes> {
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
        Some(self.line(kind, &event.object))
    }

    /// The line of an event of `kind` carrying `object` (as a one-row Table when asked).
    /// The object is serialised in place rather than copied into an event value first.
    fn line(&self, kind: EventType, object: &Value) -> Bytes {
        match self.table {
            None => {
                let mut text = Vec::with_capacity(crate::store::json_size(object) + 32);
                text.extend_from_slice(b"{\"type\":\"");
                text.extend_from_slice(kind.name().as_bytes());
                text.extend_from_slice(b"\",\"object\":");
                // Writing a `Value` into a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut text, object);
                text.extend_from_slice(b"}\n");
                Bytes::from(text)
            }
            Some(include) => {
                let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                let now = crate::clock::wall_seconds();
                line(&json!({"type": kind.name(), "object": table::table(
                    self.resource, std::slice::from_ref(object), include, metadata, now)}))
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
    let limits = simulator.watch_buffer();
    // Initial events are serialised at once, under the lock: they are a snapshot, as a list
    // response is, and cost what a list of the same objects costs.
    let mut initial: Vec<Bytes> = Vec::new();
    let (start, mut changes) = {
        let store = simulator.lock();
        let current = store.resource_version();
        let start = match params.resource_version.as_deref() {
            None | Some("0") => {
                for object in store.objects_of(resource, namespace) {
                    if filter.matches(object) {
                        initial.push(filter.line(EventType::Added, object));
                    }
                }
                if params.send_initial_events {
                    initial.push(line(&bookmark(resource, current, true)));
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
                            initial.push(filter.line(EventType::Added, object));
                        }
                    }
                    initial.push(line(&bookmark(resource, current, true)));
                    current
                } else if version > current {
                    // A version from the future: the real server waits for it; nothing here
                    // can produce it, so it is treated as "now".
                    current
                } else if version < store.history_floor() {
                    let expired = line(&expired(version, store.history_floor()));
                    return Ok(stream_response(vec![expired], None));
                } else {
                    // The replay is read from the history in bounded batches by the task
                    // below, like any other backlog.
                    version
                }
            }
        };
        (start, store.subscribe())
    };
    // A deadline past what `Instant` can represent (`timeoutSeconds=18446744073709551615`)
    // means no deadline rather than an overflow.
    let deadline =
        tokio::time::Instant::now().checked_add(params.timeout.unwrap_or(DEFAULT_TIMEOUT));
    let bookmarks = params.bookmarks;
    let bookmark_every = simulator.bookmark_interval();
    let (sender, receiver) = mpsc::channel::<Chunk>(limits.events.max(1));
    let mut outlet = Outlet {
        sender,
        permits: Arc::new(Semaphore::new(limits.bytes)),
        budget: limits.bytes,
        stop: simulator.watch_stop(),
        deadline,
    };
    let open = simulator.watch_opened();
    let simulator = simulator.clone();
    tokio::spawn(async move {
        let _open = open;
        for chunk in initial {
            if !outlet.push(chunk).await {
                return;
            }
        }
        let mut last = start;
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            // Catch up with the history in batches no larger than the watcher's buffer, so
            // a backlog is never copied whole.
            loop {
                let batch = {
                    let store = simulator.lock();
                    Batch::read(&store, &filter, last, limits)
                };
                for chunk in batch.lines {
                    if !outlet.push(chunk).await {
                        return;
                    }
                }
                if batch.expired {
                    return;
                }
                last = batch.through;
                if !batch.more {
                    break;
                }
            }
            tokio::select! {
                () = until(deadline) => return,
                _ = outlet.stop.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if !outlet.push(line(&bookmark(filter.resource, last, false))).await {
                        return;
                    }
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(stream_response(Vec::new(), Some(receiver)))
}

/// What a watcher may have sent but not yet handed to the connection, before it counts as
/// fallen behind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferLimits {
    /// Bytes of pending events.
    pub(crate) bytes: usize,
    /// Pending events.
    pub(crate) events: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        Self {
            bytes: 16 * 1024 * 1024,
            events: 1024,
        }
    }
}

/// How long a watcher may wait for room in its buffer before it is dropped. The real
/// cacher closes a watcher whose channel stays full for a fraction of a second; the
/// simulator waits longer, so a busy test machine does not drop a client that reads.
const SLOW_WATCHER_GRACE: Duration = Duration::from_secs(2);

/// One line on its way to the connection, holding its share of the byte budget until the
/// response body hands it on.
struct Chunk {
    bytes: Bytes,
    _permit: OwnedSemaphorePermit,
}

/// The sending side of one watch: a bounded channel plus a semaphore of byte permits.
struct Outlet {
    sender: mpsc::Sender<Chunk>,
    permits: Arc<Semaphore>,
    budget: usize,
    stop: tokio::sync::watch::Receiver<u64>,
    deadline: Option<tokio::time::Instant>,
}

impl Outlet {
    /// Queues `bytes`; `false` when the stream must end: the client went away, the watch
    /// timed out or was stopped, or the client fell behind (no room within
    /// [`SLOW_WATCHER_GRACE`]). Ending drops the sender, so the response ends after what
    /// is already queued, and the client re-watches as it does after any closed watch.
    async fn push(&mut self, bytes: Bytes) -> bool {
        // A line larger than the whole budget takes all of it rather than waiting forever.
        let wanted = bytes.len().clamp(1, self.budget.max(1));
        let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
        let permits = self.permits.clone();
        let sender = &self.sender;
        let send = async move {
            let permit = permits.acquire_many_owned(wanted).await.ok()?;
            sender
                .send(Chunk {
                    bytes,
                    _permit: permit,
                })
                .await
                .ok()
        };
        tokio::select! {
            () = until(self.deadline) => false,
            _ = self.stop.changed() => false,
            sent = tokio::time::timeout(SLOW_WATCHER_GRACE, send) => matches!(sent, Ok(Some(()))),
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// One batch of a watcher's backlog, read under the store lock.
struct Batch {
    lines: Vec<Bytes>,
    /// The resourceVersion the batch brings the watcher to.
    through: u64,
    /// The history no longer reaches back to the watcher: `lines` is the 410 and the
    /// stream ends.
    expired: bool,
    /// The batch stopped at its size bound and more events are waiting.
    more: bool,
}

impl Batch {
    fn read(store: &Store, filter: &Filter, last: u64, limits: BufferLimits) -> Self {
        let Some(events) = store.events_after(last) else {
            return Self {
                lines: vec![line(&expired(last, store.history_floor()))],
                through: last,
                expired: true,
                more: false,
            };
        };
        let mut batch = Self {
            lines: Vec::new(),
            through: last,
            expired: false,
            more: false,
        };
        let mut bytes = 0;
        for event in events {
            if bytes >= limits.bytes || batch.lines.len() >= limits.events {
                batch.more = true;
                return batch;
            }
            batch.through = event.resource_version;
            if let Some(chunk) = filter.translate(event) {
                bytes += chunk.len();
                batch.lines.push(chunk);
            }
        }
        // Everything read: no-op writes do not add events, so the newest version may be
        // past the last event.
        batch.through = batch.through.max(store.resource_version());
        batch
    }
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
/// Each chunk's byte permit is released as the body hands the chunk to the connection.
fn stream_response(first: Vec<Bytes>, receiver: Option<mpsc::Receiver<Chunk>>) -> Response {
    let first = futures_util::stream::iter(first.into_iter().map(Ok::<Bytes, std::io::Error>));
    let rest = futures_util::stream::unfold(receiver, |receiver| async move {
        let mut receiver = receiver?;
        let Chunk { bytes, _permit } = receiver.recv().await?;
        Some((Ok::<Bytes, std::io::Error>(bytes), Some(receiver)))
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
