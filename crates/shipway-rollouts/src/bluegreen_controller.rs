//! One reconcile of a blue-green Rollout against the cluster: its `ReplicaSets` sized and
//! their scale-down deadlines written (the `scale-down-deadline` annotation, as Argo
//! Rollouts writes it), the pre- and post-promotion `AnalysisRuns` created and advanced,
//! the active Service pointed at the promoted pods and the preview Service at the new
//! ones, and `Rollout.status` written with `status.blueGreen` — the cluster half of
//! [`crate::bluegreen::decide`].

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::analysis::Phase;
use crate::bluegreen::{self, Analyses, Promotion, ReplicaSet};
use crate::canary::StepAnalysis;
use crate::controller::{
    ControllerError, HASH_LABEL, Outcome, apply_sizes, common_status, extend, http, int,
    point_service, read_status, resource, run_error, seconds_of, selector_text, smoke_gate,
    timestamp, write_status,
};
use crate::rollout::Rollout;
use crate::runs::RunKind;

/// The annotation holding when a previous `ReplicaSet` goes to 0 (RFC 3339).
pub const DEADLINE_ANNOTATION: &str = "scale-down-deadline";

/// The run of a promotion analysis: `<rollout>-<hash>-pre` / `-post`, as Argo Rollouts
/// suffixes them.
pub fn promotion_run_name(rollout: &str, new: &str, which: Promotion) -> String {
    match which {
        Promotion::Pre => format!("{rollout}-{new}-pre"),
        Promotion::Post => format!("{rollout}-{new}-post"),
    }
}

fn hash_of(rs: &Value) -> &str {
    rs.pointer(&format!("/metadata/labels/{HASH_LABEL}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Reconciles the blue-green `rollout` once; `owned` are its `ReplicaSets`.
#[allow(clippy::too_many_arguments)] // the canary reconcile's state, handed over whole
pub(crate) async fn reconcile(
    client: &kube::Client,
    rollouts: &Api<DynamicObject>,
    sets_api: &Api<DynamicObject>,
    rollout: &Rollout,
    object: &Value,
    owned: &[Value],
    new: &str,
    now: u64,
) -> Result<Outcome, ControllerError> {
    let bg = rollout
        .blue_green
        .as_ref()
        .expect("called for a blue-green Rollout");
    let api_error = |source| ControllerError::Api {
        name: format!("{}/{}", rollout.namespace, rollout.name),
        source,
    };
    let sets: Vec<ReplicaSet> = owned
        .iter()
        .filter(|rs| !hash_of(rs).is_empty())
        .map(|rs| ReplicaSet {
            hash: hash_of(rs).to_string(),
            replicas: int(rs, "/spec/replicas"),
            available: int(rs, "/status/availableReplicas"),
            deadline: rs
                .pointer(&format!("/metadata/annotations/{DEADLINE_ANNOTATION}"))
                .and_then(Value::as_str)
                .and_then(seconds_of),
        })
        .collect();
    let status = read_status(object);
    let active = object
        .pointer("/status/blueGreen/activeSelector")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let stable = status.stable.clone().unwrap_or_else(|| new.to_string());
    let spec = bluegreen::Spec {
        replicas: rollout.replicas,
        auto_promotion: bg.auto_promotion,
        auto_promotion_seconds: bg.auto_promotion_seconds,
        pre_analysis: bg.pre_analysis.is_some(),
        post_analysis: bg.post_analysis.is_some(),
        scale_down_delay: bg.scale_down_delay,
        abort_scale_down_delay: bg.abort_scale_down_delay,
        paused: rollout.paused,
    };
    // The promotion runs of this template, as they stand (one not created yet is Running).
    let mut messages = Vec::new();
    let mut phase_of = async |which: Promotion| -> Result<StepAnalysis, ControllerError> {
        let configured = match which {
            Promotion::Pre => bg.pre_analysis.is_some(),
            Promotion::Post => bg.post_analysis.is_some(),
        };
        if !configured || status.current.as_deref() != Some(new) || status.abort {
            return Ok(StepAnalysis::Running);
        }
        let run = promotion_run_name(&rollout.name, new, which);
        match crate::runs::advance(client, http(), &rollout.namespace, &run, now).await {
            Ok(state) => {
                if !state.message.is_empty() {
                    messages.push(state.message);
                }
                Ok(match state.phase {
                    Phase::Successful => StepAnalysis::Successful,
                    Phase::Failed | Phase::Error => StepAnalysis::Failed,
                    Phase::Inconclusive => StepAnalysis::Inconclusive,
                    Phase::Running | Phase::Pending => StepAnalysis::Running,
                })
            }
            Err(crate::runs::RunError::Api(kube::Error::Api(e))) if e.code == 404 => {
                Ok(StepAnalysis::Running)
            }
            Err(error) => Err(run_error(rollout, error)),
        }
    };
    let analyses = Analyses {
        pre: phase_of(Promotion::Pre).await?,
        post: phase_of(Promotion::Post).await?,
    };
    let mut decision = bluegreen::decide(&spec, &status, active, new, &sets, analyses, now);
    // The switch happens only if the preview pods pass their smoke checks; a failure
    // aborts like a failed pre-promotion analysis.
    if active.is_some_and(|a| a != new)
        && decision.active == new
        && status.stable.as_deref() != Some(new)
        && let Some(failed) = smoke_gate(client, rollout, object, new).await?
    {
        let mut aborted = status.clone();
        aborted.current = Some(new.to_string());
        aborted.abort = true;
        decision = bluegreen::decide(&spec, &aborted, active, new, &sets, analyses, now);
        decision.message =
            format!("RolloutAborted: smoke checks failed before the switch: {failed}");
    }
    if !messages.is_empty() && decision.phase != "Healthy" {
        decision.message = format!("{}: {}", decision.message, messages.join("; "));
    }
    if let Some(which) = decision.wants_analysis {
        let analysis = match which {
            Promotion::Pre => bg.pre_analysis.as_ref(),
            Promotion::Post => bg.post_analysis.as_ref(),
        }
        .expect("the decision asks only for a configured analysis");
        let kind = match which {
            Promotion::Pre => RunKind::PrePromotion,
            Promotion::Post => RunKind::PostPromotion,
        };
        let run = promotion_run_name(&rollout.name, new, which);
        if let Err(error) =
            crate::runs::ensure(client, rollout, analysis, &run, new, &stable, kind).await
        {
            let error = run_error(rollout, error);
            let status = json!({"status": {
                "phase": "Degraded",
                "message": format!("InvalidSpec: {error}"),
                "observedGeneration": rollout.generation.to_string(),
            }});
            write_status(rollouts, &rollout.name, &status)
                .await
                .map_err(api_error)?;
            return Err(error);
        }
    }
    apply_sizes(sets_api, rollout, new, owned, &decision.sizes)
        .await
        .map_err(api_error)?;
    for rs in owned {
        let hash = hash_of(rs);
        let deadline = if let Some((_, at)) = decision.deadlines.iter().find(|(h, _)| h == hash) {
            Value::from(timestamp(*at))
        } else if decision.clear_deadlines.iter().any(|h| h == hash) {
            Value::Null
        } else {
            continue;
        };
        let name = rs
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        sets_api
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"annotations": {DEADLINE_ANNOTATION: deadline}}}),
                ),
            )
            .await
            .map_err(api_error)?;
    }
    // A `workloadRef` Deployment hands its pods over as with a canary.
    crate::workload::hand_over(client, rollout, owned, new, decision.phase == "Healthy")
        .await
        .map_err(api_error)?;
    point_services(client, rollout, &decision.active, new)
        .await
        .map_err(api_error)?;
    write_status(
        rollouts,
        &rollout.name,
        &status_patch(rollout, &decision, new, owned, now),
    )
    .await
    .map_err(api_error)?;
    Ok(Outcome {
        phase: decision.phase.into(),
        message: decision.message.clone(),
        step: (0, 0),
        weight: if decision.active == new { 100 } else { 0 },
        waiting_for_promote: decision.phase == "Paused" && decision.requeue.is_none(),
        aborted: decision.status.abort,
        current: new.to_string(),
        blue_green: true,
    })
}

