//! The notifier: evaluates triggers for an event, renders the templates, queues one row per
//! destination, and delivers the queue — retried with exponential backoff on connection
//! errors, 5xx and 429 (honouring `Retry-After`), given up after
//! [`Delivery::max_attempts`] with the failure recorded, and rate-limited per service.
//!
//! Delivery is at most once per (app, revision, trigger, once-per value, service,
//! recipient): the queue refuses a key it has seen, and a delivered row is never sent again,
//! before or after a restart. The one window left is a process that dies after a service
//! accepted a request and before the row is marked delivered: the next process sends that
//! row again (generic webhooks carry the key in `X-Shipway-Delivery` for receivers to drop
//! it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::config::{Config, Destination, ServiceKind, render_template};
use crate::event::Event;
use crate::queue::{Queue, QueueError, Row};
use crate::service::{self, Outgoing, Verdict};

/// How delivery retries and waits.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// Attempts before a notification is given up (the first included).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; doubled after each further one.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured (a longer one is cut to this).
    pub max_retry_after: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
        }
    }
}

/// What [`Notifier::notify`] did with an event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Notifications newly queued.
    pub queued: usize,
    /// Notifications whose trigger fired but that were queued before (not again).
    pub duplicates: usize,
    /// Destinations whose template failed to render, with the error.
    pub errors: Vec<String>,
}

/// What a [`Notifier::drain`] left.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    /// Notifications delivered.
    pub delivered: usize,
    /// Notifications given up: `service`, recipient, error (no secret in it).
    pub failed: Vec<(String, String, String)>,
    /// Notifications still pending when the deadline passed.
    pub pending: usize,
}

/// The notifier. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    queue: Queue,
    delivery: Delivery,
    client: shipway_http::Client,
    buckets: Mutex<HashMap<String, Bucket>>,
    wake: Notify,
}

/// Why a notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The queue could not be opened.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// shipway's one HTTP client; without system roots HTTPS notifications fail, and the log
/// says why once.
fn http_client() -> shipway_http::Client {
    let client = shipway_http::Client::new();
    if let Some(warning) = client.roots_warning() {
        tracing::warn!("{warning}");
    }
    client
}

