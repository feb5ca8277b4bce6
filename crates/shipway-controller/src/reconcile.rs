//! One reconcile of one app: fetch, render, compare, decide, sync, record.
//!
//! The decision follows Argo CD: an automated app syncs when its source moves to a
//! revision it has not synced (and was not rolled back from), and with `selfHeal` when
//! the cluster drifts from the revision it did sync — immediately the first time, then
//! after 2 s, 6 s, 18 s … up to 5 minutes while the drift keeps coming back (the count
//! resets after 5 quiet minutes, or when a new revision is synced). A manual app
//! only reports `OutOfSync` until an API sync. A failed automated sync is not retried for
//! the same revision (the engine already retried its transient failures).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shipway_cluster::app::Source;
use shipway_cluster::engine::{self, Overrides, Prepared};
use shipway_cluster::sync::{HookPhase, Ledger, Progress};

use crate::apps::AppSpec;
use crate::history::Outcome;
use crate::{Controller, Request, Trigger};

/// Argo CD's self-heal backoff: 2 s, ×3, at most 5 minutes.
fn heal_delay(heals_in_a_row: u32) -> Duration {
    if heals_in_a_row == 0 {
        return Duration::ZERO;
    }
    let seconds = 2u64.saturating_mul(3u64.saturating_pow(heals_in_a_row - 1));
    Duration::from_secs(seconds.min(300))
}

/// Fetches, renders and prepares `spec` (blocking work off the runtime).
pub(crate) async fn prepare(
    controller: &Controller,
    spec: &AppSpec,
    since: Instant,
) -> anyhow::Result<Prepared> {
    let inner = &controller.inner;
    let fetcher = inner.fetcher.clone();
    let mut app = spec.app.clone();
    // Keys come from the Secret the app names; an app naming none (an `--apps` file, an
    // Application without the annotation) uses the identities of serve's own environment,
    // as `plan` and `sync` do. Either way they are read now and held in memory only.
    app.decrypt = Some(std::sync::Arc::new(match &app.decryption_secret {
        Some((namespace, name)) => decryption_keys(controller, namespace, name).await?,
        None => shipway_secrets::Keyring::discover(&|name| std::env::var(name).ok()),
    }));
    let fetched = Instant::now();
    let metrics_fetch = inner.metrics.git_fetch_seconds.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let commit = match &app.source {
            Source::Git { url, revision, .. } => {
                let commit = fetcher.resolve(url, revision, since)?;
                metrics_fetch.observe(fetched.elapsed().as_secs_f64());
                Some(commit)
            }
            Source::Local { .. } => None,
        };
        let started = Instant::now();
        let rendered =
            app.render_with(|url, _| fetcher.tree(url, commit.as_deref().unwrap_or_default()))?;
        anyhow::Ok((rendered, started.elapsed()))
    })
    .await??;
    let (mut rendered, render_time) = rendered;
    inner
        .metrics
        .render_seconds
        .observe(render_time.as_secs_f64());
    // Argo CD's server-side apply always forces: a controller that heals drift must take
    // back the fields a `kubectl scale` or `kubectl edit` took.
    let mut overrides = Overrides {
        force_conflicts: true,
        max_prune: inner.config.max_prune,
        ..Overrides::default()
    };
    if let Some(flux) = &spec.flux
        && let Some(target) = &flux.target_namespace
    {
        // Flux's targetNamespace moves every namespaced object, named or not.
        for object in &mut rendered.objects {
            if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_map_mut()) {
                meta.remove("namespace");
            }
        }
        overrides.namespace = Some(target.clone());
    }
    children(controller, spec, &mut rendered).await;
    if let Some(flux) = &spec.flux {
        let vars = flux_variables(controller, flux).await?;
        for object in &mut rendered.objects {
            crate::flux::substitute(object, &vars);
        }
    }
    let prepared = engine::prepare_rendered(spec.app.clone(), rendered, &overrides, &inner.cluster)
        .await
        .map_err(|error| match error {
            // The findings themselves, not only their count: this is what the API shows.
            engine::PrepareError::Check { app, findings } => anyhow::anyhow!(
                "`shipway check` found {} error(s) in app `{app}`; nothing was applied:\n{}",
                findings.len(),
                findings.join("\n")
            ),
            other => other.into(),
        })?;
    Ok(prepared)
}

