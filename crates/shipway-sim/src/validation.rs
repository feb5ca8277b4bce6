//! Field validation as a real 1.32 API server does it: unknown fields and type mismatches
//! against the schema, the per-kind validations that deployment tools run into, and the
//! immutable-field checks of updates.
//!
//! Each check is a pure function returning what the server would report, in its words, so
//! the store decides what to answer (400 for decoding problems, 422 `Invalid` with one
//! cause per [`InvalidField`], `Warning` headers for `fieldValidation=Warn`).
//!
//! # Values in messages
//!
//! The real server prints a rejected value with Go's `%#v` (`field.Invalid` in
//! apimachinery up to 1.32): `v1.LabelSelector{MatchLabels:map[string]string{"app":"web"},
//! MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`, `map[string]string{"app":"web"}`,
//! `[]string{"10.96.0.12"}`, `rbac.RoleRef{APIGroup:"…", Kind:"…", Name:"…"}`, quoted
//! strings and bare numbers. Those shapes are reproduced exactly. Values whose Go
//! rendering spans whole internal structs (a Job's pod template) are printed as compact
//! JSON instead, which is the one deliberate difference. Newer servers (1.33+) print
//! values differently; this module follows 1.32.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use shipway_schema::{Field, Schema, Type};

use crate::error::InvalidField;
use crate::resources::{RESOURCES, ResourceType};

// =======================================================================================
// Unknown fields and type mismatches (decoding).
// =======================================================================================

/// A field the schema does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownField {
    /// The path strict JSON decoding prints: `spec.template.spec.containers[0].foo`
    /// (map entries as `.key`, which is an approximation for the rare maps of structs).
    pub(crate) path: String,
    /// The path server-side apply prints: `.spec.template.spec.containers[name="web"].foo`
    /// (structured-merge-diff's form, list-map items by key, set items by value).
    pub(crate) apply_path: String,
    /// The JSON pointer (RFC 6901) of the field, for pruning it.
    pub(crate) pointer: String,
}

/// A value of the wrong JSON type, which the real decoder rejects whatever
/// `fieldValidation` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeMismatch {
    /// Where, in the strict-decoding form (`spec.replicas`).
    pub(crate) path: String,
    /// Go's decoder error, approximated: `json: cannot unmarshal string into Go struct
    /// field DeploymentSpec.spec.replicas of type int32`. The struct name is the schema
    /// definition's, the type its Go spelling guessed from the schema (pointer stars are
    /// never printed, as Go's own message dereferences them). Custom unmarshalers
    /// (`IntOrString`, `Quantity`, `Time`) answer with their own texts.
    pub(crate) message: String,
}

/// Everything [`check_fields`] finds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FieldReport {
    /// Undeclared fields, in document order.
    pub(crate) unknown: Vec<UnknownField>,
    /// Type mismatches, in document order.
    pub(crate) mismatches: Vec<TypeMismatch>,
}

/// Walks `object` against the schema `definition` (e.g. `io.k8s.api.apps.v1.Deployment`)
/// and reports undeclared fields and mismatched types. Free-form parts (`Type::Any`,
/// definitions without properties or scalar type, such as `RawExtension` or CRD schemas'
/// `JSON`) are not entered.
pub(crate) fn check_fields(schema: &Schema, definition: &str, object: &Value) -> FieldReport {
    let mut walker = Walker {
        schema,
        report: FieldReport::default(),
    };
    walker.definition(definition, object, &Paths::default());
    walker.report
}

