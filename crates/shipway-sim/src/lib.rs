//! An in-memory Kubernetes API server for tests, which the real `kubectl` accepts.
//!
//! [`Simulator`] holds the objects; [`Simulator::router`] builds the axum router that answers
//! the Kubernetes HTTP API, usable in-process as a tower `Service` (no socket) or served on
//! a loopback listener with [`serve`] for `kubectl`. It is for tests and the sandbox only:
//! no production code path may depend on it.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! let simulator = shipway_sim::Simulator::new();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("server: http://{}", listener.local_addr()?);
//! shipway_sim::serve(listener, simulator, std::future::pending()).await
//! # }
//! ```
//!
//! # What it serves
//!
//! - `/version` (1.32: the machine's kubectl dispatcher then runs `kubectl.1.32`);
//!   discovery `/api`, `/apis`, `/api/v1`, `/apis/{group}`, `/apis/{group}/{version}`, in
//!   both the legacy form and aggregated discovery `apidiscovery.k8s.io/v2` (and v2beta1),
//!   negotiated from `Accept`, subresources included; `/openapi/v3` and one `OpenAPI` 3.0
//!   document per group-version, generated from the same bundled 1.32 definitions the
//!   renderer and `shipway check` use, so kubectl's field validation, client-side apply's
//!   strategic merge and `kubectl explain` work as against a real cluster;
//! - the built-in types in [`resources::RESOURCES`] and custom resources served as soon as a
//!   `CustomResourceDefinition` is written (names accepted and `Established` in the same
//!   write, objects validated and pruned against the storage version's
//!   `openAPIV3Schema`, `status` subresource when declared, discovery and `OpenAPI` updated);
//! - list with label and field selectors (`metadata.name` and `metadata.namespace`, plus
//!   each kind's own: pods' `spec.nodeName` and `status.phase`, events'
//!   `involvedObject.*`, …), `limit`/`continue` (410 for a compacted token);
//!   watch as chunked JSON lines, from a resourceVersion out of a history bounded by count
//!   (10,000 events) and by bytes (64 MiB, [`Store::set_history_byte_limit`]), with
//!   bookmarks, `sendInitialEvents` and its closing bookmark, an in-stream `ERROR` 410 for
//!   a compacted version, selector transitions sent as `ADDED`/`DELETED`, `timeoutSeconds`
//!   (any value; one past the clock's range means none); each watcher's queue is bounded
//!   (16 MiB and 1024 events, [`Simulator::set_watch_buffer`]) and a watcher that stays
//!   full for two seconds is dropped, ending its stream, as a real server closes slow
//!   watchers;
//! - the real limits: request bodies over 3 MiB answer 413 `Request entity too large:
//!   limit is 3145728`; objects over etcd's 1.5 MiB answer 500 `etcdserver: request is too
//!   large` (a non-apply write is retried without `managedFields` first, as upstream does);
//!   `ConfigMap` and `Secret` data over 1 MiB is a 422 `Too long`; invalid base64 in
//!   `[]byte` fields (`Secret` `data`, `binaryData`) and out-of-range `int32` values are
//!   the decoder's 400; YAML apply bodies whose aliases would expand past the shared
//!   reader's byte budget (16 times the body, at least 16 MiB) are a 400;
//! - create, get, update, delete, deletecollection; PATCH with JSON patch, merge patch,
//!   strategic merge patch (built-in kinds; 415 for custom ones) and server-side apply
//!   (the `ssa` module: per-manager `managedFields` in the real `FieldsV1` encoding,
//!   conflicts answered 409 with the real message and causes, `force`, removal of fields a
//!   manager stops applying, list-type and map-key aware merging, shared ownership,
//!   `before-first-apply`, create-on-apply; JSON or YAML bodies); Update managers from
//!   `fieldManager` or the User-Agent's product;
//! - `dryRun=All` on every write and delete; `fieldValidation` Strict (400), Warn
//!   (`Warning` headers, the default) and Ignore, with unknown fields pruned; the
//!   `status`, `scale` and namespace `finalize` subresources;
//! - defaulting of what health checks and diffs read (the `defaults` module: Deployment
//!   strategy and progress deadline, `StatefulSet` partition, pod and container fields,
//!   Service cluster IPs and node ports, Job selectors, Secret `stringData`, …), the
//!   validations `GitOps` flows hit and immutable fields (`validation`: selector/template
//!   match, containers, Service ports, `field is immutable` for selectors, Job templates,
//!   `StatefulSet` spec, PVC spec, roleRef, immutable `ConfigMaps` and `Secrets`), with 422
//!   bodies naming each cause;
//! - deletion with finalizers and `deletionTimestamp`, Background/Foreground/Orphan
//!   propagation and uid-keyed garbage collection, namespaces that terminate (403 for new
//!   content), empty themselves and then go;
//! - `uid`, `creationTimestamp`, one global `resourceVersion` counter that does not move on
//!   no-op writes, `resourceVersion` preconditions (409), `generation` (set and bumped as
//!   the registry strategies do, never by `/status`), `generateName`;
//! - Table responses for `kubectl get` (per-kind columns, nodes, HPAs, `EndpointSlices`
//!   and events included), errors as `metav1.Status` bodies with the real `reason`,
//!   `code`, message and details;
//! - `pods/{name}/log` (the `logs` module: a few deterministic lines per simulated
//!   container, `tailLines`, `timestamps`, `previous`, `limitBytes`; `follow` ends at once),
//!   `exec`, `attach` and `portforward` refused with a 400 saying the sandbox does not
//!   support them; `pods/{name}/proxy/…` and `services/{name}/proxy/…` forwarded to the
//!   pods' loopback listeners (the `proxy` module: a Service picks its Ready pods in turn,
//!   503 "no endpoints available" without one); `/healthz`, `/livez`, `/readyz` (`?verbose`, single checks);
//! - Prometheus HTTP service discovery at [`HTTP_SD_PATH`] (the `prometheus` module): one
//!   target per serving pod, labelled as `kubernetes_sd_configs` role `pod` labels it;
//! - test hooks: [`Simulator::inject_fault`] (5xx, 429 with `Retry-After`, 409),
//!   [`Simulator::drop_watches`], [`Simulator::open_watches`],
//!   [`Store::compact_history`], the virtual clock;
//! - workload simulation (the `controllers` module): Deployments, `ReplicaSets`,
//!   `StatefulSets`, `DaemonSets`, Jobs and `CronJobs` get their pods, a scheduler and kubelet
//!   run the pods (with faults scripted by annotations), claims bind, Services get
//!   `EndpointSlices` and load-balancer addresses, running pods can serve `/health` and
//!   `/metrics`, `HorizontalPodAutoscalers` scale their targets from simulated resource use,
//!   and the controllers, scheduler and kubelet write Events (`v1` and
//!   `events.k8s.io/v1`, expiring after an hour, at most 2,000 kept). Drive it with [`Simulator::reconcile`], [`Simulator::settle`] and
//!   [`Simulator::advance`] (virtual clock) or [`Simulator::run_controllers`] (real time);
//!   configure it with [`SimulationConfig`].
//!
//! # Deliberate simplifications
//!
//! - **One version per group, no conversion**; custom resources serve their storage
//!   version only. No `/openapi/v2` (kubectl 1.27 and 1.28 need it as protobuf; 1.29–1.33
//!   work). `OpenAPI` documents carry no descriptions (the bundled data has none) and the
//!   `?hash=` parameter is not checked.
//! - **Server-side apply** runs the defaulting on the merged object before it looks for
//!   conflicts, so fields defaulted after an apply are shared by identical appliers; a
//!   real server reaches the same result only for deserialization defaults, and late
//!   (strategy or admission) defaults conflict there (kubernetes/kubernetes#129960). No
//!   `ancient-changes` folding of more than ten Update managers,
//!   no server-side `last-applied` annotation updater; a struct created by an Update gets
//!   no `.` entry where a real server would give a pointer struct one (the `FieldsV1`
//!   spelling only); only `protocol` is known as a defaulted list-map key. Strict
//!   validation of an apply reports the unknown fields in the real wording, but the
//!   `failed to create typed patch object` prefix was not checked against 1.32.
//! - **The garbage collector and namespace controller run synchronously** at the end of
//!   each write (a real cluster runs them moments later), so a Background delete has
//!   removed the dependents by the time the response is sent. An object whose owners are
//!   only partly gone keeps all its references. Pods are removed at once (no grace period).
//! - **Custom resource validation** covers `type`, `required`, `enum`, `minimum`,
//!   `maximum`, `nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`
//!   and `additionalProperties`; not `pattern`, formats, CEL rules or `oneOf`.
//! - **List pages** are read from the current objects after the cursor, not a snapshot at
//!   the first page's version.
//! - **Protobuf request bodies** are decoded only for the kinds `kubectl create namespace`,
//!   `configmap`, `secret`, `serviceaccount` and `deployment` send through client-go's
//!   typed clients, and only the fields those commands write (a Deployment's pod template
//!   without volumes, probes or security contexts); other protobuf bodies get 415.
//!   Responses are always JSON.
//! - **Limits**: the etcd limit is measured on the object's JSON, which is larger than the
//!   protobuf a real server stores, so the simulator refuses slightly smaller objects. The
//!   YAML expansion bound and its message are shipway's reader's (a real server has
//!   only go-yaml's alias-ratio check). The `ConfigMap` size error's field path (empty,
//!   printed `: Too long: …`) follows upstream's code but was not seen on a 1.32 server;
//!   base64 error offsets follow a port of Go's decoder. Slow watchers get a two-second
//!   grace (the real cacher's is shorter). A watch's initial events (no resourceVersion,
//!   or `sendInitialEvents`) are copied per watcher, as a list response is.
//! - **Serving** ([`serve`]): HTTP/1.1 only; a request header must arrive within 32
//!   seconds (the real `ReadHeaderTimeout`); shutdown ends watches, waits one second for
//!   connections and then closes them.
//! - **Autoscaling**: `autoscaling/v2` only (no `v1` objects, hence no
//!   `autoscaling.alpha.kubernetes.io/conditions` annotation); no metrics API
//!   (`metrics.k8s.io`, custom or external metrics: `Pods`, `Object` and `External` metrics
//!   report `FailedGet…Metric`, so `kubectl top` does not work); `behavior` policies,
//!   stabilization windows and the CPU readiness grace period are not simulated. A pod's
//!   simulated use is a share of its requests (annotations change it) and does not fall as
//!   replicas are added.
//! - **Events**: each is written once through each API (no conversion between `v1` and
//!   `events.k8s.io/v1`, so an event a client writes is seen through its own API only);
//!   probe failures are reported only for the scripted `never-ready` fault, and pods deleted
//!   by a client (not a controller) get no `Killing` event.
//! - **No container runtime**: logs are synthesized, `exec`, `attach` and `port-forward`
//!   are refused, `proxy` reaches the simulated `/health` and `/metrics` only; the Prometheus discovery targets the pods' loopback listeners,
//!   one per pod (its first container port's labels), not `podIP:port` per port.
//! - **No auth or admission**: any credentials are accepted; no quotas, `LimitRanges` or
//!   webhooks. Bare pods get the admission defaults (service account, tolerations) but no
//!   token volume is projected from a real Secret.
//! - A POST carrying `resourceVersion` is answered 500 `InternalError` with the storage
//!   layer's message; the real status code was not verified.
//! - Uids are unique per process, not cryptographically random. Custom resource types are
//!   leaked (a few hundred bytes per CRD change) so handlers hold `&'static` types.

