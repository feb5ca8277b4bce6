//! The Deployment controller: `ReplicaSets` per pod template, rolling and recreate updates,
//! history cleanup and the status `kubectl rollout status` and Argo CD read.
//!
//! It follows `pkg/controller/deployment` of kube-controller-manager: the new `ReplicaSet`
//! is the one whose template (ignoring `pod-template-hash`) equals the Deployment's, is
//! named `<deployment>-<pod-template-hash>`, and carries the revision annotations; a
//! rolling update scales it up within `maxSurge` and scales old ones down only while
//! `maxUnavailable` allows, reading the `ReplicaSets`' reported availability (so the
//! rollout moves at the pace of pods becoming available, as on a real cluster). Conditions
//! and messages are the real ones, including `ProgressDeadlineExceeded` once
//! `progressDeadlineSeconds` of simulator clock pass without progress.

use serde_json::{Map, Value, json};

use super::events;
use super::{
    CONTROLLER_MANAGER, Ctx, conditions_of, int_at, int_or_percent, is_deleting, name, namespace,
    omit_zero, owner_reference, resource, set_path, str_at, template_hash, uid, with_status,
};
use crate::clock;

/// The label that ties pods and `ReplicaSets` to one template.
pub(crate) const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations a Deployment does not copy to its `ReplicaSets`.
const NOT_COPIED: &[&str] = &[
    REVISION,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision-history",
    DESIRED,
    MAX,
];

/// One pass over every Deployment.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(deployments) = resource("apps", "deployments") else {
        return;
    };
    for deployment in ctx.list(deployments) {
        if !is_deleting(&deployment) {
            sync(ctx, &deployment);
        }
    }
}

/// The template with the hash label removed, for comparing a `ReplicaSet` to a Deployment.
fn bare_template(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        if labels.is_empty()
            && let Some(metadata) = template.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.remove("labels");
        }
    }
    template
}

fn revision_of(object: &Value) -> i64 {
    super::annotation(object, REVISION).parse().unwrap_or(0)
}

fn spec_replicas(object: &Value) -> i64 {
    int_at(object, "/spec/replicas", 1)
}

fn status_count(object: &Value, field: &str) -> i64 {
    int_at(object, &format!("/status/{field}"), 0)
}

/// What the rollout rules need from the Deployment's spec.
struct Strategy {
    rolling: bool,
    max_surge: i64,
    max_unavailable: i64,
}

impl Strategy {
    fn of(deployment: &Value, replicas: i64) -> Self {
        let rolling = str_at(deployment, "/spec/strategy/type") != "Recreate";
        if !rolling {
            return Self {
                rolling,
                max_surge: 0,
                max_unavailable: 0,
            };
        }
        let rolling_update = deployment.pointer("/spec/strategy/rollingUpdate");
        let field = |key: &str| rolling_update.and_then(|r| r.get(key));
        let max_surge = int_or_percent(field("maxSurge"), "25%", replicas, true);
        let mut max_unavailable = int_or_percent(field("maxUnavailable"), "25%", replicas, false);
        if max_surge == 0 && max_unavailable == 0 {
            // Validation forbids both zero; the controller's helper also forces one.
            max_unavailable = 1;
        }
        Self {
            rolling,
            max_surge,
            max_unavailable: max_unavailable.min(replicas),
        }
    }
}

