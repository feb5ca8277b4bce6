//! shipway as the Rollout controller: one reconcile of one `Rollout` against the cluster —
//! read it and its `ReplicaSets`, decide ([`crate::canary::decide`]), create or scale the
//! `ReplicaSets` (`<rollout>-<hash>`, labelled `rollouts-pod-template-hash`), point the
//! stable and canary Services at their pods, and write `Rollout.status` as Argo Rollouts
//! writes it. The engine calls it while it waits for a sync's objects to be healthy, and
//! the controller of `shipway serve` on every tick, so a rollout moves whether shipway runs
//! once in CI or continuously.

use std::fmt::Write as _;

use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::analysis::Phase;
use crate::canary::{self, Decision, PauseCondition, ReplicaSet, Spec, StepAnalysis};
use crate::rollout::Rollout;

/// The label on every `ReplicaSet`, pod and Service selector a Rollout manages.
pub const HASH_LABEL: &str = "rollouts-pod-template-hash";

/// The controller reference a Rollout's `ReplicaSets` and `AnalysisRuns` carry, so they
/// go with it.
pub(crate) fn owner_reference(rollout: &Rollout) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": rollout.name,
        "uid": rollout.uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The providers' HTTP client, made once (reading the system's roots is not free).
pub(crate) fn http() -> &'static crate::providers::Http {
    static HTTP: std::sync::OnceLock<crate::providers::Http> = std::sync::OnceLock::new();
    HTTP.get_or_init(crate::providers::Http::new)
}

pub(crate) fn run_error(rollout: &Rollout, error: crate::runs::RunError) -> ControllerError {
    match error {
        crate::runs::RunError::Api(source) => ControllerError::Api {
            name: format!("{}/{}", rollout.namespace, rollout.name),
            source,
        },
        crate::runs::RunError::Template(message) => {
            ControllerError::Analysis(format!("Rollout {}: analysis: {message}", rollout.name))
        }
    }
}

/// What one reconcile left the Rollout at.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
    pub phase: String,
    /// `status.message`.
    pub message: String,
    /// The step it is on, of how many.
    pub step: (u32, u32),
    /// The weight in force.
    pub weight: u32,
    /// Paused until someone promotes it (an indefinite `pause: {}` or an inconclusive
    /// analysis), as opposed to a timed pause that ends by itself.
    pub waiting_for_promote: bool,
    /// Aborted (by a failed analysis or a user): every pod is back on stable.
    pub aborted: bool,
    /// The template hash the rollout is working on.
    pub current: String,
    /// A blue-green Rollout (`step` is then `(0, 0)` and `weight` 100 once the active
    /// Service is on `current`).
    pub blue_green: bool,
}

/// Why a reconcile could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The Rollout's spec cannot be acted on (also written to its status).
    #[error(transparent)]
    Spec(#[from] crate::rollout::SpecError),
    /// An analysis could not be set up (a missing template, an unresolved argument).
    #[error("{0}")]
    Analysis(String),
    /// An object the Rollout refers to is missing or does not fit it (a stable `Ingress`,
    /// the `workloadRef`'s Deployment); also written to its status as `InvalidSpec`.
    #[error("{0}")]
    Reference(String),
    /// A call to the API server failed.
    #[error("Rollout {name}: {source}")]
    Api {
        /// The Rollout.
        name: String,
        /// The failure.
        source: kube::Error,
    },
}

/// The `ApiResource` of a kind, for dynamic calls without discovery.
pub(crate) fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// `Rollout` (`argoproj.io/v1alpha1`).
pub fn rollout_resource() -> ApiResource {
    resource("argoproj.io", "v1alpha1", "Rollout", "rollouts")
}

/// Our own stable hash of a pod template (Argo Rollouts' FNV-over-Go-JSON changes between
/// its releases): SHA-256 of the template's canonical JSON, 10 hex digits.
pub fn template_hash(template: &Value) -> String {
    let mut text = String::new();
    canonical(template, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::new();
    for byte in &digest[..5] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// An RFC 3339 time as seconds since the epoch.
pub(crate) fn seconds_of(text: &str) -> Option<u64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| u64::try_from(t.as_second()).ok())
}

