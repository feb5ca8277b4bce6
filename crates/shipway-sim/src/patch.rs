//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over `serde_json` values.
//!
//! Small enough to own rather than add a dependency: both are applied to the stored object
//! before the result goes through the same update path as a PUT, so preconditions,
//! generation and no-op detection behave identically for every write.

use serde_json::Value;

/// Why a JSON patch could not be applied; the message becomes a 422/400 body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

/// Applies an RFC 7386 merge patch: objects merge recursively, `null` removes a key, any
/// other value (arrays included) replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Applies an RFC 6902 JSON patch. Operations apply in order to a copy, so a failing
/// operation leaves `target` untouched, as the whole patch must be atomic.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Array(operations) = patch else {
        return Err(PatchError("a JSON patch must be a JSON array".into()));
    };
    let mut document = target.clone();
    for operation in operations {
        apply_operation(&mut document, operation)?;
    }
    *target = document;
    Ok(())
}

fn apply_operation(document: &mut Value, operation: &Value) -> Result<(), PatchError> {
    let text = |key: &str| {
        operation
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| PatchError(format!("operation {operation} has no string `{key}`")))
    };
    let value = || {
        operation
            .get("value")
            .cloned()
            .ok_or_else(|| PatchError(format!("operation {operation} has no `value`")))
    };
    let path = text("path")?;
    match text("op")? {
        "add" => add(document, path, value()?),
        "remove" => remove(document, path).map(drop),
        "replace" => {
            let slot = pointer_mut(document, path)?;
            *slot = value()?;
            Ok(())
        }
        "move" => {
            let from = text("from")?;
            if path.starts_with(from) && path[from.len()..].starts_with('/') {
                return Err(PatchError(format!(
                    "cannot move {from} into its own child {path}"
                )));
            }
            let moved = remove(document, from)?;
            add(document, path, moved)
        }
        "copy" => {
            let copied = pointer_mut(document, text("from")?)?.clone();
            add(document, path, copied)
        }
        "test" => {
            if *pointer_mut(document, path)? == value()? {
                Ok(())
            } else {
                Err(PatchError(format!("testing value {path} failed")))
            }
        }
        other => Err(PatchError(format!(
            "unknown JSON patch operation {other:?}"
        ))),
    }
}

/// Splits a JSON pointer into its parent pointer and its unescaped last token.
fn split(path: &str) -> Result<(&str, String), PatchError> {
    let index = path
        .rfind('/')
        .ok_or_else(|| PatchError(format!("invalid JSON pointer {path:?}")))?;
    let token = path[index + 1..].replace("~1", "/").replace("~0", "~");
    Ok((&path[..index], token))
}

fn pointer_mut<'a>(document: &'a mut Value, path: &str) -> Result<&'a mut Value, PatchError> {
    document
        .pointer_mut(path)
        .ok_or_else(|| PatchError(format!("path {path:?} does not exist")))
}

fn add(document: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent, token) = split(path)?;
    match pointer_mut(document, parent)? {
        Value::Object(map) => {
            map.insert(token, value);
            Ok(())
        }
        Value::Array(items) => {
            let index = if token == "-" {
                items.len()
            } else {
                array_index(&token, items.len() + 1)?
            };
            items.insert(index, value);
            Ok(())
        }
        _ => Err(PatchError(format!(
            "cannot add {path:?}: parent is not a container"
        ))),
    }
}

fn remove(document: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, token) = split(path)?;
    match pointer_mut(document, parent)? {
        Value::Object(map) => map
            .remove(&token)
            .ok_or_else(|| PatchError(format!("path {path:?} does not exist"))),
        Value::Array(items) => {
            let index = array_index(&token, items.len())?;
            Ok(items.remove(index))
        }
        _ => Err(PatchError(format!("path {path:?} does not exist"))),
    }
}

/// An array index token, which must be decimal without leading zeros and below `bound`.
fn array_index(token: &str, bound: usize) -> Result<usize, PatchError> {
    let valid = !token.is_empty()
        && token.bytes().all(|byte| byte.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    match token.parse::<usize>() {
        Ok(index) if valid && index < bound => Ok(index),
        _ => Err(PatchError(format!(
            "array index {token:?} is out of bounds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386_examples() {
        let mut target = json!({"a":"b","c":{"d":"e","f":"g"}});
        merge_patch(&mut target, &json!({"a":"z","c":{"f":null}}));
        assert_eq!(target, json!({"a":"z","c":{"d":"e"}}));
        let mut target = json!({"a":[{"b":"c"}]});
        merge_patch(&mut target, &json!({"a":[1]}));
        assert_eq!(target, json!({"a":[1]}));
    }

    #[test]
    fn json_patch_applies_all_operations_atomically() {
        let mut target = json!({"a":{"b":[1,2]},"x":1});
        json_patch(
            &mut target,
            &json!([
                {"op":"add","path":"/a/b/1","value":9},
                {"op":"add","path":"/a/b/-","value":3},
                {"op":"replace","path":"/x","value":2},
                {"op":"copy","from":"/x","path":"/y"},
                {"op":"move","from":"/y","path":"/a/c~1d"},
                {"op":"remove","path":"/a/b/0"},
                {"op":"test","path":"/a/c~1d","value":2}
            ]),
        )
        .unwrap();
        assert_eq!(target, json!({"a":{"b":[9,2,3],"c/d":2},"x":2}));
        let before = target.clone();
        let failed = json_patch(
            &mut target,
            &json!([{"op":"remove","path":"/x"},{"op":"test","path":"/a","value":0}]),
        );
        assert!(failed.is_err());
        assert_eq!(target, before);
        assert!(
            json_patch(
                &mut target,
                &json!([{"op":"add","path":"/a/b/01","value":0}])
            )
            .is_err()
        );
    }
}
