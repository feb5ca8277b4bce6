//! The `DaemonSet` controller: one pod per Ready node that fits the template's
//! `nodeSelector`, rolled out one node at a time.
//!
//! Like the real controller, each pod names its node through required node affinity on
//! `metadata.name` and the scheduler binds it there. Pods carry `controller-revision-hash`
//! (the template's hash) and `pod-template-generation`; a `RollingUpdate` (the default,
//! `maxUnavailable` 1) replaces pods of an older hash while no more than `maxUnavailable`
//! are unavailable, and `OnDelete` leaves replacement to whoever deletes the pods. Pods on
//! nodes that no longer fit are deleted (and counted as misscheduled until then).

use serde_json::{Map, Value, json};

use super::kubelet::affinity_node_names;
use super::statefulset::REVISION_LABEL;
use super::{
    CONTROLLER_MANAGER, Ctx, PodName, int_at, int_or_percent, is_deleting, name, namespace,
    pod_active, pod_available, pod_from_template, pod_ready, resource, set_path, str_at,
    template_hash, uid, with_status,
};

/// One pass over every `DaemonSet`.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(sets) = resource("apps", "daemonsets") else {
        return;
    };
    for set in ctx.list(sets) {
        if !is_deleting(&set) {
            sync(ctx, &set);
        }
    }
}

/// The node a daemon pod is for: where it runs, or where its affinity sends it.
fn node_of(pod: &Value) -> String {
    match str_at(pod, "/spec/nodeName") {
        "" => affinity_node_names(pod)
            .and_then(|names| names.into_iter().next())
            .unwrap_or_default(),
        node => node.to_owned(),
    }
}

/// Ready nodes matching the template's `nodeSelector`.
fn eligible_nodes(ctx: &Ctx<'_>, template: &Value) -> Vec<String> {
    let Some(nodes) = resource("", "nodes") else {
        return Vec::new();
    };
    let selector = template
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object);
    ctx.store
        .objects_of(nodes, None)
        .filter(|node| super::condition_true(node, "Ready") && !is_deleting(node))
        .filter(|node| {
            selector.is_none_or(|selector| {
                selector.iter().all(|(key, value)| {
                    node.pointer("/metadata/labels").and_then(|l| l.get(key)) == Some(value)
                })
            })
        })
        .map(|node| name(node).to_owned())
        .collect()
}

