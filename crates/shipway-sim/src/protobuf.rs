//! Decoding of the Kubernetes protobuf request bodies kubectl's typed clients send.
//!
//! `kubectl create namespace`, `configmap`, `secret`, `serviceaccount` and `deployment` go
//! through client-go's typed clientset, which sends `application/vnd.kubernetes.protobuf`
//! and does not fall back to JSON on a 415 (checked with kubectl 1.32 and 1.33). So the
//! simulator decodes the envelope (`k8s\0` + `runtime.Unknown`) and those kinds into the
//! JSON the same Go value would encode to, which the rest of the simulator stores.
//!
//! Decoding is driven by tables of each message's field numbers (from the 1.32
//! `generated.proto` files). Go's protobuf encoding writes every non-pointer field, zero
//! or not, and pointer fields only when set, so a zero scalar is dropped unless its field
//! is a pointer ([`Kind::OptionalInt`] and friends), as `omitempty` JSON drops it, and a
//! message that is present becomes an object even when empty, as Go's JSON writes a
//! struct. A field missing from the tables is refused with 415 rather than dropped, so a
//! decoding gap can never pass for a successful write. Server-owned metadata (timestamps,
//! generation, managedFields) is skipped: the store overwrites it.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The media type of Kubernetes protobuf bodies.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// How one field's value is decoded.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A string; an empty one is dropped.
    Str,
    /// A `*string`: kept when set, even empty.
    OptionalStr,
    /// An integer; zero is dropped.
    Int,
    /// A `*int32`/`*int64`: kept when set, even zero.
    OptionalInt,
    /// A bool; `false` is dropped.
    Bool,
    /// A `*bool`: kept when set.
    OptionalBool,
    /// `repeated string`.
    Strings,
    /// A nested message: an object, even when empty.
    Message(&'static Message),
    /// `repeated` messages: a list of objects.
    Messages(&'static Message),
    /// `map<string, string>`.
    StringMap,
    /// `map<string, bytes>`: values as base64, as JSON carries `[]byte`.
    BytesMap,
    /// `map<string, Quantity>`: values as their string form.
    QuantityMap,
    /// An `IntOrString`: a JSON number or string.
    IntOrString,
    /// Server-owned: ignored.
    Skip,
}

/// One message type: its Go name (for errors) and its fields by number.
#[derive(Debug)]
struct Message {
    name: &'static str,
    fields: &'static [(u32, &'static str, Kind)],
}

impl Message {
    fn field(&self, number: u32) -> Option<(&'static str, Kind)> {
        self.fields
            .iter()
            .find(|(n, _, _)| *n == number)
            .map(|(_, name, kind)| (*name, *kind))
    }
}

static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        (1, "name", Kind::Str),
        (2, "generateName", Kind::Str),
        (3, "namespace", Kind::Str),
        (4, "selfLink", Kind::Skip),
        (5, "uid", Kind::Str),
        (6, "resourceVersion", Kind::Str),
        (7, "generation", Kind::Skip),
        (8, "creationTimestamp", Kind::Skip),
        (9, "deletionTimestamp", Kind::Skip),
        (10, "deletionGracePeriodSeconds", Kind::Skip),
        (11, "labels", Kind::StringMap),
        (12, "annotations", Kind::StringMap),
        (13, "ownerReferences", Kind::Messages(&OWNER_REFERENCE)),
        (14, "finalizers", Kind::Strings),
        (17, "managedFields", Kind::Skip),
    ],
};

static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        (1, "kind", Kind::Str),
        (3, "name", Kind::Str),
        (4, "uid", Kind::Str),
        (5, "apiVersion", Kind::Str),
        (6, "controller", Kind::OptionalBool),
        (7, "blockOwnerDeletion", Kind::OptionalBool),
    ],
};

static NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (2, "spec", Kind::Message(&NAMESPACE_SPEC)),
        (3, "status", Kind::Message(&NAMESPACE_STATUS)),
    ],
};

static NAMESPACE_SPEC: Message = Message {
    name: "NamespaceSpec",
    fields: &[(1, "finalizers", Kind::Strings)],
};

static NAMESPACE_STATUS: Message = Message {
    name: "NamespaceStatus",
    fields: &[(1, "phase", Kind::Str)],
};

static CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (2, "data", Kind::StringMap),
        (3, "binaryData", Kind::BytesMap),
        (4, "immutable", Kind::OptionalBool),
    ],
};