fn sync(ctx: &mut Ctx<'_>, deployment: &Value) {
    let Some(replica_sets) = resource("apps", "replicasets") else {
        return;
    };
    let Some(deployments) = resource("apps", "deployments") else {
        return;
    };
    let ns = namespace(deployment).to_owned();
    let replicas = spec_replicas(deployment);
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let strategy = Strategy::of(deployment, replicas);
    let paused = deployment
        .pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut owned = ctx.owned(replica_sets, &ns, uid(deployment));
    owned.sort_by(|a, b| {
        (str_at(a, "/metadata/creationTimestamp"), name(a))
            .cmp(&(str_at(b, "/metadata/creationTimestamp"), name(b)))
    });
    let bare = bare_template(&template);
    let new_index = owned.iter().position(|rs| {
        rs.get("spec")
            .and_then(|spec| spec.get("template"))
            .is_some_and(|t| bare_template(t) == bare)
    });
    let max_old_revision = owned
        .iter()
        .enumerate()
        .filter(|(index, _)| Some(*index) != new_index)
        .map(|(_, rs)| revision_of(rs))
        .max()
        .unwrap_or(0);
    let mut progressing: Option<(&'static str, String)> = None;
    let mut new_rs = new_index.map(|index| owned.remove(index));
    let mut old = owned;

    // The new ReplicaSet: created on a template change, kept in step with the Deployment.
    if !paused {
        let revision = match &new_rs {
            Some(rs) if revision_of(rs) > max_old_revision => revision_of(rs),
            _ => max_old_revision + 1,
        };
        let old_pods: i64 = old.iter().map(|rs| status_count(rs, "replicas")).sum();
        let initial = if strategy.rolling {
            let all: i64 = old.iter().map(spec_replicas).sum();
            (replicas + strategy.max_surge - all).clamp(0, replicas)
        } else if old.iter().map(spec_replicas).sum::<i64>() == 0 && old_pods == 0 {
            replicas
        } else {
            0
        };
        match new_rs.take() {
            None => {
                let created = create_replica_set(
                    ctx, deployment, &template, revision, initial, &strategy, replicas,
                );
                if let Some(created) = created {
                    progressing = Some((
                        "NewReplicaSetCreated",
                        format!("Created new replica set \"{}\"", name(&created)),
                    ));
                    new_rs = Some(created);
                }
            }
            Some(rs) => {
                let mut next = rs.clone();
                let annotations = annotations_for(deployment, revision, &strategy, replicas);
                let metadata_annotations = next
                    .pointer("/metadata/annotations")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let mut merged = metadata_annotations;
                for (key, value) in annotations {
                    merged.insert(key, value);
                }
                set_path(
                    &mut next,
                    &["metadata", "annotations"],
                    Value::Object(merged),
                );
                set_path(
                    &mut next,
                    &["spec", "minReadySeconds"],
                    int_at(deployment, "/spec/minReadySeconds", 0).into(),
                );
                if next != rs {
                    ctx.update(replica_sets, next.clone(), CONTROLLER_MANAGER);
                }
                new_rs = Some(next);
            }
        }
    }

    // Scaling: the strategy decides how far the new ReplicaSet grows and the old shrink.
    if !paused && let Some(new) = new_rs.as_mut() {
        if strategy.rolling {
            rolling_update(ctx, replicas, &strategy, new, &mut old);
        } else {
            recreate(ctx, replicas, new, &mut old);
        }
    }
    cleanup_history(ctx, deployment, &old);
    write_status(
        ctx,
        deployments,
        deployment,
        new_rs.as_ref(),
        &strategy,
        paused,
        progressing,
    );
}

fn annotations_for(
    deployment: &Value,
    revision: i64,
    strategy: &Strategy,
    replicas: i64,
) -> Map<String, Value> {
    let mut annotations: Map<String, Value> = deployment
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    annotations.retain(|key, _| !NOT_COPIED.contains(&key.as_str()));
    annotations.insert(REVISION.into(), revision.to_string().into());
    annotations.insert(DESIRED.into(), replicas.to_string().into());
    annotations.insert(
        MAX.into(),
        (replicas + strategy.max_surge).to_string().into(),
    );
    annotations
}

fn create_replica_set(
    ctx: &mut Ctx<'_>,
    deployment: &Value,
    template: &Value,
    revision: i64,
    initial: i64,
    strategy: &Strategy,
    replicas: i64,
) -> Option<Value> {
    let replica_sets = resource("apps", "replicasets")?;
    let collisions = int_at(deployment, "/status/collisionCount", 0);
    let hash = template_hash(template, collisions);
    let mut template = template.clone();
    set_path(
        &mut template,
        &["metadata", "labels", HASH_LABEL],
        hash.clone().into(),
    );
    let mut selector = deployment
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    set_path(
        &mut selector,
        &["matchLabels", HASH_LABEL],
        hash.clone().into(),
    );
    let labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let replica_set = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", name(deployment)),
            "namespace": namespace(deployment),
            "labels": labels,
            "annotations": annotations_for(deployment, revision, strategy, replicas),
            "ownerReferences": owner_reference(deployment),
        },
        "spec": {
            "replicas": initial,
            "minReadySeconds": int_at(deployment, "/spec/minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    });
    let ns = namespace(deployment).to_owned();
    let created = ctx
        .create(replica_sets, &ns, replica_set, CONTROLLER_MANAGER)
        .ok()?;
    if initial > 0 {
        let message = format!(
            "Scaled up replica set {} from 0 to {initial}",
            name(&created)
        );
        events::record(
            ctx,
            deployment,
            "Normal",
            "ScalingReplicaSet",
            &message,
            COMPONENT,
        );
    }
    Some(created)
}

/// The component name of the deployment controller's events.
const COMPONENT: &str = "deployment-controller";

/// Writes a `ReplicaSet`'s `spec.replicas` (and the scale annotation) when it changes.
fn scale(ctx: &mut Ctx<'_>, replica_set: &mut Value, replicas: i64) {
    if spec_replicas(replica_set) == replicas && replica_set.pointer("/spec/replicas").is_some() {
        return;
    }
    let Some(replica_sets) = resource("apps", "replicasets") else {
        return;
    };
    let before = spec_replicas(replica_set);
    let mut next = replica_set.clone();
    set_path(&mut next, &["spec", "replicas"], replicas.into());
    if let Some(written) = ctx.update(replica_sets, next, CONTROLLER_MANAGER) {
        // The event is about the owning Deployment, which the owner reference names.
        let owner = written
            .pointer("/metadata/ownerReferences/0")
            .cloned()
            .unwrap_or_default();
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": str_at(&owner, "/name"), "namespace": namespace(&written),
                "uid": str_at(&owner, "/uid")}});
        let direction = if replicas > before { "up" } else { "down" };
        let message = format!(
            "Scaled {direction} replica set {} from {before} to {replicas}",
            name(&written)
        );
        events::record(
            ctx,
            &deployment,
            "Normal",
            "ScalingReplicaSet",
            &message,
            COMPONENT,
        );
        *replica_set = written;
    }
}

