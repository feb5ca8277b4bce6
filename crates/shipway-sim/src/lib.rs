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
//! # What it serves (phase 1 of issue 4)
//!
//! - `/version` (1.32), legacy discovery `/api`, `/api/v1`, `/apis`, `/apis/{group}` and
//!   `/apis/{group}/{version}` for the built-in types in [`resources::RESOURCES`];
//! - per resource: list (label selectors, `metadata.name`/`metadata.namespace` field
//!   selectors, `resourceVersion` in the list metadata), get, create, update, delete, and
//!   PATCH with JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge
//!   patch (so client-side `kubectl apply` updates objects);
//! - `uid`, `creationTimestamp`, one global `resourceVersion` counter that does not move on
//!   no-op writes, `resourceVersion` preconditions (409 `Conflict`), `generation` (set and
//!   bumped as the real registry strategies do), `generateName`;
//! - errors as `metav1.Status` bodies with the real `reason`, `code`, message and details.
//! - workload simulation (the `controllers` module): Deployments, `ReplicaSets`,
//!   `StatefulSets`, `DaemonSets`, Jobs and `CronJobs` get their pods, a scheduler and kubelet
//!   run the pods (with faults scripted by annotations), claims bind, Services get
//!   `EndpointSlices` and load-balancer addresses, and running pods can serve `/health` and
//!   `/metrics`. Drive it with [`Simulator::reconcile`], [`Simulator::settle`] and
//!   [`Simulator::advance`] (virtual clock) or [`Simulator::run_controllers`] (real time);
//!   configure it with [`SimulationConfig`].
//!
//! # Deliberate simplifications (each one a later phase or a documented non-goal)
//!
//! - **Discovery is legacy only.** Aggregated discovery (`apidiscovery.k8s.io/v2`) requests
//!   get the legacy documents, which kubectl accepts by falling back to per-group-version
//!   requests; kube-rs `Discovery::run_aggregated` does not fall back and so does not work
//!   yet. Discovery lists only the verbs served (no `watch`, `deletecollection`) and no
//!   subresources; there is no `storageVersionHash`.
//! - **No `/openapi/v2` or `/openapi/v3`** (404): kubectl `apply`, `create -f` and `replace`
//!   need `--validate=false`, and client-side apply computes patches from its compiled-in
//!   types. `fieldValidation` is ignored: unknown fields are kept, not rejected.
//! - **Server-side apply is refused** with 415 `UnsupportedMediaType`, never approximated
//!   with another patch type. Strategic merge patch follows the bundled 1.32 schema's patch
//!   strategies and merge keys (see the `strategic` module for its one ordering
//!   simplification).
//! - **No watch** (405), **no `dryRun`** (400), no `deletecollection` (405), no
//!   subresources (`status`, `scale`, `finalize`: 404). `limit` is ignored: lists return
//!   everything with no `continue` token, which the protocol allows.
//! - **Protobuf request bodies** are decoded only for the kinds `kubectl create namespace`,
//!   `configmap`, `secret` and `serviceaccount` send through client-go's typed clients
//!   (which do not fall back to JSON); other kinds, or fields the decoder does not know, get
//!   415. YAML bodies get 415.
//! - **Responses are always JSON**: a Table `Accept` gets the plain object or list, so
//!   `kubectl get` without `-o` prints only NAME and AGE. No protobuf.
//! - **`managedFields` are not tracked**: any sent are dropped.
//! - **Deletion is immediate**: no finalizers, grace periods or garbage collection;
//!   `propagationPolicy` is ignored. Deleting a namespace removes its contents at once and
//!   answers the namespace with `deletionTimestamp` and phase `Terminating`, so no
//!   terminating-namespace (403) window exists. Other deletes answer a `Success` `Status`.
//! - **No defaulting or validation** beyond name format (DNS-1123 subdomain, namespaces a
//!   label) and the namespace fields (`kubernetes` finalizer, phase, metadata-name label).
//!   `status` of kinds with a status subresource is cleared on create and kept on update,
//!   and cannot be written yet.
//! - **No auth**: any credentials are accepted. No admission (quotas, default service
//!   accounts).
//! - A POST carrying `resourceVersion` is answered 500 `InternalError` with the storage
//!   layer's message; the real status code was not verified.
//! - Uids are unique per process, not cryptographically random.

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
mod openapi;
mod protobuf;
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
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stop.changed() => break,
                }
                controllers::pod_http::fulfil(&simulator.shared.controllers).await;
                simulator.settle();
            }
            drop(closer);
        })
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

/// Serves `simulator` on `listener` (HTTP/1.1, plain text) until `shutdown` completes; open
/// watches are ended then, so shutdown does not wait for their timeouts.
pub async fn serve(
    listener: tokio::net::TcpListener,
    simulator: Simulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopper = simulator.clone();
    axum::serve(listener, simulator.router())
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopper.drop_watches();
        })
        .await
}