static SECRET: Message = Message {
    name: "Secret",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (2, "data", Kind::BytesMap),
        (3, "type", Kind::Str),
        (4, "stringData", Kind::StringMap),
        (5, "immutable", Kind::OptionalBool),
    ],
};

static SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (
            3,
            "imagePullSecrets",
            Kind::Messages(&LOCAL_OBJECT_REFERENCE),
        ),
        (4, "automountServiceAccountToken", Kind::OptionalBool),
    ],
};

static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "LocalObjectReference",
    fields: &[(1, "name", Kind::Str)],
};

static DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (2, "spec", Kind::Message(&DEPLOYMENT_SPEC)),
        (3, "status", Kind::Message(&DEPLOYMENT_STATUS)),
    ],
};

static DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        (1, "replicas", Kind::OptionalInt),
        (2, "selector", Kind::Message(&LABEL_SELECTOR)),
        (3, "template", Kind::Message(&POD_TEMPLATE_SPEC)),
        (4, "strategy", Kind::Message(&DEPLOYMENT_STRATEGY)),
        (5, "minReadySeconds", Kind::Int),
        (6, "revisionHistoryLimit", Kind::OptionalInt),
        (7, "paused", Kind::Bool),
        (9, "progressDeadlineSeconds", Kind::OptionalInt),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[
        (1, "type", Kind::Str),
        (
            2,
            "rollingUpdate",
            Kind::Message(&ROLLING_UPDATE_DEPLOYMENT),
        ),
    ],
};

static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[
        (1, "maxUnavailable", Kind::IntOrString),
        (2, "maxSurge", Kind::IntOrString),
    ],
};

/// What a create sends: all zeros. Conditions are not decoded (a client never sends them).
static DEPLOYMENT_STATUS: Message = Message {
    name: "DeploymentStatus",
    fields: &[
        (1, "observedGeneration", Kind::Int),
        (2, "replicas", Kind::Int),
        (3, "updatedReplicas", Kind::Int),
        (4, "availableReplicas", Kind::Int),
        (5, "unavailableReplicas", Kind::Int),
        (7, "readyReplicas", Kind::Int),
        (8, "collisionCount", Kind::OptionalInt),
    ],
};

static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        (1, "matchLabels", Kind::StringMap),
        (
            2,
            "matchExpressions",
            Kind::Messages(&LABEL_SELECTOR_REQUIREMENT),
        ),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[
        (1, "key", Kind::Str),
        (2, "operator", Kind::Str),
        (3, "values", Kind::Strings),
    ],
};

static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[
        (1, "metadata", Kind::Message(&OBJECT_META)),
        (2, "spec", Kind::Message(&POD_SPEC)),
    ],
};

/// The pod fields a typed client writes for a plain pod template; volumes, affinity,
/// tolerations, security contexts and the like are not decoded.
static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        (2, "containers", Kind::Messages(&CONTAINER)),
        (3, "restartPolicy", Kind::Str),
        (4, "terminationGracePeriodSeconds", Kind::OptionalInt),
        (5, "activeDeadlineSeconds", Kind::OptionalInt),
        (6, "dnsPolicy", Kind::Str),
        (7, "nodeSelector", Kind::StringMap),
        (8, "serviceAccountName", Kind::Str),
        // The deprecated alias of `serviceAccountName`.
        (9, "serviceAccount", Kind::Str),
        (10, "nodeName", Kind::Str),
        (11, "hostNetwork", Kind::Bool),
        (12, "hostPID", Kind::Bool),
        (13, "hostIPC", Kind::Bool),
        (
            15,
            "imagePullSecrets",
            Kind::Messages(&LOCAL_OBJECT_REFERENCE),
        ),
        (16, "hostname", Kind::Str),
        (17, "subdomain", Kind::Str),
        (19, "schedulerName", Kind::Str),
        (20, "initContainers", Kind::Messages(&CONTAINER)),
        (21, "automountServiceAccountToken", Kind::OptionalBool),
        (24, "priorityClassName", Kind::Str),
        (25, "priority", Kind::OptionalInt),
        (27, "shareProcessNamespace", Kind::OptionalBool),
        (29, "runtimeClassName", Kind::OptionalStr),
        (30, "enableServiceLinks", Kind::OptionalBool),
        (31, "preemptionPolicy", Kind::OptionalStr),
        (35, "setHostnameAsFQDN", Kind::OptionalBool),
        (37, "hostUsers", Kind::OptionalBool),
    ],
};