/// Removes the fields [`check_fields`] found undeclared, as the real decoder drops them
/// (deepest first, so removing one cannot move another).
pub(crate) fn prune(object: &mut Value, unknown: &[UnknownField]) {
    for field in unknown.iter().rev() {
        let Some((parent, key)) = field.pointer.rsplit_once('/') else {
            continue;
        };
        let key = key.replace("~1", "/").replace("~0", "~");
        if let Some(map) = object.pointer_mut(parent).and_then(Value::as_object_mut) {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
/// The strict-decoding paths of the fields `definition` does not declare, as the real
/// server lists them in `strict decoding error: unknown field "spec.foo"`.
pub(crate) fn unknown_fields(schema: &Schema, definition: &str, object: &Value) -> Vec<String> {
    check_fields(schema, definition, object)
        .unknown
        .into_iter()
        .map(|field| field.path)
        .collect()
}

#[cfg(test)]
/// The type mismatches in `object`; any one makes the real server answer 400 whatever
/// `fieldValidation` says (see [`cannot_be_handled`] for the message).
pub(crate) fn type_mismatches(
    schema: &Schema,
    definition: &str,
    object: &Value,
) -> Vec<TypeMismatch> {
    check_fields(schema, definition, object).mismatches
}

/// The 400 `BadRequest` detail for `fieldValidation=Strict` on POST, PUT and non-apply
/// patches: `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
/// POST and PUT wrap it with [`cannot_be_handled`].
pub(crate) fn strict_decoding_message(unknown: &[String]) -> String {
    let fields: Vec<String> = unknown
        .iter()
        .map(|path| format!("unknown field {}", go_quote(path)))
        .collect();
    format!("strict decoding error: {}", fields.join(", "))
}

#[cfg(test)]
/// The `Warning` header values for `fieldValidation=Warn` (the default): one
/// `299 - "unknown field \"spec.foo\""` per field.
pub(crate) fn unknown_field_warnings(unknown: &[String]) -> Vec<String> {
    unknown
        .iter()
        .map(|path| {
            let text = format!("unknown field {}", go_quote(path));
            format!("299 - {}", go_quote(&text))
        })
        .collect()
}

/// The server-side-apply text for undeclared fields: `.spec.foo: field not declared in
/// schema`, several joined the way structured-merge-diff joins validation errors
/// (`errors:\n  .a: …\n  .b: …`). A Strict apply answers 400 with this text after
/// `failed to create typed patch object (<namespace>/<name>; <group/version>, Kind=<Kind>): `
/// (that prefix is from memory of real servers, not verified against 1.32).
pub(crate) fn apply_unknown_message(apply_paths: &[String]) -> String {
    let errors: Vec<String> = apply_paths
        .iter()
        .map(|path| format!("{path}: field not declared in schema"))
        .collect();
    if errors.len() == 1 {
        return errors.concat();
    }
    let mut lines = vec!["errors:".to_owned()];
    lines.extend(errors.iter().map(|error| format!("  {error}")));
    lines.join("\n")
}

/// The 400 message of a POST or PUT body the decoder refused: `Deployment in version "v1"
/// cannot be handled as a Deployment: <detail>`, where `detail` is a
/// [`strict_decoding_message`] or a [`TypeMismatch::message`].
pub(crate) fn cannot_be_handled(kind: &str, version: &str, detail: &str) -> String {
    format!(
        "{kind} in version {} cannot be handled as a {kind}: {detail}",
        go_quote(version)
    )
}

/// The three spellings of one position in the document.
#[derive(Debug, Default, Clone)]
struct Paths {
    /// Strict decoding: `spec.containers[0].name`.
    decode: String,
    /// Server-side apply: `.spec.containers[name="c"].name`.
    apply: String,
    /// Go's type-error field stack: `spec.containers.name` (no indices).
    go: String,
    /// The innermost Go struct entered (`Container`).
    go_struct: String,
    /// RFC 6901 JSON pointer: `/spec/containers/0/name`.
    pointer: String,
}

impl Paths {
    fn field(&self, name: &str, go_struct: &str) -> Self {
        let join = |base: &str| {
            if base.is_empty() {
                name.to_owned()
            } else {
                format!("{base}.{name}")
            }
        };
        Self {
            decode: join(&self.decode),
            apply: format!("{}.{name}", self.apply),
            go: join(&self.go),
            go_struct: go_struct.to_owned(),
            pointer: format!(
                "{}/{}",
                self.pointer,
                name.replace('~', "~0").replace('/', "~1")
            ),
        }
    }

    fn item(&self, index: usize, apply_key: &str) -> Self {
        Self {
            decode: format!("{}[{index}]", self.decode),
            apply: format!("{}{apply_key}", self.apply),
            go: self.go.clone(),
            go_struct: self.go_struct.clone(),
            pointer: format!("{}/{index}", self.pointer),
        }
    }
}

struct Walker<'s> {
    schema: &'s Schema,
    report: FieldReport,
}

impl Walker<'_> {
    fn definition(&mut self, name: &str, value: &Value, paths: &Paths) {
        let Some(definition) = self.schema.definition(name) else {
            return;
        };
        if value.is_null() {
            return;
        }
        if definition.is_struct {
            let Some(object) = value.as_object() else {
                self.mismatch(value, paths, &go_definition_name(name));
                return;
            };
            let struct_name = name.rsplit('.').next().unwrap_or(name);
            for (key, item) in object {
                let child = paths.field(key, struct_name);
                match definition.properties.get(key) {
                    Some(field) => self.typed(&field.ty, Some(field), item, &child),
                    None => self.report.unknown.push(UnknownField {
                        path: child.decode,
                        apply_path: child.apply,
                        pointer: child.pointer,
                    }),
                }
            }
            return;
        }
        match &definition.ty {
            Some(Type::Scalar(scalar)) => self.custom_scalar(name, scalar, value, paths),
            Some(other) => self.typed(other, None, value, paths),
            None => {}
        }
    }

    fn typed(&mut self, ty: &Type, field: Option<&Field>, value: &Value, paths: &Paths) {
        if value.is_null() {
            // Go leaves a null primitive alone and nils a pointer, slice or map.
            return;
        }
        match ty {
            Type::Any => {}
            Type::Ref(name) => self.definition(name, value, paths),
            Type::Scalar(scalar) => {
                let format = field.and_then(|f| f.format.as_deref());
                if !scalar_fits(scalar, value) {
                    self.mismatch(value, paths, &go_scalar(scalar, format));
                } else if let (Some("byte"), Some(text)) = (format, value.as_str()) {
                    // `[]byte` fields travel as base64, which Go's decoder checks; its error
                    // names neither the field nor the struct.
                    if let Err(offset) = go_base64_decoded_len(text.as_bytes()) {
                        self.report.mismatches.push(TypeMismatch {
                            path: paths.decode.clone(),
                            message: format!("illegal base64 data at input byte {offset}"),
                        });
                    }
                } else if let (Some("int32"), Some(number)) = (format, value.as_i64())
                    && i32::try_from(number).is_err()
                {
                    self.mismatch_described(&format!("number {number}"), paths, "int32");
                }
            }
            Type::Array(inner) => {
                let Some(items) = value.as_array() else {
                    self.mismatch(value, paths, &go_type(ty, field));
                    return;
                };
                for (index, item) in items.iter().enumerate() {
                    let key = apply_item_key(field, index, item);
                    self.typed(inner, field, item, &paths.item(index, &key));
                }
            }
            Type::Map(inner) => {
                let Some(entries) = value.as_object() else {
                    self.mismatch(value, paths, &go_type(ty, field));
                    return;
                };
                for (key, item) in entries {
                    let child = paths.field(key, &paths.go_struct);
                    self.typed(inner, field, item, &child);
                }
            }
        }
    }

    /// Named scalar types with their own `UnmarshalJSON` and error texts.
    fn custom_scalar(&mut self, name: &str, scalar: &str, value: &Value, paths: &Paths) {
        let message = match scalar {
            "int-or-string" if !(value.is_string() || value.is_i64() || value.is_u64()) => {
                Some(format!(
                    "json: cannot unmarshal {} into Go value of type int32",
                    json_kind(value)
                ))
            }
            "number-or-string" => match value {
                Value::Number(_) => None,
                Value::String(text) if quantity_syntax_ok(text) => None,
                _ => Some(
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                        .to_owned(),
                ),
            },
            "string" if !value.is_string() => Some(format!(
                "json: cannot unmarshal {} into Go value of type string",
                json_kind(value)
            )),
            "int-or-string" | "string" => None,
            other => {
                if !scalar_fits(other, value) {
                    self.mismatch(value, paths, &go_definition_name(name));
                }
                None
            }
        };
        if let Some(message) = message {
            self.report.mismatches.push(TypeMismatch {
                path: paths.decode.clone(),
                message,
            });
        }
    }

    fn mismatch(&mut self, value: &Value, paths: &Paths, go_type: &str) {
        self.mismatch_described(json_kind(value), paths, go_type);
    }

    /// A mismatch whose value Go describes as `described` (`string`, `number 3000000000`).
    fn mismatch_described(&mut self, described: &str, paths: &Paths, go_type: &str) {
        let message = if paths.go.is_empty() {
            format!("json: cannot unmarshal {described} into Go value of type {go_type}")
        } else {
            format!(
                "json: cannot unmarshal {described} into Go struct field {}.{} of type {go_type}",
                paths.go_struct, paths.go
            )
        };
        self.report.mismatches.push(TypeMismatch {
            path: paths.decode.clone(),
            message,
        });
    }
}

/// How Go's decoder names the JSON value it could not store (`number 1.5` for a
/// non-integer where an integer belongs is approximated by `number`).
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The length of what Go's `base64.StdEncoding.DecodeString` decodes `text` to, or the
/// offset its `CorruptInputError` reports (`illegal base64 data at input byte N`). Mirrors
/// Go's quantum decoder: padding is required, `\r` and `\n` are skipped anywhere, and
/// anything after the padding is an error at its offset.
pub(crate) fn go_base64_decoded_len(text: &[u8]) -> Result<usize, usize> {
    let is_symbol = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/';
    let is_newline = |byte: u8| byte == b'\n' || byte == b'\r';
    let skip_newlines = |mut index: usize| {
        while index < text.len() && is_newline(text[index]) {
            index += 1;
        }
        index
    };
    let mut index = 0;
    let mut decoded = 0;
    loop {
        // One quantum: four symbols, or two or three and padding at the end.
        let mut symbols = 0;
        while symbols < 4 {
            let Some(&byte) = text.get(index) else {
                if symbols == 0 {
                    return Ok(decoded);
                }
                return Err(index - symbols);
            };
            index += 1;
            if is_symbol(byte) {
                symbols += 1;
                continue;
            }
            if is_newline(byte) {
                continue;
            }
            if byte != b'=' || symbols < 2 {
                return Err(index - 1);
            }
            if symbols == 2 {
                // `==` is expected: the first `=` is read, the second must follow.
                index = skip_newlines(index);
                if index == text.len() {
                    return Err(text.len());
                }
                if text[index] != b'=' {
                    return Err(index - 1);
                }
                index += 1;
            }
            index = skip_newlines(index);
            if index < text.len() {
                return Err(index);
            }
            return Ok(decoded + symbols - 1);
        }
        decoded += 3;
    }
}

fn scalar_fits(scalar: &str, value: &Value) -> bool {
    match scalar {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "int-or-string" => value.is_string() || value.is_i64() || value.is_u64(),
        "number-or-string" => value.is_string() || value.is_number(),
        _ => true,
    }
}

fn go_scalar(scalar: &str, format: Option<&str>) -> String {
    match (scalar, format) {
        ("integer", Some("int32")) => "int32".into(),
        ("integer", _) => "int64".into(),
        ("number", _) => "float64".into(),
        ("boolean", _) => "bool".into(),
        ("int-or-string", _) => "intstr.IntOrString".into(),
        ("number-or-string", _) => "resource.Quantity".into(),
        // `byte` strings are `[]byte` in Go, but a mismatch is reported on the string.
        _ => "string".into(),
    }
}

fn go_type(ty: &Type, field: Option<&Field>) -> String {
    match ty {
        Type::Any => "interface {}".into(),
        Type::Scalar(scalar) => go_scalar(scalar, field.and_then(|f| f.format.as_deref())),
        Type::Ref(name) => go_definition_name(name),
        Type::Array(inner) => format!("[]{}", go_type(inner, field)),
        Type::Map(inner) => format!("map[string]{}", go_type(inner, field)),
    }
}

/// `io.k8s.api.core.v1.Container` → `v1.Container`.
fn go_definition_name(name: &str) -> String {
    let mut parts = name.rsplit('.');
    let last = parts.next().unwrap_or(name);
    match parts.next() {
        Some(package) => format!("{package}.{last}"),
        None => last.to_owned(),
    }
}

/// How structured-merge-diff names a list item: `[name="web"]` for list maps,
/// `[=value]` for sets, `[0]` for atomic lists.
fn apply_item_key(field: Option<&Field>, index: usize, item: &Value) -> String {
    let Some(field) = field else {
        return format!("[{index}]");
    };
    match field.list_type.as_deref() {
        Some("map") if !field.list_map_keys.is_empty() => {
            let keys: Vec<String> = field
                .list_map_keys
                .iter()
                .filter_map(|key| item.get(key).map(|value| format!("{key}={value}")))
                .collect();
            format!("[{}]", keys.join(","))
        }
        Some("set") => format!("[={item}]"),
        _ => match field
            .merge_key
            .as_deref()
            .and_then(|key| item.get(key).map(|v| (key, v)))
        {
            Some((key, value)) => format!("[{key}={value}]"),
            None => format!("[{index}]"),
        },
    }
}

/// The quantity regular expression `'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` that
/// `resource.ParseQuantity` reports (the suffix itself is not checked further).
fn quantity_syntax_ok(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_len = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    if number_len == 0 {
        return false;
    }
    let rest = &body[number_len..];
    let letters = rest
        .bytes()
        .take_while(|b| b"eEinumkKMGTP".contains(b))
        .count();
    let rest = &rest[letters..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    rest.bytes().all(|b| b.is_ascii_digit())
}

// =======================================================================================
// Go value formatting.
// =======================================================================================

/// Go's `%q` for a string: JSON-like escapes, `\x..` for other control bytes.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `%#v` of a `map[string]string`: keys sorted, `map[string]string(nil)` when absent.
pub(crate) fn go_string_map(value: Option<&Value>) -> String {
    let Some(map) = value.and_then(Value::as_object) else {
        return "map[string]string(nil)".into();
    };
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = entries
        .into_iter()
        .map(|(key, value)| {
            format!(
                "{}:{}",
                go_quote(key),
                go_quote(value.as_str().unwrap_or_default())
            )
        })
        .collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

/// `%#v` of a `[]string`: `[]string(nil)` when absent.
pub(crate) fn go_string_slice(value: Option<&Value>) -> String {
    let Some(items) = value.and_then(Value::as_array) else {
        return "[]string(nil)".into();
    };
    let body: Vec<String> = items
        .iter()
        .map(|item| go_quote(item.as_str().unwrap_or_default()))
        .collect();
    format!("[]string{{{}}}", body.join(", "))
}

/// `%#v` of a `metav1.LabelSelector` (dereferenced, as `field.Invalid` prints pointers);
/// `null` for a nil selector.
pub(crate) fn go_label_selector(value: Option<&Value>) -> String {
    let Some(selector) = value.filter(|v| !v.is_null()) else {
        return "null".into();
    };
    let expressions = match selector.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|item| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(item.get("key").and_then(Value::as_str).unwrap_or_default()),
                        go_quote(
                            item.get("operator")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                        ),
                        go_string_slice(item.get("values"))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{expressions}}}",
        go_string_map(selector.get("matchLabels"))
    )
}

