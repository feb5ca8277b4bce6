//! Field-level differences between a live object and its desired state, as `shipway plan`
//! prints them: normalisation, Argo CD's `ignoreDifferences`, Secret masking, the diff
//! itself and its text and JSON renderings.
//!
//! The engine compares the LIVE object with the result of a server-side DRY-RUN apply of
//! the desired object. Both come from the API server, so every default the server fills in
//! (container `imagePullPolicy`, Deployment strategy, Service cluster IPs, …) is present and
//! equal on both sides. That is why [`normalize`] only removes what the server writes per
//! object and per write (`uid`, `resourceVersion`, `managedFields`, `status`, …) and needs no
//! knowledge of defaults — unlike a client-side diff (Argo CD's default), which must guess
//! them and reports phantom differences when it guesses wrong.
//!
//! Everything here is a pure function on `serde_json::Value`. The order of the steps
//! matters, and [`compare`] runs them in it:
//!
//! 1. [`apply_ignores`]: it reads the live object's `metadata.managedFields`, which
//!    normalisation removes;
//! 2. [`mask_secrets`]: before anything could print a Secret value;
//! 3. [`normalize`] on both sides;
//! 4. [`diff`], then [`render_text`] or [`to_json`].

mod fields_v1;
mod ignore;
mod jq;
mod normalize;
mod render;
mod secret;

use serde_json::{Map, Value};

pub use ignore::{IgnoreRule, apply_ignores, respect_ignores};
pub use normalize::normalize;
pub use render::{render_text, to_json};
pub use secret::{MASK, MASK_CHANGED, mask_secrets};

/// Why ignore rules could not be applied. No variant ever carries a field's value (it
/// could be a Secret's), only rule text, paths and manager names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// A `jsonPointers` entry that is not an RFC 6901 pointer, or points at the whole
    /// object.
    #[error("ignoreDifferences jsonPointer `{pointer}`: {reason}")]
    JsonPointer {
        /// The pointer as written.
        pointer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `jqPathExpressions` entry outside the supported subset (see [`IgnoreRule`]).
    #[error("ignoreDifferences jqPathExpression `{expression}`: {reason} (at column {column})")]
    JqExpression {
        /// The expression as written.
        expression: String,
        /// 1-based column where parsing stopped.
        column: usize,
        /// What is wrong or unsupported.
        reason: String,
    },
    /// A live object's `metadata.managedFields` entry that is not valid `FieldsV1`.
    #[error("managedFields of manager `{manager}`: {reason}")]
    ManagedFields {
        /// The entry's manager.
        manager: String,
        /// What is malformed.
        reason: String,
    },
    /// An Argo CD `ignoreDifferences` entry with the wrong shape.
    #[error("ignoreDifferences entry {index}: {reason}")]
    InvalidRule {
        /// Its 0-based position in the list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// One field-level difference. Paths read like `spec.template.spec.containers[name=web].image`:
/// map keys joined by dots (`["…"]` when a key is not a plain word, e.g.
/// `metadata.labels["app.kubernetes.io/name"]`), list items whose elements all have a
/// unique string `name` addressed as `[name=…]`, other list items by index `[N]`. The empty
/// path stands for the whole object.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A field (and everything under it) present only in the desired object.
    Added {
        /// Where.
        path: String,
        /// The desired value.
        value: Value,
    },
    /// A field (and everything under it) present only in the live object.
    Removed {
        /// Where.
        path: String,
        /// The live value.
        value: Value,
    },
    /// A field present on both sides with different values (scalars compared exactly; a
    /// map or list only when the other side is of another type).
    Changed {
        /// Where.
        path: String,
        /// The live value.
        from: Value,
        /// The desired value.
        to: Value,
    },
}

impl Change {
    /// Where the change is.
    pub fn path(&self) -> &str {
        match self {
            Self::Added { path, .. } | Self::Removed { path, .. } | Self::Changed { path, .. } => {
                path
            }
        }
    }
}

/// The differences from `live` to `desired`: in the desired object's field order, then the
/// fields only the live object has.
///
/// `null`, `{}` and `[]` compare equal to an absent field: Kubernetes serialises its types
/// with `omitempty`, so the server cannot tell them apart either, and an ignore rule that
/// empties a list must not leave a phantom difference. With one side missing (create or
/// delete) every top-level field is added or removed; with both missing there is nothing.
pub fn diff(live: Option<&Value>, desired: Option<&Value>) -> Vec<Change> {
    let empty = Value::Object(Map::new());
    let mut changes = Vec::new();
    let mut path = String::new();
    match (live, desired) {
        (None, None) => {}
        (None, Some(desired)) if !desired.is_object() => changes.push(Change::Added {
            path,
            value: desired.clone(),
        }),
        (Some(live), None) if !live.is_object() => changes.push(Change::Removed {
            path,
            value: live.clone(),
        }),
        (live, desired) => walk(
            &mut path,
            live.unwrap_or(&empty),
            desired.unwrap_or(&empty),
            &mut changes,
        ),
    }
    changes
}

/// The whole pipeline for one object, in the order the module documentation explains:
/// ignore rules, Secret masking, normalisation, diff. `None` is a missing side (create or
/// delete). The inputs are not modified.
pub fn compare(
    live: Option<&Value>,
    desired: Option<&Value>,
    rules: &[IgnoreRule],
) -> Result<Vec<Change>, DiffError> {
    let mut live_copy = live.cloned().unwrap_or(Value::Null);
    let mut desired_copy = desired.cloned().unwrap_or(Value::Null);
    apply_ignores(&mut live_copy, &mut desired_copy, rules)?;
    mask_secrets(&mut live_copy, &mut desired_copy);
    let live_normal = live.map(|_| normalize(&live_copy));
    let desired_normal = desired.map(|_| normalize(&desired_copy));
    Ok(diff(live_normal.as_ref(), desired_normal.as_ref()))
}

/// Whether a value counts as absent (see [`diff`]).
fn is_absent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Compares two present values at `path`, pushing what differs.
fn walk(path: &mut String, live: &Value, desired: &Value, changes: &mut Vec<Change>) {
    match (live, desired) {
        (Value::Object(live_map), Value::Object(desired_map)) => {
            for (key, desired_value) in desired_map {
                let mark = path.len();
                push_key(path, key);
                compare_present(
                    path,
                    live_map.get(key).filter(|value| !is_absent(value)),
                    Some(desired_value).filter(|value| !is_absent(value)),
                    changes,
                );
                path.truncate(mark);
            }
            for (key, live_value) in live_map {
                if !desired_map.contains_key(key) && !is_absent(live_value) {
                    let mark = path.len();
                    push_key(path, key);
                    changes.push(Change::Removed {
                        path: path.clone(),
                        value: live_value.clone(),
                    });
                    path.truncate(mark);
                }
            }
        }
        (Value::Array(live_items), Value::Array(desired_items)) => {
            if keyed_by_name(live_items) && keyed_by_name(desired_items) {
                walk_named(path, live_items, desired_items, changes);
            } else {
                for index in 0..live_items.len().max(desired_items.len()) {
                    let mark = path.len();
                    push_index(path, index);
                    compare_present(
                        path,
                        live_items.get(index),
                        desired_items.get(index),
                        changes,
                    );
                    path.truncate(mark);
                }
            }
        }
        _ => {
            if live != desired {
                changes.push(Change::Changed {
                    path: path.clone(),
                    from: live.clone(),
                    to: desired.clone(),
                });
            }
        }
    }
}

/// Lists matched by item name: desired order first, then the live items that are gone.
fn walk_named(path: &mut String, live: &[Value], desired: &[Value], changes: &mut Vec<Change>) {
    fn find<'a>(items: &'a [Value], name: &str) -> Option<&'a Value> {
        items
            .iter()
            .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
    }
    for item in desired {
        let name = item_name(item);
        let mark = path.len();
        push_name(path, name);
        compare_present(path, find(live, name), Some(item), changes);
        path.truncate(mark);
    }
    for item in live {
        let name = item_name(item);
        if find(desired, name).is_none() {
            let mark = path.len();
            push_name(path, name);
            changes.push(Change::Removed {
                path: path.clone(),
                value: item.clone(),
            });
            path.truncate(mark);
        }
    }
}

