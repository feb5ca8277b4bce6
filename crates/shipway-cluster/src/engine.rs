//! The one path from an app to a synced cluster, shared by `shipway plan|sync|status` and
//! the controller (`shipway serve`): render, the check gate, hooks split off, namespaces
//! assigned, then the plan or the sync with the app's retry policy.
//!
//! Callers choose only what differs between a one-shot command and a controller: where git
//! trees come from (a fresh fetch, or the controller's shared [`shipway_git::fetch::Fetcher`])
//! and the flags a user gave. Printing and exit codes stay with the binary.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use shipway_model::Severity;

use crate::app::source::{Checkout, FetchError};
use crate::app::{App, AppError, Rendered};
use crate::cluster::{Backoff, Cluster};
use crate::identity::AppId;
use crate::inventory::PruneOptions;
use crate::plan::{self, Plan, PlanOptions};
use crate::sync::{self, Hook, Ledger, Progress, SyncError, SyncOptions, SyncReport};

/// What a user (or the controller) sets on top of the app's own definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrides {
    /// The namespace for objects that name none, over the app's (`--namespace`).
    pub namespace: Option<String>,
    /// Apply even when `shipway check` reports errors (`--no-check`).
    pub no_check: bool,
    /// Take over fields other managers own (`--force-conflicts`).
    pub force_conflicts: bool,
    /// The prune share that needs confirmation, in percent (`--max-prune`).
    pub max_prune: u32,
    /// `--confirm-prune`.
    pub confirm_prune: bool,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            namespace: None,
            no_check: false,
            force_conflicts: false,
            max_prune: PruneOptions::default().max_prune_percent,
            confirm_prune: false,
        }
    }
}

/// An app ready for the engine: its objects (namespaces assigned), hooks and options.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The app as defined.
    pub app: App,
    /// The app's identity at its namespace: what its objects and inventory are keyed by.
    pub id: AppId,
    /// The namespace for objects that name none.
    pub namespace: String,
    /// The commit a git source was rendered from.
    pub revision: Option<String>,
    /// The objects to apply, hooks removed.
    pub objects: Vec<Value>,
    /// The hooks, run around the sync.
    pub hooks: Vec<Hook>,
    /// Plan options from the app and the overrides.
    pub options: PlanOptions,
}

/// Why an app could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Fetching, reading or rendering the app failed.
    #[error("rendering app `{app}`: {source}")]
    Render {
        /// The app's name.
        app: String,
        /// What failed.
        #[source]
        source: AppError,
    },
    /// `shipway check` found errors: nothing is applied.
    #[error(
        "`shipway check` found {} error(s) in app `{app}`; nothing was applied (fix them, or pass --no-check)",
        findings.len()
    )]
    Check {
        /// The app's name.
        app: String,
        /// Each error as `file:line: error[rule]: message`.
        findings: Vec<String>,
    },
    /// The app's hooks are malformed.
    #[error("app `{app}`: {message}")]
    Hooks {
        /// The app's name.
        app: String,
        /// What is wrong.
        message: String,
    },
    /// An object still carries SOPS metadata after rendering: it would be applied
    /// encrypted.
    #[error(
        "app `{app}`: {kind} `{name}` is SOPS-encrypted; configure decryption (Flux `spec.decryption.secretRef`, the `shipway.dev/decryption-secret` annotation, or `SOPS_AGE_KEY_FILE`) so it can be decrypted"
    )]
    Encrypted {
        /// The app's name.
        app: String,
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
    },
    /// Looking up the cluster's resources to place objects failed.
    #[error("app `{app}`: {source}")]
    Cluster {
        /// The app's name.
        app: String,
        /// The failure.
        #[source]
        source: anyhow::Error,
    },
}

/// Renders `app` (git trees from `fetch`), runs the check gate unless `overrides.no_check`,
/// splits off hooks and assigns namespaces against `cluster`.
pub async fn prepare(
    app: App,
    overrides: &Overrides,
    cluster: &Cluster,
    fetch: impl FnOnce(&str, &str) -> Result<Checkout, FetchError>,
) -> Result<Prepared, PrepareError> {
    let rendered = app
        .render_with(fetch)
        .map_err(|source| PrepareError::Render {
            app: app.name.clone(),
            source,
        })?;
    prepare_rendered(app, rendered, overrides, cluster).await
}

