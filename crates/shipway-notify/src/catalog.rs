//! The built-in triggers and templates: usable without writing them, and replaced by a
//! `trigger.<name>` or `template.<name>` of the same name in the configuration.
//!
//! The sync and health triggers are Argo CD's catalog (`on-deployed` simplified: the sync
//! succeeded and the app is Healthy); the release, rollback and rollout ones are shipway's
//! and match on `event.kind`. All of them fire once per revision: their `oncePer` is
//! `revision` (the event's revision, which is `app.status.operationState.syncResult.revision`
//! for a sync, and also set for a health event, which has no operation), and
//! `rollout.step` for a rollout step.

/// `(trigger, when, oncePer, template)`.
pub(crate) const TRIGGERS: &[(&str, &str, &str, &str)] = &[
    (
        "on-sync-running",
        "app.status.operationState != nil and app.status.operationState.phase in ['Running']",
        REVISION,
        "app-sync-running",
    ),
    (
        "on-sync-succeeded",
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']",
        REVISION,
        "app-sync-succeeded",
    ),
    (
        "on-sync-failed",
        "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
        REVISION,
        "app-sync-failed",
    ),
    (
        "on-sync-status-unknown",
        "app.status.sync.status == 'Unknown'",
        REVISION,
        "app-sync-status-unknown",
    ),
    (
        "on-health-degraded",
        "app.status.health.status == 'Degraded'",
        REVISION,
        "app-health-degraded",
    ),
    (
        "on-deployed",
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'",
        REVISION,
        "app-deployed",
    ),
    (
        "on-release",
        "event.kind == 'release'",
        "revision",
        "app-release",
    ),
    (
        "on-rollback",
        "event.kind == 'rollback'",
        "revision",
        "app-rollback",
    ),
    (
        "on-rollout-step",
        "event.kind == 'rollout-step'",
        "rollout.step",
        "app-rollout-step",
    ),
    (
        "on-rollout-aborted",
        "event.kind == 'rollout-aborted'",
        "revision",
        "app-rollout-aborted",
    ),
    (
        "on-rollout-completed",
        "event.kind == 'rollout-completed'",
        "revision",
        "app-rollout-completed",
    ),
];

const REVISION: &str = "revision";

/// The shared tail of every built-in message: revision, commit, images, failures, link.
const DETAILS: &str = r"{{if .revision}}
Revision: {{.revision}}{{end}}{{with .commit}}
Commit: {{.message | trim}} ({{.author}}){{end}}{{range .images}}
Image {{.name}}: {{if .from}}{{.from}} → {{end}}{{.to}}{{end}}{{if .event.message}}
{{.event.message}}{{end}}{{range .failed}}
- {{.kind}}/{{.name}}: {{.reason}}{{end}}{{if .url}}
{{.url}}{{end}}";

/// `(template, title, color, github/gitlab state)`; the message is the title and
/// [`DETAILS`].
pub(crate) const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    (
        "app-sync-running",
        "Sync of {{.app.metadata.name}} started",
        "blue",
        "pending",
    ),
    (
        "app-sync-succeeded",
        "{{.app.metadata.name}} synced",
        "green",
        "success",
    ),
    (
        "app-sync-failed",
        "Sync of {{.app.metadata.name}} failed",
        "red",
        "failure",
    ),
    (
        "app-sync-status-unknown",
        "{{.app.metadata.name}} sync status is Unknown",
        "grey",
        "error",
    ),
    (
        "app-health-degraded",
        "{{.app.metadata.name}} is Degraded",
        "red",
        "failure",
    ),
    (
        "app-deployed",
        "{{.app.metadata.name}} deployed",
        "green",
        "success",
    ),
    (
        "app-release",
        "{{.app.metadata.name}} released",
        "blue",
        "pending",
    ),
    (
        "app-rollback",
        "{{.app.metadata.name}} rolled back",
        "orange",
        "pending",
    ),
    (
        "app-rollout-step",
        "{{.app.metadata.name}} rollout step {{.rollout.step}} of {{.rollout.steps}}",
        "blue",
        "pending",
    ),
    (
        "app-rollout-aborted",
        "{{.app.metadata.name}} rollout aborted",
        "red",
        "failure",
    ),
    (
        "app-rollout-completed",
        "{{.app.metadata.name}} rollout completed",
        "green",
        "success",
    ),
];

/// The built-in template `name` as a configuration value (the shape of a
/// `template.<name>` entry).
pub(crate) fn template(name: &str) -> Option<serde_json::Value> {
    let (_, title, color, state) = TEMPLATES.iter().find(|t| t.0 == name)?;
    let gitlab_state = match *state {
        "failure" | "error" => "failed",
        other => other,
    };
    Some(serde_json::json!({
        "title": title,
        "message": format!("{title}{DETAILS}"),
        "color": color,
        "github": {
            "status": {"state": state, "label": "shipway/{{.app.metadata.name}}", "targetURL": "{{.url}}"},
        },
        "gitlab": {
            "status": {"state": gitlab_state, "name": "shipway/{{.app.metadata.name}}", "targetURL": "{{.url}}"},
        },
    }))
}
