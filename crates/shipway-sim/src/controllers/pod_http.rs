//! Pods that serve HTTP: a loopback listener per running pod, answering `/health` and a
//! Prometheus `/metrics` page whose counters grow with simulated traffic.
//!
//! Progressive-delivery and verification code (analysis runs, metric gates, smoke checks)
//! needs something to query. When a pod is Running and declares at least one container
//! port, the kubelet asks this module's [`Registry`] for a listener; once one is bound it
//! records the address on the pod as the annotation `sim.shipway.dev/endpoint:
//! 127.0.0.1:PORT`. The listener answers:
//!
//! - `GET /health`: `200 ok` while the pod is Ready and scripts no fault, else
//!   `503 not ready`;
//! - `GET /metrics`: Prometheus text exposition (version 0.0.4) with the counter
//!   `http_requests_total{code="200"|"500",method="GET"}` and the histogram
//!   `http_request_duration_seconds` (default buckets, `_sum`, `_count`). The numbers are
//!   not counts of real requests but simulated traffic: `requests_per_second` (from the
//!   `SimulationConfig`) for every second of simulator clock the container has run, so
//!   moving the clock grows them deterministically.
//!
//! The traffic follows the pod, so a bad rollout is visible in its metrics:
//!
//! - annotation `sim.shipway.dev/error-rate: "0.05"`: that share of requests answer 500;
//! - annotation `sim.shipway.dev/latency-ms: "120"`: the mean latency (requests spread
//!   over 0.6×, 1.2× and 2.2× of it, half, two fifths and a tenth of them);
//! - without annotations, an image tag ending `-bad` (`web:2.0-bad`) gives 50% errors and
//!   one ending `-slow` gives 800 ms; otherwise no errors and 20 ms.
//!
//! # Sync controllers, async listeners
//!
//! Reconcile passes are synchronous and may run without a tokio runtime (unit tests,
//! `Simulator::settle`). They only *declare* which pods should serve ([`Registry::want`],
//! [`Registry::retain`]); binding needs a runtime, so only the async loop of
//! `Simulator::run_controllers` fulfils the declarations ([`fulfil`]) before each pass,
//! after which the next pass writes the annotation. Without that loop no listener is bound
//! and no pod gets the annotation. Dropping a pod's entry (the pod went away, stopped
//! running or is being deleted) aborts its server task, which closes the listener.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::Value;

use super::{ControllerState, annotation, str_at};

/// Prometheus' default histogram buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Latency classes: (share in tenths of requests, multiple of the mean latency).
const CLASSES: &[(u64, f64)] = &[(5, 0.6), (4, 1.2), (1, 2.2)];

/// How a pod's simulated traffic behaves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    /// Share of requests answered 500, 0 to 1.
    pub(crate) error_rate: f64,
    /// Mean latency in seconds.
    pub(crate) latency: f64,
    /// Requests per second of simulator clock.
    pub(crate) requests_per_second: u64,
}

impl Profile {
    /// The profile a pod's annotations and image tags script (see the module docs).
    pub(crate) fn of(pod: &Value, requests_per_second: u64) -> Self {
        let tags: Vec<&str> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|container| {
                let image = str_at(container, "/image");
                let image = image.split('@').next().unwrap_or_default();
                let last = image.rsplit('/').next().unwrap_or_default();
                last.split_once(':').map(|(_, tag)| tag)
            })
            .collect();
        let error_rate = annotation(pod, "sim.shipway.dev/error-rate")
            .parse::<f64>()
            .ok()
            .filter(|rate| rate.is_finite())
            .unwrap_or(if tags.iter().any(|tag| tag.ends_with("-bad")) {
                0.5
            } else {
                0.0
            })
            .clamp(0.0, 1.0);
        let latency = annotation(pod, "sim.shipway.dev/latency-ms")
            .parse::<f64>()
            .ok()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map_or_else(
                || {
                    if tags.iter().any(|tag| tag.ends_with("-slow")) {
                        0.8
                    } else {
                        0.02
                    }
                },
                |ms| ms / 1000.0,
            );
        Self {
            error_rate,
            latency,
            requests_per_second,
        }
    }
}

/// What one pod's listener reads: its profile, when its container started, the shared
/// simulator clock and whether it is healthy.
#[derive(Debug)]
pub(crate) struct Traffic {
    profile: Mutex<(Profile, u64)>,
    now: Arc<AtomicU64>,
    healthy: AtomicBool,
}

impl Traffic {
    /// The `/metrics` page at the current simulator time.
    pub(crate) fn metrics(&self) -> String {
        let (profile, started) = self
            .profile
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let elapsed = self.now.load(Ordering::Relaxed).saturating_sub(started);
        render_metrics(&profile, elapsed)
    }
}

