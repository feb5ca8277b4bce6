//! Syncs: apply a plan in order, run hooks, wait for health, record the inventory, prune.
//!
//! The order is Argo CD's: Namespaces and CRDs (waiting for
//! `Established`); then `PreSync` hooks; then sync waves (`argocd.argoproj.io/sync-wave`, or our
//! `shipway.dev/sync-wave`) in ascending order, each wave in kind order, the next wave
//! starting only when the previous one is healthy; Sync hooks run with their wave; then the
//! inventory is written, owned objects no longer rendered are pruned (reverse waves,
//! `PruneLast` at the very end, foreground deletion waited for); then `PostSync` hooks. A
//! failing hook or wave runs the `SyncFail` hooks and stops. Nothing mutates before the plan
//! says it can: replace-required objects that did not opt in, and conflicts without
//! `--force-conflicts`, stop the sync first. Calls the server answers with 429, 5xx or a
//! dropped connection are retried per call with the app's backoff (honouring
//! `Retry-After`), the one retry policy, never past the sync's timeout; hooks that already
//! ran in this sync are tracked by uid and never run twice.
//!
//! Every applied object carries the app's tracking annotation ([`crate::identity`]) and
//! the inventory records its uid; prune deletes an object only when the live object still
//! carries both (with a uid precondition on the delete), and reports every other entry as
//! not pruned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;

pub use crate::cluster::{Backoff, with_retry};
use crate::cluster::{Cluster, Failure, Key};
use crate::health::{self, Health};
use crate::identity::AppId;
use crate::inventory::{self, Inventory};
use crate::plan::{self, Action, Plan, PlanError, PlanOptions, Planned};

/// How many applies run at once within a wave.
const CONCURRENCY: usize = 16;

/// Annotations that mark hooks (Argo CD's, and ours).
const HOOK_ANNOTATIONS: [&str; 2] = ["argocd.argoproj.io/hook", "shipway.dev/hook"];
const HOOK_DELETE_POLICY: [&str; 2] = [
    "argocd.argoproj.io/hook-delete-policy",
    "shipway.dev/hook-delete-policy",
];

/// A sync phase hooks run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookPhase {
    /// Before anything is applied.
    PreSync,
    /// With its wave.
    Sync,
    /// After everything is applied and healthy.
    PostSync,
    /// When the sync fails.
    SyncFail,
}

impl HookPhase {
    /// The annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::PreSync => "PreSync",
            HookPhase::Sync => "Sync",
            HookPhase::PostSync => "PostSync",
            HookPhase::SyncFail => "SyncFail",
        }
    }

    /// The phase an annotation value names.
    pub fn parse(text: &str) -> Option<HookPhase> {
        [
            HookPhase::PreSync,
            HookPhase::Sync,
            HookPhase::PostSync,
            HookPhase::SyncFail,
        ]
        .into_iter()
        .find(|phase| phase.as_str() == text)
    }
}

/// What a sync takes.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Plan settings (ignore rules, prune limits, conflicts).
    pub plan: PlanOptions,
    /// Prune owned objects that are no longer rendered.
    pub prune: bool,
    /// Create the app's namespace when it is missing (`CreateNamespace=true`).
    pub create_namespace: bool,
    /// Let every replace-required object be deleted and recreated (`Replace=true`).
    pub replace: bool,
    /// Wait until every object is healthy before returning.
    pub wait: bool,
    /// How long waits (waves, `--wait`, hooks) may take in all.
    pub timeout: Duration,
    /// Retries of transient failures.
    pub backoff: Backoff,
    /// How often health is polled while waiting.
    pub poll: Duration,
    /// How pruned objects' dependents are deleted (`PrunePropagationPolicy`).
    pub prune_propagation: crate::app::Propagation,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            plan: PlanOptions::default(),
            prune: true,
            create_namespace: false,
            replace: false,
            wait: false,
            timeout: Duration::from_secs(300),
            backoff: Backoff::default(),
            poll: Duration::from_millis(250),
            prune_propagation: crate::app::Propagation::Foreground,
        }
    }
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Objects applied (created, updated or replaced).
    pub applied: Vec<Key>,
    /// Objects pruned.
    pub pruned: Vec<Key>,
    /// Objects already in sync.
    pub unchanged: usize,
    /// Hooks run: (object, phase, outcome).
    pub hooks: Vec<(Key, HookPhase, String)>,
    /// Prune was refused as a whole (the reason).
    pub prune_refused: Option<String>,
    /// Owned objects prune kept, with the reason.
    pub kept: Vec<(Key, String)>,
    /// Objects a (saved) plan asked to delete that are not the app's, with the reason:
    /// left alone.
    pub not_pruned: Vec<(Key, String)>,
    /// Notes of the plan (a rebuilt inventory).
    pub notes: Vec<String>,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The plan could not be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Objects need a delete and recreate and did not opt in.
    #[error("{} object(s) need to be replaced (immutable fields changed); nothing was applied:\n{}\nopt in per object with the annotation `argocd.argoproj.io/sync-options: Replace=true` (or `shipway.dev/replace: \"true\"`), or for the app with `Replace=true`", .0.len(), lines(.0))]
    ReplaceRequired(Vec<(Key, String)>),
    /// Fields owned by other managers would change.
    #[error("{} object(s) have conflicting field managers; nothing was applied (use --force-conflicts to take the fields over):\n{}", .0.len(), lines(.0))]
    Conflicts(Vec<(Key, String)>),
    /// A call failed for good.
    #[error("{key}: {failure}")]
    Object {
        /// The object.
        key: Key,
        /// What went wrong.
        failure: Failure,
    },
    /// A hook failed or timed out.
    #[error("{phase} hook {key} failed: {message}")]
    Hook {
        /// The hook.
        key: Key,
        /// Its phase.
        phase: &'static str,
        /// Why.
        message: String,
    },
    /// Objects did not become healthy in time.
    #[error("not healthy after {}s:\n{}", .seconds, lines(.unhealthy))]
    Unhealthy {
        /// How long was waited.
        seconds: u64,
        /// Each unhealthy object (pods included) and why.
        unhealthy: Vec<(Key, String)>,
    },
    /// Smoke checks (annotation `shipway.dev/smoke-checks`) failed once everything was
    /// healthy.
    #[error("smoke checks failed:\n{}", lines(.0))]
    Smoke(Vec<(Key, String)>),
    /// A saved plan no longer matches the cluster.
    #[error("the cluster changed since the plan was made: {0}; make a new plan")]
    PlanOutdated(String),
}