/// App of apps: Applications in an app's render are applied like any object when the
/// cluster serves the Application CRD (and then read back from the cluster); without it
/// they are taken out of the render and run by this controller as the app's children.
async fn children(
    controller: &Controller,
    spec: &AppSpec,
    rendered: &mut shipway_cluster::app::Rendered,
) {
    let is_application = |node: &shipway_model::Node| {
        node.str_at(&["kind"]) == Some("Application")
            && node
                .str_at(&["apiVersion"])
                .is_some_and(|v| v.starts_with("argoproj.io/"))
    };
    if !rendered.objects.iter().any(is_application) {
        controller.replace(
            |o| matches!(o, crate::Origin::Child { parent } if *parent == spec.app.name),
            Vec::new(),
        );
        return;
    }
    let key = crate::apps::application_key("", "");
    if controller.cluster().resource(&key).await.is_ok() {
        return;
    }
    let mut specs = Vec::new();
    let (applications, objects): (Vec<_>, Vec<_>) = std::mem::take(&mut rendered.objects)
        .into_iter()
        .partition(is_application);
    rendered.objects = objects;
    for node in applications {
        let path = rendered
            .sources
            .path(node.pos.file)
            .map_or_else(|| spec.app.defined_in.clone(), std::path::Path::to_path_buf);
        let text = match shipway_model::yaml::to_kustomize_yaml(&node) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(app = %spec.app.name, error = %error, "reading a child Application");
                continue;
            }
        };
        match shipway_cluster::app::App::from_application_text(&path, &text) {
            Ok(Some(app)) => specs.push(AppSpec {
                app,
                origin: crate::Origin::Child {
                    parent: spec.app.name.clone(),
                },
                interval: spec.interval,
                flux: None,
            }),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(app = %spec.app.name, error = %error, "child Application refused");
            }
        }
    }
    let parent = spec.app.name.clone();
    controller.replace(
        move |o| matches!(o, crate::Origin::Child { parent: p } if *p == parent),
        specs,
    );
}

/// The age identities of the Secret `namespace/name`: every `data` entry whose name ends
/// in `.agekey`, as Flux reads them. Read on each render and kept in memory only.
async fn decryption_keys(
    controller: &Controller,
    namespace: &str,
    name: &str,
) -> anyhow::Result<shipway_secrets::Keyring> {
    let key = shipway_cluster::cluster::Key {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    let Some(object) = controller.inner.cluster.get(&key).await? else {
        anyhow::bail!("decryption: Secret `{namespace}/{name}` not found");
    };
    let mut keyring = shipway_secrets::Keyring::default();
    for (entry, value) in object
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if !entry.ends_with(".agekey") {
            continue;
        }
        let Some(text) = value.as_str().and_then(decode_base64) else {
            anyhow::bail!(
                "decryption: Secret `{namespace}/{name}` entry `{entry}` is not base64 text"
            );
        };
        keyring.add_text(
            &format!("Secret `{namespace}/{name}` entry `{entry}`"),
            &text,
        );
        drop(shipway_secrets::Secret::new(text));
    }
    if let Some(problem) = keyring.problems.first() {
        anyhow::bail!("decryption: {problem}");
    }
    Ok(keyring)
}