/// Seconds since the epoch as RFC 3339, as status fields hold times.
pub(crate) fn timestamp(seconds: u64) -> String {
    jiff::Timestamp::from_second(i64::try_from(seconds).unwrap_or(0))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The decision's view of `status`.
pub(crate) fn read_status(object: &Value) -> canary::Status {
    let status = object.get("status").cloned().unwrap_or(Value::Null);
    let text = |field: &str| {
        status
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let flag = |field: &str| status.get(field).and_then(Value::as_bool).unwrap_or(false);
    canary::Status {
        stable: text("stableRS").filter(|s| !s.is_empty()),
        current: text("currentPodHash").filter(|s| !s.is_empty()),
        step: status
            .get("currentStepIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32,
        pauses: status
            .get("pauseConditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| PauseCondition {
                reason: p.get("reason").and_then(Value::as_str).unwrap_or("").into(),
                start: p
                    .get("startTime")
                    .and_then(Value::as_str)
                    .and_then(seconds_of)
                    .unwrap_or(0),
            })
            .collect(),
        controller_pause: flag("controllerPause"),
        abort: flag("abort"),
        promote_full: flag("promoteFull"),
    }
}

pub(crate) fn int(object: &Value, pointer: &str) -> u32 {
    object.pointer(pointer).and_then(Value::as_u64).unwrap_or(0) as u32
}

/// Reconciles the Rollout `namespace/name` once, at `now` (seconds since the epoch).
pub async fn reconcile(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    now: u64,
) -> Result<Outcome, ControllerError> {
    let api_error = |source| ControllerError::Api {
        name: format!("{namespace}/{name}"),
        source,
    };
    let rollouts: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &rollout_resource());
    let object = rollouts.get(name).await.map_err(api_error)?;
    let object = serde_json::to_value(&object).unwrap_or(Value::Null);
    let mut rollout = match Rollout::from_json(&object) {
        Ok(rollout) => rollout,
        Err(error) => {
            let status = json!({"status": {
                "phase": "Degraded",
                "message": format!("InvalidSpec: {error}"),
                "observedGeneration": object.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0).to_string(),
                "conditions": [{"type": "InvalidSpec", "status": "True", "reason": "InvalidSpec",
                    "message": error.to_string(), "lastTransitionTime": timestamp(now), "lastUpdateTime": timestamp(now)}],
            }});
            write_status(&rollouts, name, &status)
                .await
                .map_err(api_error)?;
            return Err(error.into());
        }
    };
    let references = match resolve_references(client, &mut rollout).await {
        Ok(references) => references,
        Err(ControllerError::Reference(message)) => {
            write_status(
                &rollouts,
                name,
                &invalid_spec_status(rollout.generation, &message, now),
            )
            .await
            .map_err(api_error)?;
            return Err(ControllerError::Reference(message));
        }
        Err(error) => return Err(error),
    };
    let new = template_hash(&rollout.template);
    let sets_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("apps", "v1", "ReplicaSet", "replicasets"),
    );
    let selector: Vec<String> = rollout
        .selector
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    let listed = sets_api
        .list(&ListParams::default().labels(&selector.join(",")))
        .await
        .map_err(api_error)?;
    let owned: Vec<Value> = listed
        .items
        .into_iter()
        .map(|rs| serde_json::to_value(&rs).unwrap_or(Value::Null))
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|owners| owners.iter().any(|o| o["uid"] == rollout.uid.as_str()))
        })
        .collect();
    if rollout.blue_green.is_some() {
        // Boxed: the blue-green reconcile's state would double every caller's future.
        return Box::pin(crate::bluegreen_controller::reconcile(
            client, &rollouts, &sets_api, &rollout, &object, &owned, &new, now,
        ))
        .await;
    }
    let sets: Vec<ReplicaSet> = owned
        .iter()
        .filter_map(|rs| {
            Some(ReplicaSet {
                hash: rs
                    .pointer(&format!("/metadata/labels/{HASH_LABEL}"))?
                    .as_str()?
                    .to_string(),
                replicas: int(rs, "/spec/replicas"),
                available: int(rs, "/status/availableReplicas"),
            })
        })
        .collect();
    let (surge, _) = crate::replicas::fenceposts(
        rollout.replicas,
        rollout.canary.max_surge,
        rollout.canary.max_unavailable,
    );
    let spec = Spec {
        replicas: rollout.replicas,
        steps: rollout.canary.steps.clone(),
        surge: surge > 0,
        paused: rollout.paused,
        routed: rollout.canary.routed(),
    };
    let mut status = read_status(&object);
    // Background analysis (`strategy.canary.analysis`): its verdict aborts or pauses before
    // the step decision; see `crate::background`.
    let background = crate::background::before(client, http(), &rollout, &mut status, &new, now)
        .await
        .map_err(|error| run_error(&rollout, error))?;
    let status = status;
    let stable = status.stable.clone().unwrap_or_else(|| new.clone());
    // The current step's analysis run, when the rollout stands at one.
    let analysis_at = |step: u32| {
        rollout
            .canary
            .step_analyses
            .iter()
            .find(|(index, _)| *index == step as usize)
            .map(|(_, analysis)| analysis)
    };
    let mut run_message = String::new();
    let analysis = if status.current.as_deref() == Some(new.as_str())
        && !status.abort
        && analysis_at(status.step).is_some()
    {
        let run = crate::runs::step_run_name(&rollout.name, &new, status.step);
        match crate::runs::advance(client, http(), namespace, &run, now).await {
            Ok(state) => {
                run_message = state.message;
                match state.phase {
                    Phase::Successful => StepAnalysis::Successful,
                    Phase::Failed | Phase::Error => StepAnalysis::Failed,
                    Phase::Inconclusive => StepAnalysis::Inconclusive,
                    Phase::Running | Phase::Pending => StepAnalysis::Running,
                }
            }
            // Not created yet: the decision below asks for it.
            Err(crate::runs::RunError::Api(kube::Error::Api(e))) if e.code == 404 => {
                StepAnalysis::Running
            }
            Err(error) => return Err(run_error(&rollout, error)),
        }
    } else {
        StepAnalysis::Running
    };
    let mut decision = canary::decide(&spec, &status, &new, &sets, analysis, now);
    // A step completes only if the new pods pass their smoke checks; a failure aborts
    // like a failed analysis.
    let before = if status.current.as_deref() == Some(new.as_str()) {
        status.step
    } else {
        0
    };
    let promoting = status.stable.as_deref() != Some(new.as_str())
        && decision.status.stable.as_deref() == Some(new.as_str());
    let has_pods = sets.iter().any(|rs| rs.hash == new && rs.available > 0);
    if status.stable.is_some()
        && has_pods
        && !decision.status.abort
        && (decision.status.step > before || promoting)
        && let Some(failed) = smoke_gate(client, &rollout, &object, &new).await?
    {
        let mut aborted = status.clone();
        aborted.current = Some(new.clone());
        aborted.abort = true;
        decision = canary::decide(&spec, &aborted, &new, &sets, analysis, now);
        decision.message =
            format!("RolloutAborted: smoke checks failed at step {before}: {failed}");
    }
    if !run_message.is_empty() && decision.phase != "Healthy" {
        decision.message = format!("{}: {run_message}", decision.message);
    }
    if decision.wants_step_analysis
        && let Some(analysis) = analysis_at(decision.status.step)
    {
        let run = crate::runs::step_run_name(&rollout.name, &new, decision.status.step);
        if let Err(error) = crate::runs::ensure(
            client,
            &rollout,
            analysis,
            &run,
            &new,
            &stable,
            crate::runs::RunKind::Step(decision.status.step),
        )
        .await
        {
            let error = run_error(&rollout, error);
            let status = json!({"status": {
                "phase": "Degraded",
                "message": format!("InvalidSpec: {error}"),
                "observedGeneration": rollout.generation.to_string(),
            }});
            write_status(&rollouts, name, &status)
                .await
                .map_err(api_error)?;
            return Err(error);
        }
    }
    if let Err(error) = Box::pin(crate::background::after(
        client,
        http(),
        &rollout,
        background.as_ref(),
        &mut decision,
        &new,
        now,
    ))
    .await
    {
        let error = run_error(&rollout, error);
        if let ControllerError::Analysis(message) = &error {
            let status = json!({"status": {
                "phase": "Degraded",
                "message": format!("InvalidSpec: {message}"),
                "observedGeneration": rollout.generation.to_string(),
            }});
            write_status(&rollouts, name, &status)
                .await
                .map_err(api_error)?;
        }
        return Err(error);
    }
    apply_sizes(&sets_api, &rollout, &new, &owned, &decision.sizes)
        .await
        .map_err(api_error)?;
    crate::workload::hand_over(client, &rollout, &owned, &new, decision.phase == "Healthy")
        .await
        .map_err(api_error)?;
    point_services(client, &rollout, &decision, &new)
        .await
        .map_err(api_error)?;
    let mut status = status_patch(&rollout, &decision, &new, &owned, now);
    status["status"]["canary"]["currentBackgroundAnalysisRunStatus"] =
        crate::background::status_of(background.as_ref());
    // A spec that was invalid (a missing Deployment or Ingress) and is no longer.
    if let Some(conditions) = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .filter(|c| c.iter().any(|c| c["type"] == "InvalidSpec"))
    {
        status["status"]["conditions"] = conditions
            .iter()
            .filter(|c| c["type"] != "InvalidSpec")
            .cloned()
            .collect();
    }
    if let Some(generation) = references.workload_generation {
        status["status"]["workloadObservedGeneration"] = generation.to_string().into();
    }
    // With a router, traffic moves only once the canary's pods for it are available (and
    // back at once on an abort or after promotion, when the stable Service holds them).
    if rollout.canary.routed() {
        let canary_size = decision
            .sizes
            .iter()
            .find(|(h, _)| *h == new)
            .map_or(0, |(_, n)| *n);
        let available = sets
            .iter()
            .find(|rs| rs.hash == new)
            .map_or(0, |rs| rs.available);
        let promoted = decision.status.stable.as_deref() == Some(new.as_str());
        // As Argo Rollouts: no traffic to a canary without an available pod (a revision
        // replaced mid-canary included), whatever the step says.
        let weight = if decision.status.abort || promoted || available == 0 {
            Some(0)
        } else if available >= canary_size {
            Some(decision.weight)
        } else {
            None
        };
        if let Some(weight) = weight {
            if let Some((route_namespace, routes)) = &rollout.canary.http_routes {
                let namespace = route_namespace.as_deref().unwrap_or(&rollout.namespace);
                for route in routes {
                    set_route_weights(client, &rollout, namespace, route, weight)
                        .await
                        .map_err(|source| match source {
                            RouteError::Api(source) => api_error(source),
                            RouteError::Missing(message) => ControllerError::Analysis(message),
                        })?;
                }
            }
            if let Some(nginx) = &rollout.canary.nginx {
                crate::nginx::set_weight(
                    client,
                    &rollout,
                    nginx,
                    &references.stable_ingresses,
                    weight,
                )
                .await
                .map_err(|error| match error {
                    crate::nginx::IngressError::Api(source) => api_error(source),
                    crate::nginx::IngressError::Invalid(message) => {
                        ControllerError::Reference(message)
                    }
                })?;
            }
            let stable = decision.status.stable.clone().unwrap_or_default();
            status["status"]["canary"]["weights"] = json!({
                "canary": {"weight": weight, "serviceName": rollout.canary.canary_service, "podTemplateHash": new},
                "stable": {"weight": 100 - weight, "serviceName": rollout.canary.stable_service, "podTemplateHash": stable},
            });
        }
    }
    write_status(&rollouts, name, &status)
        .await
        .map_err(api_error)?;
    Ok(Outcome {
        phase: decision.phase.into(),
        message: decision.message.clone(),
        step: (decision.status.step, spec.steps.len() as u32),
        weight: decision.weight,
        waiting_for_promote: decision.phase == "Paused" && decision.requeue.is_none(),
        aborted: decision.status.abort,
        current: new,
        blue_green: false,
    })
}