fn rolling_update(
    ctx: &mut Ctx<'_>,
    replicas: i64,
    strategy: &Strategy,
    new: &mut Value,
    old: &mut [Value],
) {
    // reconcileNewReplicaSet.
    let new_replicas = spec_replicas(new);
    if new_replicas > replicas {
        scale(ctx, new, replicas);
    } else if new_replicas < replicas {
        let all: i64 = spec_replicas(new) + old.iter().map(spec_replicas).sum::<i64>();
        let max_total = replicas + strategy.max_surge;
        if all < max_total {
            let up = (max_total - all).min(replicas - new_replicas);
            scale(ctx, new, new_replicas + up);
        }
    }
    // reconcileOldReplicaSets.
    let old_count: i64 = old.iter().map(spec_replicas).sum();
    if old_count == 0 {
        return;
    }
    let all: i64 = spec_replicas(new) + old_count;
    let min_available = replicas - strategy.max_unavailable;
    let new_unavailable = (spec_replicas(new) - status_count(new, "availableReplicas")).max(0);
    let mut max_scaled_down = all - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // First the old replicas that are not available anyway (cleanupUnhealthyReplicas).
    for rs in old.iter_mut() {
        if max_scaled_down <= 0 {
            break;
        }
        let unhealthy = spec_replicas(rs) - status_count(rs, "availableReplicas");
        if unhealthy <= 0 {
            continue;
        }
        let down = unhealthy.min(max_scaled_down).min(spec_replicas(rs));
        let target = spec_replicas(rs) - down;
        scale(ctx, rs, target);
        max_scaled_down -= down;
    }
    // Then available ones, while the total stays above the minimum.
    let available: i64 = status_count(new, "availableReplicas")
        + old
            .iter()
            .map(|rs| status_count(rs, "availableReplicas"))
            .sum::<i64>();
    if available <= min_available {
        return;
    }
    let mut to_scale = (available - min_available).min(max_scaled_down.max(0));
    for rs in old.iter_mut() {
        if to_scale <= 0 {
            break;
        }
        let current = spec_replicas(rs);
        if current == 0 {
            continue;
        }
        let down = current.min(to_scale);
        scale(ctx, rs, current - down);
        to_scale -= down;
    }
}

