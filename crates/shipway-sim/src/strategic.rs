//! Strategic merge patch as the API server applies it, driven by the bundled 1.32 schema.
//!
//! `kubectl apply` (client-side) and `kubectl patch` send
//! `application/strategic-merge-patch+json`. Maps merge as in a merge patch; a list merges
//! only when its field's `x-kubernetes-patch-strategy` includes `merge` (elements matched on
//! `x-kubernetes-patch-merge-key`, primitive lists united), otherwise it is replaced. The
//! directives apimachinery's `strategicpatch` honours are applied: `$patch`
//! (`replace`/`delete`/`merge`) on maps and list elements, `$retainKeys`,
//! `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`.
//!
//! Simplification: when a merged list has a `$setElementOrder`, elements it names come
//! first in its order and elements only the server has follow in their stored order;
//! apimachinery interleaves the latter by their original positions.

use serde_json::{Map, Value};
use shipway_schema::{Field, Schema, Type};

use crate::error::ApiError;

/// Applies `patch` to `target`, an object whose definition in `schema` is `definition`
/// (`None` treats every list as atomic, like a merge patch).
pub(crate) fn apply(
    schema: &Schema,
    definition: Option<&str>,
    target: &mut Value,
    patch: &Value,
) -> Result<(), ApiError> {
    let (Value::Object(target_map), Value::Object(patch_map)) = (&mut *target, patch) else {
        return Err(ApiError::BadRequest(
            "a strategic merge patch must be a JSON object".into(),
        ));
    };
    merge_map(schema, definition, target_map, patch_map)
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

fn merge_map(
    schema: &Schema,
    definition: Option<&str>,
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), ApiError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = without_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            target.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(bad(format!("unknown patch type: {other} in map"))),
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let keys: Vec<&str> = retain
            .as_array()
            .ok_or_else(|| bad("$retainKeys must be a list".into()))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        target.retain(|key, _| keys.contains(&key.as_str()));
    }
    // Deletions from primitive lists first, so a `$setElementOrder` sees the final set.
    for (key, values) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let values = values
                .as_array()
                .ok_or_else(|| bad(format!("{key} must be a list")))?;
            if let Some(Value::Array(items)) = target.get_mut(field) {
                items.retain(|item| !values.contains(item));
            }
        }
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        let field = definition.and_then(|definition| schema.field(definition, key));
        if value.is_null() {
            target.remove(key);
            continue;
        }
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(patch_map)) => {
                merge_map(schema, nested_definition(field), existing, patch_map)?;
            }
            (Some(Value::Array(existing)), Value::Array(patch_items))
                if field.is_some_and(Field::merges) =>
            {
                let merged = merge_list(schema, field, existing, patch_items)?;
                *existing = merged;
            }
            _ => {
                let mut fresh = Value::Object(Map::new());
                if let Value::Object(patch_map) = value {
                    // A new map still goes through the merge, which strips directives.
                    if let Value::Object(fresh_map) = &mut fresh {
                        merge_map(schema, nested_definition(field), fresh_map, patch_map)?;
                    }
                } else if let Value::Array(items) = value {
                    fresh = Value::Array(merge_list(schema, field, &[], items)?);
                } else {
                    fresh = value.clone();
                }
                target.insert(key.clone(), fresh);
            }
        }
    }
    for (key, order) in patch {
        if let Some(field_name) = key.strip_prefix("$setElementOrder/") {
            let field = definition.and_then(|definition| schema.field(definition, field_name));
            let order = order
                .as_array()
                .ok_or_else(|| bad(format!("{key} must be a list")))?;
            if let Some(Value::Array(items)) = target.get_mut(field_name) {
                reorder(items, order, field.and_then(|f| f.merge_key.as_deref()));
            }
        }
    }
    Ok(())
}