/// The Rollout's smoke checks against its Ready pods of template `new`: `Some(why)` when
/// one failed, `None` when they passed or it declares none.
pub(crate) async fn smoke_gate(
    client: &kube::Client,
    rollout: &Rollout,
    object: &Value,
    new: &str,
) -> Result<Option<String>, ControllerError> {
    let checks = crate::smoke::checks_of(object).map_err(|message| {
        ControllerError::Analysis(format!("Rollout {}: {message}", rollout.name))
    })?;
    let Some(checks) = checks else {
        return Ok(None);
    };
    let mut labels: Vec<(String, String)> = rollout
        .selector
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    labels.push((HASH_LABEL.to_string(), new.to_string()));
    let failures = crate::smoke::run_pods(client, &rollout.namespace, &labels, &checks).await;
    Ok((!failures.is_empty()).then(|| failures.join("; ")))
}

/// The objects a Rollout refers to, read before anything is changed.
struct References {
    /// The `workloadRef` Deployment's `metadata.generation`.
    workload_generation: Option<i64>,
    /// The NGINX router's stable `Ingresses`, in `stableIngresses` order.
    stable_ingresses: Vec<Value>,
}

/// Resolves the `workloadRef` into the Rollout's template (and selector) and reads the
/// stable `Ingresses`, as Argo Rollouts does first in a reconcile, so a missing one is an
/// [`ControllerError::Reference`] before any `ReplicaSet` is touched.
async fn resolve_references(
    client: &kube::Client,
    rollout: &mut Rollout,
) -> Result<References, ControllerError> {
    let api_error = |name: &str, source| ControllerError::Api {
        name: name.to_string(),
        source,
    };
    let full_name = format!("{}/{}", rollout.namespace, rollout.name);
    let workload_generation = match rollout.workload_ref.clone() {
        None => None,
        Some(workload) => Some(
            crate::workload::resolve(client, rollout, &workload)
                .await
                .map_err(|error| match error {
                    crate::workload::WorkloadError::Api(source) => api_error(&full_name, source),
                    crate::workload::WorkloadError::Invalid(message) => {
                        ControllerError::Reference(message)
                    }
                })?,
        ),
    };
    let stable_ingresses = match &rollout.canary.nginx {
        None => Vec::new(),
        Some(nginx) => crate::nginx::stable_ingresses(client, rollout, nginx)
            .await
            .map_err(|error| match error {
                crate::nginx::IngressError::Api(source) => api_error(&full_name, source),
                crate::nginx::IngressError::Invalid(message) => ControllerError::Reference(message),
            })?,
    };
    Ok(References {
        workload_generation,
        stable_ingresses,
    })
}