/// What `kubectl create deployment` can set (image, command, ports) and the scalars every
/// container carries; probes, mounts and security contexts are not decoded.
static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        (1, "name", Kind::Str),
        (2, "image", Kind::Str),
        (3, "command", Kind::Strings),
        (4, "args", Kind::Strings),
        (5, "workingDir", Kind::Str),
        (6, "ports", Kind::Messages(&CONTAINER_PORT)),
        (7, "env", Kind::Messages(&ENV_VAR)),
        (8, "resources", Kind::Message(&RESOURCE_REQUIREMENTS)),
        (13, "terminationMessagePath", Kind::Str),
        (14, "imagePullPolicy", Kind::Str),
        (16, "stdin", Kind::Bool),
        (17, "stdinOnce", Kind::Bool),
        (18, "tty", Kind::Bool),
        (20, "terminationMessagePolicy", Kind::Str),
        (24, "restartPolicy", Kind::OptionalStr),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        (1, "name", Kind::Str),
        (2, "hostPort", Kind::Int),
        (3, "containerPort", Kind::Int),
        (4, "protocol", Kind::Str),
        (5, "hostIP", Kind::Str),
    ],
};

/// Plain `name`/`value` variables only (`valueFrom` is not decoded).
static ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[(1, "name", Kind::Str), (2, "value", Kind::Str)],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        (1, "limits", Kind::QuantityMap),
        (2, "requests", Kind::QuantityMap),
    ],
};

/// The top-level message of each kind the simulator decodes.
fn kind_message(api_version: &str, kind: &str) -> Option<&'static Message> {
    match (api_version, kind) {
        ("v1", "Namespace") => Some(&NAMESPACE),
        ("v1", "ConfigMap") => Some(&CONFIG_MAP),
        ("v1", "Secret") => Some(&SECRET),
        ("v1", "ServiceAccount") => Some(&SERVICE_ACCOUNT),
        ("apps/v1", "Deployment") => Some(&DEPLOYMENT),
        _ => None,
    }
}

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
    let Some(message) = kind_message(&api_version, &kind) else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the shipway simulator cannot decode {api_version} {kind} from protobuf; send application/json"
        )));
    };
    let mut object = Map::new();
    object.insert("apiVersion".into(), api_version.into());
    object.insert("kind".into(), kind.into());
    decode_into(&mut object, raw, message, 0)?;
    Ok(Value::Object(object))
}

/// How deep messages may nest; the tables nest seven deep at most, so anything deeper is
/// malformed (and must not recurse without bound).
const MAX_DEPTH: usize = 16;

/// Decodes the fields of one `message` from `bytes` into `object`.
fn decode_into(
    object: &mut Map<String, Value>,
    bytes: &[u8],
    message: &'static Message,
    depth: usize,
) -> Result<(), ApiError> {
    if depth > MAX_DEPTH {
        return Err(bad("messages nest too deeply"));
    }
    for (number, field) in fields(bytes)? {
        let Some((name, kind)) = message.field(number) else {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the shipway simulator cannot decode field {number} of {} from protobuf; send application/json",
                message.name
            )));
        };
        let value = match kind {
            Kind::Skip => continue,
            Kind::Str => Some(field.string()?.into()).filter(|v: &Value| v != ""),
            Kind::OptionalStr => Some(field.string()?.into()),
            // Varints carry negative numbers sign-extended to 64 bits.
            Kind::Int => Some(Value::from(field.varint()? as i64)).filter(|v| v != 0),
            Kind::OptionalInt => Some(Value::from(field.varint()? as i64)),
            Kind::Bool => Some(Value::Bool(field.varint()? != 0)).filter(|v| v != false),
            Kind::OptionalBool => Some(Value::Bool(field.varint()? != 0)),
            Kind::Message(inner) => {
                let mut nested = Map::new();
                decode_into(&mut nested, field.bytes()?, inner, depth + 1)?;
                Some(Value::Object(nested))
            }
            Kind::Strings => {
                push(object, name, field.string()?.into());
                None
            }
            Kind::Messages(inner) => {
                let mut nested = Map::new();
                decode_into(&mut nested, field.bytes()?, inner, depth + 1)?;
                push(object, name, Value::Object(nested));
                None
            }
            Kind::StringMap | Kind::BytesMap | Kind::QuantityMap => {
                let (key, value) = map_entry(field.bytes()?, kind)?;
                let entries = object
                    .entry(name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(entries) = entries.as_object_mut() {
                    entries.insert(key, value);
                }
                None
            }
            Kind::IntOrString => Some(int_or_string(field.bytes()?)?),
        };
        if let Some(value) = value {
            object.insert(name.into(), value);
        }
    }
    Ok(())
}

