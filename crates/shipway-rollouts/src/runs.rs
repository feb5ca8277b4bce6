//! `AnalysisRun`s in the cluster, so users see every measurement (`kubectl get
//! analysisrun -o yaml`): created from a step's `AnalysisTemplate`s with its arguments
//! filled in, then advanced one measurement at a time — each metric measured when its
//! `initialDelay` and `interval` say, judged by its conditions ([`crate::analysis`]), its
//! tally and phase written to the run's status.

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::analysis::{self, Conditions, Limits, Phase, Tally};
use crate::controller::{seconds_of, timestamp};
use crate::providers::{Http, measure_in};
use crate::rollout::{AnalysisRef, Rollout};

/// How many measurements of a metric the status keeps (Argo Rollouts' default).
const KEEP_MEASUREMENTS: usize = 10;

/// How long after an Error a measurement is tried again (Argo Rollouts: 10 s).
const ERROR_RETRY: u64 = 10;

fn resource(kind: &str, plural: &str) -> ApiResource {
    crate::controller::resource("argoproj.io", "v1alpha1", kind, plural)
}

/// Why a run could not be created or advanced.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A template is missing or malformed, or an argument unresolved.
    #[error("{0}")]
    Template(String),
    /// A call to the API server failed.
    #[error(transparent)]
    Api(#[from] kube::Error),
}

/// The run of step `step` for the template hash `new`: `<rollout>-<hash>-<step>`.
pub fn step_run_name(rollout: &str, new: &str, step: u32) -> String {
    format!("{rollout}-{new}-{step}")
}

/// Which of a Rollout's analyses a run is: its `rollout-type` label (and `step-index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// A canary step's analysis, at that step.
    Step(u32),
    /// A blue-green `prePromotionAnalysis`.
    PrePromotion,
    /// A blue-green `postPromotionAnalysis`.
    PostPromotion,
}

/// Creates the run when it does not exist yet.
pub async fn ensure(
    client: &kube::Client,
    rollout: &Rollout,
    analysis: &AnalysisRef,
    name: &str,
    new: &str,
    stable: &str,
    kind: RunKind,
) -> Result<(), RunError> {
    let labels = match kind {
        RunKind::Step(step) => json!({
            crate::controller::HASH_LABEL: new,
            "rollout-type": "Step",
            "step-index": step.to_string(),
        }),
        RunKind::PrePromotion => {
            json!({crate::controller::HASH_LABEL: new, "rollout-type": "PrePromotion"})
        }
        RunKind::PostPromotion => {
            json!({crate::controller::HASH_LABEL: new, "rollout-type": "PostPromotion"})
        }
    };
    create(client, rollout, analysis, name, new, stable, labels).await
}

/// The background run (`strategy.canary.analysis`) of the template hash `new`:
/// `<rollout>-<hash>`.
pub fn background_run_name(rollout: &str, new: &str) -> String {
    format!("{rollout}-{new}")
}

/// Creates the background run when it does not exist yet.
pub async fn ensure_background(
    client: &kube::Client,
    rollout: &Rollout,
    analysis: &AnalysisRef,
    name: &str,
    new: &str,
    stable: &str,
) -> Result<(), RunError> {
    let labels = json!({
        crate::controller::HASH_LABEL: new,
        "rollout-type": "Background",
    });
    create(client, rollout, analysis, name, new, stable, labels).await
}

