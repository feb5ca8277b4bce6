//! What happened to an app, as the notifier is told: a sync starting or ending, a health
//! change, a release, a rollback or a rollout step, with the revision, commit, changed
//! images and failed objects; and the data templates and trigger conditions see.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The labels and annotations of the first Argo CD `Application` in a YAML stream (empty
/// when there is none or the text does not parse): where subscriptions are read from.
pub fn application_metadata(text: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let Ok(documents) = shipway_model::yaml::parse_stream(
        text,
        shipway_model::FileId(0),
        &shipway_model::yaml::Limits::default(),
    ) else {
        return Default::default();
    };
    documents
        .iter()
        .map(shipway_model::Node::to_json)
        .find(|d| d.get("kind").and_then(Value::as_str) == Some("Application"))
        .map(|d| object_metadata(&d))
        .unwrap_or_default()
}

/// The labels and annotations of an object (as JSON).
pub fn object_metadata(object: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let strings = |field: &str| -> BTreeMap<String, String> {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    (strings("labels"), strings("annotations"))
}

/// What kind of event this is; triggers tell them apart by `event.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A sync operation's state (running or finished), with the app's health.
    Sync,
    /// The app's health or sync status changed outside an operation.
    Health,
    /// A release commit (`shipway release`).
    Release,
    /// A rollback commit (`shipway rollback`, or the API's).
    Rollback,
    /// A rollout moved to its next step.
    RolloutStep,
    /// A rollout was aborted.
    RolloutAborted,
    /// A rollout finished.
    RolloutCompleted,
    /// A sample sent by `shipway notify test`.
    Test,
}

impl EventKind {
    /// The `event.kind` value templates and triggers see.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sync => "sync",
            EventKind::Health => "health",
            EventKind::Release => "release",
            EventKind::Rollback => "rollback",
            EventKind::RolloutStep => "rollout-step",
            EventKind::RolloutAborted => "rollout-aborted",
            EventKind::RolloutCompleted => "rollout-completed",
            EventKind::Test => "test",
        }
    }
}

/// The app an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppInfo {
    /// Its name.
    pub name: String,
    /// The namespace of its `Application` (or its destination namespace).
    pub namespace: String,
    /// Its project (`default` when it has none).
    pub project: String,
    /// Labels of its `Application`, for the ``ConfigMap``'s subscription selectors.
    pub labels: BTreeMap<String, String>,
    /// Annotations of its `Application`: the `notifications.argoproj.io/subscribe.*` ones
    /// subscribe.
    pub annotations: BTreeMap<String, String>,
    /// The git repository, empty for a local directory.
    pub repo_url: String,
    /// The path in the repository (or the local directory).
    pub path: String,
    /// The revision the app follows (`main`, a tag).
    pub target_revision: String,
    /// Where its objects go.
    pub destination_namespace: String,
}

/// A commit's author and message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// The full hash.
    pub sha: String,
    /// `Name <email>`.
    pub author: String,
    /// The whole message.
    pub message: String,
}

/// An image a release or sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageChange {
    /// The image's name in the kustomization.
    pub name: String,
    /// The reference before (empty when added).
    pub from: String,
    /// The reference after.
    pub to: String,
}

/// An object that failed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailedObject {
    /// Its kind.
    pub kind: String,
    /// Its namespace (empty when cluster-scoped).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Why it failed.
    pub reason: String,
}

/// One event about one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The app.
    pub app: AppInfo,
    /// The revision concerned (the commit synced or released; empty for a local source).
    pub revision: String,
    /// The operation's phase for [`EventKind::Sync`]: `Running`, `Succeeded`, `Failed` or
    /// `Error`.
    pub phase: Option<String>,
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub sync_status: String,
    /// `Healthy`, `Progressing`, `Degraded`, `Missing`, `Suspended` or `Unknown`.
    pub health: String,
    /// The outcome in words (the engine's message, never a Secret's value).
    pub message: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339, empty while running.
    pub finished_at: String,
    /// The commit, when known.
    pub commit: Option<Commit>,
    /// Images changed.
    pub images: Vec<ImageChange>,
    /// Objects that failed.
    pub failed: Vec<FailedObject>,
    /// A rollout's step (1-based) and number of steps, for rollout events.
    pub rollout_step: Option<(u32, u32)>,
}

impl Event {
    /// An event of `kind` about `app` at `revision`, everything else empty.
    pub fn new(kind: EventKind, app: AppInfo, revision: impl Into<String>) -> Event {
        Event {
            kind,
            app,
            revision: revision.into(),
            phase: None,
            sync_status: "Unknown".into(),
            health: "Unknown".into(),
            message: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            commit: None,
            images: Vec::new(),
            failed: Vec::new(),
            rollout_step: None,
        }
    }

    /// The data templates and trigger conditions see. `.app` is shaped like an Argo CD
    /// `Application` (metadata, spec.source, status.sync, status.health,
    /// status.operationState with syncResult), so Argo CD templates read it unchanged;
    /// `.event`, `.revision`, `.commit`, `.images`, `.failed`, `.rollout`, `.context` and
    /// `.url` (the app's page in the UI, from `context.argocdUrl`) are shipway's.
    pub fn data(&self, context: &BTreeMap<String, String>) -> Value {
        let app = &self.app;
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|f| json!({"kind": f.kind, "namespace": f.namespace, "name": f.name, "reason": f.reason}))
            .collect();
        let resources: Vec<Value> = self
            .failed
            .iter()
            .map(|f| {
                json!({"kind": f.kind, "namespace": f.namespace, "name": f.name,
                       "status": "SyncFailed", "message": f.reason})
            })
            .collect();
        let operation = self.phase.as_ref().map(|phase| {
            json!({
                "phase": phase,
                "message": self.message,
                "startedAt": self.started_at,
                "finishedAt": (!self.finished_at.is_empty()).then_some(&self.finished_at),
                "syncResult": {"revision": self.revision, "resources": resources},
            })
        });
        let mut status = json!({
            "sync": {"status": self.sync_status, "revision": self.revision},
            "health": {"status": self.health},
        });
        if let Some(operation) = operation {
            status["operationState"] = operation;
        }
        let url = context
            .get("argocdUrl")
            .filter(|u| !u.is_empty())
            .map(|base| format!("{}/applications/{}", base.trim_end_matches('/'), app.name))
            .unwrap_or_default();
        json!({
            "app": {
                "metadata": {
                    "name": app.name,
                    "namespace": app.namespace,
                    "labels": app.labels,
                    "annotations": app.annotations,
                },
                "spec": {
                    "project": app.project,
                    "source": {"repoURL": app.repo_url, "path": app.path, "targetRevision": app.target_revision},
                    "destination": {"namespace": app.destination_namespace},
                },
                "status": status,
            },
            "event": {"kind": self.kind.as_str(), "message": self.message},
            "revision": self.revision,
            "commit": self.commit.as_ref().map(|c| json!({"sha": c.sha, "author": c.author, "message": c.message})),
            "images": self.images.iter().map(|i| json!({"name": i.name, "from": i.from, "to": i.to})).collect::<Vec<_>>(),
            "failed": failed,
            "rollout": self.rollout_step.map(|(step, steps)| json!({"step": step, "steps": steps})),
            "context": context,
            "url": url,
        })
    }
}