pub mod error;
pub mod patch;
pub mod resources;
pub mod selector;
pub mod store;

mod clock;
mod controllers;
mod defaults;
mod discovery;
mod http;
mod logs;
mod openapi;
mod prometheus;
mod protobuf;
mod proxy;
mod ssa;
mod strategic;
mod table;
mod validation;
mod watch;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use controllers::SimulationConfig;
pub use error::ApiError;
pub use prometheus::HTTP_SD_PATH;
pub use store::Store;

/// The minor version `/version` reports. The machine's `kubectl` is a dispatcher that runs
/// `kubectl.1.<minor>` for the server's minor, and 1.32 is installed and needs no
/// `/openapi/v2`.
pub const SERVER_MINOR: &str = "32";

/// The bundled schema of [`SERVER_MINOR`]: types, list types and merge keys for strategic
/// merge, server-side apply, validation and `/openapi/v3`.
pub(crate) fn schema() -> &'static shipway_schema::Schema {
    static EMPTY: std::sync::OnceLock<shipway_schema::Schema> = std::sync::OnceLock::new();
    // The data is compiled in for every bundled version; the empty fallback only keeps a
    // broken build from panicking (every kind is then untyped).
    shipway_schema::bundled("1.32").unwrap_or_else(|| EMPTY.get_or_init(Default::default))
}

