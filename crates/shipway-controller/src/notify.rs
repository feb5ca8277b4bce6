//! The controller's side of notifications: the events it hands to the notifier (a sync
//! started, a sync finished, health turned Degraded, the sync status became Unknown), each
//! with the app's subscriptions read from its `Application`'s annotations (the file under
//! `--apps`, or the object in the cluster) and the configuration's `subscriptions`.
//!
//! Queuing is all that happens here; the notifier delivers from its durable queue in the
//! history database, once per (app, revision, trigger, recipient), across restarts.

use shipway_cluster::sync::SyncError;
use shipway_notify::{AppInfo, Event, EventKind, FailedObject};

use crate::{AppSpec, Controller, Origin};

/// The objects a failed sync names, with the reason of each (the CLI's `--notify` uses
/// it too).
pub fn failed_objects(error: &SyncError) -> Vec<FailedObject> {
    let object = |key: &shipway_cluster::cluster::Key, reason: String| FailedObject {
        kind: key.kind.clone(),
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        reason,
    };
    match error {
        SyncError::ReplaceRequired(items)
        | SyncError::Conflicts(items)
        | SyncError::Smoke(items)
        | SyncError::Unhealthy {
            unhealthy: items, ..
        } => items
            .iter()
            .map(|(key, why)| object(key, why.clone()))
            .collect(),
        SyncError::Object { key, failure } => vec![object(key, failure.to_string())],
        SyncError::Hook { key, message, .. } => vec![object(key, message.clone())],
        SyncError::Plan(_) | SyncError::PlanOutdated(_) => Vec::new(),
    }
}

/// What a notification says about the app's state besides its kind.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) phase: Option<String>,
    pub(crate) sync_status: String,
    pub(crate) health: String,
    pub(crate) message: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    pub(crate) failed: Vec<FailedObject>,
    /// A rollout's step (1-based) of its steps, for rollout events.
    pub(crate) rollout_step: Option<(u32, u32)>,
}

/// Queues the notifications of one event about `spec`'s app, when a notifier is set.
pub(crate) async fn emit(
    controller: &Controller,
    spec: &AppSpec,
    kind: EventKind,
    revision: &str,
    state: State,
) {
    let Some(notifier) = controller.inner.notifier.get() else {
        return;
    };
    let app = app_info(controller, spec).await;
    let destinations = match notifier.config().destinations(&app) {
        Ok(destinations) => destinations,
        Err(error) => {
            tracing::warn!(app = %app.name, error = %error, "notification subscriptions refused");
            return;
        }
    };
    if destinations.is_empty() {
        return;
    }
    let mut event = Event::new(kind, app, revision);
    event.phase = state.phase;
    event.sync_status = state.sync_status;
    event.health = state.health;
    event.message = state.message;
    event.started_at = state.started_at;
    event.finished_at = state.finished_at;
    event.failed = state.failed;
    event.rollout_step = state.rollout_step;
    match notifier.notify(&event, &destinations) {
        Ok(queued) => {
            for error in queued.errors {
                tracing::warn!(app = %event.app.name, error = %error, "notification not queued");
            }
        }
        Err(error) => tracing::error!(app = %event.app.name, error = %error, "notification queue"),
    }
}

/// The app as notifications see it, with the labels and annotations of its `Application`.
async fn app_info(controller: &Controller, spec: &AppSpec) -> AppInfo {
    let app = &spec.app;
    let (labels, annotations) = match &spec.origin {
        Origin::File(path) => std::fs::read_to_string(path)
            .map(|text| shipway_notify::application_metadata(&text))
            .unwrap_or_default(),
        Origin::Cluster { namespace, name } => {
            let key = crate::apps::application_key(namespace, name);
            match controller.inner.cluster.get(&key).await {
                Ok(Some(object)) => shipway_notify::object_metadata(&object),
                _ => Default::default(),
            }
        }
        Origin::Child { .. } | Origin::FluxFile(_) | Origin::FluxCluster { .. } => {
            Default::default()
        }
    };
    let namespace = match &spec.origin {
        Origin::Cluster { namespace, .. } | Origin::FluxCluster { namespace, .. } => {
            namespace.clone()
        }
        _ => controller.inner.config.app_namespace.clone(),
    };
    let (repo_url, path, target_revision) = app.source_fields();
    AppInfo {
        name: app.name.clone(),
        namespace,
        project: "default".into(),
        labels,
        annotations,
        repo_url,
        path,
        target_revision,
        destination_namespace: app.namespace.clone().unwrap_or_default(),
    }
}