/// [`prepare`] for an app already rendered (the controller renders off the async
/// runtime, since rendering and git are blocking work).
pub async fn prepare_rendered(
    app: App,
    rendered: Rendered,
    overrides: &Overrides,
    cluster: &Cluster,
) -> Result<Prepared, PrepareError> {
    // Flux refuses to apply a Secret that still holds sops metadata; shipway also refuses
    // one generated from an encrypted file, whatever decryption is configured.
    if let Some(object) = rendered
        .objects
        .iter()
        .find(|o| shipway_check::rules::security::holds_sops_ciphertext(o))
    {
        return Err(PrepareError::Encrypted {
            app: app.name.clone(),
            kind: object.str_at(&["kind"]).unwrap_or_default().to_string(),
            name: object
                .str_at(&["metadata", "name"])
                .unwrap_or_default()
                .to_string(),
        });
    }
    if !overrides.no_check {
        let errors = check_errors(&rendered);
        if !errors.is_empty() {
            return Err(PrepareError::Check {
                app: app.name.clone(),
                findings: errors,
            });
        }
    }
    let namespace = overrides
        .namespace
        .clone()
        .or_else(|| app.namespace.clone())
        .unwrap_or_else(|| cluster.default_namespace().to_owned());
    let objects: Vec<Value> = rendered
        .objects
        .iter()
        .map(shipway_model::Node::to_json)
        .collect();
    let (mut objects, mut hooks) =
        sync::split_hooks(objects).map_err(|message| PrepareError::Hooks {
            app: app.name.clone(),
            message,
        })?;
    let placed = async {
        plan::assign_namespaces(cluster, &mut objects, &namespace).await?;
        for hook in &mut hooks {
            plan::assign_namespaces(cluster, std::slice::from_mut(&mut hook.object), &namespace)
                .await?;
        }
        anyhow::Ok(())
    };
    placed.await.map_err(|source| PrepareError::Cluster {
        app: app.name.clone(),
        source,
    })?;
    let options = PlanOptions {
        force_conflicts: overrides.force_conflicts,
        ignore: app.ignore_differences.clone(),
        prune: PruneOptions {
            max_prune_percent: overrides.max_prune,
            confirm: overrides.confirm_prune,
            render_ok: true,
            ..PruneOptions::default()
        },
        prune_last: app.sync.options.prune_last,
        created_namespace: app.sync.options.create_namespace.then(|| namespace.clone()),
        respect_ignore_differences: app.sync.options.respect_ignore_differences,
        skip_dry_run_on_missing_resource: app.sync.options.skip_dry_run_on_missing_resource,
    };
    Ok(Prepared {
        id: app.identity(&namespace),
        revision: rendered.revision,
        app,
        namespace,
        objects,
        hooks,
        options,
    })
}

/// The check gate: every error finding of `rendered`, as `file:line: error[rule]: message`.
pub fn check_errors(rendered: &Rendered) -> Vec<String> {
    let findings = shipway_check::check(
        &rendered.objects,
        &rendered.sources,
        &shipway_check::Settings::default(),
    );
    let file_of = |pos: shipway_model::Pos| {
        rendered
            .sources
            .path(pos.file)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let mut errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|finding| {
            format!(
                "{}:{}: error[{}]: {}",
                file_of(finding.pos),
                finding.pos.line,
                finding.rule,
                finding.message
            )
        })
        .collect();
    // shipway is the Rollout controller: a Rollout field it does not act on is refused
    // here, at the field's line, rather than half-understood in the cluster.
    for object in rendered.objects.iter().filter(|o| {
        o.str_at(&["kind"]) == Some("Rollout")
            && o.str_at(&["apiVersion"])
                .is_some_and(|v| v.starts_with("argoproj.io/"))
    }) {
        if let Err(error) = shipway_rollouts::rollout::Rollout::from_json(&object.to_json()) {
            let pos = node_at(object, &error.field).map_or(object.pos, |node| node.pos);
            errors.push(format!(
                "{}:{}: error[rollouts/unsupported]: {error}",
                file_of(pos),
                pos.line
            ));
        }
    }
    // A malformed smoke-check annotation would only fail after the sync applied
    // everything: refuse it here, at the annotation's line.
    for object in &rendered.objects {
        if let Err(error) = shipway_rollouts::smoke::checks_of(&object.to_json()) {
            let pos = object
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get(shipway_rollouts::smoke::ANNOTATION))
                .map_or(object.pos, |node| node.pos);
            errors.push(format!(
                "{}:{}: error[smoke/invalid]: {error}",
                file_of(pos),
                pos.line
            ));
        }
    }
    errors
}

