//! The `StatefulSet` controller: stable pods `<name>-<ordinal>`, their claims, revisions and
//! ordered or parallel rollout.
//!
//! Pods are created from ordinal 0 upwards; under `OrderedReady` (the default) each waits
//! for the previous one to be Running and Ready, under `Parallel` they all start at once.
//! Each pod gets the claims of `volumeClaimTemplates` (`<template>-<name>-<ordinal>`,
//! created before the pod) and the label `controller-revision-hash` naming the
//! `ControllerRevision` (`<name>-<hash>`) of the template it runs. A `RollingUpdate`
//! replaces pods at or above `partition` from the highest ordinal down, one at a time and
//! only while every pod is Ready; `OnDelete` replaces a pod only when someone deletes it.
//! Once every pod runs the update revision, `currentRevision` catches up with it.

use serde_json::{Map, Value, json};

use super::{
    CONTROLLER_MANAGER, Ctx, PodName, int_at, is_deleting, name, namespace, owner_reference,
    pod_active, pod_available, pod_from_template, pod_ready, resource, set_path, str_at,
    template_hash, uid, with_status,
};

/// The label naming the revision a pod (or `DaemonSet` pod) runs.
pub(crate) const REVISION_LABEL: &str = "controller-revision-hash";

/// One pass over every `StatefulSet`.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(sets) = resource("apps", "statefulsets") else {
        return;
    };
    for set in ctx.list(sets) {
        if !is_deleting(&set) {
            sync(ctx, &set);
        }
    }
}

/// The pod's ordinal, when its name is `<set>-<n>`.
fn ordinal(set_name: &str, pod: &Value) -> Option<i64> {
    name(pod)
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// Ensures the `ControllerRevision` of `template` exists; returns the revisions' templates
/// by name (when the resource type is served).
fn ensure_revision(ctx: &mut Ctx<'_>, set: &Value, revision: &str, hash: &str) -> Vec<Value> {
    let Some(revisions) = resource("apps", "controllerrevisions") else {
        return Vec::new();
    };
    let ns = namespace(set).to_owned();
    let mut owned = ctx.owned(revisions, &ns, uid(set));
    if !owned.iter().any(|r| name(r) == revision) {
        let number = owned
            .iter()
            .map(|r| int_at(r, "/revision", 0))
            .max()
            .unwrap_or(0)
            + 1;
        let mut template = set
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        set_path(&mut template, &["$patch"], "replace".into());
        let mut labels = set
            .pointer("/spec/selector/matchLabels")
            .cloned()
            .unwrap_or_else(|| json!({}));
        set_path(&mut labels, &["controller.kubernetes.io/hash"], hash.into());
        let object = json!({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": revision, "namespace": ns, "labels": labels,
                         "ownerReferences": owner_reference(set)},
            "data": {"spec": {"template": template}},
            "revision": number,
        });
        if let Ok(created) = ctx.create(revisions, &ns, object, CONTROLLER_MANAGER) {
            owned.push(created);
        }
    }
    owned
}

/// The template a revision recorded (the set's own when it is the update revision).
fn template_of(set: &Value, revisions: &[Value], revision: &str, update: &str) -> Value {
    let own = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if revision == update {
        return own;
    }
    revisions
        .iter()
        .find(|r| name(r) == revision)
        .and_then(|r| r.pointer("/data/spec/template").cloned())
        .map_or(own, |mut template| {
            if let Some(map) = template.as_object_mut() {
                map.remove("$patch");
            }
            template
        })
}

fn create_pod(ctx: &mut Ctx<'_>, set: &Value, ordinal: i64, revision: &str, template: &Value) {
    let (Some(pods), Some(claims)) = (resource("", "pods"), resource("", "persistentvolumeclaims"))
    else {
        return;
    };
    let ns = namespace(set).to_owned();
    let set_name = name(set).to_owned();
    let pod_name = format!("{set_name}-{ordinal}");
    let mut volumes: Vec<Value> = template
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let delete_with_set = str_at(
        set,
        "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted",
    ) == "Delete";
    for claim_template in set
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let template_name = name(&claim_template).to_owned();
        let claim_name = format!("{template_name}-{set_name}-{ordinal}");
        if ctx.store.get(claims, Some(&ns), &claim_name).is_err() {
            let mut metadata = Map::new();
            metadata.insert("name".into(), claim_name.clone().into());
            metadata.insert("namespace".into(), ns.clone().into());
            let mut labels = claim_template
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(selector) = set
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
            {
                for (key, value) in selector {
                    labels.insert(key.clone(), value.clone());
                }
            }
            metadata.insert("labels".into(), Value::Object(labels));
            if let Some(annotations) = claim_template.pointer("/metadata/annotations") {
                metadata.insert("annotations".into(), annotations.clone());
            }
            if delete_with_set {
                metadata.insert("ownerReferences".into(), owner_reference(set));
            }
            let claim = json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
                "spec": claim_template.get("spec").cloned().unwrap_or_else(|| json!({})),
            });
            let _ = ctx.create(claims, &ns, claim, CONTROLLER_MANAGER);
        }
        if !volumes.iter().any(|v| str_at(v, "/name") == template_name) {
            volumes.push(json!({"name": template_name,
                                "persistentVolumeClaim": {"claimName": claim_name}}));
        }
    }
    let mut pod = pod_from_template(
        set,
        template,
        PodName::Exact(&pod_name),
        &[
            (REVISION_LABEL, revision.to_owned()),
            ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
            ("apps.kubernetes.io/pod-index", ordinal.to_string()),
        ],
    );
    set_path(&mut pod, &["spec", "hostname"], pod_name.clone().into());
    let service = str_at(set, "/spec/serviceName");
    if !service.is_empty() {
        set_path(&mut pod, &["spec", "subdomain"], service.into());
    }
    if !volumes.is_empty() {
        set_path(&mut pod, &["spec", "volumes"], Value::Array(volumes));
    }
    let _ = ctx.create(pods, &ns, pod, CONTROLLER_MANAGER);
}

