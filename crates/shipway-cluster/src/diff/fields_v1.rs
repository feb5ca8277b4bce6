//! A walker for the `FieldsV1` trees in `metadata.managedFields`, for
//! `ignoreDifferences.managedFieldsManagers`: it maps the fields a manager owns onto an
//! object and removes them.
//!
//! `FieldsV1` is a JSON tree whose keys are `f:NAME` (a struct or map field), `k:{JSON}`
//! (the item of a list-map whose key fields equal the JSON object, e.g.
//! `k:{"name":"web"}` or `k:{"containerPort":80,"protocol":"TCP"}`), `v:JSON` (the item of a
//! set list equal to the JSON value), `i:N` (a list index, for atomic-less lists), and `.`
//! (the node itself is owned, not only fields under it). A key whose value is `{}` is a
//! leaf: the manager owns that field and everything in it.
//!
//! Removal semantics (as Argo CD, fields owned by the manager disappear from both sides):
//! leaves are removed; a map or struct the manager created (`.`) is removed when nothing
//! is left in it; a list item the manager created (`.`) is removed when only its key
//! fields are left — key fields are never removed on their own, so an item that is
//! shared with another manager stays addressable by name.

use serde_json::{Map, Value};

use super::DiffError;

/// The `fieldsV1` trees of the live object's `managedFields` entries whose manager is one
/// of `managers`, with the manager's name. Entries of another `fieldsType` are skipped:
/// `FieldsV1` is the only one Kubernetes has defined.
pub(super) fn owned_trees(live: &Value, managers: &[&str]) -> Vec<(String, Value)> {
    let Some(entries) = live
        .get("metadata")
        .and_then(|metadata| metadata.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let manager = entry.get("manager").and_then(Value::as_str)?;
            let fields_type = entry
                .get("fieldsType")
                .and_then(Value::as_str)
                .unwrap_or("FieldsV1");
            (managers.contains(&manager) && fields_type == "FieldsV1")
                .then(|| Some((manager.to_owned(), entry.get("fieldsV1")?.clone())))
                .flatten()
        })
        .collect()
}

/// Removes from `object` the fields `tree` (owned by `manager`) describes. Fields the tree
/// names but the object lacks are skipped: the desired object need not have them.
pub(super) fn remove_owned(
    manager: &str,
    tree: &Value,
    object: &mut Value,
) -> Result<(), DiffError> {
    let Some(tree) = tree.as_object() else {
        return Err(DiffError::ManagedFields {
            manager: manager.to_owned(),
            reason: "fieldsV1 is not a JSON object".into(),
        });
    };
    remove_in(manager, tree, object)
}

/// Whether a tree node owns its field as a whole: `{}` or `{".": {}}`.
fn is_leaf(tree: &Value) -> bool {
    tree.as_object()
        .is_none_or(|children| children.keys().all(|key| key == "."))
}

/// Whether the tree node says the manager created the node itself.
fn owns_self(tree: &Value) -> bool {
    tree.get(".").is_some()
}