/// One map entry (key 1, value 2).
fn map_entry(entry: &[u8], kind: Kind) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (number, field) in fields(entry)? {
        match number {
            1 => key = field.string()?,
            2 => {
                value = match kind {
                    Kind::BytesMap => base64(field.bytes()?).into(),
                    // `Quantity` is a message whose field 1 is its string form.
                    Kind::QuantityMap => {
                        let mut text = String::new();
                        for (number, part) in fields(field.bytes()?)? {
                            if number == 1 {
                                text = part.string()?;
                            }
                        }
                        text.into()
                    }
                    _ => field.string()?.into(),
                };
            }
            _ => {}
        }
    }
    Ok((key, value))
}

/// `IntOrString`: `type` 1 (0 int, 1 string), `intVal` 2, `strVal` 3.
fn int_or_string(bytes: &[u8]) -> Result<Value, ApiError> {
    let (mut is_string, mut number, mut text) = (false, 0_i64, String::new());
    for (field_number, field) in fields(bytes)? {
        match field_number {
            1 => is_string = field.varint()? == 1,
            2 => number = field.varint()? as i64,
            3 => text = field.string()?,
            _ => {}
        }
    }
    Ok(if is_string {
        text.into()
    } else {
        number.into()
    })
}

fn push(map: &mut Map<String, Value>, name: &str, value: Value) {
    if let Some(Value::Array(items)) = map.get_mut(name) {
        items.push(value);
    } else {
        map.insert(name.into(), Value::Array(vec![value]));
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

    fn varint(&self) -> Result<u64, ApiError> {
        match self {
            Self::Varint(value) => Ok(*value),
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
    use serde_json::json;

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
    fn decodes_kubectl_create_deployment() {
        // Captured from `kubectl create deployment web2 --image=nginx:1.27 --port=80
        // --replicas=3` (kubectl 1.32): every non-pointer field is written, zero or not.
        let body = b"k8s\x00\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment\x12\xc1\x01\x0a!\x0a\x04web2\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00Z\x0b\x0a\x03app\x12\x04web2\x12\x8d\x01\x08\x03\x12\x0d\x0a\x0b\x0a\x03app\x12\x04web2\x1ar\x0a\x1d\x0a\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00Z\x0b\x0a\x03app\x12\x04web2\x12Q\x123\x0a\x05nginx\x12\x0anginx:1.27*\x002\x0a\x0a\x00\x10\x00\x18P\"\x00*\x00B\x00j\x00r\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x002\x00B\x00J\x00R\x00X\x00`\x00h\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\"\x02\x0a\x00(\x008\x00\x1a\x0c\x08\x00\x10\x00\x18\x00 \x00(\x008\x00\x1a\x00\"\x00";
        assert_eq!(
            decode(body).unwrap(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web2", "labels": {"app": "web2"}},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "web2"}},
                    "template": {
                        "metadata": {"labels": {"app": "web2"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                            "ports": [{"containerPort": 80}], "resources": {}}]},
                    },
                    "strategy": {},
                },
                "status": {}})
        );
    }

    #[test]
    fn pointer_fields_keep_their_zero() {
        // `replicas: 0` (a `*int32`) must not become "unset", which defaults to 1.
        let body =
            b"k8s\x00\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment\x12\x06\x12\x04\x08\x00\x28\x00";
        assert_eq!(
            decode(body).unwrap()["spec"],
            json!({"replicas": 0}),
            "minReadySeconds (not a pointer) is dropped at zero"
        );
    }

    #[test]
    fn refuses_unknown_kinds_and_garbage() {
        let stateful_set = b"k8s\x00\n\x16\n\x07apps/v1\x12\x0bStatefulSet\x12\x02\x12\x00";
        assert_eq!(decode(stateful_set).unwrap_err().code(), 415);
        // A pod template with volumes (PodSpec field 1), which the tables do not decode.
        let volumes =
            b"k8s\x00\n\x15\n\x07apps/v1\x12\nDeployment\x12\x08\x12\x06\x1a\x04\x12\x02\x0a\x00";
        let error = decode(volumes).unwrap_err();
        assert_eq!(error.code(), 415);
        assert!(error.to_string().contains("field 1 of PodSpec"), "{error}");
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