/// Creates the run `name` from `analysis`'s templates, labelled `labels`, unless it exists.
async fn create(
    client: &kube::Client,
    rollout: &Rollout,
    analysis: &AnalysisRef,
    name: &str,
    new: &str,
    stable: &str,
    labels: Value,
) -> Result<(), RunError> {
    let runs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &rollout.namespace,
        &resource("AnalysisRun", "analysisruns"),
    );
    if runs.get_opt(name).await?.is_some() {
        return Ok(());
    }
    let mut metrics = Vec::new();
    let mut declared: Vec<(String, Option<String>)> = Vec::new();
    for (template, cluster_scope) in &analysis.templates {
        let api: Api<DynamicObject> = if *cluster_scope {
            Api::all_with(
                client.clone(),
                &resource("ClusterAnalysisTemplate", "clusteranalysistemplates"),
            )
        } else {
            Api::namespaced_with(
                client.clone(),
                &rollout.namespace,
                &resource("AnalysisTemplate", "analysistemplates"),
            )
        };
        let Some(object) = api.get_opt(template).await? else {
            return Err(RunError::Template(format!(
                "{} `{template}` not found{}",
                if *cluster_scope {
                    "ClusterAnalysisTemplate"
                } else {
                    "AnalysisTemplate"
                },
                if *cluster_scope {
                    String::new()
                } else {
                    format!(" in namespace {}", rollout.namespace)
                }
            )));
        };
        let object = serde_json::to_value(&object).unwrap_or(Value::Null);
        for metric in object
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let metric_name = metric["name"].as_str().unwrap_or("");
            if metrics.iter().any(|m: &Value| m["name"] == metric_name) {
                return Err(RunError::Template(format!(
                    "metric `{metric_name}` is defined by more than one template"
                )));
            }
            metrics.push(metric.clone());
        }
        for arg in object
            .pointer("/spec/args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(arg_name) = arg["name"].as_str() else {
                continue;
            };
            if !declared.iter().any(|(n, _)| n == arg_name) {
                declared.push((
                    arg_name.to_string(),
                    arg["value"].as_str().map(str::to_string),
                ));
            }
        }
    }
    // The Rollout's values override the templates' defaults; only declared args count.
    let mut args = Vec::new();
    for (arg_name, default) in declared {
        let given = analysis
            .args
            .iter()
            .find(|(n, _)| *n == arg_name)
            .map(|(_, v)| match v.as_str() {
                "@Latest" => new.to_string(),
                "@Stable" => stable.to_string(),
                other => other.to_string(),
            });
        let Some(value) = given.or(default) else {
            return Err(RunError::Template(format!(
                "args.{arg_name} was not resolved: the Rollout's analysis gives it no value and the template no default"
            )));
        };
        args.push((arg_name, value));
    }
    let metrics = substitute(&Value::Array(metrics), &args)?;
    let manifest = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": name,
            "namespace": rollout.namespace,
            "labels": labels,
            "ownerReferences": [crate::controller::owner_reference(rollout)],
        },
        "spec": {
            "metrics": metrics,
            "args": args.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        },
    });
    let object: DynamicObject =
        serde_json::from_value(manifest).map_err(kube::Error::SerdeError)?;
    runs.create(&PostParams::default(), &object).await?;
    Ok(())
}