/// A Flux app's post-build variables: `substituteFrom` in order (later sources win), then
/// the inline `substitute`, which wins over all, as in Flux.
async fn flux_variables(
    controller: &Controller,
    flux: &crate::flux::FluxApp,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut vars = std::collections::BTreeMap::new();
    for (kind, name, optional) in &flux.substitute_from {
        let key = shipway_cluster::cluster::Key {
            group: String::new(),
            version: "v1".into(),
            kind: kind.clone(),
            namespace: flux.namespace.clone(),
            name: name.clone(),
        };
        match controller.inner.cluster.get(&key).await? {
            Some(object) => {
                let secret = kind == "Secret";
                for (k, v) in object
                    .get("data")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let Some(text) = v.as_str() else { continue };
                    let value = if secret {
                        decode_base64(text).unwrap_or_default()
                    } else {
                        text.to_string()
                    };
                    vars.insert(k.clone(), value);
                }
            }
            None if *optional => {}
            None => anyhow::bail!(
                "postBuild.substituteFrom: {kind} `{}/{name}` not found",
                flux.namespace
            ),
        }
    }
    vars.extend(flux.substitute.clone());
    Ok(vars)
}

fn decode_base64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Records hooks as they complete, so a restart does not run them again.
struct Recorder<'a> {
    controller: &'a Controller,
    app: String,
    revision: String,
    created: usize,
    updated: usize,
}

impl Progress for Recorder<'_> {
    fn line(&mut self, text: &str) {
        tracing::info!(app = %self.app, revision = %self.revision, "{}", shipway_model::text::escape_control(text));
    }

    fn applied(&mut self, verb: &str, _key: &shipway_cluster::cluster::Key) {
        if verb == "created" {
            self.created += 1;
        } else {
            self.updated += 1;
        }
    }

    fn hook_done(&mut self, phase: HookPhase, hook: &str) {
        if let Err(error) =
            self.controller
                .inner
                .history
                .hook_done(&self.app, &self.revision, phase.as_str(), hook)
        {
            tracing::error!(app = %self.app, error = %error, "recording a completed hook");
        }
    }
}

/// Reconciles the app `request` names once.
pub(crate) async fn reconcile(controller: &Controller, request: Request) {
    let started = Instant::now();
    let name = request.app.clone();
    let Some(state) = controller.get(&name) else {
        return;
    };
    let outcome = run(controller, &request, &state.spec).await;
    let error = outcome.err().map(|error| format!("{error:#}"));
    let mut became_unknown = None;
    if let Some(state) = controller.apps().get_mut(&name) {
        if let Some(message) = &error {
            let was = std::mem::replace(&mut state.sync_status, "Unknown".into());
            state.condition = Some(message.clone());
            if was != "Unknown" {
                became_unknown = Some((
                    state.revision.clone().unwrap_or_default(),
                    state.health.clone(),
                    message.clone(),
                ));
            }
        }
        if request.id > state.completed.0 {
            state.completed = (request.id, error.clone());
        }
    }
    if let Some(message) = &error {
        tracing::warn!(app = %name, trigger = request.trigger.as_str(), error = %message, "comparison failed");
        if let Some((revision, health, message)) = became_unknown {
            let notice = crate::notify::State {
                sync_status: "Unknown".into(),
                health,
                message,
                ..crate::notify::State::default()
            };
            crate::notify::emit(
                controller,
                &state.spec,
                shipway_notify::EventKind::Health,
                &revision,
                notice,
            )
            .await;
        }
        crate::status::write(controller, &name).await;
    }
    controller
        .inner
        .metrics
        .reconcile_seconds
        .get_or_create(&crate::metrics::AppName { name: name.clone() })
        .observe(started.elapsed().as_secs_f64());
    update_info(controller, &name);
    controller.publish(&name);
}

/// Sets the app's one `shipway_app_info` series.
fn update_info(controller: &Controller, name: &str) {
    let Some(state) = controller.get(name) else {
        return;
    };
    let family = &controller.inner.metrics.app_info;
    for health in [
        "Healthy",
        "Progressing",
        "Degraded",
        "Suspended",
        "Missing",
        "Unknown",
    ] {
        for sync in ["Synced", "OutOfSync", "Unknown"] {
            family.remove(&crate::metrics::AppInfo {
                name: name.to_string(),
                namespace: state.spec.app.namespace.clone().unwrap_or_default(),
                project: "default".into(),
                health_status: health.into(),
                sync_status: sync.into(),
            });
        }
    }
    family
        .get_or_create(&crate::metrics::AppInfo {
            name: name.to_string(),
            namespace: state.spec.app.namespace.clone().unwrap_or_default(),
            project: "default".into(),
            health_status: state.health.clone(),
            sync_status: state.sync_status.clone(),
        })
        .set(1);
}

