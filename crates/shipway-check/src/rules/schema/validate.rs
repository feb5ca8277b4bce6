//! The schema walk shared by the schema rules: one pass over each object against the
//! bundled Kubernetes definitions (or a CustomResourceDefinition's `openAPIV3Schema`)
//! that collects every violation, each tagged with the rule that reports it. The walk runs
//! once per check run; the rules only filter its result.
//!
//! Types follow the API server's strict decoding: a number where a string is expected is an
//! error (`"80"` and `80` differ), `null` means unset, field names are case-sensitive.

use std::collections::HashMap;

use shipway_model::{Gvk, Node, Value};
use shipway_schema::{Schema, Type};

use super::quantity::is_quantity;

/// Which rule reports a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A field the definition does not have.
    UnknownField,
    /// A value of the wrong type.
    Type,
    /// A required field is missing.
    Required,
    /// A value outside the allowed set.
    Enum,
    /// A malformed resource quantity.
    Quantity,
    /// The kind has no schema.
    UnknownKind,
}

/// One violation.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The rule.
    pub kind: Kind,
    /// Report path.
    pub path: String,
    /// Message.
    pub message: String,
    /// Whether this is worth only an info (kinds nobody defined).
    pub info: bool,
}

/// A CustomResourceDefinition's schema for one group, version and kind.
#[derive(Debug, Clone)]
pub struct CrdSchema<'a> {
    /// The `openAPIV3Schema` node.
    pub schema: &'a Node,
}

/// The custom resource schemas defined by CustomResourceDefinitions, by `group/version/Kind`.
#[derive(Debug, Default)]
pub struct CrdSchemas<'a>(HashMap<String, CrdSchema<'a>>);

/// Collects the schemas of the CustomResourceDefinitions among `crds`.
pub fn crd_schemas<'a>(crds: impl Iterator<Item = &'a Node>) -> CrdSchemas<'a> {
    let mut out = HashMap::new();
    for crd in crds {
        if crd.str_at(&["kind"]) != Some("CustomResourceDefinition") {
            continue;
        }
        let group = crd.str_at(&["spec", "group"]).unwrap_or("");
        let kind = crd.str_at(&["spec", "names", "kind"]).unwrap_or("");
        for version in crd
            .get_path(&["spec", "versions"])
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            let name = version.str_at(&["name"]).unwrap_or("");
            if let Some(schema) = version.get_path(&["schema", "openAPIV3Schema"]) {
                out.insert(format!("{group}/{name}/{kind}"), CrdSchema { schema });
            }
        }
    }
    CrdSchemas(out)
}

/// Every violation of `object`.
pub fn validate(
    schema: &Schema,
    version: &str,
    crds: &CrdSchemas<'_>,
    object: &Node,
) -> Vec<Violation> {
    let mut out = Vec::new();
    // A SOPS-encrypted manifest carries its metadata in a top-level `sops` mapping, which
    // decryption at sync time removes: validate the object without it.
    let stripped;
    let object = if crate::rules::security::is_sops_encrypted(object) {
        let mut copy = object.clone();
        if let Some(map) = copy.as_map_mut() {
            map.remove("sops");
        }
        stripped = copy;
        &stripped
    } else {
        object
    };
    let gvk = Gvk::of(object);
    if gvk.kind.is_empty() || gvk.version.is_empty() {
        out.push(Violation {
            kind: Kind::Required,
            path: String::new(),
            message: "the object has no `apiVersion` or `kind`".into(),
            info: false,
        });
        return out;
    }
    if super::removed_api::lookup(&gvk).is_some() {
        // Reported by schema/removed-api or schema/deprecated-api with the replacement.
        if schema
            .definition_for(&gvk.group, &gvk.version, &gvk.kind)
            .is_none()
        {
            return out;
        }
    }
    if let Some(def) = schema.definition_for(&gvk.group, &gvk.version, &gvk.kind) {
        let mut walker = Walker {
            schema,
            out: &mut out,
        };
        walker.definition(def, object, &At::Root);
        return out;
    }
    let key = format!("{}/{}/{}", gvk.group, gvk.version, gvk.kind);
    if let Some(crd) = crds.0.get(&key) {
        let mut walker = CrdWalker { out: &mut out };
        walker.node(crd.schema, object, "", true);
        return out;
    }
    let builtin_group = schema
        .kinds()
        .any(|k| k.split('/').next() == Some(gvk.group.as_str()));
    if builtin_group {
        out.push(Violation {
            kind: Kind::UnknownKind,
            path: "kind".into(),
            message: format!(
                "`{}` has no kind `{}` in Kubernetes {version}",
                gvk.api_version(),
                gvk.kind,
            ),
            info: false,
        });
    } else {
        out.push(Violation {
            kind: Kind::UnknownKind,
            path: "kind".into(),
            message: format!(
                "no schema for `{}` `{}`: it is not validated (add its CustomResourceDefinition to the input or `--crd-dir`)",
                gvk.api_version(),
                gvk.kind
            ),
            info: true,
        });
    }
    out
}

fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Uint(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "an object",
    }
}

/// A field path as the walk descends, built into a string only when a violation needs
/// it: formatting every path of every object cost a fifth of a 10,000-object check.
#[derive(Clone, Copy)]
enum At<'p> {
    Root,
    Key(&'p At<'p>, &'p str),
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn render(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Key(parent, key) => join(&parent.render(), key),
            At::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

struct Walker<'s, 'o> {
    schema: &'s Schema,
    out: &'o mut Vec<Violation>,
}

impl Walker<'_, '_> {
    fn push(&mut self, kind: Kind, path: String, message: String) {
        self.out.push(Violation {
            kind,
            path,
            message,
            info: false,
        });
    }

    fn definition(&mut self, name: &str, node: &Node, at: &At<'_>) {
        let Some(def) = self.schema.definition(name) else {
            return;
        };
        if !def.is_struct {
            let ty = def.ty.clone().unwrap_or(Type::Any);
            let quantity = name.ends_with("api.resource.Quantity");
            self.value(&ty, node, at, quantity, &[]);
            return;
        }
        let Value::Map(map) = &node.value else {
            if !node.value.is_null() {
                let path = at.render();
                let message = format!(
                    "`{}` must be an object, not {}",
                    display(&path),
                    describe(&node.value)
                );
                self.push(Kind::Type, path, message);
            }
            return;
        };
        for entry in &map.entries {
            let child = At::Key(at, &entry.key);
            match def.properties.get(&entry.key) {
                None => {
                    let hint = def
                        .properties
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(&entry.key))
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    let path = child.render();
                    let message = format!("unknown field `{}`{hint}", display(&path));
                    self.push(Kind::UnknownField, path, message);
                }
                Some(field) => {
                    self.value(&field.ty, &entry.value, &child, false, &field.enum_values);
                    if let Some(allowed) = super::enums::allowed(name, &entry.key)
                        && let Some(text) = entry.value.as_str()
                        && !allowed.contains(&text)
                    {
                        let path = child.render();
                        let message = format!(
                            "`{}` is `{text}`; allowed: {}",
                            display(&path),
                            allowed.join(", ")
                        );
                        self.push(Kind::Enum, path, message);
                    }
                }
            }
        }
        for required in &def.required {
            if map.get(required).is_none_or(|v| v.value.is_null()) {
                let path = at.render();
                let message = format!(
                    "missing required field `{}`",
                    display(&join(&path, required))
                );
                self.push(Kind::Required, path, message);
            }
        }
    }

    fn value(&mut self, ty: &Type, node: &Node, at: &At<'_>, quantity: bool, allowed: &[String]) {
        if node.value.is_null() {
            return;
        }
        let expected = match ty {
            Type::Any => return,
            Type::Ref(name) => {
                if name.ends_with("api.resource.Quantity") {
                    self.quantity(node, at);
                    return;
                }
                self.definition(name, node, at);
                return;
            }
            Type::Array(inner) => {
                let Value::Seq(items) = &node.value else {
                    self.mismatch("a list", node, at);
                    return;
                };
                for (i, item) in items.iter().enumerate() {
                    self.value(inner, item, &At::Index(at, i), false, &[]);
                }
                return;
            }
            Type::Map(inner) => {
                let Value::Map(map) = &node.value else {
                    self.mismatch("an object", node, at);
                    return;
                };
                for entry in &map.entries {
                    self.value(inner, &entry.value, &At::Key(at, &entry.key), false, &[]);
                }
                return;
            }
            Type::Scalar(name) => name.as_str(),
        };
        let ok = match (expected, &node.value) {
            ("string", Value::Str(_))
            | ("integer", Value::Int(_) | Value::Uint(_))
            | ("number", Value::Int(_) | Value::Uint(_) | Value::Float(_))
            | ("boolean", Value::Bool(_))
            | ("int-or-string", Value::Int(_) | Value::Uint(_) | Value::Str(_))
            | (
                "number-or-string",
                Value::Int(_) | Value::Uint(_) | Value::Float(_) | Value::Str(_),
            ) => true,
            (
                "string" | "integer" | "number" | "boolean" | "int-or-string" | "number-or-string",
                _,
            ) => false,
            // A scalar type this walker does not know: accept rather than guess.
            _ => true,
        };
        if !ok {
            let want = match expected {
                "string" => "a string",
                "integer" => "an integer",
                "number" => "a number",
                "boolean" => "a boolean",
                "int-or-string" => "an integer or a string",
                _ => "a number or a string",
            };
            self.mismatch(want, node, at);
            return;
        }
        if quantity {
            self.quantity(node, at);
        }
        if let Some(text) = node.as_str()
            && !allowed.is_empty()
            && !allowed.iter().any(|a| a == text)
        {
            let path = at.render();
            let message = format!(
                "`{}` is `{text}`; allowed: {}",
                display(&path),
                allowed.join(", ")
            );
            self.push(Kind::Enum, path, message);
        }
    }

    fn quantity(&mut self, node: &Node, at: &At<'_>) {
        match &node.value {
            Value::Str(s) if !is_quantity(s) => {
                let path = at.render();
                let message = format!(
                    "`{}` is `{s}`, not a quantity (examples: `512Mi`, `1Gi`, `250m`, `0.5`)",
                    display(&path)
                );
                self.push(Kind::Quantity, path, message);
            }
            Value::Str(_) | Value::Int(_) | Value::Uint(_) | Value::Float(_) => {}
            other => {
                let path = at.render();
                let message = format!(
                    "`{}` must be a quantity, not {}",
                    display(&path),
                    describe(other)
                );
                self.push(Kind::Type, path, message);
            }
        }
    }

    fn mismatch(&mut self, want: &str, node: &Node, at: &At<'_>) {
        let path = at.render();
        let message = format!(
            "`{}` must be {want}, not {}",
            display(&path),
            describe(&node.value)
        );
        self.push(Kind::Type, path, message);
    }
}

/// How a path reads in a message (the object itself is `object`).
fn display(path: &str) -> &str {
    if path.is_empty() { "object" } else { path }
}

/// The walk for custom resources: the structural subset of JSON Schema that
/// CustomResourceDefinitions use.
struct CrdWalker<'o> {
    out: &'o mut Vec<Violation>,
}

