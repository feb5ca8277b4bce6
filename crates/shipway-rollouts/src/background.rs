//! Background analysis (`strategy.canary.analysis`), as Argo Rollouts runs it
//! (`rollout/analysis.go`): one `AnalysisRun`, `<rollout>-<hash>` (label `rollout-type:
//! Background`), created once the canary of a new template stands at `startingStep` or
//! later, measured on every reconcile while the steps go on. Its verdict acts on the
//! rollout before the step decision: Failed or Error aborts the update (the message names
//! the metric, query and value), Inconclusive pauses it (`InconclusiveAnalysisRun`) until a
//! promote, which measures again in a new run. It is terminated (`spec.terminate: true`,
//! Successful "Run Terminated" unless a metric failed) when the rollout is promoted or
//! aborted, and when a newer template replaces its canary.
//!
//! Which reaction a run already caused is recorded on the run itself (annotation
//! [`REACTION`]), so a retry after an abort, or a promote after the pause, is told apart
//! from the verdict that caused it: the old run is then deleted and a new one measures
//! again.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::analysis::Phase;
use crate::canary::{Decision, PauseCondition, Status};
use crate::providers::Http;
use crate::rollout::Rollout;
use crate::runs::{self, RunError, RunState};

/// The annotation on a background run naming the reaction it caused (`Aborted`, `Paused`).
pub const REACTION: &str = "rollouts.shipway.dev/reaction";

/// The pause reason of an inconclusive analysis (Argo Rollouts' `InconclusiveAnalysisRun`).
const INCONCLUSIVE: &str = "InconclusiveAnalysisRun";

fn api(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &crate::controller::resource("argoproj.io", "v1alpha1", "AnalysisRun", "analysisruns"),
    )
}

/// How the background run of the current template stands, for [`after`].
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    /// The run's name.
    pub name: String,
    /// Its state, when it exists.
    pub state: Option<RunState>,
}

/// The reaction a run already caused, and whether it was terminated.
async fn marks_of(
    runs: &Api<DynamicObject>,
    name: &str,
) -> Result<(Option<String>, bool), kube::Error> {
    let Some(run) = runs.get_opt(name).await? else {
        return Ok((None, false));
    };
    let terminated = run.data.pointer("/spec/terminate") == Some(&Value::Bool(true));
    let reaction = run
        .metadata
        .annotations
        .and_then(|a| a.get(REACTION).cloned());
    Ok((reaction, terminated))
}

async fn mark(runs: &Api<DynamicObject>, name: &str, reaction: &str) -> Result<(), kube::Error> {
    runs.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {REACTION: reaction}}})),
    )
    .await
    .map(|_| ())
}

/// Before the step decision: advances the background run of template `new` and applies its
/// verdict to `status` (an abort, or the inconclusive pause). `None` when the Rollout has
/// no background analysis.
pub async fn before(
    client: &kube::Client,
    http: &Http,
    rollout: &Rollout,
    status: &mut Status,
    new: &str,
    now: u64,
) -> Result<Option<Background>, RunError> {
    if rollout.canary.background.is_none() {
        return Ok(None);
    }
    let name = runs::background_run_name(&rollout.name, new);
    let in_progress = status.current.as_deref() == Some(new)
        && status.stable.as_deref().is_some_and(|stable| stable != new);
    if !in_progress {
        return Ok(Some(Background { name, state: None }));
    }
    let runs_api = api(client, &rollout.namespace);
    let state = match runs::advance(client, http, &rollout.namespace, &name, now).await {
        Ok(state) => state,
        Err(RunError::Api(kube::Error::Api(e))) if e.code == 404 => {
            return Ok(Some(Background { name, state: None }));
        }
        Err(error) => return Err(error),
    };
    let (reaction, terminated) = marks_of(&runs_api, &name).await?;
    let paused = status.pauses.iter().any(|p| p.reason == INCONCLUSIVE);
    let state = match state.phase {
        Phase::Successful if terminated && !status.abort => {
            // Cancelled by an abort that was then retried: measure again.
            delete(&runs_api, &name).await?;
            None
        }
        Phase::Failed | Phase::Error if reaction.as_deref() == Some("Aborted") && !status.abort => {
            // A retry after the abort this run caused: measure again.
            delete(&runs_api, &name).await?;
            None
        }
        Phase::Failed | Phase::Error => {
            if !status.abort {
                status.abort = true;
                mark(&runs_api, &name, "Aborted").await?;
            }
            Some(state)
        }
        Phase::Inconclusive
            if reaction.as_deref() == Some("Paused") && !paused && !status.abort =>
        {
            // Promoted past the pause this run caused: measure again.
            delete(&runs_api, &name).await?;
            None
        }
        Phase::Inconclusive => {
            if !paused && !status.abort {
                status.pauses.push(PauseCondition {
                    reason: INCONCLUSIVE.into(),
                    start: now,
                });
                status.controller_pause = true;
                mark(&runs_api, &name, "Paused").await?;
            }
            Some(state)
        }
        _ => Some(state),
    };
    Ok(Some(Background { name, state }))
}