/// Merges a list whose field has the `merge` strategy (or builds a new one from a patch,
/// stripping directives).
fn merge_list(
    schema: &Schema,
    field: Option<&Field>,
    existing: &[Value],
    patch: &[Value],
) -> Result<Vec<Value>, ApiError> {
    let merges = field.is_some_and(Field::merges);
    if let Some(replacement) = patch
        .iter()
        .position(|item| item.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        let mut items = patch.to_vec();
        items.remove(replacement);
        return Ok(items);
    }
    let element_definition = field.and_then(|field| match &field.ty {
        Type::Array(inner) => inner.definition(),
        _ => None,
    });
    let merge_key = field.and_then(|field| field.merge_key.as_deref());
    let mut merged: Vec<Value> = if merges {
        existing.to_vec()
    } else {
        Vec::new()
    };
    for item in patch {
        match (item, merge_key) {
            (Value::Object(patch_item), Some(key)) if merges => {
                let wanted = patch_item.get(key);
                let position = merged
                    .iter()
                    .position(|candidate| candidate.get(key) == wanted);
                if patch_item.get("$patch").and_then(Value::as_str) == Some("delete") {
                    merged.retain(|candidate| candidate.get(key) != wanted);
                } else {
                    let mut base = position
                        .and_then(|index| merged.get(index).cloned())
                        .and_then(|value| value.as_object().cloned())
                        .unwrap_or_default();
                    merge_map(schema, element_definition, &mut base, patch_item)?;
                    match position {
                        Some(index) => merged[index] = Value::Object(base),
                        None => merged.push(Value::Object(base)),
                    }
                }
            }
            (Value::Object(patch_item), _) => {
                let mut fresh = Map::new();
                merge_map(schema, element_definition, &mut fresh, patch_item)?;
                merged.push(Value::Object(fresh));
            }
            (scalar, _) => {
                if !(merges && merged.contains(scalar)) {
                    merged.push(scalar.clone());
                }
            }
        }
    }
    Ok(merged)
}

/// Sorts `items` by `order` (merge-key values, or the values themselves for primitives);
/// items the order does not name keep their relative order after the named ones.
fn reorder(items: &mut [Value], order: &[Value], merge_key: Option<&str>) {
    let rank = |item: &Value| {
        let identity = match merge_key {
            Some(key) => item.get(key),
            None => Some(item),
        };
        identity
            .and_then(|identity| {
                order.iter().position(|entry| match merge_key {
                    Some(key) => entry.get(key) == Some(identity),
                    None => entry == identity,
                })
            })
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(rank);
}

/// The definition of a map-typed field's value, for recursion.
fn nested_definition(field: Option<&Field>) -> Option<&str> {
    field.and_then(|field| field.ty.definition())
}

/// A patch map without its `$…` directives and nulls, for `$patch: replace`.
fn without_directives(patch: &Map<String, Value>) -> Map<String, Value> {
    patch
        .iter()
        .filter(|(key, value)| !key.starts_with('$') && !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply_to_deployment(target: &mut Value, patch: &Value) {
        let schema = shipway_schema::bundled("1.32").unwrap();
        let definition = schema.definition_for("apps", "v1", "Deployment");
        apply(schema, definition, target, patch).unwrap();
    }

    #[test]
    fn containers_merge_by_name_and_follow_set_element_order() {
        let mut deployment = json!({"spec":{"template":{"spec":{"containers":[
            {"name":"web","image":"nginx:1.26","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
            {"name":"sidecar","image":"envoy:1"}
        ]}}}});
        apply_to_deployment(
            &mut deployment,
            &json!({"spec":{"replicas":3,"template":{"spec":{
                "$setElementOrder/containers":[{"name":"sidecar"},{"name":"web"}],
                "containers":[{"name":"web","image":"nginx:1.27",
                    "$setElementOrder/env":[{"name":"B"}],
                    "env":[{"$patch":"delete","name":"A"}]}]}}}}),
        );
        assert_eq!(
            deployment,
            json!({"spec":{"replicas":3,"template":{"spec":{"containers":[
                {"name":"sidecar","image":"envoy:1"},
                {"name":"web","image":"nginx:1.27","env":[{"name":"B","value":"2"}]}
            ]}}}})
        );
    }

    #[test]
    fn atomic_lists_replace_and_maps_honour_directives() {
        let mut deployment = json!({"metadata":{"finalizers":["a"],"labels":{"x":"1","y":"2"}},
            "spec":{"template":{"spec":{"containers":[{"name":"web","args":["a","b"]}]}},
                    "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}});
        apply_to_deployment(
            &mut deployment,
            &json!({"metadata":{"finalizers":["b"],"labels":{"x":null}},
                "spec":{"template":{"spec":{"containers":[{"name":"web","args":["c"]}]}},
                        "strategy":{"$retainKeys":["type"],"type":"Recreate"}}}),
        );
        assert_eq!(
            deployment,
            json!({"metadata":{"finalizers":["a","b"],"labels":{"y":"2"}},
                "spec":{"template":{"spec":{"containers":[{"name":"web","args":["c"]}]}},
                        "strategy":{"type":"Recreate"}}})
        );
        apply_to_deployment(
            &mut deployment,
            &json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]},
                    "spec":{"strategy":{"$patch":"replace","type":"RollingUpdate"}}}),
        );
        assert_eq!(deployment["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(
            deployment["spec"]["strategy"],
            json!({"type":"RollingUpdate"})
        );
    }
}