/// The status of a Rollout that cannot be acted on, as Argo Rollouts writes it: Degraded
/// with an `InvalidSpec` condition.
fn invalid_spec_status(generation: i64, message: &str, now: u64) -> Value {
    json!({"status": {
        "phase": "Degraded",
        "message": format!("InvalidSpec: {message}"),
        "observedGeneration": generation.to_string(),
        "conditions": [{"type": "InvalidSpec", "status": "True", "reason": "InvalidSpec",
            "message": message, "lastTransitionTime": timestamp(now), "lastUpdateTime": timestamp(now)}],
    }})
}

/// Why a route's weights could not be set.
enum RouteError {
    Api(kube::Error),
    Missing(String),
}

/// Sets, in every rule of the `HTTPRoute`, the canary Service's backend weight to `weight`
/// and the stable one's to `100 − weight`, as Argo Rollouts' Gateway API plugin does, and
/// labels the route while a canary has traffic.
async fn set_route_weights(
    client: &kube::Client,
    rollout: &Rollout,
    namespace: &str,
    route: &str,
    weight: u32,
) -> Result<(), RouteError> {
    let routes: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    );
    let object = routes
        .get_opt(route)
        .await
        .map_err(RouteError::Api)?
        .ok_or_else(|| {
            RouteError::Missing(format!(
                "Rollout {}: HTTPRoute {namespace}/{route} not found",
                rollout.name
            ))
        })?;
    let mut object = serde_json::to_value(&object).unwrap_or(Value::Null);
    let stable = rollout.canary.stable_service.as_deref().unwrap_or_default();
    let canary = rollout.canary.canary_service.as_deref().unwrap_or_default();
    let mut changed = false;
    for rule in object
        .pointer_mut("/spec/rules")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let refs = rule.get_mut("backendRefs").and_then(Value::as_array_mut);
        let Some(refs) = refs else { continue };
        let names: Vec<&str> = refs.iter().filter_map(|r| r["name"].as_str()).collect();
        if !(names.contains(&stable) && names.contains(&canary)) {
            return Err(RouteError::Missing(format!(
                "Rollout {}: a rule of HTTPRoute {namespace}/{route} needs backendRefs to both `{stable}` and `{canary}`",
                rollout.name
            )));
        }
        for backend in refs.iter_mut() {
            let want = if backend["name"] == canary {
                weight
            } else if backend["name"] == stable {
                100 - weight
            } else {
                continue;
            };
            if backend["weight"].as_u64() != Some(u64::from(want)) {
                backend["weight"] = want.into();
                changed = true;
            }
        }
    }
    let label = object
        .pointer("/metadata/labels/rollouts.argoproj.io~1gatewayapi-canary")
        .is_some();
    if !changed && label == (weight > 0) {
        return Ok(());
    }
    let patch = json!({
        "metadata": {"labels": {"rollouts.argoproj.io/gatewayapi-canary": if weight > 0 { Value::from("in-progress") } else { Value::Null }}},
        "spec": {"rules": object["spec"]["rules"]},
    });
    routes
        .patch(route, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(RouteError::Api)?;
    Ok(())
}