/// The node at a field path such as `spec.strategy.canary.steps[2].experiment`.
fn node_at<'a>(object: &'a shipway_model::Node, path: &str) -> Option<&'a shipway_model::Node> {
    let mut node = object;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        node = node.get(name)?;
        if let Some(index) = index {
            node = node.as_seq()?.get(index)?;
        }
    }
    Some(node)
}

/// The app's retry policy as the engine's backoff (Argo CD's defaults without one; a
/// `limit` absent or negative is unlimited, bounded by the sync's timeout).
pub fn backoff(app: &App) -> Backoff {
    match &app.sync.retry {
        Some(retry) => Backoff {
            limit: retry.limit,
            duration: retry.backoff,
            factor: retry.factor.max(1),
            max_duration: retry.max_backoff,
        },
        None => Backoff::default(),
    }
}

/// The sync options of a prepared app: its own sync options, its retry policy, and
/// whether to prune and wait.
pub fn sync_options(
    prepared: &Prepared,
    prune: bool,
    wait: bool,
    timeout: Duration,
) -> SyncOptions {
    SyncOptions {
        plan: prepared.options.clone(),
        prune,
        create_namespace: prepared.app.sync.options.create_namespace,
        replace: prepared.app.sync.options.replace,
        wait,
        timeout,
        backoff: backoff(&prepared.app),
        prune_propagation: prepared.app.sync.options.prune_propagation,
        ..SyncOptions::default()
    }
}

/// Plans a prepared app; transient failures are retried with its policy until `timeout`.
pub async fn plan(
    cluster: &Cluster,
    prepared: &Prepared,
    timeout: Duration,
) -> anyhow::Result<Plan> {
    let cluster = cluster.scoped(
        &backoff(&prepared.app),
        crate::cluster::deadline_after(timeout),
    );
    let mut plan = plan::plan(
        &cluster,
        &prepared.id,
        &prepared.namespace,
        &prepared.objects,
        &prepared.options,
    )
    .await?;
    plan.hooks = prepared.hooks.iter().map(|h| h.object.clone()).collect();
    Ok(plan)
}

/// The health and sync status of a prepared app's objects now.
pub async fn status(
    cluster: &Cluster,
    prepared: &Prepared,
) -> Result<crate::status::AppStatus, crate::plan::PlanError> {
    crate::status::status(
        cluster,
        &prepared.id,
        &prepared.namespace,
        &prepared.objects,
        &prepared.options,
    )
    .await
}

/// Syncs a prepared app once: transient failures are retried inside the engine, per call,
/// with the app's policy and never past the options' timeout; a saved plan, when given,
/// is applied exactly.
pub async fn sync(
    cluster: &Cluster,
    prepared: &Prepared,
    saved: Option<&Plan>,
    options: &SyncOptions,
    ledger: &mut Ledger,
    progress: &mut dyn Progress,
) -> Result<SyncReport, SyncError> {
    match saved {
        Some(plan) => {
            sync::sync_plan(
                cluster,
                &prepared.id,
                plan,
                &prepared.objects,
                &prepared.hooks,
                options,
                ledger,
                progress,
            )
            .await
        }
        None => {
            sync::sync(
                cluster,
                &prepared.id,
                &prepared.namespace,
                &prepared.objects,
                &prepared.hooks,
                options,
                ledger,
                progress,
            )
            .await
        }
    }
}

/// Reads a saved plan back (`plan --out`).
pub fn read_plan(path: &Path) -> anyhow::Result<Plan> {
    let text = fs_err::read_to_string(path)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a plan file: {e}", path.display()))?;
    Plan::from_json(&value).map_err(|message| anyhow::anyhow!("{}: {message}", path.display()))
}

/// Parses a user's duration (`90s`, `5m`, `1h30m`: Go durations, the parser Argo CD's
/// fields use too); `what` names the flag or field in the message. Zero is refused: it
/// would fail every wait at once.
pub fn parse_positive_duration(what: &str, text: &str) -> anyhow::Result<Duration> {
    match crate::app::argo::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => anyhow::bail!("{what} `{text}`: must be longer than zero"),
        Err(message) => {
            anyhow::bail!("{what}: {message} (expected a duration like 90s, 5m or 1h30m)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_kubectl_flags() {
        let parse = |t| parse_positive_duration("--timeout", t);
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert!(
            parse("0s")
                .unwrap_err()
                .to_string()
                .contains("longer than zero")
        );
        assert!(parse("5d").is_err());
        // Huge values parse; the engine caps them (`deadline_after`) instead of overflowing.
        assert!(parse("99999999999h").is_ok());
    }
}