/// A scalar as `field.Invalid` prints it: strings quoted, numbers and booleans bare,
/// `null` for nil; anything else as compact JSON (see the module notes).
pub(crate) fn go_scalar_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(text)) => go_quote(text),
        Some(other) => other.to_string(),
    }
}

// =======================================================================================
// Per-kind validation.
// =======================================================================================

/// Collects field errors for one object in the shape the store answers with.
struct Errors {
    resource: &'static ResourceType,
    name: String,
    list: Vec<InvalidField>,
}

impl Errors {
    fn new(resource: &'static ResourceType, object: &Value) -> Self {
        Self {
            resource,
            name: object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            list: Vec::new(),
        }
    }

    fn push(&mut self, field: &str, cause: &'static str, message: String) {
        self.list.push(InvalidField {
            qualified_kind: self.resource.qualified_kind(),
            group: self.resource.group,
            kind: self.resource.kind,
            name: self.name.clone(),
            field: field.to_owned(),
            cause,
            message,
        });
    }

    fn required(&mut self, field: &str, detail: &str) {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        self.push(field, "FieldValueRequired", message);
    }

    fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        let message = if detail.is_empty() {
            format!("Invalid value: {value}")
        } else {
            format!("Invalid value: {value}: {detail}")
        };
        self.push(field, "FieldValueInvalid", message);
    }

    fn not_supported(&mut self, field: &str, value: &str, supported: &[&str]) {
        let supported: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        self.push(
            field,
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {value}: supported values: {}",
                supported.join(", ")
            ),
        );
    }

    fn duplicate(&mut self, field: &str, value: &str) {
        self.push(
            field,
            "FieldValueDuplicate",
            format!("Duplicate value: {value}"),
        );
    }

    fn forbidden(&mut self, field: &str, detail: &str) {
        self.push(field, "FieldValueForbidden", format!("Forbidden: {detail}"));
    }

    fn too_long(&mut self, field: &str, limit: usize) {
        self.push(
            field,
            "FieldValueTooLong",
            format!("Too long: may not be more than {limit} bytes"),
        );
    }
}

/// What a `ConfigMap`'s or `Secret`'s data may hold in total (`core.MaxSecretSize`, 1 MiB).
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The bytes a data map holds: string lengths, or decoded lengths for base64 (`[]byte`)
/// maps, as upstream sums `len(value)` of the decoded values.
fn data_size(map: Option<&Value>, base64: bool) -> usize {
    map.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, value)| value.as_str())
        .map(|text| {
            if base64 {
                go_base64_decoded_len(text.as_bytes()).unwrap_or(text.len())
            } else {
                text.len()
            }
        })
        .sum()
}

fn resource_for(group: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind)
}

