//! Secret masking: no Secret value, decoded or encoded, may reach a diff, an error or a
//! log line, yet a plan must still say which keys change.
//!
//! So each key is compared first — the base64 `data` decoded, with `stringData` folded in
//! as the API server folds it (a `stringData` key wins over the same `data` key) — and only
//! then are the values replaced: by [`MASK`] on the live side and on unchanged keys, by
//! [`MASK_CHANGED`] on desired keys whose value differs. The generic diff then reports a
//! changed key as `"***"` → `"*** (changed)"`, which the text renderer prints as
//! `data.password: *** (changed)`; unchanged keys are equal and do not show at all.

use serde_json::{Map, Value};

/// What every Secret value is replaced with.
pub const MASK: &str = "***";

/// What a desired Secret value that differs from the live one is replaced with.
pub const MASK_CHANGED: &str = "*** (changed)";

/// The annotation in which `kubectl apply` keeps a full copy of the object — values
/// included, so it is removed from Secrets here rather than trusted to normalisation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Masks the values of both sides that are Secrets (any object of kind `Secret`: masking
/// a look-alike custom kind costs nothing, missing a real one leaks). `stringData` is
/// folded into `data` and removed, as the server stores it. Either side may be `Null` or
/// another kind (create, delete); then every key of the Secret side shows as [`MASK`].
pub fn mask_secrets(live: &mut Value, desired: &mut Value) {
    let live_contents = is_secret(live).then(|| Contents::of(live));
    let desired_contents = is_secret(desired).then(|| Contents::of(desired));
    if let Some(contents) = &live_contents {
        contents.write_masked(live, None);
    }
    if let Some(contents) = &desired_contents {
        contents.write_masked(desired, live_contents.as_ref());
    }
}

/// Whether an object is a Secret.
fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// What a value is compared by: its decoded bytes when it is valid base64 (or came from
/// `stringData`), the raw JSON otherwise. Never printed.
#[derive(PartialEq)]
enum Fingerprint {
    /// The secret bytes.
    Bytes(Vec<u8>),
    /// Anything that is not a base64 string.
    Raw(Value),
}

/// The comparable contents of one Secret.
struct Contents {
    /// Keys in order, `data` first then new `stringData` keys.
    keys: Vec<(String, Fingerprint)>,
    /// Whether `data` or `stringData` was present as a map (an empty map stays `{}`).
    has_data: bool,
    /// A `data` or `stringData` that is not a map (invalid, but still never shown).
    opaque: Option<Value>,
}

impl Contents {
    /// Reads `data` and `stringData` of a Secret.
    fn of(secret: &Value) -> Self {
        let mut contents = Self {
            keys: Vec::new(),
            has_data: false,
            opaque: None,
        };
        match secret.get("data") {
            None | Some(Value::Null) => {}
            Some(Value::Object(data)) => {
                contents.has_data = true;
                for (key, value) in data {
                    let fingerprint = match value.as_str().and_then(decode_base64) {
                        Some(bytes) => Fingerprint::Bytes(bytes),
                        None => Fingerprint::Raw(value.clone()),
                    };
                    contents.set(key, fingerprint);
                }
            }
            Some(other) => contents.opaque = Some(other.clone()),
        }
        match secret.get("stringData") {
            None | Some(Value::Null) => {}
            Some(Value::Object(data)) => {
                contents.has_data = true;
                for (key, value) in data {
                    let fingerprint = match value.as_str() {
                        Some(text) => Fingerprint::Bytes(text.as_bytes().to_vec()),
                        None => Fingerprint::Raw(value.clone()),
                    };
                    contents.set(key, fingerprint);
                }
            }
            Some(other) => {
                contents.opaque = Some(Value::Array(vec![
                    contents.opaque.take().unwrap_or(Value::Null),
                    other.clone(),
                ]));
            }
        }
        contents
    }

    /// Sets a key, replacing an earlier value in place (`stringData` over `data`).
    fn set(&mut self, key: &str, fingerprint: Fingerprint) {
        match self.keys.iter_mut().find(|(name, _)| name == key) {
            Some(slot) => slot.1 = fingerprint,
            None => self.keys.push((key.to_owned(), fingerprint)),
        }
    }

    /// The value of a key.
    fn get(&self, key: &str) -> Option<&Fingerprint> {
        self.keys
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, fingerprint)| fingerprint)
    }

    /// Replaces the Secret's values with masks: [`MASK_CHANGED`] for keys that `against`
    /// (the live contents, for the desired side) has with another value.
    fn write_masked(&self, secret: &mut Value, against: Option<&Self>) {
        let Some(map) = secret.as_object_mut() else {
            return;
        };
        let mask = |changed: bool| Value::String(if changed { MASK_CHANGED } else { MASK }.into());
        map.shift_remove("stringData");
        if let Some(opaque) = &self.opaque {
            let changed = against.is_some_and(|live| live.opaque.as_ref() != Some(opaque));
            map.insert("data".into(), mask(changed));
        } else if self.has_data {
            let data: Map<String, Value> = self
                .keys
                .iter()
                .map(|(key, fingerprint)| {
                    let changed = against
                        .and_then(|live| live.get(key))
                        .is_some_and(|live| live != fingerprint);
                    (key.clone(), mask(changed))
                })
                .collect();
            map.insert("data".into(), Value::Object(data));
        } else {
            map.shift_remove("data");
        }
        if let Some(annotations) = map
            .get_mut("metadata")
            .and_then(|metadata| metadata.get_mut("annotations"))
            .and_then(Value::as_object_mut)
        {
            annotations.shift_remove(LAST_APPLIED);
        }
    }
}

