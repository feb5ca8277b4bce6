//! Status where users look: `Application.status` as Argo CD writes it (so `kubectl get
//! applications` shows SYNC STATUS and HEALTH STATUS), Flux `Kustomization.status`
//! conditions, and Kubernetes Events on the app's object. Only apps defined by an object in
//! the cluster have somewhere to write; failures to write are logged, never fatal.

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::apps::{Origin, application_key};
use crate::{AppState, Controller};

/// The object an app's status and Events go to: (key, apiVersion).
fn target(state: &AppState) -> Option<(shipway_cluster::cluster::Key, &'static str)> {
    match &state.spec.origin {
        Origin::Cluster { namespace, name } => {
            Some((application_key(namespace, name), "argoproj.io/v1alpha1"))
        }
        Origin::FluxCluster { namespace, name } => Some((
            shipway_cluster::cluster::Key {
                group: "kustomize.toolkit.fluxcd.io".into(),
                version: "v1".into(),
                kind: "Kustomization".into(),
                namespace: namespace.clone(),
                name: name.clone(),
            },
            "kustomize.toolkit.fluxcd.io/v1",
        )),
        _ => None,
    }
}

/// The `status` Argo CD writes for an Application.
fn application_status(state: &AppState, history: &[crate::history::Operation]) -> Value {
    let summary = state.summary();
    let mut status = json!({
        "sync": {
            "status": state.sync_status,
            "revision": state.revision,
            "comparedTo": {"source": summary["source"]},
        },
        "health": {"status": state.health},
        "reconciledAt": crate::now(),
        "resources": state.resources.as_array().map(|objects| objects.iter().map(|o| json!({
            "group": o["apiVersion"].as_str().and_then(|v| v.split_once('/')).map_or("", |(g, _)| g),
            "version": o["apiVersion"].as_str().map(|v| v.rsplit('/').next().unwrap_or(v)),
            "kind": o["kind"],
            "namespace": o.get("namespace"),
            "name": o["name"],
            "status": o.get("sync"),
            "health": {"status": o["health"]},
        })).collect::<Vec<_>>()),
        "history": history.iter().rev().filter(|op| op.phase == "Succeeded").enumerate().map(|(i, op)| json!({
            "id": i,
            "revision": op.revision,
            "deployStartedAt": op.started_at,
            "deployedAt": op.finished_at,
            "source": summary["source"],
            "initiatedBy": {"automated": op.who == "controller" || op.who == "webhook"},
        })).collect::<Vec<_>>(),
    });
    if let Some(operation) = &state.operation {
        status["operationState"] = json!({
            "phase": operation["phase"],
            "message": operation["message"],
            "startedAt": operation["startedAt"],
            "finishedAt": operation["finishedAt"],
            "operation": {"sync": {"revision": operation.get("revision")}},
            "syncResult": {"revision": operation.get("revision")},
        });
    }
    if let Some(condition) = &state.condition {
        status["conditions"] = json!([{
            "type": "ComparisonError",
            "message": condition,
            "lastTransitionTime": crate::now(),
        }]);
    }
    status
}

/// Flux's `Ready` condition and `lastAppliedRevision`.
fn kustomization_status(state: &AppState) -> Value {
    let ready = state.sync_status == "Synced" && state.health == "Healthy";
    let message = state
        .condition
        .clone()
        .or_else(|| {
            state
                .operation
                .as_ref()
                .and_then(|o| o["message"].as_str().map(str::to_string))
        })
        .unwrap_or_default();
    json!({
        "lastAppliedRevision": state.synced_revision,
        "lastAttemptedRevision": state.revision,
        "conditions": [{
            "type": "Ready",
            "status": if ready { "True" } else { "False" },
            "reason": if ready { "ReconciliationSucceeded" } else if state.condition.is_some() { "ReconciliationFailed" } else { "Progressing" },
            "message": message,
            "lastTransitionTime": crate::now(),
        }],
    })
}

/// Writes the app's status to its object, when it has one.
pub(crate) async fn write(controller: &Controller, name: &str) {
    let Some(state) = controller.get(name) else {
        return;
    };
    let Some((key, _)) = target(&state) else {
        return;
    };
    let status = match &state.spec.origin {
        Origin::Cluster { .. } => {
            let history = controller.history().list(name, 10).unwrap_or_default();
            application_status(&state, &history)
        }
        _ => kustomization_status(&state),
    };
    let cluster = controller.cluster();
    let Ok((resource, _)) = cluster.resource(&key).await else {
        return;
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), &key.namespace, &resource);
    let patch = json!({"status": status});
    let params = PatchParams::default();
    // The status subresource when the CRD has one, else the object itself.
    let written = match api
        .patch_status(&key.name, &params, &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 405 => api
            .patch(&key.name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ()),
        other => other.map(|_| ()),
    };
    if let Err(error) = written {
        tracing::warn!(app = %name, error = %error, "writing the app's status failed");
    }
}

/// Records a Kubernetes Event on the app's object, when it has one.
pub(crate) async fn event(
    controller: &Controller,
    name: &str,
    kind: &str,
    reason: &str,
    message: &str,
) {
    let Some(state) = controller.get(name) else {
        return;
    };
    let Some((key, api_version)) = target(&state) else {
        return;
    };
    let cluster = controller.cluster();
    let uid = cluster.get(&key).await.ok().flatten().and_then(|o| {
        o.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let now = Time(jiff::Timestamp::now());
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some(key.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(api_version.into()),
            kind: Some(key.kind.clone()),
            name: Some(key.name.clone()),
            namespace: Some(key.namespace.clone()),
            uid,
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(kind.into()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some("shipway".into()),
            host: None,
        }),
        reporting_component: Some("shipway".into()),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(cluster.client().clone(), &key.namespace);
    if let Err(error) = api.create(&PostParams::default(), &event).await {
        tracing::warn!(app = %name, error = %error, "recording an Event failed");
    }
}