/// A fault a test injects: the next `count` requests whose method and path match answer
/// `error` instead of being served.
#[derive(Debug)]
pub struct Fault {
    /// HTTP method to match (`"PATCH"`), or `""` for any.
    pub method: String,
    /// A substring of the path to match, or `""` for any.
    pub path_contains: String,
    /// How many matching requests fail.
    pub count: usize,
    /// HTTP status and `code` (429, 500, 503, 409, …).
    pub code: u16,
    /// `reason` (`TooManyRequests`, `InternalError`, `ServiceUnavailable`, `Conflict`).
    pub reason: &'static str,
    /// `Retry-After` seconds (429/503).
    pub retry_after: Option<u64>,
}

/// State shared by every clone of a [`Simulator`] besides the objects.
#[derive(Debug)]
struct Shared {
    faults: Mutex<Vec<Fault>>,
    /// Bumped to end every open watch (test hook and shutdown).
    watch_stop: tokio::sync::watch::Sender<u64>,
    bookmark_interval: Mutex<Duration>,
    /// How far a watcher may fall behind before it is dropped.
    watch_buffer: Mutex<watch::BufferLimits>,
    /// Watch streams still being fed (see [`Simulator::open_watches`]).
    open_watches: Arc<std::sync::atomic::AtomicUsize>,
    /// The workload controllers' configuration, allocations and pod listeners. Locked
    /// before the store whenever both are held.
    controllers: Mutex<controllers::ControllerState>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            faults: Mutex::new(Vec::new()),
            watch_stop: tokio::sync::watch::channel(0).0,
            bookmark_interval: Mutex::new(Duration::from_secs(10)),
            watch_buffer: Mutex::new(watch::BufferLimits::default()),
            open_watches: Arc::default(),
            controllers: Mutex::new(controllers::ControllerState::new(
                SimulationConfig::default(),
            )),
        }
    }
}

