//! Decoding of the Kubernetes protobuf request bodies kubectl's typed clients send.
//!
//! `kubectl create namespace` and `kubectl create configmap` go through client-go's typed
//! clientset, which sends `application/vnd.kubernetes.protobuf` and does not fall back to
//! JSON on a 415 (checked with kubectl 1.32 and 1.33). So the simulator decodes the
//! envelope (`k8s\0` + `runtime.Unknown`) and the few kinds those commands create into the
//! same JSON the rest of the simulator stores. A field it does not know is refused with 415
//! rather than dropped, so a decoding gap can never pass for a successful write.
//! Server-owned metadata (timestamps, managedFields) is skipped: the store overwrites it.

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The media type of Kubernetes protobuf bodies.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Decodes a protobuf request body into the JSON object it encodes.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| bad("the body lacks the k8s protobuf envelope prefix"))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (number, field) in fields(envelope)? {
        match number {
            1 => {
                for (number, field) in fields(field.bytes()?)? {
                    match number {
                        1 => api_version = field.string()?,
                        2 => kind = field.string()?,
                        _ => {}
                    }
                }
            }
            2 => raw = field.bytes()?,
            // contentEncoding and contentType are empty for plain protobuf.
            _ => {}
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), api_version.clone().into());
    object.insert("kind".into(), kind.clone().into());
    let unsupported = |number: u32| {
        ApiError::UnsupportedMediaType(format!(
            "the shipway simulator cannot decode field {number} of {api_version} {kind} from protobuf; send application/json"
        ))
    };
    for (number, field) in fields(raw)? {
        let (name, value) = match (api_version.as_str(), kind.as_str(), number) {
            ("v1", "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount", 1) => {
                ("metadata", object_meta(field.bytes()?)?)
            }
            ("v1", "Namespace", 2) => ("spec", namespace_part(field.bytes()?, "finalizers")?),
            ("v1", "Namespace", 3) => ("status", namespace_part(field.bytes()?, "phase")?),
            ("v1", "ConfigMap", 2) => {
                ("data", merge_entry(&object, "data", field.bytes()?, false)?)
            }
            ("v1", "ConfigMap", 3) | ("v1", "Secret", 2) => {
                let name = if kind == "Secret" {
                    "data"
                } else {
                    "binaryData"
                };
                (name, merge_entry(&object, name, field.bytes()?, true)?)
            }
            ("v1", "ConfigMap", 4) | ("v1", "Secret", 5) => ("immutable", field.bool()?),
            ("v1", "Secret", 3) => ("type", non_empty(field.string()?)),
            ("v1", "Secret", 4) => (
                "stringData",
                merge_entry(&object, "stringData", field.bytes()?, false)?,
            ),
            ("v1", "ServiceAccount", 4) => ("automountServiceAccountToken", field.bool()?),
            _ => return Err(unsupported(number)),
        };
        if !value.is_null() {
            object.insert(name.into(), value);
        }
    }
    Ok(Value::Object(object))
}

/// `ObjectMeta`, without the server-owned fields.
fn object_meta(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut metadata = Map::new();
    for (number, field) in fields(bytes)? {
        let name = match number {
            1 => "name",
            2 => "generateName",
            3 => "namespace",
            5 => "uid",
            6 => "resourceVersion",
            11 | 12 => {
                let name = if number == 11 {
                    "labels"
                } else {
                    "annotations"
                };
                let merged = merge_entry(&metadata, name, field.bytes()?, false)?;
                metadata.insert(name.into(), merged);
                continue;
            }
            13 => {
                let reference = owner_reference(field.bytes()?)?;
                push(&mut metadata, "ownerReferences", reference);
                continue;
            }
            14 => {
                push(&mut metadata, "finalizers", field.string()?.into());
                continue;
            }
            // selfLink, generation, timestamps, grace period, managedFields: server-owned.
            4 | 7 | 8 | 9 | 10 | 17 => continue,
            other => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the shipway simulator cannot decode ObjectMeta field {other} from protobuf; send application/json"
                )));
            }
        };
        let value = non_empty(field.string()?);
        if !value.is_null() {
            metadata.insert(name.into(), value);
        }
    }
    Ok(Value::Object(metadata))
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut reference = Map::new();
    for (number, field) in fields(bytes)? {
        let (name, value) = match number {
            1 => ("kind", field.string()?.into()),
            3 => ("name", field.string()?.into()),
            4 => ("uid", field.string()?.into()),
            5 => ("apiVersion", field.string()?.into()),
            6 => ("controller", field.bool()?),
            7 => ("blockOwnerDeletion", field.bool()?),
            other => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the shipway simulator cannot decode OwnerReference field {other} from protobuf"
                )));
            }
        };
        reference.insert(name.into(), value);
    }
    Ok(Value::Object(reference))
}