/// Whether a value has nothing left in it.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Applies the children of one tree node to the matching node of the object.
fn remove_in(manager: &str, tree: &Map<String, Value>, node: &mut Value) -> Result<(), DiffError> {
    let malformed = |reason: String| DiffError::ManagedFields {
        manager: manager.to_owned(),
        reason,
    };
    // List items to remove, collected first and removed highest index first so positions
    // stay valid while the tree is walked.
    let mut doomed: Vec<usize> = Vec::new();
    for (key, child) in tree {
        if key == "." {
            continue;
        }
        if let Some(name) = key.strip_prefix("f:") {
            let Some(map) = node.as_object_mut() else {
                continue;
            };
            if is_leaf(child) {
                map.shift_remove(name);
            } else if let (Some(value), Some(children)) = (map.get_mut(name), child.as_object()) {
                remove_in(manager, children, value)?;
                if owns_self(child) && is_empty(value) {
                    map.shift_remove(name);
                }
            }
        } else if let Some(json) = key.strip_prefix("k:") {
            let key_fields: Map<String, Value> = serde_json::from_str(json).map_err(|_| {
                malformed(format!("`{key}` is not a list-map key (k:{{JSON object}})"))
            })?;
            let Some(items) = node.as_array_mut() else {
                continue;
            };
            let Some(index) = items.iter().position(|item| {
                key_fields
                    .iter()
                    .all(|(field, wanted)| item.get(field) == Some(wanted))
            }) else {
                continue;
            };
            if is_leaf(child) {
                doomed.push(index);
                continue;
            }
            let item = &mut items[index];
            if let Some(children) = child.as_object() {
                // Key fields stay, so a shared item keeps its identity.
                let without_keys: Map<String, Value> = children
                    .iter()
                    .filter(|(field, _)| {
                        field
                            .strip_prefix("f:")
                            .is_none_or(|name| !key_fields.contains_key(name))
                    })
                    .map(|(field, tree)| (field.clone(), tree.clone()))
                    .collect();
                remove_in(manager, &without_keys, item)?;
            }
            let only_keys = item
                .as_object()
                .is_none_or(|map| map.keys().all(|field| key_fields.contains_key(field)));
            if owns_self(child) && only_keys {
                doomed.push(index);
            }
        } else if let Some(json) = key.strip_prefix("v:") {
            let wanted: Value = serde_json::from_str(json)
                .map_err(|_| malformed(format!("`{key}` is not a set item (v:JSON)")))?;
            if let Some(items) = node.as_array() {
                doomed.extend(
                    items
                        .iter()
                        .enumerate()
                        .filter(|(_, item)| **item == wanted)
                        .map(|(index, _)| index),
                );
            }
        } else if let Some(number) = key.strip_prefix("i:") {
            let index: usize = number
                .parse()
                .map_err(|_| malformed(format!("`{key}` is not a list index (i:N)")))?;
            let Some(item) = node.as_array_mut().and_then(|items| items.get_mut(index)) else {
                continue;
            };
            if is_leaf(child) {
                doomed.push(index);
            } else if let Some(children) = child.as_object() {
                remove_in(manager, children, item)?;
                if owns_self(child) && is_empty(item) {
                    doomed.push(index);
                }
            }
        } else {
            return Err(malformed(format!(
                "`{key}` is not a FieldsV1 key (f:, k:, v:, i: or .)"
            )));
        }
    }
    if let Some(items) = node.as_array_mut() {
        doomed.sort_unstable();
        doomed.dedup();
        for index in doomed.into_iter().rev() {
            if index < items.len() {
                items.remove(index);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Change, IgnoreRule, apply_ignores, compare};
    use super::*;
    use serde_json::json;
    use shipway_sim::store::{PatchType, Subresource, WriteOptions};

    fn manifest(replicas: u64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]}
                }
            }
        })
    }

    /// A Deployment applied by `shipway` and then scaled through `/scale` by the HPA
    /// (`kube-controller-manager`), with the managedFields the simulator writes; and the
    /// server-side dry-run apply of `desired` as the engine would get it.
    fn scaled_deployment(desired: &Value) -> (Value, Value) {
        let simulator = shipway_sim::Simulator::new();
        let mut store = simulator.lock();
        let deployments = shipway_sim::resources::find("apps", "v1", "deployments").unwrap();
        store
            .apply(
                deployments,
                Some("default"),
                "web",
                &manifest(2, "web:1"),
                Subresource::Main,
                &WriteOptions::manager("shipway"),
            )
            .unwrap();
        store
            .patch(
                deployments,
                Some("default"),
                "web",
                PatchType::Merge,
                &json!({"spec": {"replicas": 5}}),
                Subresource::Scale,
                &WriteOptions::manager("kube-controller-manager"),
            )
            .unwrap();
        let live = store.get(deployments, Some("default"), "web").unwrap();
        let dry_run = store
            .apply(
                deployments,
                Some("default"),
                "web",
                desired,
                Subresource::Main,
                &WriteOptions {
                    dry_run: true,
                    force: true,
                    ..WriteOptions::manager("shipway")
                },
            )
            .unwrap()
            .object;
        (live, dry_run)
    }

    #[test]
    fn hpa_owned_replicas_are_ignored_by_manager() {
        let desired = manifest(2, "web:2");
        let (live, dry_run) = scaled_deployment(&desired);
        assert_eq!(live["spec"]["replicas"], 5);
        let owners: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["fieldsV1"]["f:spec"].get("f:replicas").is_some())
            .map(|entry| entry["manager"].as_str().unwrap())
            .collect();
        assert_eq!(owners, vec!["kube-controller-manager"], "{live:#}");

        let without_rule = compare(Some(&live), Some(&dry_run), &[]).unwrap();
        assert!(
            without_rule
                .iter()
                .any(|change| change.path() == "spec.replicas"),
            "{without_rule:?}"
        );
        let rule = IgnoreRule {
            managed_fields_managers: vec!["kube-controller-manager".into()],
            ..IgnoreRule::new("apps", "Deployment")
        };
        let changes = compare(Some(&live), Some(&dry_run), &[rule]).unwrap();
        assert_eq!(
            changes,
            vec![Change::Changed {
                path: "spec.template.spec.containers[name=web].image".into(),
                from: json!("web:1"),
                to: json!("web:2")
            }]
        );
    }

    #[test]
    fn other_managers_fields_are_kept() {
        let (live, dry_run) = scaled_deployment(&manifest(2, "web:1"));
        let rule = IgnoreRule {
            managed_fields_managers: vec!["someone-else".into()],
            ..IgnoreRule::new("apps", "Deployment")
        };
        let changes = compare(Some(&live), Some(&dry_run), &[rule]).unwrap();
        assert_eq!(
            changes,
            vec![Change::Changed {
                path: "spec.replicas".into(),
                from: json!(5),
                to: json!(2)
            }]
        );
    }

    fn object_with(fields: &Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "managedFields": [
                {"manager": "injector", "operation": "Update", "fieldsType": "FieldsV1",
                 "fieldsV1": fields},
                {"manager": "shipway", "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:containers": {}}}}
            ], "labels": {"app": "p", "injected": "yes"}, "finalizers": ["a", "b"]},
            "spec": {"containers": [
                {"name": "web", "image": "web:1", "env": [{"name": "X", "value": "1"}]},
                {"name": "proxy", "image": "envoy:1", "ports": [{"containerPort": 15001, "protocol": "TCP"}]}
            ]}
        })
    }

    fn strip(fields: &Value) -> Value {
        let mut live = object_with(fields);
        let mut desired = Value::Null;
        let rule = IgnoreRule {
            managed_fields_managers: vec!["injector".into()],
            ..IgnoreRule::new("", "Pod")
        };
        apply_ignores(&mut live, &mut desired, &[rule]).unwrap();
        live
    }

    #[test]
    fn list_map_items_sets_and_self() {
        // The injector created the proxy container (`.`) and a label; it set one env var on web.
        let live = strip(&json!({
            "f:metadata": {"f:labels": {"f:injected": {}}, "f:finalizers": {"v:\"b\"": {}}},
            "f:spec": {"f:containers": {
                "k:{\"name\":\"proxy\"}": {".": {}, "f:name": {}, "f:image": {},
                    "f:ports": {".": {}, "k:{\"containerPort\":15001,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}}},
                "k:{\"name\":\"web\"}": {"f:name": {}, "f:env": {"k:{\"name\":\"X\"}": {".": {}, "f:name": {}, "f:value": {}}}}
            }}
        }));
        assert_eq!(live["metadata"]["labels"], json!({"app": "p"}));
        assert_eq!(live["metadata"]["finalizers"], json!(["a"]));
        // Web keeps its name (a key field) and image; its env list is emptied.
        assert_eq!(
            live["spec"]["containers"],
            json!([{"name": "web", "image": "web:1", "env": []}])
        );
    }

    #[test]
    fn shared_items_stay_and_whole_items_go() {
        // The injector owns only the image of proxy: the container stays without it.
        let live = strip(&json!({"f:spec": {"f:containers": {
            "k:{\"name\":\"proxy\"}": {"f:image": {}}
        }}}));
        assert_eq!(live["spec"]["containers"][1]["name"], "proxy");
        assert!(live["spec"]["containers"][1].get("image").is_none());
        // A leaf item entry removes the item; index entries work too.
        let live = strip(&json!({"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {}}}}));
        assert_eq!(live["spec"]["containers"][0]["name"], "proxy");
        let live = strip(&json!({"f:spec": {"f:containers": {"i:1": {"f:image": {}}}}}));
        assert!(live["spec"]["containers"][1].get("image").is_none());
        // Fields the object lacks are skipped.
        let live = strip(
            &json!({"f:spec": {"f:volumes": {}, "f:containers": {"k:{\"name\":\"nope\"}": {}}}}),
        );
        assert_eq!(live["spec"]["containers"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn malformed_trees_name_the_manager() {
        for tree in [
            json!({"f:spec": {"f:containers": {"k:not-json": {}}}}),
            json!({"f:spec": {"x:odd": {}}}),
            json!({"f:metadata": {"f:finalizers": {"v:nope": {}}}}),
            json!({"f:spec": {"f:containers": {"i:x": {}}}}),
            json!("not a tree"),
        ] {
            let mut live = object_with(&tree);
            let rule = IgnoreRule {
                managed_fields_managers: vec!["injector".into()],
                ..IgnoreRule::new("", "Pod")
            };
            let error = apply_ignores(&mut live, &mut Value::Null, &[rule]).unwrap_err();
            assert!(error.to_string().contains("manager `injector`"), "{error}");
        }
    }
}