/// The per-kind validations of a create or update (run after defaulting): selectors and
/// template labels of workloads, containers, replica counts, Service ports, `ConfigMap` and
/// `Secret` keys. Kinds not covered return nothing. Each [`InvalidField`] is one cause of
/// the 422 `Invalid` answer, in upstream's order.
pub(crate) fn validate(group: &str, kind: &str, object: &Value) -> Vec<InvalidField> {
    let Some(resource) = resource_for(group, kind) else {
        return Vec::new();
    };
    let mut errors = Errors::new(resource, object);
    let empty = Value::Object(Map::new());
    let spec = object.get("spec").unwrap_or(&empty);
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet") => {
            nonnegative(&mut errors, spec, "replicas", "spec.replicas");
            replicated_selector(&mut errors, spec, "deployment");
            restart_always(&mut errors, spec);
        }
        ("apps", "DaemonSet") => {
            replicated_selector(&mut errors, spec, "daemonset");
            restart_always(&mut errors, spec);
        }
        ("apps", "StatefulSet") => {
            if let Some(policy) = spec.get("podManagementPolicy").and_then(Value::as_str)
                && !matches!(policy, "OrderedReady" | "Parallel")
            {
                errors.invalid(
                    "spec.podManagementPolicy",
                    &go_quote(policy),
                    "must be 'OrderedReady' or 'Parallel'",
                );
            }
            nonnegative(&mut errors, spec, "replicas", "spec.replicas");
            replicated_selector(&mut errors, spec, "statefulset");
            restart_always(&mut errors, spec);
        }
        ("batch", "Job") => {
            for field in ["parallelism", "completions", "backoffLimit"] {
                nonnegative(&mut errors, spec, field, &format!("spec.{field}"));
            }
            match spec.get("selector").filter(|s| !s.is_null()) {
                None => errors.required("spec.selector", ""),
                Some(selector) => {
                    selector_operators(&mut errors, selector, "spec.selector");
                    let labels = spec.pointer("/template/metadata/labels");
                    if selector_ok(selector) && !selector_matches(selector, labels) {
                        errors.invalid(
                            "spec.template.metadata.labels",
                            &go_string_map(labels),
                            "`selector` does not match template `labels`",
                        );
                    }
                }
            }
            pod_spec(
                &mut errors,
                spec.pointer("/template/spec"),
                "spec.template.spec",
            );
            restart_for_jobs(
                &mut errors,
                spec.pointer("/template/spec"),
                "spec.template.spec",
            );
        }
        ("batch", "CronJob") => {
            if spec
                .get("schedule")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                errors.required("spec.schedule", "");
            }
            let job_spec = spec.pointer("/jobTemplate/spec");
            if let Some(selector) = job_spec
                .and_then(|s| s.get("selector"))
                .filter(|s| !s.is_null())
            {
                errors.invalid(
                    "spec.jobTemplate.spec.selector",
                    &go_label_selector(Some(selector)),
                    "`selector` will be auto-generated",
                );
            }
            let template = job_spec.and_then(|s| s.pointer("/template/spec"));
            pod_spec(&mut errors, template, "spec.jobTemplate.spec.template.spec");
            restart_for_jobs(&mut errors, template, "spec.jobTemplate.spec.template.spec");
        }
        ("", "Pod") => {
            pod_spec(&mut errors, object.get("spec"), "spec");
            if let Some(policy) = spec.get("restartPolicy").and_then(Value::as_str)
                && !matches!(policy, "Always" | "OnFailure" | "Never")
            {
                errors.not_supported(
                    "spec.restartPolicy",
                    &go_quote(policy),
                    &["Always", "OnFailure", "Never"],
                );
            }
        }
        ("", "Service") => service(&mut errors, spec),
        ("", "ConfigMap") => {
            config_keys(&mut errors, object, &["data", "binaryData"]);
            // Upstream reports the total on the whole object (an empty field path).
            let total =
                data_size(object.get("data"), false) + data_size(object.get("binaryData"), true);
            if total > MAX_DATA_BYTES {
                errors.too_long("", MAX_DATA_BYTES);
            }
        }
        ("", "Secret") => {
            config_keys(&mut errors, object, &["data"]);
            if data_size(object.get("data"), true) > MAX_DATA_BYTES {
                errors.too_long("data", MAX_DATA_BYTES);
            }
            secret_type_keys(&mut errors, object);
        }
        _ => {}
    }
    errors.list
}

fn nonnegative(errors: &mut Errors, spec: &Value, field: &str, path: &str) {
    if let Some(number) = spec.get(field).and_then(Value::as_i64)
        && number < 0
    {
        errors.invalid(
            path,
            &number.to_string(),
            "must be greater than or equal to 0",
        );
    }
}

/// `ValidateDeploymentSpec`/`ValidateReplicaSetSpec`/`ValidateDaemonSetSpec`/
/// `ValidateStatefulSetSpec` on the selector and the template labels. A missing selector
/// also fails the label match (upstream's nil selector selects nothing), so both errors
/// come back, as on a real server.
fn replicated_selector(errors: &mut Errors, spec: &Value, noun: &str) {
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let labels = spec.pointer("/template/metadata/labels");
    match selector {
        None => errors.required("spec.selector", ""),
        Some(selector) => {
            selector_operators(errors, selector, "spec.selector");
            if selector_is_empty(selector) {
                // ReplicaSets share the Deployment text upstream.
                errors.invalid(
                    "spec.selector",
                    &go_label_selector(Some(selector)),
                    &format!("empty selector is invalid for {noun}"),
                );
            }
        }
    }
    let checkable = selector.is_none_or(|s| selector_ok(s) && !selector_is_empty(s));
    if checkable && !selector.is_some_and(|s| selector_matches(s, labels)) {
        errors.invalid(
            "spec.template.metadata.labels",
            &go_string_map(labels),
            "`selector` does not match template `labels`",
        );
    }
    pod_spec(errors, spec.pointer("/template/spec"), "spec.template.spec");
}

fn restart_always(errors: &mut Errors, spec: &Value) {
    let policy = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if policy != "Always" {
        errors.not_supported(
            "spec.template.spec.restartPolicy",
            &go_quote(policy),
            &["Always"],
        );
    }
}

fn restart_for_jobs(errors: &mut Errors, pod: Option<&Value>, path: &str) {
    let policy = pod
        .and_then(|p| p.get("restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(policy, "OnFailure" | "Never") {
        errors.not_supported(
            &format!("{path}.restartPolicy"),
            &go_quote(policy),
            &["OnFailure", "Never"],
        );
    }
}

fn selector_is_empty(selector: &Value) -> bool {
    let count = |key: &str| match selector.get(key) {
        Some(Value::Object(map)) => map.len(),
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    };
    count("matchLabels") + count("matchExpressions") == 0
}

const OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

fn selector_ok(selector: &Value) -> bool {
    selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| OPERATORS.contains(&e.get("operator").and_then(Value::as_str).unwrap_or("")))
}

fn selector_operators(errors: &mut Errors, selector: &Value, path: &str) {
    for (index, expression) in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let operator = expression
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !OPERATORS.contains(&operator) {
            errors.invalid(
                &format!("{path}.matchExpressions[{index}].operator"),
                &go_quote(operator),
                "not a valid selector operator",
            );
        }
    }
}

/// Whether a `LabelSelector` selects `labels` (an empty selector selects everything).
fn selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    let labels_ok = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == value.as_str());
    let expressions_ok = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match expression.get("operator").and_then(Value::as_str) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    labels_ok && expressions_ok
}