/// A simulated API server: cheap to clone, every clone shares the same objects.
#[derive(Clone, Debug, Default)]
pub struct Simulator {
    store: Arc<Mutex<Store>>,
    shared: Arc<Shared>,
}

impl Simulator {
    /// A simulator holding what a fresh cluster has (the four initial namespaces).
    pub fn new() -> Self {
        Self::default()
    }

    /// The axum router answering the Kubernetes API for this simulator. It is a tower
    /// `Service`, so tests can call it in-process without a socket.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .fallback(http::handle)
            .with_state(self.clone())
    }

    /// Locks the store. One lock for everything makes each request atomic, which the real
    /// server's per-object compare-and-swap also gives. A panic while holding the lock
    /// cannot leave the store half-written (writes insert a finished object), so a
    /// poisoned lock is recovered rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes matching requests fail (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(fault);
    }

    /// The injected error for this request, if a fault matches it (consuming one count).
    fn take_fault(&self, method: &str, path: &str) -> Option<ApiError> {
        let mut faults = self
            .shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let index = faults.iter().position(|fault| {
            fault.count > 0
                && (fault.method.is_empty() || fault.method == method)
                && path.contains(&fault.path_contains)
        })?;
        let fault = &mut faults[index];
        fault.count -= 1;
        let error = ApiError::Injected {
            code: fault.code,
            reason: fault.reason,
            message: format!("injected fault: {} {path}", fault.reason),
            retry_after: fault.retry_after,
        };
        if fault.count == 0 {
            faults.remove(index);
        }
        Some(error)
    }

    /// Ends every open watch stream (clients see the stream close and re-watch).
    pub fn drop_watches(&self) {
        self.shared.watch_stop.send_modify(|epoch| *epoch += 1);
    }

    /// How often watches that allow bookmarks get one.
    pub fn set_bookmark_interval(&self, interval: Duration) {
        *self
            .shared
            .bookmark_interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = interval.max(Duration::from_millis(10));
    }

    fn bookmark_interval(&self) -> Duration {
        *self
            .shared
            .bookmark_interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Bounds what each watch may have queued for a client that does not read: `bytes` of
    /// events (16 MiB by default) and `events` events (1024). A watcher whose queue stays
    /// full for two seconds is dropped: its stream ends, as a real server closes a slow
    /// watcher, and the client re-watches. Bytes are clamped to 1 KiB ..= 4 GiB.
    pub fn set_watch_buffer(&self, bytes: usize, events: usize) {
        let limits = watch::BufferLimits {
            bytes: bytes.clamp(1024, u32::MAX as usize),
            events: events.max(1),
        };
        *self
            .shared
            .watch_buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = limits;
    }

    /// How many watches are still fed events: those that have not timed out, been
    /// dropped for falling behind, lost their client or been ended by
    /// [`Simulator::drop_watches`]. Their responses may still be delivering what was
    /// queued.
    pub fn open_watches(&self) -> usize {
        self.shared
            .open_watches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts a watch as open until the returned guard is dropped.
    fn watch_opened(&self) -> WatchGuard {
        self.shared
            .open_watches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        WatchGuard(self.shared.open_watches.clone())
    }

    fn watch_buffer(&self) -> watch::BufferLimits {
        *self
            .shared
            .watch_buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn watch_stop(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.watch_stop.subscribe()
    }

    fn controllers(&self) -> MutexGuard<'_, controllers::ControllerState> {
        self.shared
            .controllers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A simulator whose workload controllers behave as `config` says.
    pub fn with_config(config: SimulationConfig) -> Self {
        let simulator = Self::new();
        simulator.set_simulation_config(config);
        simulator
    }

    /// Changes how the simulated cluster behaves (node count, delays, deadlines); takes
    /// effect on the next reconcile pass.
    pub fn set_simulation_config(&self, config: SimulationConfig) {
        self.controllers().config = config;
    }

    /// The current workload simulation settings.
    pub fn simulation_config(&self) -> SimulationConfig {
        self.controllers().config.clone()
    }

    /// Runs one pass of every built-in controller (Deployments, `ReplicaSets`,
    /// `StatefulSets`, `DaemonSets`, Jobs, `CronJobs`, the scheduler and kubelet, volumes,
    /// Services) at the simulator's current time; returns how many writes it made. Repeat
    /// until it returns 0 to settle, or call [`Simulator::settle`].
    pub fn reconcile(&self) -> usize {
        let mut state = self.controllers();
        controllers::reconcile_pass(&mut self.lock(), &mut state)
    }

    /// Reconciles until a pass writes nothing (at most 100 passes, so a controller that
    /// never settles cannot hang a test); returns the writes made.
    pub fn settle(&self) -> usize {
        let mut total = 0;
        for _ in 0..100 {
            let writes = self.reconcile();
            total += writes;
            if writes == 0 {
                break;
            }
        }
        total
    }

    /// Moves the simulator's clock forward by `seconds`, one second at a time, settling
    /// the controllers after each step, so every delay and deadline in between fires in
    /// order, as if the time had passed.
    pub fn advance(&self, seconds: u64) {
        self.settle();
        for _ in 0..seconds {
            self.lock().advance_clock(1);
            self.settle();
        }
    }

    /// Runs the controllers on a real-time interval: every `tick`, binds the HTTP
    /// listeners of pods that serve (see the `pod_http` docs) and settles. The clock is
    /// the simulator's (wall clock plus any [`Simulator::advance`]). The task ends when the
    /// handle is aborted or the simulator's watches are dropped (which [`serve`] does on
    /// shutdown), closing every pod listener.
    pub fn run_controllers(&self, tick: Duration) -> tokio::task::JoinHandle<()> {
        let simulator = self.clone();
        let mut stop = self.watch_stop();
        tokio::spawn(async move {
            let closer = CloseListeners(simulator.clone());
            let mut interval = tokio::time::interval(tick.max(Duration::from_millis(10)));
            let mut settled_at: Option<(u64, u64)> = None;
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stop.changed() => break,
                }
                let bound = controllers::pod_http::fulfil(&simulator.shared.controllers).await;
                // A pass is a function of the objects, the clock (whole seconds) and the
                // listeners: when none of them moved since a pass that wrote nothing,
                // the next pass would write nothing too, so it is skipped. This keeps an
                // idle cluster idle.
                let now = {
                    let store = simulator.lock();
                    (store.resource_version(), store.now())
                };
                if bound > 0 || Some(now) != settled_at {
                    simulator.settle();
                    let store = simulator.lock();
                    settled_at = Some((store.resource_version(), store.now()));
                }
            }
            drop(closer);
        })
    }
}