fn lines(items: &[(Key, String)]) -> String {
    items
        .iter()
        .map(|(key, why)| format!("  {key}: {why}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a sync reports progress: one line per event; a terminal display may redraw.
pub trait Progress: Send {
    /// Something happened (`applied Deployment shop/web`).
    fn line(&mut self, text: &str);
    /// Objects still not healthy while waiting (redrawn by a terminal display).
    fn waiting(&mut self, _unhealthy: &[(Key, String)]) {}
    /// A hook completed (`hook` as the ledger names it): the controller persists this so a
    /// restart does not run it again for the same revision.
    fn hook_done(&mut self, _phase: HookPhase, _hook: &str) {}
    /// An object was applied: `verb` is `created`, `updated` or `replaced`.
    fn applied(&mut self, _verb: &str, _key: &Key) {}
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn line(&mut self, _text: &str) {}
}

/// The hook phase an object belongs to, `None` for ordinary objects; `Skip` hooks and
/// unknown phases are reported by [`split_hooks`].
fn hook_phases(object: &Value) -> Option<Vec<String>> {
    let annotations = object.pointer("/metadata/annotations")?;
    let value = HOOK_ANNOTATIONS
        .iter()
        .find_map(|name| annotations.get(*name).and_then(Value::as_str))?;
    Some(value.split(',').map(|p| p.trim().to_owned()).collect())
}

/// A hook object and its phases.
#[derive(Debug, Clone)]
pub struct Hook {
    /// The manifest.
    pub object: Value,
    /// Its phases.
    pub phases: Vec<HookPhase>,
}

/// Splits rendered objects into ordinary ones and hooks; `Skip` objects are dropped.
pub fn split_hooks(objects: Vec<Value>) -> Result<(Vec<Value>, Vec<Hook>), String> {
    let mut ordinary = Vec::new();
    let mut hooks = Vec::new();
    for object in objects {
        match hook_phases(&object) {
            None => ordinary.push(object),
            Some(phases) => {
                let mut parsed = Vec::new();
                for phase in &phases {
                    parsed.push(match phase.as_str() {
                        "PreSync" => HookPhase::PreSync,
                        "Sync" => HookPhase::Sync,
                        "PostSync" => HookPhase::PostSync,
                        "SyncFail" => HookPhase::SyncFail,
                        "Skip" => continue,
                        other => {
                            return Err(format!(
                                "{}: unknown hook phase `{other}` (PreSync, Sync, PostSync, SyncFail, Skip)",
                                Key::of(&object)
                            ));
                        }
                    });
                }
                if !parsed.is_empty() {
                    hooks.push(Hook {
                        object,
                        phases: parsed,
                    });
                }
            }
        }
    }
    Ok((ordinary, hooks))
}

/// Whether an object opted into delete-and-recreate.
fn replace_allowed(object: &Value) -> bool {
    let annotations = object.pointer("/metadata/annotations");
    let argo = annotations
        .and_then(|a| a.get("argocd.argoproj.io/sync-options"))
        .and_then(Value::as_str)
        .is_some_and(|options| options.split(',').any(|o| o.trim() == "Replace=true"));
    let ours = annotations
        .and_then(|a| a.get("shipway.dev/replace"))
        .and_then(Value::as_str)
        == Some("true");
    argo || ours
}

/// The sync state kept across retries of a whole sync: hooks that already ran.
#[derive(Debug, Default)]
pub struct Ledger {
    /// (phase, hook name) of hooks that completed successfully in this sync.
    done: HashSet<(&'static str, String)>,
}

impl Ledger {
    /// Records a hook as already completed (by an earlier process, for the same revision),
    /// so this sync does not run it again.
    pub fn record(&mut self, phase: HookPhase, hook: String) {
        self.done.insert((phase.as_str(), hook));
    }
}

/// Syncs `desired` (ordinary objects, namespaces assigned) and `hooks` for `app`.
#[expect(clippy::too_many_arguments, reason = "the sync's inputs, each needed")]
pub async fn sync(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
    desired: &[Value],
    hooks: &[Hook],
    options: &SyncOptions,
    ledger: &mut Ledger,
    progress: &mut dyn Progress,
) -> Result<SyncReport, SyncError> {
    let deadline = crate::cluster::deadline_after(options.timeout);
    let cluster = &cluster.scoped(&options.backoff, deadline);
    if options.create_namespace {
        ensure_namespace(cluster, namespace, progress).await?;
    }
    let plan = plan::plan(cluster, app, namespace, desired, &options.plan).await?;
    execute(
        cluster, &plan, hooks, options, ledger, progress, deadline, None,
    )
    .await
}

/// Applies a saved plan exactly: the manifests it holds (Secrets, whose values a plan file
/// never holds, from `rendered` and `rendered_hooks` when their keyed digest is the one
/// planned), the hooks it holds, with the live `resourceVersion` each object was planned
/// against as a precondition. Refuses when the plan is another app's, when a Secret
/// changed, or when the cluster moved since.
#[expect(clippy::too_many_arguments, reason = "the sync's inputs, each needed")]
pub async fn sync_plan(
    cluster: &Cluster,
    app: &AppId,
    plan: &Plan,
    rendered: &[Value],
    rendered_hooks: &[Hook],
    options: &SyncOptions,
    ledger: &mut Ledger,
    progress: &mut dyn Progress,
) -> Result<SyncReport, SyncError> {
    let deadline = crate::cluster::deadline_after(options.timeout);
    let cluster = &cluster.scoped(&options.backoff, deadline);
    if plan.app.id != app.id {
        return Err(SyncError::PlanOutdated(format!(
            "the plan is for app `{}` ({}), not `{}` ({})",
            plan.app.name, plan.app.id, app.name, app.id
        )));
    }
    let digest_key = if plan.secret_digests.is_empty() {
        None
    } else {
        Some(
            plan::digest_key(cluster, &plan.namespace, false)
                .await?
                .ok_or_else(|| {
                    SyncError::PlanOutdated(format!(
                        "the Secret `{}/{}` holding the plan's digest key is gone",
                        plan.namespace,
                        plan::DIGEST_KEY_SECRET
                    ))
                })?,
        )
    };
    // The render's Secrets as the plan saw them, by key: objects stamped as the plan
    // stamps them, hooks as they are.
    let mut secrets: BTreeMap<Key, Value> = BTreeMap::new();
    for object in rendered.iter().filter(|o| inventory::is_secret(o)) {
        let mut object = object.clone();
        app.stamp(&mut object);
        secrets.insert(Key::of(&object), object);
    }
    for hook in rendered_hooks
        .iter()
        .filter(|h| inventory::is_secret(&h.object))
    {
        secrets.insert(Key::of(&hook.object), hook.object.clone());
    }
    // Errors are the `PlanOutdated` message.
    let secret_as_planned = |key: &Key| -> Result<Value, String> {
        let (Some(planned), Some(digest_key)) = (plan.secret_digests.get(key), &digest_key) else {
            return Err(format!("{key}: the plan holds no digest of this Secret"));
        };
        let current = secrets
            .get(key)
            .ok_or_else(|| format!("{key} is no longer rendered"))?;
        if plan::secret_digest(digest_key, current) != *planned {
            return Err(format!(
                "{key}: the rendered Secret is not the one planned (its values or fields changed)"
            ));
        }
        Ok(current.clone())
    };
    let mut items = Vec::new();
    for item in &plan.items {
        let mut item = item.clone();
        if let Some(desired) = &item.desired
            && inventory::is_secret(desired)
        {
            item.desired = Some(secret_as_planned(&item.key).map_err(SyncError::PlanOutdated)?);
        }
        let live = cluster
            .get(&item.key)
            .await
            .map_err(|failure| SyncError::Object {
                key: item.key.clone(),
                failure,
            })?;
        let live_version = live
            .as_ref()
            .and_then(|l| l.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .map(String::from);
        // Moved only because a controller wrote its status (a rollout in progress): what
        // was reviewed still holds, so it is applied at the version seen now.
        let status_only = live_version.is_some()
            && item.live_digest.is_some()
            && live.as_ref().and_then(plan::live_digest) == item.live_digest;
        if status_only {
            item.resource_version.clone_from(&live_version);
        }
        if live_version != item.resource_version {
            return Err(SyncError::PlanOutdated(format!(
                "{} is at resourceVersion {} (planned at {})",
                item.key,
                live_version.as_deref().unwrap_or("none"),
                item.resource_version.as_deref().unwrap_or("none"),
            )));
        }
        item.live = live;
        items.push(item);
    }
    let mut hook_objects = Vec::new();
    for hook in &plan.hooks {
        if inventory::is_secret(hook) {
            hook_objects.push(secret_as_planned(&Key::of(hook)).map_err(SyncError::PlanOutdated)?);
        } else {
            hook_objects.push(hook.clone());
        }
    }
    let (plain, hooks) = split_hooks(hook_objects).map_err(SyncError::PlanOutdated)?;
    if let Some(object) = plain.first() {
        return Err(SyncError::PlanOutdated(format!(
            "{}: listed as a hook in the plan but has no hook annotation",
            Key::of(object)
        )));
    }
    // The file's word on what the app owns is not taken: the cluster's inventory is.
    let (inventory, _) = plan::load_inventory(cluster, app, &plan.namespace).await?;
    let plan = Plan {
        items,
        inventory: Some(inventory),
        ..plan.clone()
    };
    execute(
        cluster,
        &plan,
        &hooks,
        options,
        ledger,
        progress,
        deadline,
        Some(()),
    )
    .await
}

#[expect(clippy::too_many_arguments, reason = "the sync's inputs, each needed")]
#[expect(
    clippy::too_many_lines,
    reason = "the phases in order, read top to bottom"
)]
async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    hooks: &[Hook],
    options: &SyncOptions,
    ledger: &mut Ledger,
    progress: &mut dyn Progress,
    deadline: tokio::time::Instant,
    preconditions: Option<()>,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport {
        kept: plan
            .kept
            .iter()
            .map(|(key, reason)| (key.clone(), reason.to_string()))
            .collect(),
        // Without prune a refused prune is nothing to report as a failure.
        prune_refused: plan.prune_refused.clone().filter(|_| options.prune),
        notes: plan.notes.clone(),
        ..SyncReport::default()
    };
    // The uid of every object as applied (or as found, when unchanged): the inventory
    // records it, and prune deletes only that uid.
    let mut uids: HashMap<Key, String> = plan
        .items
        .iter()
        .filter_map(|item| Some((item.key.clone(), uid_of(item.live.as_ref()?)?)))
        .collect();
    // Stop before anything mutates.
    let mut blocked = Vec::new();
    let mut conflicts = Vec::new();
    for item in &plan.items {
        match item.action {
            Action::ReplaceRequired
                if !(options.replace || item.desired.as_ref().is_some_and(replace_allowed)) =>
            {
                blocked.push((item.key.clone(), item.note.clone().unwrap_or_default()));
            }
            Action::Update
                if !options.plan.force_conflicts
                    && item.note.as_deref().is_some_and(|n| n.contains("conflict")) =>
            {
                conflicts.push((item.key.clone(), item.note.clone().unwrap_or_default()));
            }
            _ => {}
        }
    }
    if !blocked.is_empty() {
        return Err(SyncError::ReplaceRequired(blocked));
    }
    if !conflicts.is_empty() {
        return Err(SyncError::Conflicts(conflicts));
    }
    let result = async {
        // Namespaces and CRDs first (PreSync hooks run in those namespaces and may use
        // those kinds), then PreSync hooks, then waves in order.
        let mut groups: BTreeMap<(u8, i64), Vec<&Planned>> = BTreeMap::new();
        for item in plan.items.iter().filter(|i| i.action != Action::Delete) {
            let Some(desired) = &item.desired else {
                continue;
            };
            let wave = inventory::sync_wave(desired).map_err(|message| SyncError::Object {
                key: item.key.clone(),
                failure: Failure::Rejected(message.to_string()),
            })?;
            let first = u8::from(!matches!(
                item.key.kind.as_str(),
                "Namespace" | "CustomResourceDefinition"
            ));
            groups
                .entry((first, if first == 0 { 0 } else { wave }))
                .or_default()
                .push(item);
        }
        let sync_hook_waves: BTreeMap<i64, Vec<&Hook>> = hooks
            .iter()
            .filter(|hook| hook.phases.contains(&HookPhase::Sync))
            .fold(BTreeMap::new(), |mut waves, hook| {
                let wave = inventory::sync_wave(&hook.object).unwrap_or(0);
                waves.entry(wave).or_insert_with(Vec::new).push(hook);
                waves
            });
        // A wave may hold only Sync hooks (Argo CD's `sync-waves` example puts a
        // maintenance-page Job alone in wave 1): it still runs in its place, before the
        // later waves' objects.
        for wave in sync_hook_waves.keys() {
            groups.entry((1, *wave)).or_default();
        }
        if let Some(mut prerequisites) = groups.remove(&(0, 0)) {
            prerequisites
                .sort_by_key(|item| (inventory::kind_order(&item.key.kind), item.key.clone()));
            let applied = apply_group(
                cluster,
                &prerequisites,
                options,
                progress,
                preconditions.is_some(),
            )
            .await?;
            report.unchanged += prerequisites
                .iter()
                .filter(|i| i.action == Action::Unchanged)
                .count();
            record(&mut report, &mut uids, applied);
            wait_established(cluster, &prerequisites, options, deadline).await?;
            cluster.forget_resources();
        }
        run_hooks(
            cluster,
            hooks,
            HookPhase::PreSync,
            None,
            options,
            ledger,
            progress,
            deadline,
            &mut report,
        )
        .await?;
        let group_count = groups.len();
        for (index, ((first, wave), mut items)) in groups.into_iter().enumerate() {
            items.sort_by_key(|item| (inventory::kind_order(&item.key.kind), item.key.clone()));
            let applied =
                apply_group(cluster, &items, options, progress, preconditions.is_some()).await?;
            report.unchanged += items
                .iter()
                .filter(|i| i.action == Action::Unchanged)
                .count();
            record(&mut report, &mut uids, applied);
            if first == 0 {
                wait_established(cluster, &items, options, deadline).await?;
                cluster.forget_resources();
                continue;
            }
            if let Some(wave_hooks) = sync_hook_waves.get(&wave) {
                let owned: Vec<Hook> = wave_hooks.iter().map(|h| (*h).clone()).collect();
                run_hooks(
                    cluster,
                    &owned,
                    HookPhase::Sync,
                    Some(wave),
                    options,
                    ledger,
                    progress,
                    deadline,
                    &mut report,
                )
                .await?;
            }
            let later_waves = index + 1 < group_count;
            let keys: Vec<Key> = items.iter().map(|i| i.key.clone()).collect();
            if later_waves || options.wait {
                wait_healthy(cluster, &keys, options, progress, deadline).await?;
            } else {
                // Not waiting: the Rollouts still take their first step now (their
                // ReplicaSets exist when the sync returns); `serve` or a `sync --wait`
                // moves them on.
                drive_rollouts(cluster, &keys, progress, &mut HashSet::new()).await;
            }
        }
        // The inventory: every rendered object, plus owned ones prune does not delete now.
        let pruning = options.prune && plan.prune_refused.is_none();
        let mut entries: Vec<inventory::Entry> = plan
            .items
            .iter()
            .filter_map(|item| {
                let mut entry = inventory::Entry::of(item.desired.as_ref()?).ok()?;
                entry.uid = uids.get(&item.key).cloned().unwrap_or_default();
                Some(entry)
            })
            .collect();
        // Owned objects that stay owned: all that are no longer rendered when nothing is
        // pruned now, else those prune keeps; never those that are not the app's.
        let previous = match &plan.inventory {
            Some(inventory) => inventory.clone(),
            None => {
                plan::load_inventory(cluster, &plan.app, &plan.namespace)
                    .await?
                    .0
            }
        };
        let disowned: HashSet<&Key> = plan
            .kept
            .iter()
            .filter(|(_, reason)| matches!(reason, inventory::KeepReason::NotOwned { .. }))
            .map(|(key, _)| key)
            .collect();
        let rendered: HashSet<Key> = plan
            .items
            .iter()
            .filter(|i| i.desired.is_some())
            .map(|i| i.key.clone())
            .collect();
        let kept: HashSet<&Key> = plan.kept.iter().map(|(key, _)| key).collect();
        entries.extend(
            previous
                .entries
                .iter()
                .filter(|e| {
                    let key = plan::entry_key(e);
                    if disowned.contains(&key) {
                        false
                    } else if pruning {
                        kept.contains(&key)
                    } else {
                        !rendered.contains(&key)
                    }
                })
                .cloned(),
        );
        write_inventory(cluster, &plan.app, &plan.namespace, entries).await?;
        if pruning {
            prune(
                cluster,
                plan,
                &previous,
                options,
                progress,
                deadline,
                &mut report,
            )
            .await?;
        }
        if hooks
            .iter()
            .any(|h| h.phases.contains(&HookPhase::PostSync))
            || options.wait
        {
            let keys: Vec<Key> = plan
                .items
                .iter()
                .filter(|i| i.desired.is_some())
                .map(|i| i.key.clone())
                .collect();
            wait_healthy(cluster, &keys, options, progress, deadline).await?;
            smoke_checks(cluster, plan, progress).await?;
        }
        run_hooks(
            cluster,
            hooks,
            HookPhase::PostSync,
            None,
            options,
            ledger,
            progress,
            deadline,
            &mut report,
        )
        .await?;
        Ok::<(), SyncError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(report),
        Err(error) => {
            progress.line(&format!("sync failed: {error}"));
            // SyncFail hooks report; their own failure does not hide the first one.
            let _ = run_hooks(
                cluster,
                hooks,
                HookPhase::SyncFail,
                None,
                options,
                ledger,
                progress,
                deadline,
                &mut report,
            )
            .await;
            Err(error)
        }
    }
}

/// One applied object: its key, what was done (`created`, …) and the uid the server
/// answered.
type Applied = (Key, &'static str, Option<String>);

/// The uid of a live or applied object.
fn uid_of(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(String::from)
}

/// Records applied objects and their uids.
fn record(
    report: &mut SyncReport,
    uids: &mut HashMap<Key, String>,
    applied: Vec<(Key, Option<String>)>,
) {
    for (key, uid) in applied {
        if let Some(uid) = uid {
            uids.insert(key.clone(), uid);
        }
        report.applied.push(key);
    }
}

/// Applies one group (a wave, or the namespaces and CRDs) concurrently; returns what was
/// applied, with the uid the server answered.
async fn apply_group(
    cluster: &Cluster,
    items: &[&Planned],
    options: &SyncOptions,
    progress: &mut dyn Progress,
    preconditions: bool,
) -> Result<Vec<(Key, Option<String>)>, SyncError> {
    let work: Vec<&Planned> = items
        .iter()
        .copied()
        .filter(|item| item.action != Action::Unchanged)
        .collect();
    // Made before they are streamed, for the controller's spawned syncs (see `plan::plan`).
    let futures: Vec<crate::cluster::BoxFuture<'_, Result<Applied, SyncError>>> = work
        .into_iter()
        .map(
            |item| -> crate::cluster::BoxFuture<'_, Result<Applied, SyncError>> {
                Box::pin(apply_one(cluster, item, options, preconditions))
            },
        )
        .collect();
    let results: Vec<Result<Applied, SyncError>> = futures_util::stream::iter(futures)
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut applied = Vec::new();
    for result in results {
        let (key, verb, uid) = result?;
        progress.line(&format!("{verb} {key}"));
        progress.applied(verb, &key);
        applied.push((key, uid));
    }
    Ok(applied)
}

async fn apply_one(
    cluster: &Cluster,
    item: &Planned,
    options: &SyncOptions,
    preconditions: bool,
) -> Result<Applied, SyncError> {
    let key = item.key.clone();
    let failed = |failure| SyncError::Object {
        key: key.clone(),
        failure,
    };
    let Some(desired) = &item.desired else {
        return Ok((key, "skipped", None));
    };
    let mut manifest = desired.clone();
    if preconditions
        && let (Some(version), Some(metadata)) = (
            &item.resource_version,
            manifest.get_mut("metadata").and_then(Value::as_object_mut),
        )
    {
        // A resourceVersion in an apply body is a precondition: 409 if the object moved.
        metadata.insert("resourceVersion".into(), version.clone().into());
    }
    if item.action == Action::ReplaceRequired {
        cluster.delete(&key, true, None).await.map_err(failed)?;
        let gone = cluster
            .wait_deleted(&key, options.timeout)
            .await
            .map_err(failed)?;
        if !gone {
            return Err(failed(Failure::Rejected(
                "still being deleted after the timeout; not recreated".into(),
            )));
        }
        if let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("resourceVersion");
        }
        let applied = cluster
            .apply(&manifest, options.plan.force_conflicts, false)
            .await
            .map_err(failed)?;
        return Ok((key, "replaced", uid_of(&applied)));
    }
    let applied = match cluster
        .apply(&manifest, options.plan.force_conflicts, false)
        .await
    {
        Ok(applied) => applied,
        Err(Failure::Moved(message)) if preconditions => {
            // Moved only because a controller wrote its status (a rollout in progress):
            // what was reviewed still holds, so apply at the new version, once.
            let live = cluster.get(&key).await.map_err(failed)?;
            let current = live.as_ref().and_then(plan::live_digest);
            let version = live
                .as_ref()
                .and_then(|l| l.pointer("/metadata/resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_string);
            match (current, version) {
                (Some(current), Some(version))
                    if item.live_digest.as_deref() == Some(current.as_str()) =>
                {
                    if let Some(metadata) =
                        manifest.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        metadata.insert("resourceVersion".into(), version.into());
                    }
                    cluster
                        .apply(&manifest, options.plan.force_conflicts, false)
                        .await
                        .map_err(|failure| match failure {
                            Failure::Moved(message) => {
                                SyncError::PlanOutdated(format!("{key}: {message}"))
                            }
                            other => failed(other),
                        })?
                }
                _ => return Err(SyncError::PlanOutdated(format!("{key}: {message}"))),
            }
        }
        Err(other) => return Err(failed(other)),
    };
    Ok((
        key,
        if item.action == Action::Create {
            "created"
        } else {
            "updated"
        },
        uid_of(&applied),
    ))
}

/// Creates the app's namespace when it is missing.
async fn ensure_namespace(
    cluster: &Cluster,
    namespace: &str,
    progress: &mut dyn Progress,
) -> Result<(), SyncError> {
    let object = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    let key = Key::of(&object);
    let exists = cluster
        .get(&key)
        .await
        .map_err(|failure| SyncError::Object {
            key: key.clone(),
            failure,
        })?;
    if exists.is_none() {
        cluster
            .apply(&object, false, false)
            .await
            .map_err(|failure| SyncError::Object {
                key: key.clone(),
                failure,
            })?;
        progress.line(&format!("created {key} (CreateNamespace)"));
    }
    Ok(())
}

/// Waits until the group's CRDs are `Established`.
async fn wait_established(
    cluster: &Cluster,
    items: &[&Planned],
    options: &SyncOptions,
    deadline: tokio::time::Instant,
) -> Result<(), SyncError> {
    for item in items
        .iter()
        .filter(|i| i.key.kind == "CustomResourceDefinition")
    {
        loop {
            let live = cluster
                .get(&item.key)
                .await
                .map_err(|failure| SyncError::Object {
                    key: item.key.clone(),
                    failure,
                })?;
            let established = live
                .as_ref()
                .and_then(|l| l.pointer("/status/conditions"))
                .and_then(Value::as_array)
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        c.get("type").and_then(Value::as_str) == Some("Established")
                            && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                });
            if established {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SyncError::Unhealthy {
                    seconds: options.timeout.as_secs(),
                    unhealthy: vec![(item.key.clone(), "not Established".into())],
                });
            }
            tokio::time::sleep(options.poll).await;
        }
    }
    Ok(())
}