/// Creates the `ReplicaSets` the decision sizes that do not exist, and scales the others.
pub(crate) async fn apply_sizes(
    api: &Api<DynamicObject>,
    rollout: &Rollout,
    new: &str,
    owned: &[Value],
    sizes: &[(String, u32)],
) -> Result<(), kube::Error> {
    let size_of = |hash: &str| sizes.iter().find(|(h, _)| h == hash).map_or(0, |(_, n)| *n);
    let hash_of = |rs: &Value| {
        rs.pointer(&format!("/metadata/labels/{HASH_LABEL}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    for rs in owned {
        let hash = hash_of(rs);
        let want = size_of(&hash);
        if int(rs, "/spec/replicas") != want {
            let name = rs
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": want}})),
            )
            .await?;
        }
    }
    if !owned.iter().any(|rs| hash_of(rs) == new) {
        let revision = owned
            .iter()
            .filter_map(|rs| {
                rs.pointer("/metadata/annotations/rollout.argoproj.io~1revision")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0)
            + 1;
        let mut template = rollout.template.clone();
        template["metadata"]["labels"][HASH_LABEL] = new.into();
        let mut selector = Value::Object(rollout.selector.clone());
        selector[HASH_LABEL] = new.into();
        let mut labels = template["metadata"]["labels"].clone();
        labels[HASH_LABEL] = new.into();
        let manifest = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": format!("{}-{new}", rollout.name),
                "namespace": rollout.namespace,
                "labels": labels,
                "annotations": {
                    "rollout.argoproj.io/revision": revision.to_string(),
                    "rollout.argoproj.io/desired-replicas": rollout.replicas.to_string(),
                },
                "ownerReferences": [crate::controller::owner_reference(rollout)],
            },
            "spec": {
                "replicas": size_of(new),
                "minReadySeconds": rollout.min_ready_seconds,
                "selector": {"matchLabels": selector},
                "template": template,
            },
        });
        let object: DynamicObject =
            serde_json::from_value(manifest).map_err(kube::Error::SerdeError)?;
        api.create(&PostParams::default(), &object).await?;
    }
    Ok(())
}