/// Counts one open watch; dropped when its task ends, however it ends.
struct WatchGuard(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Closes the pod listeners when the controller loop ends, however it ends (an aborted
/// task drops its future, and with it this guard).
struct CloseListeners(Simulator);

impl Drop for CloseListeners {
    fn drop(&mut self) {
        self.0.controllers().endpoints.close_all();
    }
}

/// How long a client may take to send a request's header: a real API server's
/// `ReadHeaderTimeout` (32 s). Without it, a half-sent header holds its connection forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);

/// How long shutdown waits for connections to finish after watches were ended. A client
/// that does not read its watch, or has sent half a request, would otherwise keep the
/// server (and a sandbox waiting to save its state) from stopping.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serves `simulator` on `listener` (HTTP/1.1, plain text) until `shutdown` completes.
///
/// On shutdown it stops accepting, ends every open watch, lets connections finish their
/// current response for up to one second and then closes the rest, so it returns promptly
/// whatever the clients do. A request header must arrive within 32 seconds.
pub async fn serve(
    listener: tokio::net::TcpListener,
    simulator: Simulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = simulator.router();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Dropping the set aborts whatever connections outlive the grace period.
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Accept fails for one connection (reset before accept) or for a
                    // moment (out of file descriptors); neither should stop the server.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    // A connection error (a client that went away) concerns that client only.
                    let _ = connection.await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    simulator.drop_watches();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
    Ok(())
}
