//! The `ReplicaSet` controller: keeps `spec.replicas` pods of the template alive and reports
//! how many are ready and available.
//!
//! Pods are created with `generateName: <replicaset>-` and the `ReplicaSet` as controller;
//! surplus pods are deleted in the order the real controller ranks them (unscheduled before
//! scheduled, pending before running, not ready before ready, newest first), so a scale-down
//! never removes a ready pod while an unready one remains. A create the API refuses sets the
//! `ReplicaFailure` condition with the server's message, which Argo CD reports as Degraded.

use serde_json::{Map, Value, json};

use super::events;

use super::{
    CONTROLLER_MANAGER, Ctx, PodName, conditions_of, int_at, is_deleting, name, namespace,
    omit_zero, pod_active, pod_available, pod_from_template, pod_ready, resource, selector_matches,
    str_at, uid, with_status,
};

/// The component name of the replica set controller's events.
const COMPONENT: &str = "replicaset-controller";

/// One pass over every `ReplicaSet`.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(replica_sets) = resource("apps", "replicasets") else {
        return;
    };
    for replica_set in ctx.list(replica_sets) {
        if !is_deleting(&replica_set) {
            sync(ctx, &replica_set);
        }
    }
}

/// The order in which surplus pods go: the cheapest to lose first.
fn deletion_rank(pod: &Value) -> (bool, bool, bool, std::cmp::Reverse<String>) {
    (
        !str_at(pod, "/spec/nodeName").is_empty(),
        str_at(pod, "/status/phase") == "Running",
        pod_ready(pod),
        std::cmp::Reverse(str_at(pod, "/metadata/creationTimestamp").to_owned()),
    )
}

fn sync(ctx: &mut Ctx<'_>, replica_set: &Value) {
    let (Some(pods), Some(replica_sets)) = (resource("", "pods"), resource("apps", "replicasets"))
    else {
        return;
    };
    let ns = namespace(replica_set).to_owned();
    let wanted = int_at(replica_set, "/spec/replicas", 1).max(0);
    let mut active: Vec<Value> = ctx
        .owned(pods, &ns, uid(replica_set))
        .into_iter()
        .filter(pod_active)
        .collect();
    let template = replica_set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut failure: Option<String> = None;
    let count = active.len() as i64;
    if count < wanted {
        let prefix = format!("{}-", name(replica_set));
        for _ in count..wanted {
            let pod = pod_from_template(replica_set, &template, PodName::Generate(&prefix), &[]);
            match ctx.create(pods, &ns, pod, CONTROLLER_MANAGER) {
                Ok(created) => {
                    let message = format!("Created pod: {}", name(&created));
                    events::record(
                        ctx,
                        replica_set,
                        "Normal",
                        "SuccessfulCreate",
                        &message,
                        COMPONENT,
                    );
                    active.push(created);
                }
                Err(error) => {
                    failure = Some(error.to_string());
                    break;
                }
            }
        }
    } else if count > wanted {
        active.sort_by_key(deletion_rank);
        let surplus = (count - wanted) as usize;
        for pod in active.drain(..surplus) {
            events::killing(ctx, &pod);
            ctx.delete(pods, &pod);
            let message = format!("Deleted pod: {}", name(&pod));
            events::record(
                ctx,
                replica_set,
                "Normal",
                "SuccessfulDelete",
                &message,
                COMPONENT,
            );
        }
    }
    let min_ready = int_at(replica_set, "/spec/minReadySeconds", 0);
    let selector = replica_set
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let template_labels = template.pointer("/metadata/labels").cloned();
    let mut status = Map::new();
    status.insert("replicas".into(), active.len().into());
    status.insert(
        "fullyLabeledReplicas".into(),
        active
            .iter()
            .filter(|pod| {
                let labels = pod.pointer("/metadata/labels");
                selector_matches(&selector, labels)
                    && template_labels.as_ref().is_none_or(|wanted| {
                        wanted.as_object().is_none_or(|wanted| {
                            wanted
                                .iter()
                                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                        })
                    })
            })
            .count()
            .into(),
    );
    status.insert(
        "readyReplicas".into(),
        active.iter().filter(|pod| pod_ready(pod)).count().into(),
    );
    status.insert(
        "availableReplicas".into(),
        active
            .iter()
            .filter(|pod| pod_available(pod, min_ready, ctx.now))
            .count()
            .into(),
    );
    status.insert(
        "observedGeneration".into(),
        int_at(replica_set, "/metadata/generation", 1).into(),
    );
    let mut conditions = conditions_of(replica_set);
    match failure {
        Some(message) => super::set_condition(
            &mut conditions,
            json!({"type": "ReplicaFailure", "status": "True",
                   "lastTransitionTime": ctx.now_rfc3339(),
                   "reason": "FailedCreate", "message": message}),
        ),
        None => conditions.retain(|c| str_at(c, "/type") != "ReplicaFailure"),
    }
    if !conditions.is_empty() {
        status.insert("conditions".into(), Value::Array(conditions));
    }
    // `replicas` is always written; the other counters are `omitempty`.
    omit_zero(
        &mut status,
        &["fullyLabeledReplicas", "readyReplicas", "availableReplicas"],
    );
    ctx.update_status(
        replica_sets,
        with_status(replica_set, Value::Object(status)),
        CONTROLLER_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::SimulationConfig;
    use crate::controllers::testing::{Harness, template};

    #[test]
    fn pods_follow_replicas_and_min_ready_seconds_delays_availability() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "apps",
            "replicasets",
            json!({"metadata": {"name": "api"},
                   "spec": {"replicas": 2, "minReadySeconds": 5,
                            "selector": {"matchLabels": {"app": "api"}},
                            "template": template("api", "api:1")}}),
        );
        sim.advance(2);
        let pods = sim.list("", "pods");
        assert_eq!(pods.len(), 2);
        for pod in &pods {
            assert!(
                pod["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("api-")
            );
            assert_eq!(pod["metadata"]["generateName"], "api-");
            assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
            assert_eq!(
                pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
                true
            );
        }
        let status = sim.get("apps", "replicasets", "api")["status"].clone();
        assert_eq!(status["replicas"], 2);
        assert_eq!(status["readyReplicas"], 2);
        assert_eq!(status["fullyLabeledReplicas"], 2);
        assert!(status.get("availableReplicas").is_none(), "{status}");
        sim.advance(6);
        let status = sim.get("apps", "replicasets", "api")["status"].clone();
        assert_eq!(status["availableReplicas"], 2);
        assert_eq!(status["observedGeneration"], 1);
        sim.patch(
            "apps",
            "replicasets",
            "api",
            &json!({"spec": {"replicas": 1}}),
        );
        sim.settle();
        assert_eq!(sim.list("", "pods").len(), 1);
        let status = sim.get("apps", "replicasets", "api")["status"].clone();
        assert_eq!(status["replicas"], 1);
        assert_eq!(status["observedGeneration"], 2);
    }
}