/// Points `stableService` at the stable pods and `canaryService` at the new ones (at the
/// stable ones when aborted), as Argo Rollouts does, marking them managed.
async fn point_services(
    client: &kube::Client,
    rollout: &Rollout,
    decision: &Decision,
    new: &str,
) -> Result<(), kube::Error> {
    let services: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &rollout.namespace,
        &resource("", "v1", "Service", "services"),
    );
    let stable = decision
        .status
        .stable
        .clone()
        .unwrap_or_else(|| new.to_string());
    let canary = if decision.status.abort {
        stable.clone()
    } else {
        new.to_string()
    };
    for (service, hash) in [
        (&rollout.canary.stable_service, &stable),
        (&rollout.canary.canary_service, &canary),
    ] {
        if let Some(service) = service {
            point_service(&services, &rollout.name, service, hash).await?;
        }
    }
    Ok(())
}

/// Points `service`'s selector at the pods of `hash`, marking it managed by the Rollout,
/// as Argo Rollouts does; one already pointed there is not written again (the controller
/// looks every second).
pub(crate) async fn point_service(
    services: &Api<DynamicObject>,
    rollout: &str,
    service: &str,
    hash: &str,
) -> Result<(), kube::Error> {
    let live = services.get(service).await?;
    let current = live
        .data
        .pointer(&format!("/spec/selector/{HASH_LABEL}"))
        .and_then(Value::as_str);
    let managed = live
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("argo-rollouts.argoproj.io/managed-by-rollouts"))
        .map(String::as_str);
    if current == Some(hash) && managed == Some(rollout) {
        return Ok(());
    }
    let patch = json!({
        "metadata": {"annotations": {"argo-rollouts.argoproj.io/managed-by-rollouts": rollout}},
        "spec": {"selector": {HASH_LABEL: hash}},
    });
    services
        .patch(service, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

fn status_patch(
    rollout: &Rollout,
    decision: &Decision,
    new: &str,
    owned: &[Value],
    now: u64,
) -> Value {
    let sum = |pointer: &str, only_new: bool| -> u32 {
        owned
            .iter()
            .filter(|rs| {
                !only_new
                    || rs
                        .pointer(&format!("/metadata/labels/{HASH_LABEL}"))
                        .and_then(Value::as_str)
                        == Some(new)
            })
            .map(|rs| int(rs, pointer))
            .sum()
    };
    let status = &decision.status;
    let mut patch = common_status(rollout, decision.phase, &decision.message, status, new, now);
    let steps_hash = template_hash(&Value::String(format!("{:?}", rollout.canary.steps)));
    let fields = json!({
        "currentStepIndex": if rollout.canary.steps.is_empty() { Value::Null } else { status.step.into() },
        "currentStepHash": steps_hash,
        "replicas": sum("/status/replicas", false),
        "updatedReplicas": sum("/status/replicas", true),
        "readyReplicas": sum("/status/readyReplicas", false),
        "availableReplicas": sum("/status/availableReplicas", false),
        "HPAReplicas": sum("/status/replicas", false),
        "selector": selector_text(rollout, None),
        "canary": {"weights": Value::Null},
    });
    extend(&mut patch, fields);
    patch
}

/// The `status` fields both strategies write the same way.
pub(crate) fn common_status(
    rollout: &Rollout,
    phase: &str,
    message: &str,
    status: &canary::Status,
    new: &str,
    now: u64,
) -> Value {
    json!({"status": {
        "observedGeneration": rollout.generation.to_string(),
        "phase": phase,
        "message": message,
        "currentPodHash": new,
        "stableRS": status.stable,
        "pauseConditions": if status.pauses.is_empty() {
            Value::Null
        } else {
            status.pauses.iter().map(|p| json!({"reason": p.reason, "startTime": timestamp(p.start)})).collect()
        },
        "controllerPause": status.controller_pause,
        "abort": status.abort,
        "abortedAt": if status.abort { Value::from(timestamp(now)) } else { Value::Null },
        "promoteFull": status.promote_full,
    }})
}

/// Adds the strategy's own `fields` to a [`common_status`] patch.
pub(crate) fn extend(patch: &mut Value, fields: Value) {
    if let (Some(status), Value::Object(fields)) = (patch["status"].as_object_mut(), fields) {
        status.extend(fields);
    }
}

/// `status.selector`: the Rollout's selector (with the hash label of `active` for
/// blue-green), sorted, as `k=v,…`.
pub(crate) fn selector_text(rollout: &Rollout, active: Option<&str>) -> String {
    let mut selector: Vec<String> = rollout
        .selector
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .chain(active.map(|hash| format!("{HASH_LABEL}={hash}")))
        .collect();
    selector.sort();
    selector.join(",")
}

pub(crate) async fn write_status(
    api: &Api<DynamicObject>,
    name: &str,
    patch: &Value,
) -> Result<(), kube::Error> {
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        // Without a status subresource, status is part of the object.
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 405 => api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(|_| ()),
        other => other.map(|_| ()),
    }
}