/// `status.canary.currentBackgroundAnalysisRunStatus` as Argo Rollouts writes it
/// (`{name, status, message}`), or null when no run stands for the current template.
pub fn status_of(background: Option<&Background>) -> Value {
    match background {
        Some(Background {
            name,
            state: Some(state),
        }) => json!({"name": name, "status": state.phase.as_str(), "message": state.message}),
        _ => Value::Null,
    }
}

async fn delete(runs: &Api<DynamicObject>, name: &str) -> Result<(), kube::Error> {
    match runs.delete(name, &DeleteParams::default()).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// After the step decision: creates the run once the canary is at `startingStep`,
/// terminates it when the rollout is promoted or aborted (and the runs of replaced
/// templates), and adds the run's message to an abort or pause it caused.
pub async fn after(
    client: &kube::Client,
    http: &Http,
    rollout: &Rollout,
    background: Option<&Background>,
    decision: &mut Decision,
    new: &str,
    now: u64,
) -> Result<(), RunError> {
    let (Some(config), Some(background)) = (&rollout.canary.background, background) else {
        return Ok(());
    };
    let runs_api = api(client, &rollout.namespace);
    // The runs of templates this rollout no longer works on are cancelled.
    let listed = runs_api
        .list(&ListParams::default().labels("rollout-type=Background"))
        .await?;
    for run in listed.items {
        let owned = run
            .metadata
            .owner_references
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|o| o.uid == rollout.uid);
        let hash = run
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(crate::controller::HASH_LABEL))
            .cloned()
            .unwrap_or_default();
        let done = run
            .data
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .is_some_and(|p| !matches!(p, "Running" | "Pending" | ""));
        if owned && hash != new && !done {
            let name = run.metadata.name.clone().unwrap_or_default();
            runs::terminate(client, http, &rollout.namespace, &name, now).await?;
        }
    }
    let stable = decision.status.stable.clone().unwrap_or_default();
    let promoted = stable == new;
    let exists = runs_api.get_opt(&background.name).await?.is_some();
    if promoted || decision.status.abort {
        if exists {
            runs::terminate(client, http, &rollout.namespace, &background.name, now).await?;
        }
    } else if decision.status.current.as_deref() == Some(new)
        && decision.status.step >= config.starting_step
        && !exists
    {
        runs::ensure_background(
            client,
            rollout,
            &config.analysis,
            &background.name,
            new,
            &stable,
        )
        .await?;
    }
    if let Some(state) = &background.state {
        let caused = match state.phase {
            Phase::Failed | Phase::Error => decision.status.abort,
            Phase::Inconclusive => decision.phase == "Paused",
            _ => false,
        };
        if caused && !state.message.is_empty() {
            decision.message = format!(
                "{}: background analysis {}: {}",
                decision.message, background.name, state.message
            );
        }
    }
    Ok(())
}