/// One field on both sides, either possibly missing.
fn compare_present(
    path: &str,
    live: Option<&Value>,
    desired: Option<&Value>,
    changes: &mut Vec<Change>,
) {
    match (live, desired) {
        (None, None) => {}
        (None, Some(value)) => changes.push(Change::Added {
            path: path.to_owned(),
            value: value.clone(),
        }),
        (Some(value), None) => changes.push(Change::Removed {
            path: path.to_owned(),
            value: value.clone(),
        }),
        (Some(live), Some(desired)) => {
            let mut path = path.to_owned();
            walk(&mut path, live, desired, changes);
        }
    }
}

/// The `name` of a list item already known to have one.
fn item_name(item: &Value) -> &str {
    item.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// Whether every item is a map with a string `name`, no two alike: then items are matched
/// by name, so inserting a container does not show every later one as changed.
fn keyed_by_name(items: &[Value]) -> bool {
    let mut names = std::collections::HashSet::new();
    items.iter().all(|item| {
        item.get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| names.insert(name))
    })
}

/// Whether a key or name can be written bare in a path.
fn is_plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A JSON string literal (keys and names are shown quoted when not plain).
fn quoted(word: &str) -> String {
    Value::String(word.to_owned()).to_string()
}

/// Appends a map key to a path.
fn push_key(path: &mut String, key: &str) {
    if is_plain(key) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&quoted(key));
        path.push(']');
    }
}

/// Appends a list index to a path.
fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(&index.to_string());
    path.push(']');
}