fn recreate(ctx: &mut Ctx<'_>, replicas: i64, new: &mut Value, old: &mut [Value]) {
    for rs in old.iter_mut() {
        scale(ctx, rs, 0);
    }
    // The new pods start only once every old pod is gone.
    let Some(pods) = resource("", "pods") else {
        return;
    };
    let old_pods = old
        .iter()
        .any(|rs| !ctx.owned(pods, namespace(rs), uid(rs)).is_empty());
    if !old_pods {
        scale(ctx, new, replicas);
    }
}

/// Deletes the oldest scaled-down `ReplicaSets` beyond `revisionHistoryLimit`.
fn cleanup_history(ctx: &mut Ctx<'_>, deployment: &Value, old: &[Value]) {
    let Some(replica_sets) = resource("apps", "replicasets") else {
        return;
    };
    let limit = int_at(deployment, "/spec/revisionHistoryLimit", 10).max(0) as usize;
    let mut idle: Vec<&Value> = old
        .iter()
        .filter(|rs| spec_replicas(rs) == 0 && status_count(rs, "replicas") == 0)
        .collect();
    if idle.len() <= limit {
        return;
    }
    idle.sort_by_key(|rs| revision_of(rs));
    let excess = idle.len() - limit;
    for rs in idle.into_iter().take(excess) {
        ctx.delete(replica_sets, rs);
    }
}