/// The first of a Flux app's `dependsOn` that is not Ready (synced and healthy), if any.
fn unready_dependency(controller: &Controller, spec: &AppSpec) -> Option<String> {
    let flux = spec.flux.as_ref()?;
    let apps = controller.apps();
    flux.depends_on.iter().find_map(|(namespace, name)| {
        let ready = apps.values().any(|state| {
            state
                .spec
                .flux
                .as_ref()
                .is_some_and(|f| f.namespace == *namespace)
                && state.spec.app.name == *name
                && state.sync_status == "Synced"
                && state.health == "Healthy"
        });
        (!ready).then(|| format!("{namespace}/{name}"))
    })
}

async fn run(controller: &Controller, request: &Request, spec: &AppSpec) -> anyhow::Result<()> {
    let inner = &controller.inner;
    let name = &spec.app.name;
    if let Some(dependency) = unready_dependency(controller, spec) {
        // Flux's dependsOn: nothing is applied until every dependency is Ready; the app
        // is looked at again after its retry interval.
        let retry = spec
            .app
            .sync
            .retry
            .as_ref()
            .map_or(Duration::from_secs(30), |r| r.backoff);
        let this = controller.clone();
        let app = name.clone();
        tokio::spawn(async move {
            tokio::time::sleep(retry).await;
            this.request(&app, Trigger::Poll, false, "controller");
        });
        anyhow::bail!("dependency `{dependency}` is not ready");
    }
    let prepared = prepare(controller, spec, request.since).await?;
    let revision = prepared.revision.clone().unwrap_or_default();
    inner.watches.ensure(controller, &prepared).await;
    {
        let label = prepared.id.label();
        inner
            .labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(label.clone(), name.clone());
        if let Some(state) = controller.apps().get_mut(name) {
            state.label = Some(label);
        }
    }
    let planned = Instant::now();
    let status = engine::status(&inner.cluster, &prepared).await?;
    inner
        .metrics
        .plan_seconds
        .observe(planned.elapsed().as_secs_f64());
    let in_sync = status.sync == "Synced";
    let degraded: bool;
    // What to do, decided under the lock from the state as it is now.
    let decision = {
        let mut apps = controller.apps();
        let Some(state) = apps.get_mut(name) else {
            return Ok(());
        };
        state.revision.clone_from(&prepared.revision);
        state.condition = None;
        state.sync_status = status.sync.to_string();
        let health = status.health.as_str().to_string();
        degraded = health == "Degraded" && state.health != "Degraded";
        state.health = health;
        state.resources = status.to_json()["objects"].clone();
        let automated = spec.app.sync.automated;
        let new_revision = state.synced_revision.as_deref() != Some(revision.as_str());
        let resume = automated && state.resume.as_deref() == Some(revision.as_str());
        if request.sync || resume {
            Decision::Sync
        } else if in_sync {
            if state.synced_revision.is_none() && !revision.is_empty() {
                // Equal to the render already (adopted, or synced before a restart).
                state.synced_revision = Some(revision.clone());
            }
            // A quiet period resets the self-heal backoff.
            if state
                .heals
                .1
                .is_some_and(|at| at.elapsed() > Duration::from_secs(300))
            {
                state.heals = (0, None);
            }
            Decision::Nothing
        } else if !automated {
            Decision::Nothing
        } else if new_revision {
            // A revision rolled back from is never applied automatically again; a failed
            // one waits for a new commit (or a webhook saying it was pushed again).
            let failed = state.failed_revision.as_deref() == Some(revision.as_str())
                && request.trigger != Trigger::Webhook;
            if state.blocked.contains(&revision) || failed {
                Decision::Nothing
            } else {
                Decision::Sync
            }
        } else if spec.app.sync.self_heal {
            let (count, last) = state.heals;
            let wait = heal_delay(count);
            let since_last = last.map_or(Duration::MAX, |at| at.elapsed());
            if since_last >= wait {
                state.heals = (count + 1, Some(tokio::time::Instant::now()));
                Decision::Heal
            } else if state.heal_scheduled {
                Decision::Nothing
            } else {
                state.heal_scheduled = true;
                Decision::Later(wait.saturating_sub(since_last))
            }
        } else {
            Decision::Nothing
        }
    };
    if degraded {
        let notice = crate::notify::State {
            sync_status: status.sync.to_string(),
            health: "Degraded".into(),
            ..crate::notify::State::default()
        };
        crate::notify::emit(
            controller,
            spec,
            shipway_notify::EventKind::Health,
            &revision,
            notice,
        )
        .await;
    }
    match decision {
        Decision::Nothing => {
            crate::status::write(controller, name).await;
            Ok(())
        }
        Decision::Later(delay) => {
            tracing::info!(app = %name, delay_ms = delay.as_millis() as u64, "drift: self-heal deferred by its backoff");
            let this = controller.clone();
            let app = name.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Some(state) = this.apps().get_mut(&app) {
                    state.heal_scheduled = false;
                }
                this.request(&app, Trigger::Heal, false, "controller");
            });
            crate::status::write(controller, name).await;
            Ok(())
        }
        Decision::Sync => {
            // A sync of a new revision (or one asked for) ends a run of self-heals, as
            // Argo CD resets its self-heal attempt count.
            if let Some(state) = controller.apps().get_mut(name) {
                state.heals = (0, None);
            }
            sync(controller, request, spec, &prepared, &revision).await
        }
        Decision::Heal => sync(controller, request, spec, &prepared, &revision).await,
    }
}

