//! Lists: selectors, `limit` and `continue`.
//!
//! A continue token names the list's resourceVersion and the last key returned; the next
//! page starts after that key. Pages are read from the current objects rather than a
//! snapshot at the first page's resourceVersion (a real server reads its watch cache or etcd
//! at that revision), so an object created between pages after the cursor appears in a later
//! page; a token older than the watch history answers `410 Expired`, as a compacted one does
//! on a real server.

use serde_json::{Value, json};

use super::Store;
use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::selector::Selector;

/// What a list request asks for.
#[derive(Debug, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: Selector,
    /// `fieldSelector`.
    pub fields: Selector,
    /// `limit` (0: everything).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
}

impl Store {
    /// A `<Kind>List` of the objects in `namespace` (all namespaces when `None`) that match
    /// the selectors, paged by `limit`/`continue`, with the list's resourceVersion.
    pub fn list(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<Value, ApiError> {
        let (list_version, after) = match options.continue_token.as_deref() {
            Some(token) if !token.is_empty() => {
                let (version, after) = decode_token(token).ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid continue token: {token}"))
                })?;
                if version < self.history_floor() {
                    return Err(ApiError::Gone(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into(),
                    ));
                }
                (version, Some(after))
            }
            _ => (self.resource_version(), None),
        };
        let mut items = Vec::new();
        let mut next = None;
        for object in self.objects_of(resource, namespace) {
            let position = position(object);
            if after
                .as_deref()
                .is_some_and(|after| position.as_str() <= after)
            {
                continue;
            }
            if !(options.labels.matches_labels(object) && options.fields.matches_fields(object)) {
                continue;
            }
            if options.limit > 0 && items.len() == options.limit {
                next = Some(encode_token(list_version, &last_position(&items)));
                break;
            }
            // A real server omits kind and apiVersion on list items.
            let mut item = object.clone();
            if let Some(item) = item.as_object_mut() {
                item.remove("kind");
                item.remove("apiVersion");
            }
            items.push(item);
        }
        let mut metadata = json!({"resourceVersion": list_version.to_string()});
        if let Some(next) = next {
            metadata["continue"] = next.into();
        }
        Ok(json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }
}

/// The object's position in key order within one resource type: namespace, then name.
fn position(object: &Value) -> String {
    let field = |name: &str| {
        object
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    format!("{}/{}", field("namespace"), field("name"))
}

fn last_position(items: &[Value]) -> String {
    items.last().map(position).unwrap_or_default()
}

/// Tokens are hex so they survive any URL encoding a client applies.
fn encode_token(version: u64, after: &str) -> String {
    use std::fmt::Write as _;
    let text = format!("{version}:{after}");
    let mut token = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        // Writing to a String cannot fail.
        let _ = write!(token, "{byte:02x}");
    }
    token
}

fn decode_token(token: &str) -> Option<(u64, String)> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (version, after) = text.split_once(':')?;
    Some((version.parse().ok()?, after.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources;
    use crate::store::WriteOptions;

    #[test]
    fn pages_follow_continue_tokens_and_expire() {
        let mut store = Store::new();
        let configmaps = resources::find("", "v1", "configmaps").unwrap();
        for index in 0..5 {
            store
                .create(
                    configmaps,
                    Some("default"),
                    json!({"metadata": {"name": format!("cm-{index}")}}),
                    &WriteOptions::manager("t"),
                )
                .unwrap();
        }
        let mut options = ListOptions {
            limit: 2,
            ..ListOptions::default()
        };
        let mut names = Vec::new();
        loop {
            let page = store.list(configmaps, Some("default"), &options).unwrap();
            for item in page["items"].as_array().unwrap() {
                names.push(item["metadata"]["name"].as_str().unwrap().to_owned());
            }
            match page["metadata"]["continue"].as_str() {
                Some(token) => options.continue_token = Some(token.to_owned()),
                None => break,
            }
        }
        assert_eq!(names, vec!["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
        let first = store
            .list(
                configmaps,
                Some("default"),
                &ListOptions {
                    limit: 2,
                    ..ListOptions::default()
                },
            )
            .unwrap();
        store
            .create(
                configmaps,
                Some("default"),
                json!({"metadata": {"name": "late"}}),
                &WriteOptions::manager("t"),
            )
            .unwrap();
        store.compact_history();
        let expired = store.list(
            configmaps,
            Some("default"),
            &ListOptions {
                continue_token: first["metadata"]["continue"].as_str().map(String::from),
                ..ListOptions::default()
            },
        );
        assert_eq!(expired.unwrap_err().code(), 410);
    }
}
