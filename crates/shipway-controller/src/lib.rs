//! The `GitOps` controller behind `shipway serve`: it keeps every app's cluster state equal
//! to its git source, with the same engine as `shipway sync`
//! ([`shipway_cluster::engine`]).
//!
//! Triggers (a poll tick with jitter, a webhook, an API call, a watch event on a managed
//! object) put requests on one queue. A dispatcher runs at most `workers` reconciles at
//! once and at most one per app; requests for an app already running are coalesced into
//! one rerun, so one slow app never blocks another and a burst of events costs one pass.
//!
//! A reconcile fetches (one fetch per repository per trigger, shared by every app that
//! reads it), renders, plans, and — for automated apps on a new revision, for self-heal
//! on drift, or on request — syncs, then records the operation in the history store,
//! writes the status where users look (`Application.status`, Events) and publishes it to
//! the API's subscribers.

pub mod apps;
pub mod flux;
pub mod history;
pub mod metrics;
pub mod notify;
mod reconcile;
mod status;
mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shipway_cluster::cluster::Cluster;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::time::Instant;

pub use apps::{AppSpec, Origin};
pub use history::History;
pub use metrics::Metrics;

/// The current time as RFC 3339 (UTC, seconds), as Argo CD writes its timestamps.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--apps`: Application files, Flux files, or directories of them.
    pub apps: Vec<PathBuf>,
    /// `--app-namespace`: where Application objects are read from the cluster.
    pub app_namespace: String,
    /// `--state`: the git cache (`git/`) and the history store (`history.db`).
    pub state_dir: PathBuf,
    /// `--poll`: how often git sources are polled (Flux apps use their own interval).
    pub poll: Duration,
    /// How many apps reconcile at once.
    pub workers: usize,
    /// How long one sync may take, health wait included.
    pub sync_timeout: Duration,
    /// How often `--apps` and the cluster are read again for added or changed apps.
    pub discovery: Duration,
    /// The share of an app's live objects one automated prune may delete, in percent.
    pub max_prune: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            apps: Vec::new(),
            app_namespace: "argocd".into(),
            state_dir: PathBuf::from("shipway-state"),
            poll: Duration::from_secs(60),
            workers: 4,
            sync_timeout: Duration::from_secs(300),
            discovery: Duration::from_secs(3),
            max_prune: 20,
        }
    }
}

/// What started a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The controller started.
    Startup,
    /// The poll interval passed.
    Poll,
    /// A webhook delivery named the app's repository and branch.
    Webhook,
    /// `POST /api/v1/apps/{name}/sync`.
    Api,
    /// A managed object changed in the cluster.
    Watch,
    /// A self-heal deferred by its backoff is due.
    Heal,
}

impl Trigger {
    /// The name history and logs show.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Poll => "poll",
            Trigger::Webhook => "webhook",
            Trigger::Api => "api",
            Trigger::Watch => "watch",
            Trigger::Heal => "heal",
        }
    }
}

/// One request to reconcile an app.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its number, increasing in the order requests are made: `…/sync` answers it, and the
    /// app's `completed` says when it (or a later request coalesced with it) has run.
    pub id: u64,
    /// The app's name.
    pub app: String,
    /// Why.
    pub trigger: Trigger,
    /// Git sources must be at least as fresh as this instant (requests of one trigger
    /// share it, and with it one fetch).
    pub since: std::time::Instant,
    /// Sync even when the app is not automated (an API sync).
    pub sync: bool,
    /// Who asked: `controller` or the API token's name.
    pub who: String,
}