/// `{{args.name}}` (spaces allowed inside the braces) replaced everywhere in `metrics`,
/// values JSON-escaped; anything left unresolved is an error naming it.
fn substitute(metrics: &Value, args: &[(String, String)]) -> Result<Value, RunError> {
    let mut text = metrics.to_string();
    for (name, value) in args {
        let escaped = Value::String(value.clone()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start..].find("}}") else {
                break;
            };
            let inner = rest[start + 2..start + end].trim();
            out.push_str(&rest[..start]);
            if inner == format!("args.{name}") {
                out.push_str(escaped);
            } else {
                out.push_str(&rest[start..start + end + 2]);
            }
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        text = out;
    }
    if let Some(start) = text.find("{{") {
        let end = text[start..]
            .find("}}")
            .map_or(text.len(), |e| start + e + 2);
        return Err(RunError::Template(format!(
            "Unable to resolve metric arguments: `{}` has no value",
            &text[start..end]
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| RunError::Template(format!("metrics after substitution: {e}")))
}

fn duration_of(metric: &Value, field: &str) -> Option<Duration> {
    metric
        .get(field)
        .and_then(Value::as_str)
        .and_then(|t| shipway_model::duration::parse(t).ok())
}

fn limits_of(metric: &Value) -> Limits {
    let int = |field: &str| metric.get(field).and_then(Value::as_i64);
    let count = match (int("count"), metric.get("interval")) {
        (Some(count), _) => Some(count.max(0) as u32),
        (None, Some(_)) => None,
        (None, None) => Some(1),
    };
    Limits {
        count,
        failure_limit: match int("failureLimit") {
            Some(limit) if limit < 0 => None,
            Some(limit) => Some(limit as u32),
            None => Some(0),
        },
        inconclusive_limit: int("inconclusiveLimit").unwrap_or(0).max(0) as u32,
        consecutive_error_limit: int("consecutiveErrorLimit").unwrap_or(4).max(0) as u32,
        consecutive_success_limit: int("consecutiveSuccessLimit").unwrap_or(0).max(0) as u32,
    }
}

/// How a run stands after [`advance`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// The run's phase.
    pub phase: Phase,
    /// Why (the deciding metric's message), empty while running.
    pub message: String,
}

/// Terminates the run `name` (`spec.terminate: true`, as Argo Rollouts cancels a run it no
/// longer needs) and advances it once, so it completes now: measurements in flight stop,
/// and it is Successful ("Run Terminated") unless a metric already failed. A run already
/// complete is left as it is.
pub async fn terminate(
    client: &kube::Client,
    http: &Http,
    namespace: &str,
    name: &str,
    now: u64,
) -> Result<RunState, RunError> {
    let runs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("AnalysisRun", "analysisruns"),
    );
    let run = serde_json::to_value(runs.get(name).await?).unwrap_or(Value::Null);
    let complete = run
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .and_then(phase_of)
        .is_some_and(Phase::is_complete);
    if !complete && run.pointer("/spec/terminate") != Some(&Value::Bool(true)) {
        runs.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"terminate": true}})),
        )
        .await?;
    }
    advance(client, http, namespace, name, now).await
}