const RFC1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_dns_label(name: &str) -> bool {
    name.len() <= 63
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The container checks of `ValidatePodSpec` that manifests trip over.
fn pod_spec(errors: &mut Errors, pod: Option<&Value>, path: &str) {
    let containers = pod
        .and_then(|p| p.get("containers"))
        .and_then(Value::as_array);
    let mut seen: Vec<String> = Vec::new();
    if containers.is_none_or(Vec::is_empty) {
        errors.required(&format!("{path}.containers"), "");
    }
    for key in ["containers", "initContainers"] {
        let list = pod.and_then(|p| p.get(key)).and_then(Value::as_array);
        for (index, container) in list.into_iter().flatten().enumerate() {
            let at = format!("{path}.{key}[{index}]");
            let name = container.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                errors.required(&format!("{at}.name"), "");
            } else if !is_dns_label(name) {
                errors.invalid(&format!("{at}.name"), &go_quote(name), RFC1123_LABEL);
            } else if seen.iter().any(|s| s == name) {
                errors.duplicate(&format!("{at}.name"), &go_quote(name));
            } else {
                seen.push(name.to_owned());
            }
            if container
                .get("image")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                errors.required(&format!("{at}.image"), "");
            }
            if let Some(policy) = container.get("imagePullPolicy").and_then(Value::as_str)
                && !matches!(policy, "Always" | "IfNotPresent" | "Never")
            {
                errors.not_supported(
                    &format!("{at}.imagePullPolicy"),
                    &go_quote(policy),
                    &["Always", "IfNotPresent", "Never"],
                );
            }
            for (port_index, port) in container
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let port_at = format!("{at}.ports[{port_index}]");
                match port.get("containerPort").and_then(Value::as_i64) {
                    None | Some(0) => errors.required(&format!("{port_at}.containerPort"), ""),
                    Some(number) if !(1..=65535).contains(&number) => errors.invalid(
                        &format!("{port_at}.containerPort"),
                        &number.to_string(),
                        PORT_RANGE,
                    ),
                    Some(_) => {}
                }
                protocol(errors, port, &port_at);
            }
        }
    }
}

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

fn protocol(errors: &mut Errors, port: &Value, at: &str) {
    if let Some(protocol) = port.get("protocol").and_then(Value::as_str)
        && !matches!(protocol, "TCP" | "UDP" | "SCTP")
    {
        errors.not_supported(
            &format!("{at}.protocol"),
            &go_quote(protocol),
            &["SCTP", "TCP", "UDP"],
        );
    }
}

/// The parts of `ValidateService` manifests trip over, plus the node-port range check
/// the allocator makes.
fn service(errors: &mut Errors, spec: &Value) {
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if !matches!(
        kind,
        "ClusterIP" | "ExternalName" | "LoadBalancer" | "NodePort"
    ) {
        errors.not_supported(
            "spec.type",
            &go_quote(kind),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        );
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let ports = spec.get("ports").and_then(Value::as_array);
    if ports.is_none_or(Vec::is_empty) && !headless && kind != "ExternalName" {
        errors.required("spec.ports", "");
    }
    if kind == "ExternalName"
        && spec
            .get("externalName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        errors.required("spec.externalName", "");
    }
    let ports = ports.map(Vec::as_slice).unwrap_or_default();
    let mut names: Vec<&str> = Vec::new();
    for (index, port) in ports.iter().enumerate() {
        let at = format!("spec.ports[{index}]");
        let name = port.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            if ports.len() > 1 {
                errors.required(&format!("{at}.name"), "");
            }
        } else if !is_dns_label(name) {
            errors.invalid(&format!("{at}.name"), &go_quote(name), RFC1123_LABEL);
        } else if names.contains(&name) {
            errors.duplicate(&format!("{at}.name"), &go_quote(name));
        } else {
            names.push(name);
        }
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            errors.invalid(&format!("{at}.port"), &number.to_string(), PORT_RANGE);
        }
        protocol(errors, port, &at);
        if let Some(target) = port.get("targetPort").and_then(Value::as_i64)
            && !(1..=65535).contains(&target)
        {
            errors.invalid(&format!("{at}.targetPort"), &target.to_string(), PORT_RANGE);
        }
        if let Some(node_port) = port.get("nodePort").and_then(Value::as_i64)
            && node_port != 0
            && !(30000..=32767).contains(&node_port)
        {
            errors.invalid(
                &format!("{at}.nodePort"),
                &node_port.to_string(),
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
            );
        }
    }
}

const CONFIG_KEY: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/// `IsConfigMapKey` on every key of the named maps, and keys present in both `data` and
/// `binaryData`.
fn config_keys(errors: &mut Errors, object: &Value, fields: &[&str]) {
    for field in fields {
        for key in object
            .get(*field)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let at = format!("{field}[{key}]");
            let mut messages = Vec::new();
            if key.len() > 253 {
                messages.push("must be no more than 253 characters");
            }
            if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                messages.push(CONFIG_KEY);
            }
            if key == "." {
                messages.push("must not be '.'");
            } else if key == ".." {
                messages.push("must not be '..'");
            } else if key.starts_with("..") {
                messages.push("must not start with '..'");
            }
            for message in messages {
                errors.invalid(&at, &go_quote(key), message);
            }
            if *field == "data" && object.get("binaryData").and_then(|b| b.get(key)).is_some() {
                errors.invalid(
                    &at,
                    &go_quote(key),
                    "duplicate of key present in binaryData",
                );
            }
        }
    }
}

/// Keys the typed `Secret` kinds found in deployment repositories must have.
fn secret_type_keys(errors: &mut Errors, object: &Value) {
    let required: &[&str] = match object.get("type").and_then(Value::as_str) {
        Some("kubernetes.io/tls") => &["tls.crt", "tls.key"],
        Some("kubernetes.io/dockerconfigjson") => &[".dockerconfigjson"],
        Some("kubernetes.io/dockercfg") => &[".dockercfg"],
        Some("kubernetes.io/ssh-auth") => &["ssh-privatekey"],
        _ => &[],
    };
    for key in required {
        if object.get("data").and_then(|d| d.get(*key)).is_none() {
            errors.required(&format!("data[{key}]"), "");
        }
    }
}

// =======================================================================================
// Immutable fields.
// =======================================================================================