/// Points the active Service at `active` and the preview Service at the new pods, marking
/// them managed, as Argo Rollouts does.
async fn point_services(
    client: &kube::Client,
    rollout: &Rollout,
    active: &str,
    new: &str,
) -> Result<(), kube::Error> {
    let bg = rollout
        .blue_green
        .as_ref()
        .expect("called for a blue-green Rollout");
    let services: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &rollout.namespace,
        &resource("", "v1", "Service", "services"),
    );
    let preview = bg.preview_service.as_ref().map(|s| (s, new));
    for (service, hash) in std::iter::once((&bg.active_service, active)).chain(preview) {
        // A Service that does not exist yet is pointed at on a later reconcile (the sync
        // applies it).
        if services.get_opt(service).await?.is_some() {
            point_service(&services, &rollout.name, service, hash).await?;
        }
    }
    Ok(())
}

fn status_patch(
    rollout: &Rollout,
    decision: &bluegreen::Decision,
    new: &str,
    owned: &[Value],
    now: u64,
) -> Value {
    let of = |hash: &str, pointer: &str| -> u32 {
        owned
            .iter()
            .filter(|rs| hash_of(rs) == hash)
            .map(|rs| int(rs, pointer))
            .sum()
    };
    let total: u32 = owned.iter().map(|rs| int(rs, "/status/replicas")).sum();
    let active = decision.active.as_str();
    let mut patch = common_status(
        rollout,
        decision.phase,
        &decision.message,
        &decision.status,
        new,
        now,
    );
    extend(
        &mut patch,
        json!({
            "currentStepIndex": Value::Null,
            "replicas": total,
            "updatedReplicas": of(new, "/status/replicas"),
            // As Argo Rollouts counts them for blue-green: the active ReplicaSet's.
            "readyReplicas": of(active, "/status/readyReplicas"),
            "availableReplicas": of(active, "/status/availableReplicas"),
            "HPAReplicas": of(active, "/status/replicas"),
            "selector": selector_text(rollout, Some(active)),
            "blueGreen": {
                "activeSelector": active,
                "previewSelector": if rollout.blue_green.as_ref().is_some_and(|b| b.preview_service.is_some()) { Value::from(new) } else { Value::Null },
            },
        }),
    );
    patch
}