/// The health of each key now: (key, health, message); objects without a health rule are
/// healthy when they exist.
pub async fn health_of(
    cluster: &Cluster,
    keys: &[Key],
) -> Result<Vec<(Key, Health, String)>, SyncError> {
    let results: Vec<Result<(Key, Health, String), SyncError>> =
        futures_util::stream::iter(keys.iter().cloned())
            .map(|key| async move {
                let live = cluster
                    .get(&key)
                    .await
                    .map_err(|failure| SyncError::Object {
                        key: key.clone(),
                        failure,
                    })?;
                Ok(match live {
                    None => (key, Health::Missing, "not found".to_owned()),
                    Some(object) => match health::object_health(&object) {
                        Some(status) => (key, status.health, status.message),
                        None => (key, Health::Healthy, String::new()),
                    },
                })
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
    results.into_iter().collect()
}

fn is_rollout(key: &Key) -> bool {
    key.group == "argoproj.io" && key.kind == "Rollout"
}

/// Runs one reconcile of every Rollout among `keys` (shipway is their controller: a
/// rollout moves while a sync waits for it, and in `serve` on every tick), saying once
/// each (`announced` remembers) when one waits for a promote or cannot be reconciled.
/// Returns each Rollout's outcome (`None` when its reconcile failed).
pub async fn drive_rollouts<S: std::hash::BuildHasher>(
    cluster: &Cluster,
    keys: &[Key],
    progress: &mut dyn Progress,
    announced: &mut HashSet<Key, S>,
) -> Vec<(Key, Option<shipway_rollouts::controller::Outcome>)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut outcomes = Vec::new();
    for key in keys.iter().filter(|key| is_rollout(key)) {
        let outcome = shipway_rollouts::controller::reconcile(
            cluster.client(),
            &key.namespace,
            &key.name,
            now,
        )
        .await;
        match outcome {
            Ok(outcome) => {
                if outcome.waiting_for_promote {
                    if announced.insert(key.clone()) {
                        progress.line(&if outcome.blue_green {
                            format!(
                                "{key}: paused before the active Service switches to {} ({}), waiting for promote",
                                outcome.current, outcome.message
                            )
                        } else {
                            format!(
                                "{key}: paused at step {} of {} (weight {}%), waiting for promote",
                                outcome.step.0, outcome.step.1, outcome.weight
                            )
                        });
                    }
                } else {
                    announced.remove(key);
                }
                outcomes.push((key.clone(), Some(outcome)));
            }
            Err(error) => {
                if announced.insert(key.clone()) {
                    progress.line(&format!("{key}: {error}"));
                }
                outcomes.push((key.clone(), None));
            }
        }
    }
    outcomes
}

/// Waits until every key is healthy; on timeout, fails naming each unhealthy object and,
/// for workloads, their unhealthy pods.
async fn wait_healthy(
    cluster: &Cluster,
    keys: &[Key],
    options: &SyncOptions,
    progress: &mut dyn Progress,
    deadline: tokio::time::Instant,
) -> Result<(), SyncError> {
    let mut announced = HashSet::new();
    loop {
        let promote: HashSet<Key> = drive_rollouts(cluster, keys, progress, &mut announced)
            .await
            .into_iter()
            .filter(|(_, outcome)| outcome.as_ref().is_some_and(|o| o.waiting_for_promote))
            .map(|(key, _)| key)
            .collect();
        let mut states = health_of(cluster, keys).await?;
        // A Rollout in a timed pause is Suspended by Argo CD's rule, but it moves on by
        // itself: wait for it. Only a pause that needs a promote ends the wait.
        for (key, health, _) in &mut states {
            if is_rollout(key) && *health == Health::Suspended && !promote.contains(key) {
                *health = Health::Progressing;
            }
        }
        let unhealthy: Vec<(Key, String)> = states
            .iter()
            .filter(|(_, health, _)| !matches!(health, Health::Healthy | Health::Suspended))
            .map(|(key, health, message)| {
                (
                    key.clone(),
                    if message.is_empty() {
                        health.as_str().to_owned()
                    } else {
                        format!("{}: {message}", health.as_str())
                    },
                )
            })
            .collect();
        if unhealthy.is_empty() {
            return Ok(());
        }
        progress.waiting(&unhealthy);
        let degraded = states
            .iter()
            .any(|(_, health, _)| *health == Health::Degraded);
        if tokio::time::Instant::now() >= deadline
            || (degraded && options.wait && failing_for_good(&states))
        {
            let mut detailed = Vec::new();
            for (key, why) in unhealthy {
                detailed.push((key.clone(), why));
                detailed.extend(unhealthy_pods(cluster, &key).await);
            }
            return Err(SyncError::Unhealthy {
                seconds: options.timeout.as_secs(),
                unhealthy: detailed,
            });
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// Runs the smoke checks the app's objects declare (`shipway.dev/smoke-checks`), once
/// everything is healthy; any failure fails the sync, naming the object, the request and
/// the answer.
async fn smoke_checks(
    cluster: &Cluster,
    plan: &Plan,
    progress: &mut dyn Progress,
) -> Result<(), SyncError> {
    let mut failures = Vec::new();
    let mut ran = 0;
    for item in &plan.items {
        let Some(desired) = &item.desired else {
            continue;
        };
        match shipway_rollouts::smoke::run_object(cluster.client(), desired, &[]).await {
            Ok(None) => {}
            Ok(Some(failed)) => {
                ran += 1;
                failures.extend(failed.into_iter().map(|why| (item.key.clone(), why)));
            }
            Err(why) => failures.push((item.key.clone(), why)),
        }
    }
    if ran > 0 && failures.is_empty() {
        progress.line(&format!("smoke checks passed on {ran} object(s)"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(SyncError::Smoke(failures))
    }
}

/// Whether a Degraded state cannot recover by waiting (a rollout past its progress
/// deadline, a failed Job): waiting out the timeout would only delay the answer.
fn failing_for_good(states: &[(Key, Health, String)]) -> bool {
    states.iter().any(|(_, health, message)| {
        *health == Health::Degraded
            && (message.contains("progress deadline")
                || message.contains("BackoffLimitExceeded")
                || message.contains("backoff limit")
                // An aborted Rollout stays aborted until a retry or a new revision.
                || message.contains("RolloutAborted")
                || message.contains("InvalidSpec"))
    })
}

/// The pods of a workload that are not healthy, with their reasons (`ImagePullBackOff`).
async fn unhealthy_pods(cluster: &Cluster, owner: &Key) -> Vec<(Key, String)> {
    if !matches!(
        owner.kind.as_str(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job"
    ) {
        return Vec::new();
    }
    let Ok(Some(live)) = cluster.get(owner).await else {
        return Vec::new();
    };
    let Some(labels) = live
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let selector: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let pods_key = Key {
        group: String::new(),
        version: "v1".into(),
        kind: "Pod".into(),
        namespace: owner.namespace.clone(),
        name: String::new(),
    };
    let Ok(pods) = cluster.list(&pods_key, &selector.join(",")).await else {
        return Vec::new();
    };
    pods.iter()
        .filter_map(|pod| {
            let status = health::object_health(pod)?;
            (status.health != Health::Healthy).then(|| {
                let reason = pod_reason(pod).unwrap_or_else(|| status.message.clone());
                (Key::of(pod), reason)
            })
        })
        .collect()
}

/// A pod's most telling reason: a waiting container's (`ImagePullBackOff`), else the phase.
fn pod_reason(pod: &Value) -> Option<String> {
    for field in ["initContainerStatuses", "containerStatuses"] {
        for status in pod
            .pointer(&format!("/status/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(reason) = status
                .pointer("/state/waiting/reason")
                .and_then(Value::as_str)
            {
                return Some(reason.to_owned());
            }
            if let Some(reason) = status
                .pointer("/state/terminated/reason")
                .and_then(Value::as_str)
            {
                return Some(reason.to_owned());
            }
        }
    }
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .map(String::from)
}

/// Writes the app's inventory `ConfigMap`.
async fn write_inventory(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
    mut entries: Vec<inventory::Entry>,
) -> Result<(), SyncError> {
    entries.sort_by_key(plan::entry_key);
    entries.dedup_by(|a, b| plan::entry_key(a) == plan::entry_key(b));
    let configmap = Inventory {
        app: app.clone(),
        entries,
    }
    .to_configmap(namespace);
    let key = Key::of(&configmap);
    cluster
        .apply(&configmap, true, false)
        .await
        .map_err(|failure| SyncError::Object { key, failure })?;
    Ok(())
}

/// Deletes the plan's prune items in reverse wave and kind order (`PruneLast` last),
/// foreground, waiting for each to go. Each is checked again against the inventory as it
/// was before this sync and the live object as it is now (a saved plan is a file anyone may
/// have edited): an object that is not in the inventory, or whose live copy does not carry
/// the app's identity and recorded uid, is reported and left alone; the delete carries the
/// uid as a precondition.
async fn prune(
    cluster: &Cluster,
    plan: &Plan,
    inventory: &Inventory,
    options: &SyncOptions,
    progress: &mut dyn Progress,
    deadline: tokio::time::Instant,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut doomed: Vec<(bool, i64, i32, Key, String)> = Vec::new();
    for item in plan.items.iter().filter(|i| i.action == Action::Delete) {
        let key = &item.key;
        let Some(entry) = inventory.entries.iter().find(|e| {
            e.group == key.group
                && e.kind == key.kind
                && e.namespace == key.namespace
                && e.name == key.name
        }) else {
            let why = format!(
                "not pruned: not applied by app `{}` (it is not in the app's inventory)",
                plan.app.name
            );
            progress.line(&format!("{}: {why}", item.key));
            report.not_pruned.push((item.key.clone(), why));
            continue;
        };
        let live = cluster
            .get(&item.key)
            .await
            .map_err(|failure| SyncError::Object {
                key: item.key.clone(),
                failure,
            })?;
        let Some(live) = live else { continue };
        if let Some(why) = inventory::not_owned(&plan.app, entry, &live) {
            let why = format!("not pruned: not applied by app `{}` ({why})", plan.app.name);
            progress.line(&format!("{}: {why}", item.key));
            report.not_pruned.push((item.key.clone(), why));
            continue;
        }
        let wave = inventory::sync_wave(&live).unwrap_or(0);
        let last = options.plan.prune_last || inventory::prune_last(&live);
        doomed.push((
            last,
            -wave,
            -inventory::kind_order(&item.key.kind),
            item.key.clone(),
            entry.uid.clone(),
        ));
    }
    doomed.sort();
    for (_, _, _, key, uid) in doomed {
        cluster
            .delete_with(&key, options.prune_propagation, None, Some(&uid))
            .await
            .map_err(|failure| SyncError::Object {
                key: key.clone(),
                failure,
            })?;
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let gone = cluster
            .wait_deleted(&key, remaining)
            .await
            .map_err(|failure| SyncError::Object {
                key: key.clone(),
                failure,
            })?;
        if !gone {
            return Err(SyncError::Unhealthy {
                seconds: options.timeout.as_secs(),
                unhealthy: vec![(key, "still being deleted (finalizers?)".into())],
            });
        }
        progress.line(&format!("pruned {key}"));
        report.pruned.push(key);
    }
    Ok(())
}

/// Runs the hooks of `phase` (of `wave` only, for Sync hooks), each to completion.
#[expect(clippy::too_many_arguments, reason = "the sync's state, each needed")]
async fn run_hooks(
    cluster: &Cluster,
    hooks: &[Hook],
    phase: HookPhase,
    wave: Option<i64>,
    options: &SyncOptions,
    ledger: &mut Ledger,
    progress: &mut dyn Progress,
    deadline: tokio::time::Instant,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut selected: Vec<&Hook> = hooks
        .iter()
        .filter(|hook| hook.phases.contains(&phase))
        .filter(|hook| wave.is_none_or(|w| inventory::sync_wave(&hook.object).unwrap_or(0) == w))
        .collect();
    selected.sort_by_key(|hook| {
        (
            inventory::sync_wave(&hook.object).unwrap_or(0),
            inventory::kind_order(
                hook.object
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            Key::of(&hook.object),
        )
    });
    for hook in selected {
        let key = Key::of(&hook.object);
        let identity = (phase.as_str(), format!("{key}"));
        if ledger.done.contains(&identity) {
            // Already ran in this sync (before a retry): hooks run once.
            continue;
        }
        let outcome = run_hook(cluster, hook, phase, options, progress, deadline).await;
        match outcome {
            Ok(message) => {
                progress.hook_done(phase, &identity.1);
                ledger.done.insert(identity);
                report.hooks.push((key, phase, message));
            }
            Err(error) => {
                if let SyncError::Hook { message, .. } = &error {
                    report.hooks.push((key, phase, message.clone()));
                }
                return Err(error);
            }
        }
    }
    Ok(())
}

async fn run_hook(
    cluster: &Cluster,
    hook: &Hook,
    phase: HookPhase,
    options: &SyncOptions,
    progress: &mut dyn Progress,
    deadline: tokio::time::Instant,
) -> Result<String, SyncError> {
    let key = Key::of(&hook.object);
    let failed = |message: String| SyncError::Hook {
        key: key.clone(),
        phase: phase.as_str(),
        message,
    };
    let policies: Vec<String> = hook
        .object
        .pointer("/metadata/annotations")
        .and_then(|a| HOOK_DELETE_POLICY.iter().find_map(|p| a.get(*p)))
        .and_then(Value::as_str)
        .map_or_else(
            || vec!["BeforeHookCreation".to_owned()],
            |p| p.split(',').map(|s| s.trim().to_owned()).collect(),
        );
    if !key.name.is_empty() && policies.iter().any(|p| p == "BeforeHookCreation") {
        cluster
            .delete(&key, true, None)
            .await
            .map_err(|f| failed(f.to_string()))?;
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        cluster
            .wait_deleted(&key, remaining)
            .await
            .map_err(|f| failed(f.to_string()))?;
    }
    let created = cluster
        .create(&hook.object)
        .await
        .map_err(|f| failed(f.to_string()))?;
    let created_key = Key::of(&created);
    let uid = created
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    progress.line(&format!("started {} hook {created_key}", phase.as_str()));
    let outcome = loop {
        let live = cluster
            .get(&created_key)
            .await
            .map_err(|f| failed(f.to_string()))?;
        let Some(live) = live else {
            break Err("the hook object disappeared before completing".to_owned());
        };
        if live.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str()) {
            break Err("the hook object was replaced by another before completing".to_owned());
        }
        if let Some(done) = hook_done(&live) {
            break done;
        }
        if tokio::time::Instant::now() >= deadline {
            break Err("timed out".to_owned());
        }
        tokio::time::sleep(options.poll).await;
    };
    let delete = match &outcome {
        Ok(_) => policies.iter().any(|p| p == "HookSucceeded"),
        Err(_) => policies.iter().any(|p| p == "HookFailed"),
    };
    if delete {
        let _ = cluster.delete(&created_key, false, None).await;
    }
    match outcome {
        Ok(message) => {
            progress.line(&format!("{} hook {created_key} succeeded", phase.as_str()));
            Ok(message)
        }
        Err(message) => Err(SyncError::Hook {
            key: created_key,
            phase: phase.as_str(),
            message,
        }),
    }
}

/// Whether a hook finished: Jobs by their conditions, Pods by phase, anything else by its
/// health.
fn hook_done(live: &Value) -> Option<Result<String, String>> {
    match live.get("kind").and_then(Value::as_str) {
        Some("Job") => {
            let conditions = live
                .pointer("/status/conditions")
                .and_then(Value::as_array)?;
            for condition in conditions {
                let holds = condition.get("status").and_then(Value::as_str) == Some("True");
                let message = condition
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match condition.get("type").and_then(Value::as_str) {
                    Some("Complete") if holds => return Some(Ok("Job completed".into())),
                    Some("Failed") if holds => {
                        let reason = condition
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or("Failed");
                        return Some(Err(format!("{reason}: {message}")));
                    }
                    _ => {}
                }
            }
            None
        }
        Some("Pod") => match live.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Some(Ok("Pod succeeded".into())),
            Some("Failed") => Some(Err(pod_reason(live).unwrap_or_else(|| "Failed".into()))),
            _ => None,
        },
        _ => match health::object_health(live) {
            None => Some(Ok("applied".into())),
            Some(status) => match status.health {
                Health::Healthy => Some(Ok(status.message)),
                Health::Degraded => Some(Err(status.message)),
                _ => None,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hooks_are_split_by_phase_and_skip_is_dropped() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate",
                "annotations": {"argocd.argoproj.io/hook": "PreSync,SyncFail"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "skipped",
                "annotations": {"argocd.argoproj.io/hook": "Skip"}}}),
        ];
        let (ordinary, hooks) = split_hooks(objects).unwrap();
        assert_eq!(ordinary.len(), 1);
        assert_eq!(hooks.len(), 1);
        assert_eq!(
            hooks[0].phases,
            vec![HookPhase::PreSync, HookPhase::SyncFail]
        );
        let bad = vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p",
            "annotations": {"argocd.argoproj.io/hook": "Later"}}}),
        ];
        assert!(
            split_hooks(bad)
                .unwrap_err()
                .contains("unknown hook phase `Later`")
        );
    }

    #[test]
    fn replace_opt_in_is_read_from_either_annotation() {
        assert!(replace_allowed(&json!({"metadata": {"annotations": {
            "argocd.argoproj.io/sync-options": "ServerSideApply=true,Replace=true"}}})));
        assert!(replace_allowed(
            &json!({"metadata": {"annotations": {"shipway.dev/replace": "true"}}})
        ));
        assert!(!replace_allowed(&json!({"metadata": {}})));
    }

    #[test]
    fn finished_hooks_are_recognised() {
        let complete = json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(hook_done(&complete), Some(Ok("Job completed".into())));
        let failed = json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            hook_done(&failed),
            Some(Err(
                "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            ))
        );
        assert_eq!(hook_done(&json!({"kind": "Job", "status": {}})), None);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_with_retry_after() {
        let backoff = Backoff {
            limit: Some(3),
            duration: Duration::from_millis(1),
            factor: 2,
            max_duration: Duration::from_millis(4),
        };
        let mut calls = 0;
        let result = with_retry(&backoff, None, || {
            calls += 1;
            let attempt = calls;
            async move {
                if attempt < 3 {
                    Err(Failure::Transient {
                        message: "busy".into(),
                        retry_after: Some(Duration::from_millis(1)),
                    })
                } else {
                    Ok(attempt)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        let mut calls = 0;
        let rejected: Result<(), Failure> = with_retry(&backoff, None, || {
            calls += 1;
            async { Err(Failure::Rejected("invalid".into())) }
        })
        .await;
        assert!(rejected.is_err());
        assert_eq!(calls, 1, "refusals are not retried");
    }

    #[tokio::test]
    async fn unlimited_retries_stop_at_the_deadline_and_huge_timeouts_do_not_overflow() {
        // Argo CD's `limit` absent or negative: unlimited, bounded by the deadline only.
        let backoff = Backoff {
            limit: None,
            duration: Duration::from_millis(5),
            factor: 2,
            max_duration: Duration::from_secs(180),
        };
        let deadline = crate::cluster::deadline_after(Duration::from_millis(60));
        let mut calls = 0;
        let result: Result<(), Failure> = with_retry(&backoff, Some(deadline), || {
            calls += 1;
            async {
                Err(Failure::Transient {
                    message: "503".into(),
                    retry_after: None,
                })
            }
        })
        .await;
        assert!(result.is_err());
        // 5 + 10 + 20 ms of pauses fit in 60 ms, the next (40 ms) does not: at most four
        // calls (fewer on a loaded machine), never unlimited.
        assert!((1..=4).contains(&calls), "{calls} calls");
        let far = crate::cluster::deadline_after(Duration::MAX);
        assert!(far > tokio::time::Instant::now());
    }
}