/// What a user asks of a Rollout, as `kubectl argo-rollouts` does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Past the current pause (or step); `Promote(true)` skips every remaining step.
    Promote(bool),
    /// Everything back on the stable pods.
    Abort,
    /// After an abort: start the steps again.
    Retry,
    /// `spec.paused: true` until promoted.
    Pause,
}

/// Applies `verb` to the Rollout `namespace/name` the way `kubectl argo-rollouts` writes it
/// (so either tool can be used on the same Rollout); the next reconcile acts on it.
pub async fn act(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    verb: Verb,
) -> Result<(), ControllerError> {
    let api_error = |source| ControllerError::Api {
        name: format!("{namespace}/{name}"),
        source,
    };
    let rollouts: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &rollout_resource());
    let object =
        serde_json::to_value(rollouts.get(name).await.map_err(api_error)?).unwrap_or(Value::Null);
    let status = &object["status"];
    let spec_paused = object
        .pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (spec, status_patch) = match verb {
        Verb::Promote(full) => {
            let spec = spec_paused.then(|| json!({"spec": {"paused": false}}));
            let patch = if full {
                json!({"status": {"promoteFull": true, "pauseConditions": null}})
            } else if status["pauseConditions"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
            {
                json!({"status": {"pauseConditions": null}})
            } else {
                // No pause to end: skip the step the rollout is on.
                let steps = object
                    .pointer("/spec/strategy/canary/steps")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len) as u64;
                let next = (status["currentStepIndex"].as_u64().unwrap_or(0) + 1).min(steps);
                json!({"status": {"pauseConditions": null, "currentStepIndex": next}})
            };
            (spec, Some(patch))
        }
        Verb::Abort => (None, Some(json!({"status": {"abort": true}}))),
        Verb::Retry => (None, Some(json!({"status": {"abort": false}}))),
        Verb::Pause => (Some(json!({"spec": {"paused": true}})), None),
    };
    if let Some(spec) = spec {
        rollouts
            .patch(name, &PatchParams::default(), &Patch::Merge(&spec))
            .await
            .map_err(api_error)?;
    }
    if let Some(patch) = status_patch {
        write_status(&rollouts, name, &patch)
            .await
            .map_err(api_error)?;
    }
    Ok(())
}