fn sync(ctx: &mut Ctx<'_>, set: &Value) {
    let (Some(pods), Some(sets)) = (resource("", "pods"), resource("apps", "daemonsets")) else {
        return;
    };
    let ns = namespace(set).to_owned();
    let template = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = template_hash(&template, int_at(set, "/status/collisionCount", 0));
    let generation = int_at(set, "/metadata/generation", 1);
    let nodes = eligible_nodes(ctx, &template);
    let min_ready = int_at(set, "/spec/minReadySeconds", 0);
    let owned = |ctx: &Ctx<'_>| -> Vec<Value> {
        ctx.owned(pods, &ns, uid(set))
            .into_iter()
            .filter(pod_active)
            .collect()
    };
    let existing = owned(ctx);
    let prefix = format!("{}-", name(set));
    for node in &nodes {
        let on_node: Vec<&Value> = existing.iter().filter(|p| node_of(p) == *node).collect();
        if on_node.is_empty() {
            let mut pod = pod_from_template(
                set,
                &template,
                PodName::Generate(&prefix),
                &[
                    (REVISION_LABEL, hash.clone()),
                    ("pod-template-generation", generation.to_string()),
                ],
            );
            set_path(
                &mut pod,
                &["spec", "affinity", "nodeAffinity"],
                json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}),
            );
            let _ = ctx.create(pods, &ns, pod, CONTROLLER_MANAGER);
        }
        for extra in on_node.iter().skip(1) {
            ctx.delete(pods, extra);
        }
    }
    let misscheduled: Vec<&Value> = existing
        .iter()
        .filter(|p| !nodes.contains(&node_of(p)))
        .collect();
    for pod in &misscheduled {
        ctx.delete(pods, pod);
    }
    let rolling = str_at(set, "/spec/updateStrategy/type") != "OnDelete";
    if rolling {
        let max_unavailable = int_or_percent(
            set.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
            "1",
            nodes.len() as i64,
            false,
        )
        .max(1);
        let current = owned(ctx);
        let unavailable = nodes
            .iter()
            .filter(|node| {
                !current
                    .iter()
                    .any(|p| node_of(p) == **node && pod_available(p, min_ready, ctx.now))
            })
            .count() as i64;
        let budget = (max_unavailable - unavailable).max(0) as usize;
        let stale: Vec<&Value> = current
            .iter()
            .filter(|p| str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) != hash)
            .collect();
        for pod in stale.into_iter().take(budget) {
            ctx.delete(pods, pod);
        }
    }
    let current = owned(ctx);
    let scheduled_nodes = nodes
        .iter()
        .filter(|node| current.iter().any(|p| node_of(p) == **node))
        .count();
    let on_nodes: Vec<&Value> = current
        .iter()
        .filter(|p| nodes.contains(&node_of(p)))
        .collect();
    let ready = on_nodes.iter().filter(|p| pod_ready(p)).count();
    let available = on_nodes
        .iter()
        .filter(|p| pod_available(p, min_ready, ctx.now))
        .count();
    let updated = on_nodes
        .iter()
        .filter(|p| str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) == hash)
        .count();
    let mut status = Map::new();
    status.insert("currentNumberScheduled".into(), scheduled_nodes.into());
    status.insert("desiredNumberScheduled".into(), nodes.len().into());
    status.insert(
        "numberMisscheduled".into(),
        (current.len() - on_nodes.len()).into(),
    );
    status.insert("numberReady".into(), ready.into());
    status.insert("numberAvailable".into(), available.into());
    status.insert(
        "numberUnavailable".into(),
        nodes.len().saturating_sub(available).into(),
    );
    status.insert("observedGeneration".into(), generation.into());
    status.insert("updatedNumberScheduled".into(), updated.into());
    // The first four counters are always written; the rest are `omitempty`.
    super::omit_zero(
        &mut status,
        &[
            "numberAvailable",
            "numberUnavailable",
            "updatedNumberScheduled",
        ],
    );
    ctx.update_status(
        sets,
        with_status(set, Value::Object(status)),
        CONTROLLER_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::SimulationConfig;
    use crate::controllers::str_at;
    use crate::controllers::testing::{Harness, template};

    #[test]
    fn one_pod_per_node_and_a_rolling_update() {
        let mut sim = Harness::new(SimulationConfig {
            nodes: 3,
            ..SimulationConfig::default()
        });
        sim.create(
            "apps",
            "daemonsets",
            json!({"metadata": {"name": "agent"},
                   "spec": {"selector": {"matchLabels": {"app": "agent"}},
                            "template": template("agent", "agent:1")}}),
        );
        sim.advance(3);
        let pods = sim.list("", "pods");
        let mut nodes: Vec<&str> = pods.iter().map(|p| str_at(p, "/spec/nodeName")).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, ["sim-node-1", "sim-node-2", "sim-node-3"]);
        let status = sim.get("apps", "daemonsets", "agent")["status"].clone();
        for field in [
            "desiredNumberScheduled",
            "currentNumberScheduled",
            "numberReady",
            "numberAvailable",
            "updatedNumberScheduled",
        ] {
            assert_eq!(status[field], 3, "{field}: {status}");
        }
        assert_eq!(status["numberMisscheduled"], 0);
        assert_eq!(status["observedGeneration"], 1);
        sim.patch(
            "apps",
            "daemonsets",
            "agent",
            &json!({"spec": {"template": {"spec": {
            "containers": [{"name": "main", "image": "agent:2"}]}}}}),
        );
        sim.settle();
        let old = sim
            .list("", "pods")
            .iter()
            .filter(|p| str_at(p, "/spec/containers/0/image") == "agent:1")
            .count();
        assert_eq!(old, 2, "one node at a time");
        sim.advance(10);
        let pods = sim.list("", "pods");
        assert_eq!(pods.len(), 3);
        assert!(
            pods.iter()
                .all(|p| str_at(p, "/spec/containers/0/image") == "agent:2")
        );
        let status = sim.get("apps", "daemonsets", "agent")["status"].clone();
        assert_eq!(status["updatedNumberScheduled"], 3);
        assert_eq!(status["observedGeneration"], 2);
    }
}