impl Notifier {
    /// A notifier over `config`, its queue in the `SQLite` file `queue` (`None`: in memory).
    pub fn new(
        config: Config,
        queue: Option<&Path>,
        delivery: Delivery,
    ) -> Result<Notifier, StartError> {
        let queue = match queue {
            Some(path) => Queue::open(path)?,
            None => Queue::in_memory()?,
        };
        Ok(Notifier {
            inner: Arc::new(Inner {
                config,
                queue,
                delivery,
                client: http_client(),
                buckets: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    /// Evaluates every destination's trigger against `event` and queues what fires.
    pub fn notify(
        &self,
        event: &Event,
        destinations: &[Destination],
    ) -> Result<Queued, QueueError> {
        let config = &self.inner.config;
        let base = event.data(&config.context);
        let mut outcome = Queued::default();
        for destination in destinations {
            let Some(conditions) = config.trigger(&destination.trigger) else {
                outcome
                    .errors
                    .push(format!("trigger `{}` is not defined", destination.trigger));
                continue;
            };
            let Some(service) = config.services.get(&destination.service) else {
                outcome.errors.push(format!(
                    "service `{}` is not configured",
                    destination.service
                ));
                continue;
            };
            for (index, condition) in conditions.iter().enumerate() {
                if !condition.when.is_true(&base) {
                    continue;
                }
                let once = condition
                    .once_per
                    .as_ref()
                    .map(|e| match e.evaluate(&base) {
                        Value::Null => "<nil>".to_string(),
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .unwrap_or_default();
                let key = format!(
                    "{}|{}|{}|{index}|{once}|{}|{}",
                    event.app.name,
                    event.revision,
                    destination.trigger,
                    destination.service,
                    destination.recipient
                );
                let mut data = base.clone();
                data["recipient"] = json!(destination.recipient);
                data["serviceType"] = json!(destination.service);
                match render(config, &condition.send, &data, service.kind) {
                    Ok(mut notification) => {
                        notification["key"] = json!(key);
                        notification["trigger"] = json!(destination.trigger);
                        if self.inner.queue.push(
                            &key,
                            &event.app.name,
                            &destination.trigger,
                            &destination.service,
                            &destination.recipient,
                            &notification,
                        )? {
                            outcome.queued += 1;
                        } else {
                            outcome.duplicates += 1;
                        }
                    }
                    Err(error) => outcome.errors.push(error.to_string()),
                }
            }
        }
        if outcome.queued > 0 {
            self.inner.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Delivers the rows that are due, once each; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, QueueError> {
        let rows = self.inner.queue.due(64)?;
        let mut attempted = 0;
        for row in rows {
            if let Some(wait) = self.take_token(&row.service) {
                self.inner.queue.postpone(row.id, wait.as_millis() as u64)?;
                continue;
            }
            attempted += 1;
            self.attempt(&row).await?;
        }
        Ok(attempted)
    }

    /// Delivers until the queue is empty or `deadline` passed.
    pub async fn drain(&self, deadline: Duration) -> Result<Drained, QueueError> {
        let until = Instant::now() + deadline;
        loop {
            self.deliver_due().await?;
            let pending = self.inner.queue.pending()?;
            if pending == 0 || Instant::now() >= until {
                break;
            }
            let wait = self
                .inner
                .queue
                .next_due_in()?
                .map_or(Duration::from_millis(50), Duration::from_millis)
                .clamp(Duration::from_millis(5), Duration::from_millis(250));
            tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
        }
        let mut drained = Drained::default();
        for row in self.inner.queue.all()? {
            match row.state.as_str() {
                "delivered" => drained.delivered += 1,
                "failed" => drained
                    .failed
                    .push((row.service, row.recipient, row.last_error)),
                _ => drained.pending += 1,
            }
        }
        Ok(drained)
    }

    /// Delivers the queue until `stop` completes (the serve side).
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::error!(error = %error, "notification delivery");
            }
            let wait = self
                .inner
                .queue
                .next_due_in()
                .ok()
                .flatten()
                .map_or(Duration::from_secs(1), Duration::from_millis)
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            tokio::select! {
                () = &mut stop => return,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// `None` when the service may send now (a token taken), else how long to wait.
    fn take_token(&self, service: &str) -> Option<Duration> {
        let kind = self.inner.config.services.get(service).map(|s| s.kind)?;
        let mut buckets = self
            .inner
            .buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets
            .entry(service.to_string())
            .or_insert_with(|| Bucket::for_kind(kind, Instant::now()));
        bucket.take(Instant::now()).err()
    }

    async fn attempt(&self, row: &Row) -> Result<(), QueueError> {
        let queue = &self.inner.queue;
        let attempts = row.attempts + 1;
        let Some(service) = self.inner.config.services.get(&row.service) else {
            return queue.failed(
                row.id,
                attempts,
                &format!("service `{}` is no longer configured", row.service),
            );
        };
        let requests = match service::build(
            service,
            &row.notification,
            &row.recipient,
            jiff::Timestamp::now(),
        ) {
            Ok(requests) => requests,
            Err(error) => return queue.failed(row.id, attempts, &service.redact(&error)),
        };
        let mut verdict = Verdict::Delivered;
        let mut previous: Option<Value> = None;
        for mut request in requests {
            if let Some(id) = previous.as_ref().and_then(|p| p.get("id")) {
                request.url = request.url.replace("{id}", &id.to_string());
            }
            let (v, answer) = self.send(service, &request).await;
            previous = answer;
            verdict = v;
            if verdict != Verdict::Delivered {
                break;
            }
        }
        match verdict {
            Verdict::Delivered => {
                tracing::info!(app = %row.app, trigger = %row.trigger, service = %row.service, "notification delivered");
                queue.delivered(row.id, attempts)
            }
            Verdict::Fail(error) => {
                tracing::warn!(app = %row.app, service = %row.service, error = %error, "notification failed");
                queue.failed(row.id, attempts, &error)
            }
            Verdict::Retry(error, after) => {
                let delivery = &self.inner.delivery;
                if attempts >= delivery.max_attempts {
                    let error = format!("gave up after {attempts} attempts: {error}");
                    tracing::warn!(app = %row.app, service = %row.service, error = %error, "notification failed");
                    return queue.failed(row.id, attempts, &error);
                }
                let backoff = delivery
                    .initial_backoff
                    .saturating_mul(1 << (attempts - 1).min(20))
                    .min(delivery.max_backoff);
                let wait = after.map_or(backoff, |a| a.min(delivery.max_retry_after));
                tracing::info!(app = %row.app, service = %row.service, error = %error, wait_ms = wait.as_millis() as u64, "notification retried");
                queue.retry(row.id, attempts, wait.as_millis() as u64, &error)
            }
        }
    }

    /// Sends one request; the verdict and the answer's JSON (for a chained request).
    async fn send(
        &self,
        service: &crate::config::Service,
        request: &Outgoing,
    ) -> (Verdict, Option<Value>) {
        let timeout = self.inner.delivery.timeout;
        let answer = self
            .inner
            .client
            .send(
                request.method.as_str(),
                request.url.as_str(),
                &request.headers,
                request.body.clone(),
                timeout,
                256 * 1024,
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            // The URL is a secret (its token): say what, not where.
            Err(shipway_http::Error::Invalid(why)) => {
                return (
                    Verdict::Fail(
                        service.redact(&format!("the request could not be built: {why}")),
                    ),
                    None,
                );
            }
            Err(error) => {
                return (
                    Verdict::Retry(service.redact(&error.to_string()), None),
                    None,
                );
            }
        };
        let status = answer.status;
        let retry_after = answer
            .headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| service::parse_retry_after(v, jiff::Timestamp::now()));
        let body = answer.body;
        let verdict = service::classify(service, status, retry_after, &body);
        (verdict, serde_json::from_slice(&body).ok())
    }
}

/// Renders the templates of one condition into one notification: each template's fields
/// in turn (a later one's replace an earlier one's), then the fields services read.
fn render(
    config: &Config,
    send: &[String],
    data: &Value,
    kind: ServiceKind,
) -> Result<Value, crate::TemplateError> {
    let mut notification = json!({});
    for name in send {
        let Some(definition) = config.template(name) else {
            return Err(crate::TemplateError {
                template: name.clone(),
                message: "is not defined".into(),
            });
        };
        let rendered = render_template(name, &definition, data)?;
        merge(&mut notification, rendered);
    }
    let get = |path: &[&str]| -> Value {
        let mut v = data;
        for p in path {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        v.clone()
    };
    notification["app"] = get(&["app", "metadata", "name"]);
    notification["revision"] = get(&["revision"]);
    notification["url"] = get(&["url"]);
    notification["event"] = json!({
        "kind": get(&["event", "kind"]),
        "phase": get(&["app", "status", "operationState", "phase"]),
        "health": get(&["app", "status", "health", "status"]),
        "sync": get(&["app", "status", "sync", "status"]),
        "message": get(&["event", "message"]),
        "failed": get(&["failed"]),
        "images": get(&["images"]),
        "commit": get(&["commit"]),
    });
    if matches!(kind, ServiceKind::GitHub | ServiceKind::GitLab) {
        let block = kind.as_str();
        if !notification.get(block).is_some_and(Value::is_object) {
            notification[block] = json!({});
        }
        for (field, default) in [
            ("repoURLPath", get(&["app", "spec", "source", "repoURL"])),
            ("revisionPath", get(&["revision"])),
        ] {
            if notification[block].get(field).is_none_or(Value::is_null) {
                notification[block][field] = default;
            }
        }
    }
    Ok(notification)
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// A token bucket: `capacity` sends at once, refilled at `per_second`.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    /// The published limits: Feishu 5/s and 100/min, `DingTalk` and `WeCom` 20/min, Slack about
    /// 1/s, Teams 4/s; others 10/s.
    fn for_kind(kind: ServiceKind, now: Instant) -> Bucket {
        let (capacity, per_second) = match kind {
            ServiceKind::Feishu => (5.0, 100.0 / 60.0),
            ServiceKind::DingTalk | ServiceKind::WeCom => (20.0, 20.0 / 60.0),
            ServiceKind::Slack => (3.0, 1.0),
            ServiceKind::Teams => (4.0, 4.0),
            ServiceKind::Webhook | ServiceKind::GitHub | ServiceKind::GitLab => (10.0, 10.0),
        };
        Bucket {
            tokens: capacity,
            capacity,
            per_second,
            last: now,
        }
    }

    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::for_kind(ServiceKind::DingTalk, start);
        for _ in 0..20 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).unwrap_err();
        assert!((wait.as_secs_f64() - 3.0).abs() < 0.01, "{wait:?}");
        assert!(bucket.take(start + Duration::from_secs(3)).is_ok());
        assert!(bucket.take(start + Duration::from_secs(3)).is_err());
        let mut feishu = Bucket::for_kind(ServiceKind::Feishu, start);
        for _ in 0..5 {
            assert!(feishu.take(start).is_ok());
        }
        assert!(feishu.take(start).is_err());
        assert!(feishu.take(start + Duration::from_millis(600)).is_ok());
    }
}