/// What the controller knows of one app, as the API shows it.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The app's definition.
    pub spec: AppSpec,
    /// `Synced`, `OutOfSync` or `Unknown` (not compared yet, or the comparison failed).
    pub sync_status: String,
    /// The revision last compared.
    pub revision: Option<String>,
    /// The revision last synced successfully.
    pub synced_revision: Option<String>,
    /// Health of the app's objects.
    pub health: String,
    /// The last (or running) operation: phase, message, startedAt, finishedAt.
    pub operation: Option<Value>,
    /// The last error of a comparison (fetch, render, plan), shown as a condition.
    pub condition: Option<String>,
    /// The status tree of the last comparison.
    pub resources: Value,
    /// Revisions that must not be applied automatically (rolled back from).
    pub blocked: BTreeSet<String>,
    /// The revision whose automated sync failed (not retried automatically until it
    /// changes, as Argo CD does).
    pub failed_revision: Option<String>,
    /// Self-heals in a row, and when the last one ran (the backoff on flapping).
    pub heals: (u32, Option<Instant>),
    /// A heal deferred by the backoff is scheduled.
    pub heal_scheduled: bool,
    /// When the next poll is due.
    pub next_poll: Instant,
    /// A reconcile is running.
    pub running: bool,
    /// A request arrived while it was running: run once more after it.
    pub rerun: Option<Request>,
    /// The highest request id whose reconcile has finished, and that reconcile's error
    /// (a failed fetch, render or check gate leaves no operation, so a caller waiting on
    /// its request learns the outcome here).
    pub completed: (u64, Option<String>),
    /// The tracking label value of its objects (for watch events).
    pub label: Option<String>,
    /// A revision whose sync a previous process left unfinished: synced again (completed
    /// hooks skipped) even when the objects already match.
    pub resume: Option<String>,
}

impl AppState {
    fn new(spec: AppSpec) -> AppState {
        AppState {
            spec,
            sync_status: "Unknown".into(),
            revision: None,
            synced_revision: None,
            health: "Unknown".into(),
            operation: None,
            condition: None,
            resources: json!([]),
            blocked: BTreeSet::new(),
            failed_revision: None,
            heals: (0, None),
            heal_scheduled: false,
            next_poll: Instant::now(),
            running: false,
            rerun: None,
            completed: (0, None),
            label: None,
            resume: None,
        }
    }

    /// The Argo Rollouts `Rollout`s among the app's objects (as its last comparison found
    /// them).
    pub fn rollouts(&self) -> Vec<shipway_cluster::cluster::Key> {
        self.resources
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| {
                o["kind"] == "Rollout"
                    && o["apiVersion"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("argoproj.io/"))
            })
            .map(|o| shipway_cluster::cluster::Key {
                group: "argoproj.io".into(),
                version: "v1alpha1".into(),
                kind: "Rollout".into(),
                namespace: o["namespace"].as_str().unwrap_or("").into(),
                name: o["name"].as_str().unwrap_or("").into(),
            })
            .collect()
    }

    /// The API's summary of the app.
    pub fn summary(&self) -> Value {
        let app = &self.spec.app;
        let (repo, path, revision) = app.source_fields();
        json!({
            "name": app.name,
            "namespace": app.namespace,
            "project": "default",
            "origin": self.spec.origin.as_str(),
            "automated": app.sync.automated,
            "source": {"repoURL": repo, "path": path, "targetRevision": revision},
            "sync": {"status": self.sync_status, "revision": self.revision},
            "health": {"status": self.health},
            "operation": self.operation,
            "condition": self.condition,
            "completed": {"request": self.completed.0, "error": self.completed.1},
        })
    }
}