/// The updates a real server refuses because a field may not change, comparing the
/// stored `old` with the defaulted `new`. Values in the messages are the new ones, as
/// upstream's `ValidateImmutableField` prints them.
pub(crate) fn immutable_violations(
    group: &str,
    kind: &str,
    old: &Value,
    new: &Value,
) -> Vec<InvalidField> {
    let Some(resource) = resource_for(group, kind) else {
        return Vec::new();
    };
    let mut errors = Errors::new(resource, new);
    let at = |object: &'_ Value, pointer: &str| object.pointer(pointer).cloned();
    let changed = |pointer: &str| !semantic_eq(old.pointer(pointer), new.pointer(pointer));
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") if changed("/spec/selector") => {
            errors.invalid(
                "spec.selector",
                &go_label_selector(new.pointer("/spec/selector")),
                IMMUTABLE,
            );
        }
        ("apps", "StatefulSet") => {
            // 1.32's list; 1.33 also lets `revisionHistoryLimit` change.
            let mutable = [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ];
            let rest = |object: &Value| -> Value {
                let mut spec = object.get("spec").cloned().unwrap_or(Value::Null);
                if let Some(map) = spec.as_object_mut() {
                    for key in mutable {
                        map.remove(key);
                    }
                }
                spec
            };
            if !semantic_eq(Some(&rest(old)), Some(&rest(new))) {
                errors.forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                );
            }
        }
        ("batch", "Job") => {
            let indexed =
                new.pointer("/spec/completionMode").and_then(Value::as_str) == Some("Indexed");
            let completions = new.pointer("/spec/completions");
            if indexed && completions.is_some() && old.pointer("/spec/completions").is_some() {
                // Elastic indexed Jobs may scale completions together with parallelism.
                if completions != new.pointer("/spec/parallelism") {
                    errors.invalid(
                        "spec.completions",
                        &go_scalar_value(completions),
                        "must be equal to parallelism",
                    );
                }
            } else if changed("/spec/completions") {
                errors.invalid("spec.completions", &go_scalar_value(completions), IMMUTABLE);
            }
            if changed("/spec/selector") {
                errors.invalid(
                    "spec.selector",
                    &go_label_selector(new.pointer("/spec/selector")),
                    IMMUTABLE,
                );
            }
            if changed("/spec/template") {
                // Upstream prints the internal `core.PodTemplateSpec` with %#v; JSON here.
                let template = at(new, "/spec/template").unwrap_or(Value::Null);
                errors.invalid("spec.template", &template.to_string(), IMMUTABLE);
            }
            for field in [
                "completionMode",
                "podFailurePolicy",
                "backoffLimitPerIndex",
                "managedBy",
                "successPolicy",
            ] {
                let pointer = format!("/spec/{field}");
                if changed(&pointer) {
                    let value = match new.pointer(&pointer) {
                        Some(Value::Object(_) | Value::Array(_)) => {
                            at(new, &pointer).map(|v| v.to_string()).unwrap_or_default()
                        }
                        other => go_scalar_value(other),
                    };
                    errors.invalid(&format!("spec.{field}"), &value, IMMUTABLE);
                }
            }
        }
        ("", "Service") => {
            let external = |object: &Value| {
                object.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName")
            };
            let old_first = old.pointer("/spec/clusterIPs/0").and_then(Value::as_str);
            let new_first = new.pointer("/spec/clusterIPs/0").and_then(Value::as_str);
            if !external(old)
                && !external(new)
                && let (Some(old_first), Some(new_first)) = (old_first, new_first)
                && old_first != new_first
            {
                errors.invalid(
                    "spec.clusterIPs[0]",
                    &go_string_slice(new.pointer("/spec/clusterIPs")),
                    "may not change once set",
                );
            }
        }
        ("", "PersistentVolumeClaim") => pvc_update(&mut errors, old, new),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding")
            if changed("/roleRef") =>
        {
            let part = |name: &str| {
                go_quote(
                    new.pointer(&format!("/roleRef/{name}"))
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                )
            };
            errors.invalid(
                "roleRef",
                &format!(
                    "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
                    part("apiGroup"),
                    part("kind"),
                    part("name")
                ),
                "cannot change roleRef",
            );
        }
        ("", "ConfigMap" | "Secret") => {
            if old.get("immutable").and_then(Value::as_bool) == Some(true) {
                const WHEN_IMMUTABLE: &str = "field is immutable when `immutable` is set";
                if new.get("immutable").and_then(Value::as_bool) != Some(true) {
                    errors.forbidden("immutable", WHEN_IMMUTABLE);
                }
                let fields: &[&str] = if kind == "ConfigMap" {
                    &["data", "binaryData"]
                } else {
                    &["data"]
                };
                for field in fields {
                    if !semantic_eq(old.get(*field), new.get(*field)) {
                        errors.forbidden(field, WHEN_IMMUTABLE);
                    }
                }
            }
            if kind == "Secret" && changed("/type") {
                errors.invalid("type", &go_scalar_value(new.get("type")), IMMUTABLE);
            }
        }
        _ => {}
    }
    errors.list
}

/// `apimachinery/pkg/api/validation.FieldImmutableErrorMsg`.
const IMMUTABLE: &str = "field is immutable";

/// `ValidatePersistentVolumeClaimUpdate`: the spec may change only in
/// `resources.requests` (and only `storage`, only for a bound claim), in `volumeName`
/// while it is empty, and in `storageClassName` while it is unset. The real message also
/// carries a go-cmp diff of the two specs after a newline; that diff is left out here.
/// 1.32 runs with the `VolumeAttributesClass` gate off, so its text does not mention
/// `volumeAttributesClassName` (1.34+ servers do).
fn pvc_update(errors: &mut Errors, old: &Value, new: &Value) {
    let bound = old.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    let normalise = |spec: Option<&Value>, other: Option<&Value>| -> Value {
        let mut spec = spec.cloned().unwrap_or(Value::Null);
        let Some(map) = spec.as_object_mut() else {
            return spec;
        };
        if bound
            && let Some(requests) = map
                .get_mut("resources")
                .and_then(|r| r.get_mut("requests"))
                .and_then(Value::as_object_mut)
        {
            requests.remove("storage");
        }
        for field in ["volumeName", "storageClassName"] {
            let other_value = other.and_then(|o| o.get(field));
            if other_value.is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
                map.remove(field);
            }
        }
        spec
    };
    // Each side drops what the *old* side still had unset, so only setting it is free.
    let old_spec = normalise(old.get("spec"), old.get("spec"));
    let new_spec = normalise(new.get("spec"), old.get("spec"));
    if !semantic_eq(Some(&old_spec), Some(&new_spec)) {
        errors.forbidden(
            "spec",
            "spec is immutable after creation except resources.requests for bound claims",
        );
    }
    if bound {
        let size = |object: &Value| {
            object
                .pointer("/spec/resources/requests/storage")
                .and_then(quantity_value)
        };
        if let (Some(before), Some(after)) = (size(old), size(new))
            && after < before
        {
            errors.forbidden(
                "spec.resources.requests.storage",
                "field can not be less than previous value",
            );
        }
    }
}

/// A quantity's numeric value, enough to compare sizes (`1Gi`, `500M`, `1.5e3`).
pub(crate) fn quantity_value(value: &Value) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    if let Some(number) = value.as_f64() {
        return Some(number);
    }
    let text = value.as_str()?;
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse().ok()
}