/// The exposition text for `elapsed` seconds of `profile`'s traffic.
pub(crate) fn render_metrics(profile: &Profile, elapsed: u64) -> String {
    let total = elapsed.saturating_mul(profile.requests_per_second);
    let errors = ((total as f64) * profile.error_rate).round() as u64;
    let errors = errors.min(total);
    let mut text = String::new();
    text.push_str("# HELP http_requests_total Total number of HTTP requests by status code.\n");
    text.push_str("# TYPE http_requests_total counter\n");
    let _ = writeln!(
        text,
        "http_requests_total{{code=\"200\",method=\"GET\"}} {}",
        total - errors
    );
    let _ = writeln!(
        text,
        "http_requests_total{{code=\"500\",method=\"GET\"}} {errors}"
    );
    text.push_str("# HELP http_request_duration_seconds HTTP request latency in seconds.\n");
    text.push_str("# TYPE http_request_duration_seconds histogram\n");
    let mut counts = Vec::new();
    let mut assigned = 0;
    for (index, (tenths, multiple)) in CLASSES.iter().enumerate() {
        let count = if index + 1 == CLASSES.len() {
            total - assigned
        } else {
            total * tenths / 10
        };
        assigned += count;
        counts.push((count, profile.latency * multiple));
    }
    for bound in BUCKETS {
        let within: u64 = counts
            .iter()
            .filter(|(_, latency)| latency <= bound)
            .map(|(count, _)| count)
            .sum();
        let _ = writeln!(
            text,
            "http_request_duration_seconds_bucket{{le=\"{bound}\"}} {within}"
        );
    }
    let _ = writeln!(
        text,
        "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
    );
    let sum: f64 = counts
        .iter()
        .map(|(count, latency)| *count as f64 * latency)
        .sum();
    let _ = writeln!(text, "http_request_duration_seconds_sum {sum}");
    let _ = writeln!(text, "http_request_duration_seconds_count {total}");
    text
}

/// One pod's listener: its traffic, and once bound its address and server task.
#[derive(Debug)]
struct Entry {
    traffic: Arc<Traffic>,
    address: Option<SocketAddr>,
    task: Option<tokio::task::AbortHandle>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Aborting the server drops its listener: the port closes with the pod.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The pods that should serve HTTP, and the listeners bound for them, by pod uid.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    now: Arc<AtomicU64>,
    pods: HashMap<String, Entry>,
}

impl Registry {
    /// Publishes the simulator clock to every listener.
    pub(crate) fn set_now(&self, now: u64) {
        self.now.store(now, Ordering::Relaxed);
    }

    /// Declares that the pod `uid` serves with `profile` since `started`; returns its
    /// listener's address once one is bound.
    pub(crate) fn want(
        &mut self,
        uid: &str,
        profile: Profile,
        started: u64,
        healthy: bool,
    ) -> Option<SocketAddr> {
        let now = Arc::clone(&self.now);
        let entry = self.pods.entry(uid.to_owned()).or_insert_with(|| Entry {
            traffic: Arc::new(Traffic {
                profile: Mutex::new((profile.clone(), started)),
                now,
                healthy: AtomicBool::new(healthy),
            }),
            address: None,
            task: None,
        });
        *entry
            .traffic
            .profile
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (profile, started);
        entry.traffic.healthy.store(healthy, Ordering::Relaxed);
        entry.address
    }

    /// Forgets (and closes the listeners of) every pod not in `serving`.
    pub(crate) fn retain(&mut self, serving: &[String]) {
        self.pods.retain(|uid, _| serving.contains(uid));
    }

    /// Pods wanting a listener that has not been bound yet.
    pub(crate) fn pending(&self) -> Vec<(String, Arc<Traffic>)> {
        self.pods
            .iter()
            .filter(|(_, entry)| entry.address.is_none())
            .map(|(uid, entry)| (uid.clone(), Arc::clone(&entry.traffic)))
            .collect()
    }

    /// Records a bound listener; `false` when the pod no longer wants one (the caller then
    /// stops the server).
    fn bound(&mut self, uid: &str, address: SocketAddr, task: tokio::task::AbortHandle) -> bool {
        match self.pods.get_mut(uid) {
            Some(entry) if entry.address.is_none() => {
                entry.address = Some(address);
                entry.task = Some(task);
                true
            }
            _ => false,
        }
    }

    /// Closes every listener (the controllers stopped).
    pub(crate) fn close_all(&mut self) {
        self.pods.clear();
    }