/// A Rollout's state as `shipway rollout status` shows it: from its status, without
/// reconciling.
pub async fn describe(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Value, ControllerError> {
    let rollouts: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &rollout_resource());
    let object =
        serde_json::to_value(
            rollouts
                .get(name)
                .await
                .map_err(|source| ControllerError::Api {
                    name: format!("{namespace}/{name}"),
                    source,
                })?,
        )
        .unwrap_or(Value::Null);
    let status = &object["status"];
    let steps = object
        .pointer("/spec/strategy/canary/steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let step = status["currentStepIndex"]
        .as_u64()
        .unwrap_or(steps.len() as u64);
    let blue_green = object.pointer("/spec/strategy/blueGreen").is_some();
    let active = status
        .pointer("/blueGreen/activeSelector")
        .and_then(Value::as_str);
    // The weight in force, by the decision's own rule (a Rollout shipway cannot read has
    // none); blue-green sends all of it to the active pods.
    let weight = if blue_green {
        if active.is_some() && active == status["currentPodHash"].as_str() {
            100
        } else {
            0
        }
    } else {
        Rollout::from_json(&object).map_or(0, |r| canary::weight_at(&r.canary.steps, step as u32))
    };
    Ok(json!({
        "rollout": name,
        "namespace": namespace,
        "strategy": if blue_green { "blueGreen" } else { "canary" },
        "active": active,
        "preview": status.pointer("/blueGreen/previewSelector"),
        "phase": status["phase"].as_str().unwrap_or("Unknown"),
        "message": status["message"].as_str().unwrap_or(""),
        "step": step,
        "steps": steps.len(),
        "weight": weight,
        "stable": status["stableRS"],
        "canary": status["currentPodHash"],
        "paused": status["pauseConditions"].as_array().is_some_and(|p| !p.is_empty()) || object.pointer("/spec/paused") == Some(&Value::Bool(true)),
        "aborted": status["abort"].as_bool().unwrap_or(false),
        "replicas": {"desired": object.pointer("/spec/replicas").cloned().unwrap_or(1.into()),
            "updated": status["updatedReplicas"], "available": status["availableReplicas"]},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hashes_ignore_key_order_and_change_with_content() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "w", "image": "web:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "web:1", "name": "w"}]}, "metadata": {"labels": {"app": "web"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        assert_eq!(template_hash(&a).len(), 10);
        let mut c = a.clone();
        c["spec"]["containers"][0]["image"] = "web:2".into();
        assert_ne!(template_hash(&a), template_hash(&c));
    }
}