fn write_status(
    ctx: &mut Ctx<'_>,
    deployments: &'static crate::resources::ResourceType,
    deployment: &Value,
    new: Option<&Value>,
    strategy: &Strategy,
    paused: bool,
    created: Option<(&'static str, String)>,
) {
    // Re-read: scaling above may have changed the ReplicaSets' specs.
    let Some(replica_sets) = resource("apps", "replicasets") else {
        return;
    };
    let ns = namespace(deployment).to_owned();
    let all: Vec<Value> = ctx.owned(replica_sets, &ns, uid(deployment));
    let sum = |field: &str| -> i64 { all.iter().map(|rs| status_count(rs, field)).sum() };
    let replicas = spec_replicas(deployment);
    let new_name = new.map(|rs| name(rs).to_owned());
    let new_now = new_name
        .as_ref()
        .and_then(|wanted| all.iter().find(|rs| name(rs) == wanted));
    let total_spec: i64 = all.iter().map(spec_replicas).sum();
    let available = sum("availableReplicas");
    let mut status = Map::new();
    status.insert(
        "observedGeneration".into(),
        int_at(deployment, "/metadata/generation", 1).into(),
    );
    status.insert("replicas".into(), sum("replicas").into());
    status.insert(
        "updatedReplicas".into(),
        new_now.map_or(0, |rs| status_count(rs, "replicas")).into(),
    );
    status.insert("readyReplicas".into(), sum("readyReplicas").into());
    status.insert("availableReplicas".into(), available.into());
    status.insert(
        "unavailableReplicas".into(),
        (total_spec - available).max(0).into(),
    );
    if let Some(collisions) = deployment.pointer("/status/collisionCount") {
        status.insert("collisionCount".into(), collisions.clone());
    }
    let now = ctx.now_rfc3339();
    let mut conditions = conditions_of(deployment);
    let condition = |kind: &str, state: &str, reason: &str, message: String| {
        json!({"type": kind, "status": state, "lastUpdateTime": now,
               "lastTransitionTime": now, "reason": reason, "message": message})
    };
    // Available.
    let min_available = replicas - strategy.max_unavailable;
    let available_condition = if available >= min_available {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
        )
    };
    super::set_condition(&mut conditions, available_condition);
    // Progressing.
    let current = conditions
        .iter()
        .find(|c| str_at(c, "/type") == "Progressing")
        .cloned();
    let current_reason = current.as_ref().map_or("", |c| str_at(c, "/reason"));
    let rs_label = new_name.clone().unwrap_or_default();
    if paused {
        super::set_condition(
            &mut conditions,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
            ),
        );
    } else if current_reason == "DeploymentPaused" {
        super::set_condition(
            &mut conditions,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
            ),
        );
    } else if let Some((reason, message)) = created {
        replace_progressing(
            &mut conditions,
            condition("Progressing", "True", reason, message),
        );
    } else {
        let counter = |key: &str| status.get(key).and_then(Value::as_i64).unwrap_or(0);
        let updated = counter("updatedReplicas");
        let complete_already =
            counter("replicas") == updated && current_reason == "NewReplicaSetAvailable";
        let complete =
            updated == replicas && counter("replicas") == replicas && available == replicas;
        let old_updated = status_count(deployment, "updatedReplicas");
        let old_old = status_count(deployment, "replicas") - old_updated;
        let progressed = updated > old_updated
            || counter("replicas") - updated < old_old
            || counter("readyReplicas") > status_count(deployment, "readyReplicas")
            || available > status_count(deployment, "availableReplicas");
        if !complete_already {
            if complete {
                let message = if rs_label.is_empty() {
                    format!(
                        "Deployment \"{}\" has successfully progressed.",
                        name(deployment)
                    )
                } else {
                    format!("ReplicaSet \"{rs_label}\" has successfully progressed.")
                };
                replace_progressing(
                    &mut conditions,
                    condition("Progressing", "True", "NewReplicaSetAvailable", message),
                );
            } else if progressed {
                replace_progressing(
                    &mut conditions,
                    condition(
                        "Progressing",
                        "True",
                        "ReplicaSetUpdated",
                        format!("ReplicaSet \"{rs_label}\" is progressing."),
                    ),
                );
            } else if current.is_none() && !rs_label.is_empty() {
                replace_progressing(
                    &mut conditions,
                    condition(
                        "Progressing",
                        "True",
                        "FoundNewReplicaSet",
                        format!("Found new replica set \"{rs_label}\""),
                    ),
                );
            } else if timed_out(ctx, deployment, current.as_ref()) {
                super::set_condition(
                    &mut conditions,
                    condition(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        format!("ReplicaSet \"{rs_label}\" has timed out progressing."),
                    ),
                );
            }
        }
    }
    status.insert("conditions".into(), Value::Array(conditions));
    omit_zero(
        &mut status,
        &[
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ],
    );
    let mut next = with_status(deployment, Value::Object(status));
    // The revision annotation is written through /status, as the real controller does
    // (it is not a spec change, so it must not bump the generation).
    if let Some(rs) = new_now {
        let revision = super::annotation(rs, REVISION).to_owned();
        if !revision.is_empty() {
            set_path(
                &mut next,
                &["metadata", "annotations", REVISION],
                revision.into(),
            );
        }
    }
    ctx.update_status(deployments, next, CONTROLLER_MANAGER);
}

/// Replaces the Progressing condition, refreshing `lastUpdateTime` and keeping
/// `lastTransitionTime` while the status stays the same (what the controller's
/// remove-then-set does on every bit of progress).
fn replace_progressing(conditions: &mut Vec<Value>, mut condition: Value) {
    if let Some(current) = conditions
        .iter()
        .find(|c| str_at(c, "/type") == "Progressing")
        && str_at(current, "/status") == str_at(&condition, "/status")
        && let Some(since) = current.get("lastTransitionTime")
    {
        set_path(&mut condition, &["lastTransitionTime"], since.clone());
    }
    conditions.retain(|c| str_at(c, "/type") != "Progressing");
    conditions.push(condition);
}