impl CrdWalker<'_> {
    fn push(&mut self, kind: Kind, path: &str, message: String) {
        self.out.push(Violation {
            kind,
            path: path.to_string(),
            message,
            info: false,
        });
    }

    fn node(&mut self, schema: &Node, node: &Node, path: &str, top: bool) {
        if node.value.is_null() {
            return;
        }
        if schema
            .get("x-kubernetes-int-or-string")
            .and_then(|n| match n.value {
                Value::Bool(b) => Some(b),
                _ => None,
            })
            == Some(true)
        {
            if !matches!(node.value, Value::Int(_) | Value::Uint(_) | Value::Str(_)) {
                self.push(
                    Kind::Type,
                    path,
                    format!(
                        "`{}` must be an integer or a string, not {}",
                        display(path),
                        describe(&node.value)
                    ),
                );
            }
            return;
        }
        let preserve = matches!(
            schema
                .get("x-kubernetes-preserve-unknown-fields")
                .map(|n| &n.value),
            Some(Value::Bool(true))
        );
        let ty = schema.str_at(&["type"]).unwrap_or("");
        let ok = matches!(
            (ty, &node.value),
            ("", _)
                | ("object", Value::Map(_))
                | ("array", Value::Seq(_))
                | ("string", Value::Str(_))
                | ("integer", Value::Int(_) | Value::Uint(_))
                | ("number", Value::Int(_) | Value::Uint(_) | Value::Float(_))
                | ("boolean", Value::Bool(_))
        );
        if !ok {
            self.push(
                Kind::Type,
                path,
                format!(
                    "`{}` must be of type {ty}, not {}",
                    display(path),
                    describe(&node.value)
                ),
            );
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Node::as_seq)
            && !allowed.iter().any(|a| a.same_value(node))
        {
            let list: Vec<String> = allowed
                .iter()
                .filter_map(|a| a.value.scalar_text())
                .collect();
            self.push(
                Kind::Enum,
                path,
                format!("`{}` is not one of: {}", display(path), list.join(", ")),
            );
        }
        match &node.value {
            Value::Map(map) => {
                let properties = schema.get("properties").and_then(Node::as_map);
                let additional = schema.get("additionalProperties");
                for entry in &map.entries {
                    let child = join(path, &entry.key);
                    if top && matches!(entry.key.as_str(), "apiVersion" | "kind" | "metadata") {
                        continue;
                    }
                    if let Some(sub) = properties.and_then(|p| p.get(&entry.key)) {
                        self.node(sub, &entry.value, &child, false);
                    } else if let Some(additional) = additional {
                        if additional.get("type").is_some()
                            || additional.get("properties").is_some()
                        {
                            self.node(additional, &entry.value, &child, false);
                        }
                    } else if !preserve && properties.is_some() {
                        self.push(
                            Kind::UnknownField,
                            &child,
                            format!("unknown field `{}`", display(&child)),
                        );
                    }
                }
                for required in schema
                    .get("required")
                    .and_then(Node::as_seq)
                    .into_iter()
                    .flatten()
                    .filter_map(Node::as_str)
                {
                    if map.get(required).is_none_or(|v| v.value.is_null()) {
                        self.push(
                            Kind::Required,
                            path,
                            format!(
                                "missing required field `{}`",
                                display(&join(path, required))
                            ),
                        );
                    }
                }
            }
            Value::Seq(items) => {
                if let Some(items_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.node(items_schema, item, &format!("{path}[{i}]"), false);
                    }
                }
            }
            _ => {}
        }
    }
}