/// The controller: its apps, queue, history and metrics. Cheap to clone.
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    cluster: Cluster,
    fetcher: shipway_git::fetch::Fetcher,
    history: History,
    metrics: Metrics,
    apps: Mutex<BTreeMap<String, AppState>>,
    queue: mpsc::UnboundedSender<Request>,
    /// The last request id given out.
    requests: std::sync::atomic::AtomicU64,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
    events: broadcast::Sender<Value>,
    ready: AtomicBool,
    stopping: AtomicBool,
    stopped: Notify,
    /// Label value → app name, for watch events.
    labels: Mutex<HashMap<String, String>>,
    watches: watch::Watches,
    /// Where sync and health events are queued as notifications (`--notify-config`).
    notifier: std::sync::OnceLock<shipway_notify::Notifier>,
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The state directory could not be created.
    #[error("state directory {path}: {source}")]
    State {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The history store could not be opened.
    #[error(transparent)]
    History(#[from] history::HistoryError),
}

impl Controller {
    /// A controller over `cluster`, its state in `config.state_dir`. Nothing runs until
    /// [`Controller::run`].
    pub fn new(config: Config, cluster: Cluster) -> Result<Controller, StartError> {
        Controller::with_metrics(config, cluster, Metrics::default())
    }

    /// [`Controller::new`] exporting into `metrics` (whose [`Metrics::api_layer`] the
    /// cluster's client may already count requests with).
    pub fn with_metrics(
        config: Config,
        cluster: Cluster,
        metrics: Metrics,
    ) -> Result<Controller, StartError> {
        let state = &config.state_dir;
        std::fs::create_dir_all(state.join("git")).map_err(|source| StartError::State {
            path: state.display().to_string(),
            source,
        })?;
        let history = History::open(&state.join("history.db"))?;
        let (queue, receiver) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        Ok(Controller {
            inner: Arc::new(Inner {
                fetcher: shipway_git::fetch::Fetcher::new(state.join("git")),
                config,
                cluster,
                history,
                metrics,
                apps: Mutex::new(BTreeMap::new()),
                queue,
                requests: std::sync::atomic::AtomicU64::new(0),
                receiver: Mutex::new(Some(receiver)),
                events,
                ready: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                stopped: Notify::new(),
                labels: Mutex::new(HashMap::new()),
                watches: watch::Watches::default(),
                notifier: std::sync::OnceLock::new(),
            }),
        })
    }

    fn apps(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AppState>> {
        self.inner
            .apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends notifications of sync and health events through `notifier` (whose queue
    /// should be the history database, so both survive a restart together). Only the
    /// first notifier set is kept; `false` when one was set already.
    pub fn set_notifier(&self, notifier: shipway_notify::Notifier) -> bool {
        self.inner.notifier.set(notifier).is_ok()
    }

    /// The history database, which the notification queue shares.
    pub fn history_path(&self) -> PathBuf {
        self.inner.config.state_dir.join("history.db")
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The history store.
    pub fn history(&self) -> &History {
        &self.inner.history
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// Whether the first discovery of apps is done (`/readyz`).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }

    /// Status changes, as JSON app summaries (`GET /api/v1/events`).
    pub fn subscribe(&self) -> broadcast::Receiver<Value> {
        self.inner.events.subscribe()
    }

    /// The summaries of every app, by name.
    pub fn list(&self) -> Vec<Value> {
        self.apps().values().map(AppState::summary).collect()
    }

    /// One app's state.
    pub fn get(&self, name: &str) -> Option<AppState> {
        self.apps().get(name).cloned()
    }

    /// Queues a reconcile of `name`; its request id, or `None` when there is no such app.
    pub fn request(&self, name: &str, trigger: Trigger, sync: bool, who: &str) -> Option<u64> {
        if !self.apps().contains_key(name) {
            return None;
        }
        Some(self.send(name, trigger, std::time::Instant::now(), sync, who))
    }

    /// Numbers a request and queues it.
    fn send(
        &self,
        app: &str,
        trigger: Trigger,
        since: std::time::Instant,
        sync: bool,
        who: &str,
    ) -> u64 {
        let id = self
            .inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let _ = self.inner.queue.send(Request {
            id,
            app: app.to_string(),
            trigger,
            since,
            sync,
            who: who.to_string(),
        });
        id
    }

    /// Queues a reconcile of every app whose git source is `url` (compared without a
    /// trailing `.git` or `/`, case-insensitively) at `branch` (`None`: any). Returns
    /// the names.
    pub fn request_repository(&self, url: &str, branch: Option<&str>) -> Vec<String> {
        let since = std::time::Instant::now();
        let wanted = normalize_url(url);
        let names: Vec<String> = self
            .apps()
            .values()
            .filter(|state| match &state.spec.app.source {
                shipway_cluster::app::Source::Git { url, revision, .. } => {
                    normalize_url(url) == wanted
                        && branch.is_none_or(|b| {
                            let r = revision.trim_start_matches("refs/heads/");
                            r == b || r == "HEAD"
                        })
                }
                shipway_cluster::app::Source::Local { .. } => false,
            })
            .map(|s| s.spec.app.name.clone())
            .collect();
        for name in &names {
            self.send(name, Trigger::Webhook, since, false, "webhook");
        }
        names
    }

    /// The plan of an app against the cluster now, as JSON (`…/diff`).
    pub async fn diff(&self, name: &str) -> anyhow::Result<Value> {
        let Some(state) = self.get(name) else {
            anyhow::bail!("no app `{name}`");
        };
        let prepared = reconcile::prepare(self, &state.spec, std::time::Instant::now()).await?;
        let plan =
            shipway_cluster::engine::plan(&self.inner.cluster, &prepared, Duration::from_secs(60))
                .await?;
        Ok(plan.to_json(None))
    }

    /// Rolls the app's directory back in git to `target` (a commit written with shipway's
    /// rollback trailers and pushed), marks the abandoned revision so it is not applied
    /// automatically again, and queues a sync of the new commit.
    pub async fn rollback(
        &self,
        name: &str,
        target: shipway_git::revert::Target,
        who: &str,
    ) -> anyhow::Result<Value> {
        let Some(state) = self.get(name) else {
            anyhow::bail!("no app `{name}`");
        };
        let shipway_cluster::app::Source::Git {
            url,
            revision,
            path,
            ..
        } = &state.spec.app.source
        else {
            anyhow::bail!("app `{name}` has no git source to roll back");
        };
        let scratch = self.inner.config.state_dir.join("tmp").join(format!(
            "rollback-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&scratch)?;
        let (url, revision, path) = (url.clone(), revision.clone(), path.clone());
        let dir = scratch.clone();
        let result = tokio::task::spawn_blocking(move || {
            shipway_git::revert::rollback_path(&url, &revision, &path, &target, &dir)
        })
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        let done = result??;
        if let Some(state) = self.apps().get_mut(name) {
            state.blocked.insert(done.abandoned.clone());
        }
        tracing::info!(app = %name, who, commit = %done.commit, restored = %done.restored, "rollback committed");
        let request = self.request(name, Trigger::Api, true, who);
        Ok(
            json!({"commit": done.commit, "restored": done.restored, "abandoned": done.abandoned, "request": request}),
        )
    }

    /// The app's Rollouts (as its last comparison found them), each shown as `shipway
    /// rollout status` shows it; with `verb`, that action is written to `rollout` first.
    /// `Ok(None)` when there is no such app or Rollout.
    pub async fn rollouts(
        &self,
        app: &str,
        rollout: Option<&str>,
        verb: Option<shipway_rollouts::controller::Verb>,
    ) -> anyhow::Result<Option<Vec<Value>>> {
        let Some(state) = self.get(app) else {
            return Ok(None);
        };
        let keys: Vec<shipway_cluster::cluster::Key> = state
            .rollouts()
            .into_iter()
            .filter(|key| rollout.is_none_or(|wanted| wanted == key.name))
            .collect();
        if keys.is_empty() && rollout.is_some() {
            return Ok(None);
        }
        let client = self.inner.cluster.client();
        let mut out = Vec::new();
        for key in keys {
            if let Some(verb) = verb {
                shipway_rollouts::controller::act(client, &key.namespace, &key.name, verb).await?;
                tracing::info!(app, rollout = %key.name, ?verb, "rollout action written");
            }
            out.push(
                shipway_rollouts::controller::describe(client, &key.namespace, &key.name).await?,
            );
        }
        Ok(Some(out))
    }

    /// The rollout triggers: `on-rollout-step` when a rollout of a new template moves to a
    /// later step, `on-rollout-aborted` once per abort, `on-rollout-completed` when one that
    /// was under way becomes Healthy (not at the first look after a start).
    async fn notify_rollout(
        &self,
        app: &str,
        rollout: &shipway_cluster::cluster::Key,
        outcome: &shipway_rollouts::controller::Outcome,
        before: Option<&(String, u32, String)>,
    ) {
        let Some(state) = self.get(app) else { return };
        let Some((phase, step, hash)) = before else {
            return;
        };
        let same_template = *hash == outcome.current;
        let kind = if outcome.aborted && !(same_template && phase == "Degraded") {
            shipway_notify::EventKind::RolloutAborted
        } else if outcome.phase == "Healthy" && phase != "Healthy" {
            shipway_notify::EventKind::RolloutCompleted
        } else if !outcome.aborted
            && outcome.phase != "Healthy"
            && (!same_template || outcome.step.0 > *step)
        {
            shipway_notify::EventKind::RolloutStep
        } else {
            return;
        };
        let notice = crate::notify::State {
            sync_status: state.sync_status.clone(),
            health: state.health.clone(),
            message: format!(
                "{rollout}: {}{}",
                outcome.phase,
                if outcome.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", outcome.message)
                }
            ),
            rollout_step: (!outcome.blue_green).then_some((outcome.step.0 + 1, outcome.step.1)),
            ..crate::notify::State::default()
        };
        crate::notify::emit(
            self,
            &state.spec,
            kind,
            state.revision.as_deref().unwrap_or(""),
            notice,
        )
        .await;
    }

    /// An aborted Rollout is written back to git: the app's directory goes back one change
    /// in a rollback commit (as `POST …/rollback` does), so the bad revision is blocked and
    /// automated sync carries on from the restored one — the loop Argo Rollouts and
    /// Flagger leave open.
    async fn roll_back_aborted(
        &self,
        app: &str,
        rollout: &shipway_cluster::cluster::Key,
        outcome: &shipway_rollouts::controller::Outcome,
    ) {
        let git = self
            .get(app)
            .is_some_and(|s| matches!(s.spec.app.source, shipway_cluster::app::Source::Git { .. }));
        if !git {
            tracing::warn!(app, %rollout, "Rollout aborted; the app is not from git, so nothing is rolled back in git");
            return;
        }
        tracing::warn!(app, %rollout, message = %outcome.message, "Rollout aborted: writing a rollback commit");
        match self
            .rollback(app, shipway_git::revert::Target::Steps(1), "controller")
            .await
        {
            Ok(done) => {
                tracing::info!(app, %rollout, commit = %done["commit"], "rollback of the aborted revision committed");
            }
            Err(error) => {
                tracing::error!(app, %rollout, error = %format!("{error:#}"), "writing the rollback commit failed");
            }
        }
    }

    /// Asks the loops to stop: running syncs are abandoned when [`Controller::run`]'s
    /// caller drops it, no new work starts.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.stopped.notify_waiters();
    }

    /// Whether any reconcile is running.
    pub fn busy(&self) -> bool {
        self.apps().values().any(|state| state.running)
    }

    fn stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Runs discovery, polling and the work queue until [`Controller::stop`].
    pub async fn run(&self) {
        let Some(mut receiver) = self
            .inner
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        else {
            tracing::error!("the controller is already running");
            return;
        };
        let workers = Arc::new(tokio::sync::Semaphore::new(
            self.inner.config.workers.max(1),
        ));
        let discovery = tokio::spawn({
            let this = self.clone();
            async move { this.discovery_loop().await }
        });
        let rollouts = tokio::spawn({
            let this = self.clone();
            async move { this.rollout_loop().await }
        });
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            if self.stopping() {
                break;
            }
            tokio::select! {
                () = self.inner.stopped.notified() => break,
                _ = tick.tick() => self.poll_due(),
                request = receiver.recv() => {
                    let Some(request) = request else { break };
                    self.dispatch(request, &workers);
                }
            }
        }
        discovery.abort();
        rollouts.abort();
        self.inner.watches.stop();
    }

    /// shipway is the controller of the apps' Argo Rollouts `Rollout`s: each one the apps'
    /// last comparison found is reconciled every second (a step, a timed pause, a
    /// promote or an abort written to its status takes effect within one tick).
    async fn rollout_loop(&self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut announced = std::collections::HashSet::new();
        let mut phases: HashMap<shipway_cluster::cluster::Key, String> = HashMap::new();
        // (Rollout, template hash) whose abort was already written back to git.
        let mut rolled_back = std::collections::HashSet::new();
        // Each Rollout's last (phase, step, template hash), for its notifications.
        let mut seen: HashMap<shipway_cluster::cluster::Key, (String, u32, String)> =
            HashMap::new();
        loop {
            tick.tick().await;
            // Read under the lock without copying the apps' status trees (this runs every
            // second for every app).
            let owned: Vec<(String, shipway_cluster::cluster::Key)> = self
                .apps()
                .iter()
                .flat_map(|(app, state)| state.rollouts().into_iter().map(|key| (app.clone(), key)))
                .collect();
            if owned.is_empty() {
                continue;
            }
            let keys: Vec<shipway_cluster::cluster::Key> =
                owned.iter().map(|(_, key)| key.clone()).collect();
            let mut log = RolloutLog;
            let outcomes = shipway_cluster::sync::drive_rollouts(
                &self.inner.cluster,
                &keys,
                &mut log,
                &mut announced,
            )
            .await;
            // A Rollout's status is not part of what the watches compare (status writes
            // would loop), so a new phase asks for the app's health to be looked at again.
            for (key, outcome) in outcomes {
                if let Some(outcome) = &outcome
                    && let Some((app, _)) = owned.iter().find(|(_, k)| *k == key)
                {
                    let before = seen.insert(
                        key.clone(),
                        (
                            outcome.phase.clone(),
                            outcome.step.0,
                            outcome.current.clone(),
                        ),
                    );
                    self.notify_rollout(app, &key, outcome, before.as_ref())
                        .await;
                    if outcome.aborted && rolled_back.insert((key.clone(), outcome.current.clone()))
                    {
                        self.roll_back_aborted(app, &key, outcome).await;
                    }
                }
                let phase = outcome.map(|o| o.phase).unwrap_or_default();
                if phases.get(&key) != Some(&phase) {
                    phases.insert(key.clone(), phase);
                    if let Some((app, _)) = owned.iter().find(|(_, k)| *k == key) {
                        self.request(app, Trigger::Watch, false, "controller");
                    }
                }
            }
        }
    }

    /// Starts a reconcile for `request` unless one runs for the app (then it is
    /// coalesced into one rerun).
    fn dispatch(&self, request: Request, workers: &Arc<tokio::sync::Semaphore>) {
        {
            let mut apps = self.apps();
            let Some(state) = apps.get_mut(&request.app) else {
                return;
            };
            if state.running {
                let merged = match state.rerun.take() {
                    // A sync request is never lost to a coalesced poll.
                    Some(previous) if previous.sync && !request.sync => previous,
                    _ => request,
                };
                state.rerun = Some(merged);
                return;
            }
            state.running = true;
        }
        let this = self.clone();
        let workers = Arc::clone(workers);
        tokio::spawn(async move {
            let Ok(_permit) = workers.acquire_owned().await else {
                return;
            };
            let name = request.app.clone();
            reconcile::reconcile(&this, request).await;
            let rerun = {
                let mut apps = this.apps();
                apps.get_mut(&name).and_then(|state| {
                    state.running = false;
                    state.rerun.take()
                })
            };
            if let Some(rerun) = rerun {
                let _ = this.inner.queue.send(rerun);
            }
        });
    }

    /// Queues a poll of every app whose interval passed, jittered by up to a tenth of
    /// it so apps added together do not poll together forever.
    fn poll_due(&self) {
        let now = Instant::now();
        let since = std::time::Instant::now();
        let mut due = Vec::new();
        for (name, state) in self.apps().iter_mut() {
            let suspended = state.spec.flux.as_ref().is_some_and(|f| f.suspend);
            if state.next_poll <= now && !suspended {
                state.next_poll = now + jittered(state.spec.interval);
                due.push(name.clone());
            }
        }
        for app in due {
            self.send(&app, Trigger::Poll, since, false, "controller");
        }
    }

    /// Reads `--apps` again when its files change, and the cluster's app objects every
    /// round, replacing the set of apps each source defines.
    async fn discovery_loop(&self) {
        let mut fingerprint = None;
        loop {
            let config = &self.inner.config;
            let current = apps::fingerprint(&config.apps);
            if fingerprint != Some(current) {
                fingerprint = Some(current);
                let paths = config.apps.clone();
                let poll = config.poll;
                let loaded =
                    tokio::task::spawn_blocking(move || apps::load_paths(&paths, poll)).await;
                if let Ok((specs, errors)) = loaded {
                    for error in &errors {
                        tracing::error!(error = %error, "app definition refused");
                    }
                    self.replace(
                        |o| matches!(o, Origin::File(_) | Origin::FluxFile(_)),
                        specs,
                    );
                }
            }
            match apps::load_cluster(&self.inner.cluster, &config.app_namespace, config.poll).await
            {
                Ok((specs, errors)) => {
                    for error in &errors {
                        tracing::error!(error = %error, "app definition refused");
                    }
                    self.replace(
                        |o| matches!(o, Origin::Cluster { .. } | Origin::FluxCluster { .. }),
                        specs,
                    );
                }
                Err(error) => {
                    tracing::warn!(error = %error, "reading apps from the cluster failed");
                }
            }
            self.inner.ready.store(true, Ordering::SeqCst);
            tokio::select! {
                () = tokio::time::sleep(config.discovery) => {}
                () = self.inner.stopped.notified() => return,
            }
        }
    }

    /// Replaces the apps whose origin `owned` selects with `specs`: new ones are added
    /// (and reconciled at once), changed ones updated, vanished ones dropped. A name
    /// already taken by an app of another origin is refused with an error.
    pub(crate) fn replace(&self, owned: impl Fn(&Origin) -> bool, specs: Vec<AppSpec>) {
        let mut added = Vec::new();
        {
            let mut apps = self.apps();
            let names: BTreeSet<String> = specs.iter().map(|s| s.app.name.clone()).collect();
            apps.retain(|name, state| !owned(&state.spec.origin) || names.contains(name));
            for spec in specs {
                let name = spec.app.name.clone();
                match apps.get_mut(&name) {
                    Some(state) if owned(&state.spec.origin) => {
                        if state.spec != spec {
                            state.spec = spec;
                            state.failed_revision = None;
                            added.push(name);
                        }
                    }
                    Some(state) => tracing::error!(
                        app = %name,
                        "app `{name}` from {} is refused: an app of that name already comes from {}",
                        spec.origin.as_str(),
                        state.spec.origin.as_str()
                    ),
                    None => {
                        let mut state = AppState::new(spec);
                        state.synced_revision = self
                            .inner
                            .history
                            .last_succeeded(&name)
                            .ok()
                            .flatten()
                            .filter(|r| !r.is_empty());
                        state.resume = self.inner.history.interrupted(&name).ok().flatten();
                        state.next_poll = Instant::now() + jittered(state.spec.interval);
                        apps.insert(name.clone(), state);
                        added.push(name);
                    }
                }
            }
        }
        let since = std::time::Instant::now();
        for app in added {
            self.send(&app, Trigger::Startup, since, false, "controller");
        }
    }

    fn publish(&self, name: &str) {
        if let Some(summary) = self.apps().get(name).map(AppState::summary) {
            let _ = self.inner.events.send(summary);
        }
    }
}

/// Rollout progress from the controller's ticks goes to the log.
struct RolloutLog;

impl shipway_cluster::sync::Progress for RolloutLog {
    fn line(&mut self, text: &str) {
        tracing::info!("{text}");
    }
}

/// `d` plus up to a tenth of it, at random.
fn jittered(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    d + d.mul_f64(f64::from(byte[0]) / 2550.0)
}

/// A repository URL compared as webhook payloads and Applications spell it differently:
/// lowercase, no `.git`, no trailing `/`, `git@host:path` as `host/path`, no scheme.
pub fn normalize_url(url: &str) -> String {
    let mut text = url.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://", "ssh://", "git://", "file://"] {
        if let Some(rest) = text.strip_prefix(scheme) {
            text = rest.to_string();
        }
    }
    if let Some(rest) = text.strip_prefix("git@") {
        text = rest.replacen(':', "/", 1);
    }
    if let Some((user, rest)) = text.split_once('@')
        && !user.contains('/')
    {
        text = rest.to_string();
    }
    let text = text.trim_end_matches('/');
    text.strip_suffix(".git").unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_match_across_spellings() {
        let want = normalize_url("https://github.com/Acme/Shop.git");
        for url in [
            "https://github.com/acme/shop",
            "git@github.com:acme/shop.git",
            "ssh://git@github.com/acme/shop.git",
            "https://token@github.com/acme/shop/",
        ] {
            assert_eq!(normalize_url(url), want, "{url}");
        }
        assert_ne!(normalize_url("https://github.com/acme/shop-api"), want);
    }

    #[test]
    fn jitter_stays_within_a_tenth() {
        let d = Duration::from_secs(60);
        for _ in 0..50 {
            let j = jittered(d);
            assert!(j >= d && j <= d + Duration::from_secs(6));
        }
    }
}