/// Decodes standard padded base64 (what the API server writes), or `None`.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn sextet(byte: u8) -> Option<u32> {
        Some(u32::from(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && index + 1 != chunks) {
            return None;
        }
        let mut group = 0u32;
        for &byte in &chunk[..4 - padding] {
            group = (group << 6) | sextet(byte)?;
        }
        group <<= 6 * padding as u32;
        let decoded = [(group >> 16) as u8, (group >> 8) as u8, group as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{compare, render_text, to_json};
    use super::*;
    use serde_json::json;

    /// The values used below, plain and base64: none may appear in any output.
    const FORBIDDEN: &[&str] = &[
        "hunter2",
        "aHVudGVyMg==",
        "aHVudGVyMg",
        "correct horse",
        "Y29ycmVjdCBob3JzZQ==",
        "Y29ycmVjdCBob3JzZQ",
        "admin",
        "YWRtaW4",
        "s3cr3t-token",
        "czNjcjN0LXRva2Vu",
        "bXVsdGkKbGluZQp2YWx1ZQ",
        "\"multi",
        "multi\\nline",
    ];

    fn secret(data: &Value, string_data: Option<&Value>) -> Value {
        let mut secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop", "annotations": {
                LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"
            }},
            "type": "Opaque",
            "data": data
        });
        if let Some(string_data) = string_data {
            secret["stringData"] = string_data.clone();
        }
        secret
    }

    fn assert_no_leak(text: &str) {
        for value in FORBIDDEN {
            assert!(!text.contains(value), "`{value}` leaked into:\n{text}");
        }
    }

    #[test]
    fn changed_keys_are_marked_and_nothing_leaks() {
        let live = secret(
            &json!({"username": "YWRtaW4=", "password": "aHVudGVyMg==", "old": "bXVsdGkKbGluZQp2YWx1ZQ=="}),
            None,
        );
        // Desired as a manifest: the new password and a new key in stringData, the
        // username unchanged but written in stringData.
        let desired = secret(
            &json!({"username": "YWRtaW4="}),
            Some(
                &json!({"password": "correct horse", "token": "s3cr3t-token", "username": "admin"}),
            ),
        );
        let changes = compare(Some(&live), Some(&desired), &[]).unwrap();
        let text = render_text(&changes);
        let json_text = to_json(&changes).to_string();
        let debug = format!("{changes:?}");
        for output in [&text, &json_text, &debug] {
            assert_no_leak(output);
        }
        assert!(
            text.contains("  ~ data.password: *** (changed)\n"),
            "{text}"
        );
        assert!(text.contains("  + data.token: ***\n"), "{text}");
        assert!(text.contains("  - data.old: ***\n"), "{text}");
        assert!(!text.contains("username"), "{text}");
        assert!(!text.contains("stringData"), "{text}");
        assert!(!text.contains("last-applied"), "{text}");
        assert_eq!(changes.len(), 3, "{changes:?}");
    }

    #[test]
    fn masks_each_side_and_folds_string_data() {
        let mut live = secret(&json!({"a": "YWRtaW4=", "b": "aHVudGVyMg=="}), None);
        let mut desired = secret(
            &json!({"a": "YWRtaW4=", "b": "aHVudGVyMg=="}),
            Some(&json!({"b": "hunter2", "c": "admin"})),
        );
        mask_secrets(&mut live, &mut desired);
        assert_eq!(live["data"], json!({"a": "***", "b": "***"}));
        assert_eq!(desired["data"], json!({"a": "***", "b": "***", "c": "***"}));
        assert!(desired.get("stringData").is_none());
        assert!(live["metadata"]["annotations"].get(LAST_APPLIED).is_none());
        assert_no_leak(&live.to_string());
        assert_no_leak(&desired.to_string());
    }

    #[test]
    fn create_delete_and_odd_shapes_are_masked() {
        let mut created = secret(&json!({"p": "aHVudGVyMg=="}), Some(&json!({"q": "admin"})));
        mask_secrets(&mut Value::Null, &mut created);
        assert_eq!(created["data"], json!({"p": "***", "q": "***"}));
        let changes = compare(
            None,
            Some(&secret(&json!({"p": "aHVudGVyMg=="}), None)),
            &[],
        )
        .unwrap();
        assert_no_leak(&render_text(&changes));
        let changes = compare(
            Some(&secret(&json!({"p": "aHVudGVyMg=="}), None)),
            None,
            &[],
        )
        .unwrap();
        assert_no_leak(&render_text(&changes));

        // Not a map, not a string: still masked, change still detected.
        let mut live = secret(&json!("aHVudGVyMg=="), None);
        let mut desired = secret(&json!(["admin"]), Some(&json!("s3cr3t-token")));
        mask_secrets(&mut live, &mut desired);
        assert_eq!(live["data"], json!(MASK));
        assert_eq!(desired["data"], json!(MASK_CHANGED));
        assert!(desired.get("stringData").is_none());
        let mut live = secret(&json!({"n": 1, "s": "not base64!"}), None);
        let mut desired = secret(&json!({"n": 2, "s": "not base64!"}), None);
        mask_secrets(&mut live, &mut desired);
        assert_eq!(desired["data"], json!({"n": MASK_CHANGED, "s": MASK}));
        // Other kinds are untouched.
        let mut config_map = json!({"kind": "ConfigMap", "data": {"a": "b"}});
        mask_secrets(&mut config_map.clone(), &mut config_map);
        assert_eq!(config_map["data"]["a"], "b");
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("aHVudGVyMg==").unwrap(), b"hunter2");
        assert_eq!(decode_base64("YWRtaW4=").unwrap(), b"admin");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("YWRtaW4").is_none());
        assert!(decode_base64("YW=taW4=").is_none());
        assert!(decode_base64("YQ==YQ==").is_none());
        assert!(decode_base64("Y===").is_none());
        assert!(decode_base64("YW*t").is_none());
    }
}