/// Appends a list item addressed by name to a path.
fn push_name(path: &mut String, name: &str) {
    path.push_str("[name=");
    if is_plain(name) {
        path.push_str(name);
    } else {
        path.push_str(&quoted(name));
    }
    path.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: u64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {
                "replicas": replicas,
                "template": {"spec": {"containers": [
                    {"name": "web", "image": image, "args": ["--port", "80"]},
                    {"name": "log", "image": "fluent-bit:3"}
                ]}}
            }
        })
    }

    #[test]
    fn scalar_changes_and_equal_objects() {
        let live = deployment(2, "web:1");
        assert!(diff(Some(&live), Some(&live)).is_empty());
        let changes = diff(Some(&live), Some(&deployment(3, "web:2")));
        assert_eq!(
            changes,
            vec![
                Change::Changed {
                    path: "spec.replicas".into(),
                    from: json!(2),
                    to: json!(3)
                },
                Change::Changed {
                    path: "spec.template.spec.containers[name=web].image".into(),
                    from: json!("web:1"),
                    to: json!("web:2")
                },
            ]
        );
    }

    #[test]
    fn list_items_are_matched_by_name_not_position() {
        let live = deployment(2, "web:1");
        let mut desired = live.clone();
        let containers = desired["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap();
        containers.insert(0, json!({"name": "proxy", "image": "envoy:1"}));
        containers.retain(|c| c["name"] != "log");
        let changes = diff(Some(&live), Some(&desired));
        assert_eq!(
            changes,
            vec![
                Change::Added {
                    path: "spec.template.spec.containers[name=proxy]".into(),
                    value: json!({"name": "proxy", "image": "envoy:1"})
                },
                Change::Removed {
                    path: "spec.template.spec.containers[name=log]".into(),
                    value: json!({"name": "log", "image": "fluent-bit:3"})
                },
            ]
        );
    }

    #[test]
    fn unnamed_lists_by_index_and_quoted_keys() {
        let live = deployment(2, "web:1");
        let mut desired = live.clone();
        desired["spec"]["template"]["spec"]["containers"][0]["args"] =
            json!(["--port", "8080", "-v"]);
        desired["metadata"]["labels"]["app.kubernetes.io/name"] = json!("web");
        desired["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .shift_remove("app");
        let changes = diff(Some(&live), Some(&desired));
        let paths: Vec<&str> = changes.iter().map(Change::path).collect();
        assert_eq!(
            paths,
            vec![
                "metadata.labels[\"app.kubernetes.io/name\"]",
                "metadata.labels.app",
                "spec.template.spec.containers[name=web].args[1]",
                "spec.template.spec.containers[name=web].args[2]",
            ]
        );
    }

    #[test]
    fn empty_and_null_equal_absent_and_types_change_whole() {
        let live = json!({"spec": {"a": [], "b": {}, "c": null, "d": {"x": 1}}});
        let desired = json!({"spec": {"d": [1]}});
        assert_eq!(
            diff(Some(&live), Some(&desired)),
            vec![Change::Changed {
                path: "spec.d".into(),
                from: json!({"x": 1}),
                to: json!([1])
            }]
        );
        // Numbers compare exactly: 1 and 1.0 are different JSON.
        assert_eq!(
            diff(Some(&json!({"a": 1})), Some(&json!({"a": 1.0}))).len(),
            1
        );
    }

    #[test]
    fn create_and_delete_list_top_level_fields() {
        let object = deployment(1, "web:1");
        let created = diff(None, Some(&object));
        assert_eq!(created.len(), 4);
        assert!(matches!(&created[3], Change::Added { path, .. } if path == "spec"));
        let deleted = diff(Some(&object), None);
        assert!(matches!(&deleted[0], Change::Removed { path, .. } if path == "apiVersion"));
        assert!(diff(None, None).is_empty());
        assert_eq!(
            diff(None, Some(&json!("x"))),
            vec![Change::Added {
                path: String::new(),
                value: json!("x")
            }]
        );
    }

    #[test]
    fn duplicate_names_fall_back_to_indexes() {
        let live = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]});
        let desired = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 3}]});
        assert_eq!(diff(Some(&live), Some(&desired))[0].path(), "l[1].v");
        let odd = json!({"l": [{"name": "a b", "v": 1}]});
        assert_eq!(
            diff(Some(&json!({"l": [{"name": "a b", "v": 2}]})), Some(&odd))[0].path(),
            "l[name=\"a b\"].v"
        );
    }

    #[test]
    fn compare_runs_the_whole_pipeline() {
        let mut live = deployment(5, "web:1");
        live["metadata"]["uid"] = json!("1234");
        live["metadata"]["resourceVersion"] = json!("99");
        live["status"] = json!({"replicas": 5});
        let desired = deployment(2, "web:2");
        let rules = [IgnoreRule {
            json_pointers: vec!["/spec/replicas".into()],
            ..IgnoreRule::new("apps", "Deployment")
        }];
        let changes = compare(Some(&live), Some(&desired), &rules).unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            changes[0].path(),
            "spec.template.spec.containers[name=web].image"
        );
        let created = compare(None, Some(&desired), &rules).unwrap();
        assert!(created.iter().all(|c| matches!(c, Change::Added { .. })));
    }
}