fn sync(ctx: &mut Ctx<'_>, set: &Value) {
    let (Some(pods), Some(sets)) = (resource("", "pods"), resource("apps", "statefulsets")) else {
        return;
    };
    let ns = namespace(set).to_owned();
    let set_name = name(set).to_owned();
    let replicas = int_at(set, "/spec/replicas", 1).max(0);
    let parallel = str_at(set, "/spec/podManagementPolicy") == "Parallel";
    let on_delete = str_at(set, "/spec/updateStrategy/type") == "OnDelete";
    let partition = int_at(set, "/spec/updateStrategy/rollingUpdate/partition", 0).max(0);
    let template = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let collisions = int_at(set, "/status/collisionCount", 0);
    let hash = template_hash(&template, collisions);
    let update = format!("{set_name}-{hash}");
    let revisions = ensure_revision(ctx, set, &update, &hash);
    let current = match str_at(set, "/status/currentRevision") {
        "" => update.clone(),
        found => found.to_owned(),
    };
    let min_ready = int_at(set, "/spec/minReadySeconds", 0);
    let owned = |ctx: &Ctx<'_>| -> Vec<(i64, Value)> {
        let mut found: Vec<(i64, Value)> = ctx
            .owned(pods, &ns, uid(set))
            .into_iter()
            .filter(pod_active)
            .filter_map(|pod| ordinal(&set_name, &pod).map(|n| (n, pod)))
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found
    };
    let existing = owned(ctx);
    // Create missing pods in ordinal order.
    for wanted in 0..replicas {
        match existing.iter().find(|(n, _)| *n == wanted) {
            None => {
                let revision = if !on_delete && wanted < partition {
                    current.clone()
                } else {
                    update.clone()
                };
                let pod_template = template_of(set, &revisions, &revision, &update);
                create_pod(ctx, set, wanted, &revision, &pod_template);
                if !parallel {
                    break;
                }
            }
            Some((_, pod)) => {
                if !(parallel || str_at(pod, "/status/phase") == "Running" && pod_ready(pod)) {
                    break;
                }
            }
        }
    }
    // Scale down from the highest ordinal.
    let surplus: Vec<&Value> = existing
        .iter()
        .rev()
        .filter(|(n, _)| *n >= replicas)
        .map(|(_, pod)| pod)
        .collect();
    for pod in surplus.iter().take(if parallel { usize::MAX } else { 1 }) {
        ctx.delete(pods, pod);
    }
    // Rolling update: one pod at a time, highest ordinal first, down to the partition.
    let in_range: Vec<&(i64, Value)> = existing.iter().filter(|(n, _)| *n < replicas).collect();
    if !on_delete
        && surplus.is_empty()
        && in_range.len() as i64 == replicas
        && in_range.iter().all(|(_, pod)| pod_ready(pod))
        && let Some((_, stale)) = in_range
            .iter()
            .rev()
            .filter(|(n, _)| *n >= partition)
            .find(|(_, pod)| str_at(pod, &format!("/metadata/labels/{REVISION_LABEL}")) != update)
    {
        ctx.delete(pods, stale);
    }
    // Status.
    let now_pods = owned(ctx);
    let revision_of =
        |pod: &Value| str_at(pod, &format!("/metadata/labels/{REVISION_LABEL}")).to_owned();
    let count = now_pods.len() as i64;
    let ready = now_pods.iter().filter(|(_, p)| pod_ready(p)).count() as i64;
    let available = now_pods
        .iter()
        .filter(|(_, p)| pod_available(p, min_ready, ctx.now))
        .count() as i64;
    let updated = now_pods
        .iter()
        .filter(|(_, p)| revision_of(p) == update)
        .count() as i64;
    let mut current_revision = current;
    let mut current_count = now_pods
        .iter()
        .filter(|(_, p)| revision_of(p) == current_revision)
        .count() as i64;
    if !on_delete && updated == count && ready == count && count == replicas {
        current_revision.clone_from(&update);
        current_count = updated;
    }
    let mut status = Map::new();
    status.insert(
        "observedGeneration".into(),
        int_at(set, "/metadata/generation", 1).into(),
    );
    status.insert("replicas".into(), count.into());
    status.insert("readyReplicas".into(), ready.into());
    status.insert("currentReplicas".into(), current_count.into());
    status.insert("updatedReplicas".into(), updated.into());
    status.insert("availableReplicas".into(), available.into());
    status.insert("currentRevision".into(), current_revision.into());
    status.insert("updateRevision".into(), update.into());
    status.insert("collisionCount".into(), collisions.into());
    super::omit_zero(
        &mut status,
        &["readyReplicas", "currentReplicas", "updatedReplicas"],
    );
    ctx.update_status(
        sets,
        with_status(set, Value::Object(status)),
        CONTROLLER_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::controllers::testing::{Harness, template};
    use crate::controllers::{SimulationConfig, pod_ready, str_at};

    fn set(replicas: i64, extra: &Value) -> Value {
        let mut object = json!({"metadata": {"name": "db"},
            "spec": {"replicas": replicas, "serviceName": "db",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": template("db", "postgres:16"),
                     "volumeClaimTemplates": [{"metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"],
                                 "resources": {"requests": {"storage": "1Gi"}}}}]}});
        crate::patch::merge_patch(&mut object, extra);
        object
    }

    fn names(sim: &Harness) -> Vec<String> {
        let mut names: Vec<String> = sim
            .list("", "pods")
            .iter()
            .map(|p| str_at(p, "/metadata/name").to_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn ordered_ready_creates_one_pod_at_a_time_with_claims() {
        let config = SimulationConfig {
            container_start_delay: 5,
            ..SimulationConfig::default()
        };
        let mut sim = Harness::new(config);
        sim.create("apps", "statefulsets", set(3, &json!({})));
        sim.settle();
        assert_eq!(names(&sim), ["db-0"]);
        sim.advance(5);
        assert_eq!(names(&sim), ["db-0", "db-1"]);
        sim.advance(10);
        assert_eq!(names(&sim), ["db-0", "db-1", "db-2"]);
        let pod = sim.get("", "pods", "db-1");
        assert_eq!(pod["spec"]["hostname"], "db-1");
        assert_eq!(pod["spec"]["subdomain"], "db");
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "data-db-1"
        );
        assert_eq!(
            pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
            "1"
        );
        let claim = sim.get("", "persistentvolumeclaims", "data-db-1");
        assert_eq!(claim["status"]["phase"], "Bound");
        let status = sim.get("apps", "statefulsets", "db")["status"].clone();
        assert_eq!(status["replicas"], 3);
        assert_eq!(status["currentRevision"], status["updateRevision"]);
        assert_eq!(status["collisionCount"], 0);
        assert_eq!(sim.list("apps", "controllerrevisions").len(), 1);
    }

    #[test]
    fn parallel_starts_every_pod_at_once() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "apps",
            "statefulsets",
            set(3, &json!({"spec": {"podManagementPolicy": "Parallel"}})),
        );
        sim.settle();
        assert_eq!(names(&sim), ["db-0", "db-1", "db-2"]);
    }

    #[test]
    fn a_partitioned_update_replaces_only_high_ordinals_from_the_top() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "apps",
            "statefulsets",
            set(
                3,
                &json!({"spec": {"updateStrategy": {"type": "RollingUpdate",
                                                       "rollingUpdate": {"partition": 1}}}}),
            ),
        );
        sim.advance(8);
        let before = sim.get("apps", "statefulsets", "db")["status"]["updateRevision"].clone();
        sim.patch(
            "apps",
            "statefulsets",
            "db",
            &json!({"spec": {"template": {"spec": {
            "containers": [{"name": "main", "image": "postgres:17"}]}}}}),
        );
        sim.settle();
        let image = |sim: &Harness, pod: &str| {
            str_at(&sim.get("", "pods", pod), "/spec/containers/0/image").to_owned()
        };
        // db-2 goes first; db-1 waits for it to be Ready.
        assert_eq!(image(&sim, "db-2"), "postgres:17");
        assert!(!pod_ready(&sim.get("", "pods", "db-2")));
        assert_eq!(image(&sim, "db-1"), "postgres:16");
        sim.advance(8);
        assert_eq!(image(&sim, "db-2"), "postgres:17");
        assert_eq!(image(&sim, "db-1"), "postgres:17");
        assert_eq!(image(&sim, "db-0"), "postgres:16", "below the partition");
        assert!(sim.list("", "pods").iter().all(pod_ready));
        let status = sim.get("apps", "statefulsets", "db")["status"].clone();
        assert_eq!(status["updatedReplicas"], 2);
        assert_eq!(status["currentReplicas"], 1);
        assert_eq!(status["currentRevision"], before);
        assert_ne!(status["updateRevision"], before);
        assert_eq!(sim.list("apps", "controllerrevisions").len(), 2);
    }
}