/// `apiequality.Semantic.DeepEqual` on JSON: absent, null, `[]` and `{}` are all the
/// empty value of their Go type, so they compare equal.
fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
        Some(_) => false,
    };
    if empty(a) && empty(b) {
        return true;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => x
            .keys()
            .chain(y.keys())
            .all(|key| semantic_eq(x.get(key), y.get(key))),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| semantic_eq(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> &'static Schema {
        shipway_schema::bundled("1.32").expect("bundled 1.32 schema")
    }

    fn messages(errors: &[InvalidField]) -> Vec<String> {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"restartPolicy": "Always",
                                              "containers": [{"name": "web", "image": "nginx",
                                                  "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}})
    }

    #[test]
    fn unknown_fields_are_found_with_both_path_styles() {
        let definition = schema().definition_for("apps", "v1", "Deployment").unwrap();
        let mut object = deployment();
        object["spec"]["foo"] = json!(1);
        object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always");
        object["spec"]["template"]["spec"]["containers"][0]["ports"][0]["bogus"] = json!(true);
        object["metadata"]["annotations"] = json!({"free": "form"});
        let report = check_fields(schema(), definition, &object);
        let paths: Vec<&str> = report.unknown.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[0].ports[0].bogus",
                "spec.template.spec.containers[0].imagePullPolicyy",
                "spec.foo",
            ],
            "document order"
        );
        assert_eq!(
            report.unknown[1].apply_path,
            ".spec.template.spec.containers[name=\"web\"].imagePullPolicyy"
        );
        assert_eq!(report.unknown[2].apply_path, ".spec.foo");
        assert_eq!(
            report.unknown[0].apply_path,
            ".spec.template.spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"].bogus"
        );
        assert!(report.mismatches.is_empty());
        assert_eq!(
            unknown_fields(schema(), definition, &deployment()),
            Vec::<String>::new()
        );

        assert_eq!(
            strict_decoding_message(&["spec.foo".into(), "spec.bar".into()]),
            "strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
        );
        assert_eq!(
            unknown_field_warnings(&["spec.foo".into()]),
            ["299 - \"unknown field \\\"spec.foo\\\"\""]
        );
        assert_eq!(
            apply_unknown_message(&[".spec.foo".into()]),
            ".spec.foo: field not declared in schema"
        );
        assert_eq!(
            apply_unknown_message(&[".spec.a".into(), ".spec.b".into()]),
            "errors:\n  .spec.a: field not declared in schema\n  .spec.b: field not declared in schema"
        );
    }

    #[test]
    fn free_form_fields_are_not_entered() {
        let definition = schema()
            .definition_for("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
            .unwrap();
        let crd = json!({"spec": {"group": "x.io", "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "default": {"anything": {"goes": 1}}}}}]}});
        assert_eq!(
            unknown_fields(schema(), definition, &crd),
            Vec::<String>::new()
        );
    }

    #[test]
    fn base64_is_decoded_as_go_does() {
        assert_eq!(go_base64_decoded_len(b""), Ok(0));
        assert_eq!(go_base64_decoded_len(b"Zm9vYmFy"), Ok(6));
        assert_eq!(go_base64_decoded_len(b"Zm8="), Ok(2));
        assert_eq!(go_base64_decoded_len(b"Zg=="), Ok(1));
        assert_eq!(go_base64_decoded_len(b"Zm9v\nYmFy\r\n"), Ok(6));
        // Go's offsets: the bad byte, the start of an unfinished quantum, the byte after
        // the padding.
        assert_eq!(go_base64_decoded_len(b"not base64"), Err(3));
        assert_eq!(go_base64_decoded_len(b"Zm9vY"), Err(4));
        assert_eq!(go_base64_decoded_len(b"Zg="), Err(3));
        assert_eq!(go_base64_decoded_len(b"Zg==Zg=="), Err(4));
        assert_eq!(go_base64_decoded_len(b"Z==="), Err(1));
    }

    #[test]
    fn secret_bytes_and_int32_ranges_are_decoding_errors() {
        let secret = schema().definition_for("", "v1", "Secret").unwrap();
        let bad = json!({"metadata": {"name": "s"}, "data": {"ok": "Zm9v", "key": "not base64"}});
        let messages: Vec<String> = type_mismatches(schema(), secret, &bad)
            .into_iter()
            .map(|m| m.message)
            .collect();
        assert_eq!(messages, ["illegal base64 data at input byte 3"]);
        let definition = schema().definition_for("apps", "v1", "Deployment").unwrap();
        let mut object = deployment();
        object["spec"]["progressDeadlineSeconds"] = json!(9_999_999_999_999_i64);
        assert_eq!(
            type_mismatches(schema(), definition, &object)[0].message,
            "json: cannot unmarshal number 9999999999999 into Go struct field DeploymentSpec.spec.progressDeadlineSeconds of type int32"
        );
    }

    #[test]
    fn config_data_is_limited_to_one_mebibyte() {
        let big = "x".repeat(MAX_DATA_BYTES / 2 + 1);
        let config = json!({"metadata": {"name": "big"}, "data": {"a": big, "b": big}});
        assert_eq!(
            messages(&validate("", "ConfigMap", &config)),
            [": Too long: may not be more than 1048576 bytes"]
        );
        let fits = json!({"metadata": {"name": "fits"}, "data": {"a": "x".repeat(MAX_DATA_BYTES)}});
        assert!(validate("", "ConfigMap", &fits).is_empty());
        // Secrets count decoded bytes: 4/3 of the limit in base64 is the limit itself.
        let encoded = crate::defaults::base64(&vec![0_u8; MAX_DATA_BYTES]);
        let secret = json!({"metadata": {"name": "s"}, "data": {"a": encoded}});
        assert!(validate("", "Secret", &secret).is_empty());
        let over = crate::defaults::base64(&vec![0_u8; MAX_DATA_BYTES + 1]);
        let secret = json!({"metadata": {"name": "s"}, "data": {"a": over}});
        assert_eq!(
            messages(&validate("", "Secret", &secret)),
            ["data: Too long: may not be more than 1048576 bytes"]
        );
    }

    #[test]
    fn type_mismatches_are_reported_like_go() {
        let definition = schema().definition_for("apps", "v1", "Deployment").unwrap();
        let mut object = deployment();
        object["spec"]["replicas"] = json!("3");
        object["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"limits": {"memory": "1 Gi"}});
        object["metadata"]["labels"] = json!({"tier": 1});
        let mismatches = type_mismatches(schema(), definition, &object);
        let texts: Vec<(&str, &str)> = mismatches
            .iter()
            .map(|m| (m.path.as_str(), m.message.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    "metadata.labels.tier",
                    "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels.tier of type string"
                ),
                (
                    "spec.template.spec.containers[0].resources.limits.memory",
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                ),
                (
                    "spec.replicas",
                    "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
                ),
            ]
        );
        let mut wrong_shape = deployment();
        wrong_shape["spec"]["template"]["spec"]["containers"] = json!("web");
        assert_eq!(
            type_mismatches(schema(), definition, &wrong_shape)[0].message,
            "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"
        );
        assert_eq!(
            cannot_be_handled("Deployment", "v1", "boom"),
            "Deployment in version \"v1\" cannot be handled as a Deployment: boom"
        );
        assert!(
            quantity_syntax_ok("1Gi") && quantity_syntax_ok("500m") && quantity_syntax_ok("1e3")
        );
        assert!(!quantity_syntax_ok("1 Gi") && !quantity_syntax_ok("Gi"));
    }

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_label_selector(Some(&json!({"matchLabels": {"b": "2", "a": "1"}}))),
            "v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"1\", \"b\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        assert_eq!(
            go_label_selector(Some(
                &json!({"matchExpressions": [{"key": "k", "operator": "Exists"}]})
            )),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"k\", Operator:\"Exists\", Values:[]string(nil)}}}"
        );
        assert_eq!(go_label_selector(None), "null");
        assert_eq!(
            go_string_slice(Some(&json!(["None"]))),
            "[]string{\"None\"}"
        );
        assert_eq!(go_quote("a\"b\n\u{1}"), "\"a\\\"b\\n\\x01\"");
    }

    #[test]
    fn workload_validation() {
        assert!(validate("apps", "Deployment", &deployment()).is_empty());
        let mut broken = deployment();
        broken["spec"]["selector"] = Value::Null;
        broken["spec"]["replicas"] = json!(-1);
        broken["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "web", "image": ""}, {"name": "web", "image": "x", "ports": [{"containerPort": 70000}]}, {"image": "y"}
        ]);
        let errors = validate("apps", "Deployment", &broken);
        assert_eq!(
            messages(&errors),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
                "spec.template.spec.containers[0].image: Required value",
                "spec.template.spec.containers[1].name: Duplicate value: \"web\"",
                "spec.template.spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.template.spec.containers[2].name: Required value",
            ]
        );
        assert_eq!(errors[0].qualified_kind, "Deployment.apps");
        assert_eq!(errors[0].name, "web");
        assert_eq!(errors[1].cause, "FieldValueRequired");
        assert_eq!(errors[4].cause, "FieldValueDuplicate");

        let mut mismatched = deployment();
        mismatched["spec"]["selector"] = json!({"matchLabels": {"app": "api"}});
        mismatched["spec"]["template"]["spec"]["containers"] = json!([]);
        mismatched["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(
            messages(&validate("apps", "DaemonSet", &mismatched)),
            [
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
                "spec.template.spec.containers: Required value",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
        let mut empty = deployment();
        empty["spec"]["selector"] = json!({});
        assert_eq!(
            messages(&validate("apps", "StatefulSet", &empty)),
            [
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"
            ]
        );
        let mut expressions = deployment();
        expressions["spec"]["selector"] = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]});
        assert!(validate("apps", "ReplicaSet", &expressions).is_empty());
    }

    #[test]
    fn job_cronjob_and_pod_validation() {
        let job = json!({"metadata": {"name": "j"}, "spec": {"manualSelector": true,
            "selector": {"matchLabels": {"app": "j"}},
            "template": {"metadata": {"labels": {"app": "j"}}, "spec": {"restartPolicy": "Always",
                "containers": [{"name": "j", "image": "j"}]}}}});
        assert_eq!(
            messages(&validate("batch", "Job", &job)),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
        let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "c"}]}}}}}});
        assert_eq!(
            messages(&validate("batch", "CronJob", &cronjob)),
            ["spec.schedule: Required value"]
        );
        let pod = json!({"spec": {"containers": [{"name": "Bad_Name", "image": "x", "imagePullPolicy": "always"}]}});
        let errors = messages(&validate("", "Pod", &pod));
        assert!(errors[0].starts_with(
            "spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label"
        ));
        assert_eq!(
            errors[1],
            "spec.containers[0].imagePullPolicy: Unsupported value: \"always\": supported values: \"Always\", \"IfNotPresent\", \"Never\""
        );
    }

    #[test]
    fn service_and_config_validation() {
        assert_eq!(
            messages(&validate(
                "",
                "Service",
                &json!({"spec": {"type": "ClusterIP"}})
            )),
            ["spec.ports: Required value"]
        );
        assert!(validate("", "Service", &json!({"spec": {"clusterIP": "None"}})).is_empty());
        assert!(
            validate(
                "",
                "Service",
                &json!({"spec": {"type": "ExternalName", "externalName": "x.example"}})
            )
            .is_empty()
        );
        let service = json!({"spec": {"type": "NodePort", "ports": [
            {"name": "http", "port": 0, "nodePort": 80}, {"name": "http", "port": 443, "protocol": "tcp"}, {"port": 8080}]}});
        assert_eq!(
            messages(&validate("", "Service", &service)),
            [
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
                "spec.ports[1].name: Duplicate value: \"http\"",
                "spec.ports[1].protocol: Unsupported value: \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.ports[2].name: Required value",
            ]
        );
        let config = json!({"data": {"ok.key": "1", "bad key": "2", "dup": "3"}, "binaryData": {"dup": "eA=="}});
        assert_eq!(
            messages(&validate("", "ConfigMap", &config)),
            [
                format!("data[bad key]: Invalid value: \"bad key\": {CONFIG_KEY}"),
                "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData"
                    .to_owned(),
            ]
        );
        let tls = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
        assert_eq!(
            messages(&validate("", "Secret", &tls)),
            ["data[tls.key]: Required value"]
        );
    }

    #[test]
    fn immutable_fields() {
        let old = deployment();
        let mut new = deployment();
        new["spec"]["replicas"] = json!(5);
        assert!(immutable_violations("apps", "Deployment", &old, &new).is_empty());
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
        assert_eq!(
            messages(&immutable_violations("apps", "Deployment", &old, &new)),
            [
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );

        let sts_old = json!({"spec": {"replicas": 1, "serviceName": "db", "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let mut sts_new = sts_old.clone();
        sts_new["spec"]["replicas"] = json!(3);
        sts_new["spec"]["minReadySeconds"] = json!(5);
        assert!(immutable_violations("apps", "StatefulSet", &sts_old, &sts_new).is_empty());
        sts_new["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
            json!("2Gi");
        let errors = immutable_violations("apps", "StatefulSet", &sts_old, &sts_new);
        assert_eq!(
            messages(&errors),
            [
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
        assert_eq!(errors[0].cause, "FieldValueForbidden");

        let job_old = json!({"spec": {"completions": 1, "selector": {"matchLabels": {"a": "1"}}, "template": {"spec": {"containers": []}}}});
        let mut job_new = job_old.clone();
        job_new["spec"]["completions"] = json!(3);
        job_new["spec"]["template"]["metadata"] = json!({"labels": {"x": "y"}});
        assert_eq!(
            messages(&immutable_violations("batch", "Job", &job_old, &job_new)),
            [
                "spec.completions: Invalid value: 3: field is immutable".to_owned(),
                format!(
                    "spec.template: Invalid value: {}: field is immutable",
                    job_new["spec"]["template"]
                ),
            ]
        );

        let svc_old = json!({"spec": {"clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"]}});
        let svc_new = json!({"spec": {"clusterIP": "None", "clusterIPs": ["None"]}});
        assert_eq!(
            messages(&immutable_violations("", "Service", &svc_old, &svc_new)),
            ["spec.clusterIPs[0]: Invalid value: []string{\"None\"}: may not change once set"]
        );

        let binding_old = json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}});
        let binding_new = json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}});
        assert_eq!(
            messages(&immutable_violations(
                "rbac.authorization.k8s.io",
                "RoleBinding",
                &binding_old,
                &binding_new
            )),
            [
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef"
            ]
        );

        let cm_old = json!({"immutable": true, "data": {"a": "1"}});
        let cm_new = json!({"data": {"a": "2"}, "binaryData": {}});
        assert_eq!(
            messages(&immutable_violations("", "ConfigMap", &cm_old, &cm_new)),
            [
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let secret_old = json!({"type": "Opaque", "data": {}});
        let secret_new = json!({"type": "kubernetes.io/tls"});
        assert_eq!(
            messages(&immutable_violations(
                "",
                "Secret",
                &secret_old,
                &secret_new
            )),
            ["type: Invalid value: \"kubernetes.io/tls\": field is immutable"]
        );
    }

    #[test]
    fn pvc_updates() {
        let pending = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
        let mut bigger = pending.clone();
        bigger["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        let forbidden = "spec: Forbidden: spec is immutable after creation except resources.requests for bound claims";
        assert_eq!(
            messages(&immutable_violations(
                "",
                "PersistentVolumeClaim",
                &pending,
                &bigger
            )),
            [forbidden]
        );
        let mut bound = pending.clone();
        bound["status"]["phase"] = json!("Bound");
        assert!(immutable_violations("", "PersistentVolumeClaim", &bound, &bigger).is_empty());
        let mut smaller = bound.clone();
        smaller["spec"]["resources"]["requests"]["storage"] = json!("512Mi");
        assert_eq!(
            messages(&immutable_violations(
                "",
                "PersistentVolumeClaim",
                &bound,
                &smaller
            )),
            [
                "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
            ]
        );
        let mut named = pending.clone();
        named["spec"]["volumeName"] = json!("pv-1");
        named["spec"]["storageClassName"] = json!("standard");
        assert!(immutable_violations("", "PersistentVolumeClaim", &pending, &named).is_empty());
        let mut renamed = named.clone();
        renamed["spec"]["storageClassName"] = json!("fast");
        assert_eq!(
            messages(&immutable_violations(
                "",
                "PersistentVolumeClaim",
                &named,
                &renamed
            )),
            [forbidden]
        );
        let mut modes = pending.clone();
        modes["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        assert_eq!(
            messages(&immutable_violations(
                "",
                "PersistentVolumeClaim",
                &pending,
                &modes
            )),
            [forbidden]
        );
    }
}
