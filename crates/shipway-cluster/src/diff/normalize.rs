//! Normalisation: removes from an object what the API server writes on its own, so a
//! `GitOps` diff never shows it.
//!
//! No defaults are removed or filled in here: the engine diffs the live object against a
//! server-side dry-run apply of the desired one, so defaults are equal on both sides (see
//! the parent module). What remains to strip is per-object and per-write bookkeeping
//! (`uid`, `resourceVersion`, `generation`, timestamps, `managedFields`), the status the
//! controllers write, and the two annotations tools write on every apply or rollout.

use serde_json::Value;

/// Metadata fields the server sets per object or per write.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations written by tools rather than by the author: `kubectl apply`'s copy of the
/// last applied object (which, on a Secret, holds its values) and the Deployment
/// controller's rollout counter.
const TOOL_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

/// A copy of `object` without server-set metadata, `status`, tool annotations, and with
/// empty `metadata.annotations` / `metadata.labels` maps removed. Anything that is not an
/// object is returned unchanged.
pub fn normalize(object: &Value) -> Value {
    let mut out = object.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    // `status` is written by controllers, never by the author: it is no part of the diff.
    map.shift_remove("status");
    if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            metadata.shift_remove(*field);
        }
        if let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            for annotation in TOOL_ANNOTATIONS {
                annotations.shift_remove(*annotation);
            }
        }
        for field in ["annotations", "labels"] {
            let empty = metadata.get(field).is_some_and(|value| match value {
                Value::Null => true,
                Value::Object(map) => map.is_empty(),
                _ => false,
            });
            if empty {
                metadata.shift_remove(field);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_and_keeps_the_rest() {
        let live = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "6c1f",
                "resourceVersion": "42",
                "generation": 3,
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "selfLink": "/apis/apps/v1/namespaces/shop/deployments/web",
                "deletionTimestamp": "2024-01-02T00:00:00Z",
                "deletionGracePeriodSeconds": 0,
                "managedFields": [{"manager": "shipway"}],
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "deployment.kubernetes.io/revision": "3"
                },
                "labels": {"app": "web"}
            },
            "spec": {"replicas": 2},
            "status": {"replicas": 2}
        });
        assert_eq!(
            normalize(&live),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
                "spec": {"replicas": 2}
            })
        );
    }

    #[test]
    fn keeps_author_annotations_and_drops_empty_maps() {
        let object = json!({"metadata": {
            "name": "a",
            "annotations": {"team": "x", "deployment.kubernetes.io/revision": "1"},
            "labels": {}
        }});
        assert_eq!(
            normalize(&object),
            json!({"metadata": {"name": "a", "annotations": {"team": "x"}}})
        );
        let nulls = json!({"metadata": {"name": "a", "annotations": null, "labels": null}});
        assert_eq!(normalize(&nulls), json!({"metadata": {"name": "a"}}));
        assert_eq!(normalize(&json!([1])), json!([1]));
    }
}