    /// The address of the pod `uid`'s listener, if bound.
    #[cfg(test)]
    pub(crate) fn address(&self, uid: &str) -> Option<SocketAddr> {
        self.pods.get(uid).and_then(|entry| entry.address)
    }
}

async fn health(State(traffic): State<Arc<Traffic>>) -> impl IntoResponse {
    if traffic.healthy.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(traffic): State<Arc<Traffic>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        traffic.metrics(),
    )
}

/// Binds a loopback listener for every pod that wants one and is not served yet. Called by
/// the async controller loop; the state lock is never held across an await.
pub(crate) async fn fulfil(state: &Mutex<ControllerState>) -> usize {
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let pending = lock().endpoints.pending();
    let bound = pending.len();
    for (uid, traffic) in pending {
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            continue;
        };
        let Ok(address) = listener.local_addr() else {
            continue;
        };
        let router = Router::new()
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .with_state(traffic);
        let task = tokio::spawn(async move {
            // Ends only on an accept error or when aborted with the pod.
            let _ = axum::serve(listener, router).await;
        });
        if !lock().endpoints.bound(&uid, address, task.abort_handle()) {
            task.abort();
        }
    }
    bound
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn profiles_come_from_annotations_then_tags() {
        let pod = |annotations: Value, image: &str| {
            json!({"metadata": {"annotations": annotations},
                   "spec": {"containers": [{"name": "c", "image": image}]}})
        };
        let plain = Profile::of(&pod(json!({}), "web:1.0"), 10);
        assert!((plain.error_rate).abs() < f64::EPSILON);
        assert!((plain.latency - 0.02).abs() < 1e-9);
        let bad = Profile::of(&pod(json!({}), "registry:5000/web:2.0-bad"), 10);
        assert!((bad.error_rate - 0.5).abs() < 1e-9);
        let slow = Profile::of(&pod(json!({}), "web:2.0-slow"), 10);
        assert!((slow.latency - 0.8).abs() < 1e-9);
        let annotated = Profile::of(
            &pod(
                json!({"sim.shipway.dev/error-rate": "0.05", "sim.shipway.dev/latency-ms": "120"}),
                "web:2.0-bad",
            ),
            10,
        );
        assert!((annotated.error_rate - 0.05).abs() < 1e-9);
        assert!((annotated.latency - 0.12).abs() < 1e-9);
    }

    #[test]
    fn metrics_grow_with_the_clock_and_follow_the_profile() {
        let profile = Profile {
            error_rate: 0.1,
            latency: 0.1,
            requests_per_second: 10,
        };
        let text = render_metrics(&profile, 10);
        assert!(text.contains("http_requests_total{code=\"200\",method=\"GET\"} 90\n"));
        assert!(text.contains("http_requests_total{code=\"500\",method=\"GET\"} 10\n"));
        assert!(text.contains("# TYPE http_request_duration_seconds histogram\n"));
        // 50 requests at 60 ms, 40 at 120 ms, 10 at 220 ms.
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.1\"} 50\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.25\"} 100\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"+Inf\"} 100\n"));
        assert!(text.contains("http_request_duration_seconds_count 100\n"));
        let later = render_metrics(&profile, 20);
        assert!(later.contains("http_request_duration_seconds_count 200\n"));
    }

    #[tokio::test]
    async fn listeners_bind_serve_and_close_with_the_pod() {
        let state = Mutex::new(ControllerState::default());
        let profile = Profile {
            error_rate: 0.0,
            latency: 0.02,
            requests_per_second: 1,
        };
        {
            let mut guard = state.lock().unwrap();
            guard.endpoints.set_now(100);
            assert!(
                guard
                    .endpoints
                    .want("u1", profile.clone(), 90, true)
                    .is_none()
            );
        }
        fulfil(&state).await;
        let address = state.lock().unwrap().endpoints.address("u1").unwrap();
        let body = get_text(address, "/metrics").await;
        assert!(body.contains("HTTP/1.1 200"), "{body}");
        assert!(body.contains("http_requests_total{code=\"200\",method=\"GET\"} 10"));
        let health = get_text(address, "/health").await;
        assert!(
            health.contains("200 OK") && health.ends_with("ok\n"),
            "{health}"
        );
        state
            .lock()
            .unwrap()
            .endpoints
            .want("u1", profile, 90, false);
        assert!(get_text(address, "/health").await.contains("503"));
        state.lock().unwrap().endpoints.retain(&[]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(tokio::net::TcpStream::connect(address).await.is_err());
    }

    async fn get_text(address: SocketAddr, path: &str) -> String {
        // A blocking client on its own thread: the server runs on the test's runtime.
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            text
        })
        .await
        .unwrap()
    }
}