/// Takes the measurements that are due and writes the run's status.
pub async fn advance(
    client: &kube::Client,
    http: &Http,
    namespace: &str,
    name: &str,
    now: u64,
) -> Result<RunState, RunError> {
    let runs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("AnalysisRun", "analysisruns"),
    );
    let run = serde_json::to_value(runs.get(name).await?).unwrap_or(Value::Null);
    let status = run.get("status").cloned().unwrap_or(Value::Null);
    if let Some(phase) = status.get("phase").and_then(Value::as_str)
        && let Some(done) = phase_of(phase).filter(|p| p.is_complete())
    {
        return Ok(RunState {
            phase: done,
            message: status["message"].as_str().unwrap_or("").into(),
        });
    }
    let terminating = run.pointer("/spec/terminate").and_then(Value::as_bool) == Some(true);
    let uid = run
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let started = status
        .get("startedAt")
        .and_then(Value::as_str)
        .and_then(seconds_of)
        .unwrap_or(now);
    let previous: Vec<Value> = status
        .get("metricResults")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut results = Vec::new();
    let mut phases = Vec::new();
    let mut deciding = String::new();
    for metric in run
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let metric_name = metric["name"].as_str().unwrap_or("").to_string();
        let mut result = previous
            .iter()
            .find(|r| r["name"] == metric_name.as_str())
            .cloned()
            .unwrap_or_else(
                || json!({"name": metric_name, "phase": "Pending", "measurements": []}),
            );
        let limits = limits_of(metric);
        let mut tally = Tally {
            count: result["count"].as_u64().unwrap_or(0) as u32,
            successful: result["successful"].as_u64().unwrap_or(0) as u32,
            failed: result["failed"].as_u64().unwrap_or(0) as u32,
            inconclusive: result["inconclusive"].as_u64().unwrap_or(0) as u32,
            error: result["error"].as_u64().unwrap_or(0) as u32,
            consecutive_error: result["consecutiveError"].as_u64().unwrap_or(0) as u32,
            consecutive_success: result["consecutiveSuccess"].as_u64().unwrap_or(0) as u32,
        };
        let (mut phase, mut message) = analysis::metric_phase(&metric_name, &tally, &limits);
        let in_flight = result["measurements"]
            .as_array()
            .and_then(|m| m.last())
            .filter(|m| m["phase"] == "Running")
            .cloned();
        let measuring = !phase.is_complete()
            && (in_flight.is_some() || (!terminating && due(metric, &result, started, now)));
        if measuring {
            let target = Target {
                client,
                http,
                run: crate::jobs::Run {
                    namespace,
                    name,
                    uid: &uid,
                },
            };
            // Boxed: the providers' futures are large, and every caller of `advance` (the
            // controller's reconcile) would carry them.
            let taken = if terminating {
                // `spec.terminate`: the measurement in flight is stopped (its Job deleted)
                // and, as Argo Rollouts does, counts as Successful.
                Box::pin(terminate_measurement(client, namespace, in_flight.as_ref())).await
            } else {
                Box::pin(take(
                    &target,
                    metric,
                    &metric_name,
                    &tally,
                    in_flight.as_ref(),
                ))
                .await
            };
            let mut measurements: Vec<Value> = result["measurements"]
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            // A resumed measurement replaces its Running record, keeping when it started.
            let started_at = match &in_flight {
                Some(running) => {
                    measurements.pop();
                    running["startedAt"].clone()
                }
                None => timestamp(now).into(),
            };
            let mut record = json!({
                "phase": taken.phase.as_str(),
                "value": taken.value,
                "message": taken.message,
                "startedAt": started_at,
            });
            if taken.phase != Phase::Running {
                record["finishedAt"] = timestamp(now).into();
                tally.record(taken.phase);
            }
            if let Some(metadata) = taken.metadata {
                record["metadata"] = metadata;
            }
            measurements.push(record);
            let keep = measurements.len().saturating_sub(KEEP_MEASUREMENTS);
            measurements.drain(..keep);
            result["measurements"] = Value::Array(measurements);
            if !taken.query.is_empty() {
                result["metadata"] = json!({"ResolvedPrometheusQuery": taken.query});
            }
            (phase, message) = analysis::metric_phase(&metric_name, &tally, &limits);
            if taken.phase == Phase::Running {
                phase = Phase::Running;
            }
        }
        if terminating && !phase.is_complete() {
            // Unmeasured and indefinite metrics of a terminated run count as Successful.
            phase = Phase::Successful;
        }
        result["phase"] = phase.as_str().into();
        result["count"] = tally.count.into();
        result["successful"] = tally.successful.into();
        result["failed"] = tally.failed.into();
        result["inconclusive"] = tally.inconclusive.into();
        result["error"] = tally.error.into();
        result["consecutiveError"] = tally.consecutive_error.into();
        result["consecutiveSuccess"] = tally.consecutive_success.into();
        if !message.is_empty() {
            // The last measurement says what was measured; the limit says why it counts.
            let last = result["measurements"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["message"].as_str())
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            message = format!("{message}{last}");
            result["message"] = message.clone().into();
            if deciding.is_empty() {
                deciding.clone_from(&message);
            }
        }
        phases.push(phase);
        results.push(result);
    }
    let phase = analysis::run_phase(&phases);
    let message = if phase.is_complete() && phase != Phase::Successful {
        deciding
    } else if terminating && phase == Phase::Successful {
        "Run Terminated".to_string()
    } else {
        String::new()
    };
    if phase.is_complete() {
        // A run decided by one metric stops the others' measurements in flight.
        for result in &mut results {
            Box::pin(stop_in_flight(client, namespace, result, now)).await;
        }
    }
    let patch = json!({"status": {
        "phase": phase.as_str(),
        "message": message,
        "startedAt": timestamp(started),
        "completedAt": if phase.is_complete() { Value::from(timestamp(now)) } else { Value::Null },
        "metricResults": results,
    }});
    match runs
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 405 => {
            runs.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        other => {
            other?;
        }
    }
    Ok(RunState { phase, message })
}