/// Whether `progressDeadlineSeconds` passed since the Progressing condition last moved.
fn timed_out(ctx: &Ctx<'_>, deployment: &Value, current: Option<&Value>) -> bool {
    if !ctx.state.config.progress_deadlines {
        return false;
    }
    let Some(current) = current else {
        return false;
    };
    match str_at(current, "/reason") {
        "NewReplicaSetAvailable" => return false,
        "ProgressDeadlineExceeded" => return true,
        _ => {}
    }
    let deadline = int_at(deployment, "/spec/progressDeadlineSeconds", 600);
    let Some(from) = clock::parse_rfc3339(str_at(current, "/lastUpdateTime")) else {
        return false;
    };
    // Saturating: a deadline near `i64::MAX` means never, not an overflow.
    deadline >= 0 && ctx.now > from.saturating_add(deadline as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::controllers::testing::{Harness, template};
    use crate::controllers::{SimulationConfig, pod_ready, str_at};

    fn deployment(name: &str, replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name},
               "spec": {"replicas": replicas,
                        "selector": {"matchLabels": {"app": name}},
                        "template": template(name, image)}})
    }

    fn condition<'a>(object: &'a Value, kind: &str) -> &'a Value {
        object["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == kind))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn a_deployment_becomes_available_with_its_counters() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create("apps", "deployments", deployment("web", 3, "nginx:1.27"));
        sim.settle();
        let rs = sim.list("apps", "replicasets");
        assert_eq!(rs.len(), 1);
        let hash = rs[0]["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap();
        assert_eq!(rs[0]["metadata"]["name"], format!("web-{hash}"));
        assert_eq!(
            rs[0]["spec"]["selector"]["matchLabels"]["pod-template-hash"],
            hash
        );
        assert_eq!(
            rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );
        assert_eq!(
            rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"],
            "4"
        );
        assert_eq!(
            rs[0]["metadata"]["ownerReferences"][0]["kind"],
            "Deployment"
        );
        let live = sim.get("apps", "deployments", "web");
        assert_eq!(
            condition(&live, "Progressing")["reason"],
            "ReplicaSetUpdated"
        );
        assert_eq!(condition(&live, "Available")["status"], "False");
        assert_eq!(live["status"]["unavailableReplicas"], 3);
        assert!(
            live["status"].get("availableReplicas").is_none(),
            "zero is omitted"
        );
        sim.advance(3);
        let live = sim.get("apps", "deployments", "web");
        let status = &live["status"];
        assert_eq!(status["observedGeneration"], 1);
        for field in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            assert_eq!(status[field], 3, "{field}: {status}");
        }
        assert!(status.get("unavailableReplicas").is_none());
        assert_eq!(
            condition(&live, "Available")["reason"],
            "MinimumReplicasAvailable"
        );
        assert_eq!(
            condition(&live, "Progressing")["message"],
            format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
        );
        assert_eq!(
            live["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );
        assert_eq!(
            live["metadata"]["generation"], 1,
            "the revision is not a spec change"
        );
        let pods = sim.list("", "pods");
        assert_eq!(pods.len(), 3);
        assert!(pods.iter().all(pod_ready));
    }

    #[test]
    fn a_rolling_update_stays_within_surge_and_unavailability() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut object = deployment("web", 3, "nginx:1.27");
        object["spec"]["strategy"] = json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
        sim.create("apps", "deployments", object);
        sim.advance(3);
        sim.patch(
            "apps",
            "deployments",
            "web",
            &json!({"spec": {"template": {"spec": {"containers": [
                {"name": "main", "image": "nginx:1.28", "ports": [{"containerPort": 8080}]}]}}}}),
        );
        let mut seen_ready_new = false;
        for _ in 0..40 {
            sim.store.advance_clock(1);
            for _ in 0..50 {
                let writes = super::super::reconcile_pass(&mut sim.store, &mut sim.state);
                let pods = sim.list("", "pods");
                assert!(pods.len() <= 4, "surge exceeded: {} pods", pods.len());
                let ready = pods.iter().filter(|p| pod_ready(p)).count();
                assert!(ready >= 3, "only {ready} ready");
                seen_ready_new |= pods
                    .iter()
                    .any(|p| pod_ready(p) && p["spec"]["containers"][0]["image"] == "nginx:1.28");
                if writes == 0 {
                    break;
                }
            }
        }
        assert!(seen_ready_new);
        let live = sim.get("apps", "deployments", "web");
        assert_eq!(live["status"]["updatedReplicas"], 3);
        assert_eq!(live["status"]["replicas"], 3);
        assert_eq!(
            live["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "2"
        );
        assert_eq!(
            condition(&live, "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
        let sets = sim.list("apps", "replicasets");
        assert_eq!(sets.len(), 2, "the old ReplicaSet is kept as history");
        let pods = sim.list("", "pods");
        assert!(
            pods.iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
        );
    }

    #[test]
    fn a_missing_image_exceeds_the_progress_deadline() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut object = deployment("web", 2, "registry.example/web:does-not-exist");
        object["spec"]["progressDeadlineSeconds"] = 30.into();
        sim.create("apps", "deployments", object);
        sim.advance(20);
        let live = sim.get("apps", "deployments", "web");
        assert_eq!(condition(&live, "Progressing")["status"], "True");
        let pod = &sim.list("", "pods")[0];
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ImagePullBackOff"
        );
        sim.advance(15);
        let live = sim.get("apps", "deployments", "web");
        let progressing = condition(&live, "Progressing");
        assert_eq!(progressing["status"], "False");
        assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
        assert!(str_at(progressing, "/message").ends_with("has timed out progressing."));
    }

    #[test]
    fn recreate_removes_old_pods_first_and_history_is_trimmed() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut object = deployment("web", 2, "nginx:1");
        object["spec"]["strategy"] = json!({"type": "Recreate"});
        object["spec"]["revisionHistoryLimit"] = 1.into();
        sim.create("apps", "deployments", object);
        sim.advance(2);
        for image in ["nginx:2", "nginx:3"] {
            sim.patch(
                "apps",
                "deployments",
                "web",
                &json!({"spec": {"template": {"spec": {"containers": [
                    {"name": "main", "image": image}]}}}}),
            );
            sim.settle();
            let pods = sim.list("", "pods");
            let images: Vec<&str> = pods
                .iter()
                .map(|p| str_at(p, "/spec/containers/0/image"))
                .collect();
            assert!(images.iter().all(|i| *i == image), "mixed pods: {images:?}");
            sim.advance(2);
        }
        assert_eq!(sim.list("apps", "replicasets").len(), 2);
        let live = sim.get("apps", "deployments", "web");
        assert_eq!(live["status"]["availableReplicas"], 2);
        assert_eq!(
            live["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "3"
        );
    }

    #[test]
    fn paused_deployments_do_not_roll_and_deletion_cascades() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create("apps", "deployments", deployment("web", 2, "nginx:1"));
        sim.advance(2);
        sim.patch(
            "apps",
            "deployments",
            "web",
            &json!({"spec": {"paused": true,
            "template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}}),
        );
        sim.advance(2);
        assert_eq!(sim.list("apps", "replicasets").len(), 1);
        let live = sim.get("apps", "deployments", "web");
        assert_eq!(
            condition(&live, "Progressing")["reason"],
            "DeploymentPaused"
        );
        let deployments = crate::controllers::resource("apps", "deployments").unwrap();
        sim.store
            .delete(
                deployments,
                Some("default"),
                "web",
                &crate::store::DeleteOptions::default(),
            )
            .unwrap();
        assert!(sim.list("apps", "replicasets").is_empty());
        assert!(sim.list("", "pods").is_empty());
    }
}