enum Decision {
    Nothing,
    Sync,
    Heal,
    Later(Duration),
}

async fn sync(
    controller: &Controller,
    request: &Request,
    spec: &AppSpec,
    prepared: &Prepared,
    revision: &str,
) -> anyhow::Result<()> {
    let inner = &controller.inner;
    let name = &spec.app.name;
    let trigger = request.trigger.as_str();
    let started_at = crate::now();
    let id = inner.history.start(name, revision, trigger, &request.who)?;
    {
        if let Some(state) = controller.apps().get_mut(name) {
            state.operation = Some(json!({
                "phase": "Running",
                "message": format!("syncing revision {revision}"),
                "startedAt": started_at,
                "finishedAt": null,
                "trigger": trigger,
            }));
        }
    }
    tracing::info!(app = %name, revision = %revision, trigger, "sync started");
    crate::status::event(
        controller,
        name,
        "Normal",
        "OperationStarted",
        &format!(
            "Initiated {} sync to {revision}",
            if request.sync { "manual" } else { "automated" }
        ),
    )
    .await;
    crate::status::write(controller, name).await;
    controller.publish(name);
    let running = crate::notify::State {
        phase: Some("Running".into()),
        sync_status: "OutOfSync".into(),
        health: "Progressing".into(),
        message: format!("syncing revision {revision}"),
        started_at: started_at.clone(),
        ..crate::notify::State::default()
    };
    crate::notify::emit(
        controller,
        spec,
        shipway_notify::EventKind::Sync,
        revision,
        running,
    )
    .await;

    let mut ledger = Ledger::default();
    for (phase, hook) in inner.history.hooks_done(name, revision).unwrap_or_default() {
        if let Some(phase) = HookPhase::parse(&phase) {
            ledger.record(phase, hook);
        }
    }
    let timeout = spec
        .flux
        .as_ref()
        .map_or(inner.config.sync_timeout, |f| f.timeout);
    let options = engine::sync_options(prepared, spec.app.sync.prune, true, timeout);
    let mut recorder = Recorder {
        controller,
        app: name.clone(),
        revision: revision.to_string(),
        created: 0,
        updated: 0,
    };
    let applying = Instant::now();
    let result = engine::sync(
        &inner.cluster,
        prepared,
        None,
        &options,
        &mut ledger,
        &mut recorder,
    )
    .await;
    inner
        .metrics
        .apply_seconds
        .observe(applying.elapsed().as_secs_f64());
    let (phase, message, outcome) = match &result {
        Ok(report) => {
            let mut message = format!(
                "successfully synced (applied {}, pruned {}, unchanged {})",
                report.applied.len(),
                report.pruned.len(),
                report.unchanged
            );
            // A refused prune leaves the app out of sync until someone decides: the
            // operation is failed, so it is seen and not retried for this revision.
            let phase = if let Some(refused) = &report.prune_refused {
                let _ = write!(message, "; prune refused: {refused}");
                "Failed"
            } else {
                "Succeeded"
            };
            (
                phase,
                message.clone(),
                Outcome {
                    phase,
                    created: recorder.created,
                    updated: recorder.updated,
                    pruned: report.pruned.len(),
                    message,
                },
            )
        }
        Err(error) => {
            let message = error.to_string();
            (
                "Failed",
                message.clone(),
                Outcome {
                    phase: "Failed",
                    created: recorder.created,
                    updated: recorder.updated,
                    pruned: 0,
                    message,
                },
            )
        }
    };
    inner.history.finish(id, &outcome)?;
    inner
        .metrics
        .sync_total
        .get_or_create(&crate::metrics::AppPhase {
            name: name.clone(),
            phase: phase.into(),
        })
        .inc();
    if phase == "Succeeded"
        && let Some(seconds) = commit_age(controller, spec, revision)
    {
        inner.metrics.commit_to_applied_seconds.observe(seconds);
    }
    tracing::info!(app = %name, revision = %revision, phase, message = %message, "sync finished");
    {
        if let Some(state) = controller.apps().get_mut(name) {
            state.operation = Some(json!({
                "phase": phase,
                "message": message,
                "startedAt": started_at,
                "finishedAt": crate::now(),
                "trigger": trigger,
                "revision": revision,
            }));
            state.resume = None;
            if phase == "Succeeded" {
                state.synced_revision = Some(revision.to_string());
                state.failed_revision = None;
            } else {
                state.failed_revision = Some(revision.to_string());
            }
        }
    }
    let (kind, reason) = if phase == "Succeeded" {
        ("Normal", "OperationCompleted")
    } else {
        ("Warning", "OperationFailed")
    };
    crate::status::event(
        controller,
        name,
        kind,
        reason,
        &format!(
            "Sync operation to {revision} {}: {message}",
            phase.to_lowercase()
        ),
    )
    .await;
    // The state after the sync, as users will look at it.
    let after = engine::status(&inner.cluster, prepared).await.ok();
    let (sync_status, health) = {
        let mut apps = controller.apps();
        match (after, apps.get_mut(name)) {
            (Some(status), Some(state)) => {
                state.sync_status = status.sync.to_string();
                state.health = status.health.as_str().to_string();
                state.resources = status.to_json()["objects"].clone();
                (state.sync_status.clone(), state.health.clone())
            }
            _ => ("Unknown".to_string(), "Unknown".to_string()),
        }
    };
    let finished = crate::notify::State {
        phase: Some(phase.to_string()),
        sync_status,
        health,
        message,
        started_at,
        finished_at: crate::now(),
        failed: result
            .as_ref()
            .err()
            .map(crate::notify::failed_objects)
            .unwrap_or_default(),
        rollout_step: None,
    };
    crate::notify::emit(
        controller,
        spec,
        shipway_notify::EventKind::Sync,
        revision,
        finished,
    )
    .await;
    crate::status::write(controller, name).await;
    Ok(())
}

/// Seconds since the commit's timestamp, for `shipway_commit_to_applied_seconds`.
fn commit_age(controller: &Controller, spec: &AppSpec, revision: &str) -> Option<f64> {
    let Source::Git { url, .. } = &spec.app.source else {
        return None;
    };
    let at = controller.inner.fetcher.commit_time(url, revision).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some((now - at as f64).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heal_backoff_is_argo_cds() {
        let delays: Vec<u64> = (0..8).map(|n| heal_delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 2, 6, 18, 54, 162, 300, 300]);
    }
}