/// Where a measurement is taken: the cluster, the HTTP client, and the run.
struct Target<'a> {
    client: &'a kube::Client,
    http: &'a Http,
    run: crate::jobs::Run<'a>,
}

/// One measurement's record before it is written.
struct Taken {
    phase: Phase,
    value: String,
    message: String,
    query: String,
    metadata: Option<Value>,
}

impl Taken {
    fn error(message: String) -> Taken {
        Taken {
            phase: Phase::Error,
            value: String::new(),
            message,
            query: String::new(),
            metadata: None,
        }
    }
}

/// Takes a new measurement of `metric`, or resumes the one `in_flight` (a Job's).
async fn take(
    target: &Target<'_>,
    metric: &Value,
    metric_name: &str,
    tally: &Tally,
    in_flight: Option<&Value>,
) -> Taken {
    let provider = &metric["provider"];
    if let Some(job) = provider.get("job") {
        let namespace = target.run.namespace;
        let name = if let Some(running) = in_flight {
            match running
                .pointer(&format!("/metadata/{}", crate::jobs::JOB_NAME_KEY))
                .and_then(Value::as_str)
            {
                Some(name) => name.to_string(),
                None => return Taken::error("job metadata reference missing".into()),
            }
        } else {
            // Argo's numbering: every measurement taken so far, errors included, + 1.
            let n = u64::from(tally.count) + u64::from(tally.error) + 1;
            match crate::jobs::start(target.client, target.run, metric_name, n, job).await {
                Ok(name) => name,
                Err(message) => return Taken::error(message),
            }
        };
        let metadata = Some(json!({crate::jobs::JOB_NAME_KEY: name}));
        let mut taken = match crate::jobs::resume(target.client, namespace, &name).await {
            Ok(None) => Taken {
                phase: Phase::Running,
                value: String::new(),
                message: String::new(),
                query: String::new(),
                metadata,
            },
            Ok(Some((phase, message))) => Taken {
                phase,
                value: String::new(),
                message,
                query: String::new(),
                metadata,
            },
            Err(message) => Taken {
                metadata,
                ..Taken::error(message)
            },
        };
        if taken.phase != Phase::Running
            && let Err(why) = crate::jobs::garbage_collect(
                target.client,
                target.run,
                metric_name,
                KEEP_MEASUREMENTS,
            )
            .await
        {
            // The measurement stands; the failed clean-up is said where users look.
            taken.message = [
                taken.message.as_str(),
                &format!("old Jobs not deleted: {why}"),
            ]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        }
        return taken;
    }
    let conditions = match Conditions::new(
        metric.get("successCondition").and_then(Value::as_str),
        metric.get("failureCondition").and_then(Value::as_str),
    ) {
        Ok(conditions) => conditions,
        Err(error) => return Taken::error(error.to_string()),
    };
    match measure_in(target.client, target.http, target.run.namespace, provider).await {
        Err(error) => Taken::error(error),
        Ok(measured) => {
            let verdict = analysis::verdict(&conditions, &measured.result, &measured.query);
            Taken {
                phase: verdict.phase,
                value: measured.result.to_string(),
                message: verdict.message,
                query: measured.query,
                metadata: None,
            }
        }
    }
}

/// Stops the measurement `in_flight` of a terminated run: its Job is deleted, and it is
/// Successful (as Argo Rollouts' job provider terminates).
async fn terminate_measurement(
    client: &kube::Client,
    namespace: &str,
    in_flight: Option<&Value>,
) -> Taken {
    let job = in_flight
        .and_then(|m| m.pointer(&format!("/metadata/{}", crate::jobs::JOB_NAME_KEY)))
        .and_then(Value::as_str);
    if let Some(job) = job
        && let Err(message) = crate::jobs::terminate(client, namespace, job).await
    {
        return Taken::error(message);
    }
    Taken {
        phase: Phase::Successful,
        value: String::new(),
        message: "terminated: the run was terminated".into(),
        query: String::new(),
        metadata: in_flight.and_then(|m| m.get("metadata")).cloned(),
    }
}