/// `NamespaceSpec` (finalizers, field 1) or `NamespaceStatus` (phase, field 1).
fn namespace_part(bytes: &[u8], only_field: &str) -> Result<Value, ApiError> {
    let mut part = Map::new();
    for (number, field) in fields(bytes)? {
        match (only_field, number) {
            ("finalizers", 1) => push(&mut part, "finalizers", field.string()?.into()),
            ("phase", 1) => {
                let phase = non_empty(field.string()?);
                if !phase.is_null() {
                    part.insert("phase".into(), phase);
                }
            }
            _ => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the shipway simulator cannot decode namespace field {number} from protobuf"
                )));
            }
        }
    }
    Ok(Value::Object(part))
}

/// Adds one map entry (key 1, value 2) to the map `name` of `parent`; byte values become
/// base64, as JSON carries `[]byte`.
fn merge_entry(
    parent: &Map<String, Value>,
    name: &str,
    entry: &[u8],
    binary: bool,
) -> Result<Value, ApiError> {
    let mut map = parent
        .get(name)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (number, field) in fields(entry)? {
        match number {
            1 => key = field.string()?,
            2 if binary => value = base64(field.bytes()?).into(),
            2 => value = field.string()?.into(),
            _ => {}
        }
    }
    map.insert(key, value);
    Ok(Value::Object(map))
}

fn push(map: &mut Map<String, Value>, name: &str, value: Value) {
    if let Some(Value::Array(items)) = map.get_mut(name) {
        items.push(value);
    } else {
        map.insert(name.into(), json!([value]));
    }
}

/// Go's `omitempty` on strings: proto2 writes empty strings that JSON would leave out.
fn non_empty(text: String) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        text.into()
    }
}

fn bad(message: &str) -> ApiError {
    ApiError::BadRequest(format!("invalid protobuf body: {message}"))
}

/// One decoded field value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Field<'a> {
    fn bytes(&self) -> Result<&'a [u8], ApiError> {
        match self {
            Self::Bytes(bytes) => Ok(bytes),
            _ => Err(bad("expected a length-delimited field")),
        }
    }

    fn string(&self) -> Result<String, ApiError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| bad("a string is not UTF-8"))
    }

    fn bool(&self) -> Result<Value, ApiError> {
        match self {
            Self::Varint(value) => Ok(Value::Bool(*value != 0)),
            _ => Err(bad("expected a varint field")),
        }
    }
}

/// Splits a message into (field number, value) pairs in wire order.
fn fields(mut bytes: &[u8]) -> Result<Vec<(u32, Field<'_>)>, ApiError> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let tag = varint(&mut bytes)?;
        let number = u32::try_from(tag >> 3).map_err(|_| bad("field number out of range"))?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(&mut bytes)?),
            1 | 5 => {
                let width = if tag & 7 == 1 { 8 } else { 4 };
                bytes = bytes
                    .get(width..)
                    .ok_or_else(|| bad("truncated fixed field"))?;
                Field::Fixed
            }
            2 => {
                let length = usize::try_from(varint(&mut bytes)?).map_err(|_| bad("length"))?;
                let (value, rest) = (bytes.get(..length), bytes.get(length..));
                let (Some(value), Some(rest)) = (value, rest) else {
                    return Err(bad("truncated length-delimited field"));
                };
                bytes = rest;
                Field::Bytes(value)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        fields.push((number, field));
    }
    Ok(fields)
}

fn varint(bytes: &mut &[u8]) -> Result<u64, ApiError> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or_else(|| bad("truncated varint"))?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

/// Standard base64 with padding, as Go's `encoding/json` writes `[]byte`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |group, (index, &byte)| {
                group | u32::from(byte) << (16 - 8 * index)
            });
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(char::from(
                    ALPHABET[(group >> (18 - 6 * index) & 63) as usize],
                ));
            } else {
                text.push('=');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_kubectl_create_sends() {
        // Captured from `kubectl create namespace demo` and
        // `kubectl create configmap x --from-literal=a=1` (kubectl 1.32).
        let namespace = b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04demo\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00\"\x00";
        assert_eq!(
            decode(namespace).unwrap(),
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"},"spec":{},"status":{}})
        );
        let configmap = b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x12\x1b\n\x11\n\x01x\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x06\n\x01a\x12\x011\x1a\x00\"\x00";
        assert_eq!(
            decode(configmap).unwrap(),
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"1"}})
        );
    }

    #[test]
    fn refuses_unknown_kinds_and_garbage() {
        let deployment = b"k8s\x00\n\x15\n\x07apps/v1\x12\nDeployment\x12\x02\x12\x00";
        assert_eq!(decode(deployment).unwrap_err().code(), 415);
        assert_eq!(decode(b"{}").unwrap_err().code(), 400);
        assert_eq!(decode(b"k8s\x00\x0a\xff").unwrap_err().code(), 400);
    }

    #[test]
    fn base64_pads_like_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