/// Ends `result`'s measurement in flight, if any, once the run is decided (its Job deleted).
async fn stop_in_flight(client: &kube::Client, namespace: &str, result: &mut Value, now: u64) {
    let Some(last) = result["measurements"]
        .as_array_mut()
        .and_then(|m| m.last_mut())
        .filter(|m| m["phase"] == "Running")
    else {
        return;
    };
    let job = last
        .pointer(&format!("/metadata/{}", crate::jobs::JOB_NAME_KEY))
        .and_then(Value::as_str)
        .map(str::to_string);
    let outcome = match job {
        Some(job) => crate::jobs::terminate(client, namespace, &job).await,
        None => Ok(()),
    };
    last["finishedAt"] = timestamp(now).into();
    match outcome {
        Ok(()) => {
            last["phase"] = "Successful".into();
            last["message"] = "terminated: the run was decided by another metric".into();
        }
        Err(message) => {
            last["phase"] = "Error".into();
            last["message"] = message.into();
        }
    }
    if result["phase"] == "Running" {
        result["phase"] = "Successful".into();
    }
}

/// Whether the metric's next measurement is due at `now`.
fn due(metric: &Value, result: &Value, started: u64, now: u64) -> bool {
    let delay = duration_of(metric, "initialDelay").map_or(0, |d| d.as_secs());
    if now < started + delay {
        return false;
    }
    let Some(last) = result["measurements"].as_array().and_then(|m| m.last()) else {
        return true;
    };
    let finished = last["finishedAt"]
        .as_str()
        .and_then(seconds_of)
        .unwrap_or(0);
    let wait = if last["phase"] == "Error" {
        ERROR_RETRY
    } else {
        duration_of(metric, "interval").map_or(0, |d| d.as_secs())
    };
    now >= finished + wait
}

fn phase_of(text: &str) -> Option<Phase> {
    Some(match text {
        "Successful" => Phase::Successful,
        "Running" => Phase::Running,
        "Pending" => Phase::Pending,
        "Inconclusive" => Phase::Inconclusive,
        "Error" => Phase::Error,
        "Failed" => Phase::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_substituted_and_unresolved_ones_named() {
        let metrics = json!([{"name": "m", "provider": {"prometheus": {"query": "rate(x{service=\"{{ args.service }}\", hash=\"{{args.hash}}\"}[1m])"}}}]);
        let out = substitute(
            &metrics,
            &[
                ("service".into(), "web".into()),
                ("hash".into(), "abc\"d".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            out[0]["provider"]["prometheus"]["query"],
            "rate(x{service=\"web\", hash=\"abc\"d\"}[1m])"
        );
        let error = substitute(&metrics, &[("service".into(), "web".into())]).unwrap_err();
        assert!(error.to_string().contains("{{args.hash}}"), "{error}");
    }

    #[test]
    fn limits_follow_argo_rollouts_defaults() {
        assert_eq!(limits_of(&json!({})).count, Some(1));
        assert_eq!(limits_of(&json!({"interval": "30s"})).count, None);
        assert_eq!(
            limits_of(&json!({"interval": "30s", "count": 5})).count,
            Some(5)
        );
        assert_eq!(limits_of(&json!({"failureLimit": -1})).failure_limit, None);
        assert_eq!(limits_of(&json!({})).consecutive_error_limit, 4);
    }

    #[test]
    fn measurements_are_due_after_the_delay_and_interval() {
        let metric = json!({"interval": "30s", "initialDelay": "10s"});
        let none = json!({"measurements": []});
        assert!(!due(&metric, &none, 100, 105));
        assert!(due(&metric, &none, 100, 110));
        let once = json!({"measurements": [{"phase": "Successful", "finishedAt": timestamp(110)}]});
        assert!(!due(&metric, &once, 100, 120));
        assert!(due(&metric, &once, 100, 140));
        let error = json!({"measurements": [{"phase": "Error", "finishedAt": timestamp(110)}]});
        assert!(due(&metric, &error, 100, 120), "errors retry after 10 s");
    }
}
