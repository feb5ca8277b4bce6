//! Kubernetes API facts generated from the upstream `OpenAPI` definitions: which type each
//! field has, and how lists merge (patch strategy, merge key, list type and map keys).
//!
//! The data in `data/` is written by `scripts/gen-openapi-data.py` from the `PyPI` package
//! `kubernetes-validate` (Apache-2.0) and never edited by hand. The renderer's strategic
//! merge uses the Kubernetes 1.21 facts because kustomize v5.5.0 embeds the v1.21.2 schema;
//! validation and the simulator will use the newer versions.
//!
//! ```
//! let schema = shipway_schema::kustomize_schema();
//! let pod = schema.definition_for("", "v1", "Pod").unwrap();
//! let spec = schema.field(pod, "spec").unwrap();
//! let containers = schema.field(spec.ty.definition().unwrap(), "containers").unwrap();
//! assert_eq!(containers.merge_key.as_deref(), Some("name"));
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// A scalar: `string`, `integer`, `number`, `boolean`, `int-or-string`, ….
    Scalar(String),
    /// A free-form value (`object` or untyped).
    Any,
    /// A named definition.
    Ref(String),
    /// A list of the inner type.
    Array(Box<Type>),
    /// A map from strings to the inner type.
    Map(Box<Type>),
}

impl Type {
    /// The definition name when this is a reference.
    pub fn definition(&self) -> Option<&str> {
        match self {
            Type::Ref(name) => Some(name),
            _ => None,
        }
    }
}

/// One property of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its type.
    pub ty: Type,
    /// `x-kubernetes-patch-strategy`, e.g. `merge` or `merge,retainKeys`.
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: Option<String>,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// Allowed values, when the API lists them.
    pub enum_values: Vec<String>,
    /// The format of the innermost scalar (`int32`, `byte`, `date-time`, …).
    pub format: Option<String>,
    /// `x-kubernetes-map-type` on the field (`atomic` or `granular`); it overrides the
    /// referenced definition's own map type.
    pub map_type: Option<String>,
}

impl Field {
    /// Whether the patch strategy includes `merge`.
    pub fn merges(&self) -> bool {
        self.patch_strategy
            .as_deref()
            .is_some_and(|s| s.split(',').any(|p| p == "merge"))
    }
}

/// One definition: a struct with properties, or a named scalar type (`Quantity`, `Time`,
/// `IntOrString`).
#[derive(Debug, Clone, Default)]
pub struct Definition {
    /// Properties, for structs.
    pub properties: HashMap<String, Field>,
    /// Whether the definition has properties at all (an empty struct still rejects fields).
    pub is_struct: bool,
    /// Required property names.
    pub required: Vec<String>,
    /// The type of a non-struct definition.
    pub ty: Option<Type>,
    /// The format of a non-struct definition (`date-time`, …).
    pub format: Option<String>,
    /// `x-kubernetes-map-type` of the definition (`atomic` for `LabelSelector`,
    /// `ObjectReference`, …): server-side apply owns such a struct whole.
    pub map_type: Option<String>,
}

/// The facts of one Kubernetes version.
#[derive(Debug, Default)]
pub struct Schema {
    gvks: HashMap<String, String>,
    full: HashMap<String, Definition>,
}

/// The Kubernetes minors whose schemas are bundled, oldest first (1.21 is kustomize's).
pub const BUNDLED_VERSIONS: [&str; 8] = [
    "1.21", "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33",
];

/// The newest bundled minor, the default for validation.
pub const NEWEST_VERSION: &str = "1.33";

/// The bundled schema of a Kubernetes minor (`"1.31"`), parsed on first use.
pub fn bundled(version: &str) -> Option<&'static Schema> {
    static SCHEMAS: [OnceLock<Schema>; 8] = [const { OnceLock::new() }; 8];
    let index = BUNDLED_VERSIONS.iter().position(|v| *v == version)?;
    let text = match index {
        0 => include_str!("../data/k8s-1.21.json"),
        1 => include_str!("../data/k8s-1.27.json"),
        2 => include_str!("../data/k8s-1.28.json"),
        3 => include_str!("../data/k8s-1.29.json"),
        4 => include_str!("../data/k8s-1.30.json"),
        5 => include_str!("../data/k8s-1.31.json"),
        6 => include_str!("../data/k8s-1.32.json"),
        _ => include_str!("../data/k8s-1.33.json"),
    };
    // The data is generated, compiled in and parsed by the tests below; an unreadable
    // copy can only come from a broken build, and an empty schema then reports every
    // kind as unknown rather than crashing.
    Some(SCHEMAS[index].get_or_init(|| Schema::from_json(text).unwrap_or_default()))
}

/// Why schema data could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid schema data: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

impl Schema {
    /// Parses the generated JSON format (see `data/README.md`).
    pub fn from_json(text: &str) -> Result<Schema, SchemaError> {
        let json: Json = serde_json::from_str(text).map_err(|e| SchemaError(e.to_string()))?;
        let mut schema = Schema::default();
        if let Some(gvks) = json.get("gvks").and_then(Json::as_object) {
            for (gvk, def) in gvks {
                if let Some(def) = def.as_str() {
                    schema.gvks.insert(gvk.clone(), def.to_string());
                }
            }
        }
        let defs = json
            .get("defs")
            .and_then(Json::as_object)
            .ok_or_else(|| SchemaError("missing defs".into()))?;
        let strings = |value: Option<&Json>| -> Vec<String> {
            value
                .and_then(Json::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| match v {
                            Json::String(s) => Some(s.clone()),
                            Json::Null => None,
                            other => Some(other.to_string()),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for (name, def) in defs {
            let mut fields = HashMap::new();
            let props = def.get("p").and_then(Json::as_object);
            if let Some(props) = props {
                for (prop, value) in props {
                    let ty = value.get("t").map_or(Type::Any, parse_type);
                    let text =
                        |key: &str| value.get(key).and_then(Json::as_str).map(str::to_string);
                    fields.insert(
                        prop.clone(),
                        Field {
                            ty,
                            patch_strategy: text("ps"),
                            merge_key: text("pk"),
                            list_type: text("lt"),
                            list_map_keys: strings(value.get("lk")),
                            enum_values: strings(value.get("enum")),
                            format: text("fmt"),
                            map_type: text("mt"),
                        },
                    );
                }
            }
            schema.full.insert(
                name.clone(),
                Definition {
                    properties: fields,
                    is_struct: props.is_some(),
                    required: strings(def.get("req")),
                    ty: def.get("t").map(parse_type),
                    format: def.get("fmt").and_then(Json::as_str).map(str::to_string),
                    map_type: def.get("mt").and_then(Json::as_str).map(str::to_string),
                },
            );
        }
        Ok(schema)
    }

    /// Reads a swagger v2 document (`{"definitions": {...}}`), as users give kustomize in
    /// `openapi: {path: ...}`: kinds come from `x-kubernetes-group-version-kind`, merge
    /// facts from the `x-kubernetes-patch-*` and `x-kubernetes-list-*` extensions.
    pub fn from_swagger(json: &Json) -> Result<Schema, SchemaError> {
        let defs = json
            .get("definitions")
            .and_then(Json::as_object)
            .ok_or_else(|| SchemaError("no `definitions` object".into()))?;
        let mut schema = Schema::default();
        for (name, def) in defs {
            for gvk in def
                .get("x-kubernetes-group-version-kind")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let part = |key: &str| gvk.get(key).and_then(Json::as_str).unwrap_or("");
                schema.gvks.insert(
                    format!("{}/{}/{}", part("group"), part("version"), part("kind")),
                    name.clone(),
                );
            }
            let mut fields = HashMap::new();
            for (prop, value) in def
                .get("properties")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
            {
                let text = |key: &str| value.get(key).and_then(Json::as_str).map(str::to_string);
                fields.insert(
                    prop.clone(),
                    Field {
                        ty: swagger_type(value),
                        patch_strategy: text("x-kubernetes-patch-strategy"),
                        merge_key: text("x-kubernetes-patch-merge-key"),
                        list_type: text("x-kubernetes-list-type"),
                        list_map_keys: value
                            .get("x-kubernetes-list-map-keys")
                            .and_then(Json::as_array)
                            .map(|keys| {
                                keys.iter()
                                    .filter_map(Json::as_str)
                                    .map(str::to_string)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        enum_values: Vec::new(),
                        format: text("format"),
                        map_type: text("x-kubernetes-map-type"),
                    },
                );
            }
            schema.full.insert(
                name.clone(),
                Definition {
                    is_struct: def.get("properties").is_some(),
                    properties: fields,
                    map_type: def
                        .get("x-kubernetes-map-type")
                        .and_then(Json::as_str)
                        .map(str::to_string),
                    ..Definition::default()
                },
            );
        }
        Ok(schema)
    }

    /// The definition name of a kind.
    pub fn definition_for(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.gvks
            .get(&format!("{group}/{version}/{kind}"))
            .map(String::as_str)
    }

    /// A property of a definition.
    pub fn field(&self, definition: &str, name: &str) -> Option<&Field> {
        self.full.get(definition)?.properties.get(name)
    }

    /// A whole definition (properties, required fields, scalar type).
    pub fn definition(&self, definition: &str) -> Option<&Definition> {
        self.full.get(definition)
    }

    /// Every `group/version/Kind` the schema knows.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.gvks.keys().map(String::as_str)
    }

    /// Whether a definition exists.
    pub fn has_definition(&self, definition: &str) -> bool {
        self.full.contains_key(definition)
    }
}

/// The type of a swagger property: a `$ref`, an array, a map (`additionalProperties`) or
/// a scalar.
fn swagger_type(json: &Json) -> Type {
    if let Some(r) = json.get("$ref").and_then(Json::as_str) {
        return Type::Ref(r.trim_start_matches("#/definitions/").to_string());
    }
    match json.get("type").and_then(Json::as_str) {
        Some("array") => Type::Array(Box::new(json.get("items").map_or(Type::Any, swagger_type))),
        Some("object") => match json.get("additionalProperties") {
            Some(inner) if inner.is_object() => Type::Map(Box::new(swagger_type(inner))),
            _ => Type::Any,
        },
        Some(scalar) => Type::Scalar(scalar.to_string()),
        None => Type::Any,
    }
}

fn parse_type(json: &Json) -> Type {
    match json {
        Json::String(s) if s == "object" || s == "any" => Type::Any,
        Json::String(s) => Type::Scalar(s.clone()),
        Json::Object(map) => {
            if let Some(r) = map.get("r").and_then(Json::as_str) {
                Type::Ref(r.to_string())
            } else if let Some(inner) = map.get("a") {
                Type::Array(Box::new(parse_type(inner)))
            } else if let Some(inner) = map.get("m") {
                Type::Map(Box::new(parse_type(inner)))
            } else {
                Type::Any
            }
        }
        _ => Type::Any,
    }
}

/// The Kubernetes 1.21 facts kustomize v5.5.0 merges with, parsed once.
pub fn kustomize_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    // The data is generated, compiled in and checked by the tests below; an unreadable
    // copy can only come from a broken build, and an empty schema degrades to kustomize's
    // behaviour for unknown kinds rather than failing every render.
    SCHEMA.get_or_init(|| {
        Schema::from_json(include_str!("../data/k8s-1.21.json")).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parses_and_has_merge_keys() {
        let schema = Schema::from_json(include_str!("../data/k8s-1.21.json")).unwrap();
        let container = "io.k8s.api.core.v1.Container";
        assert_eq!(
            schema
                .field(container, "ports")
                .unwrap()
                .merge_key
                .as_deref(),
            Some("containerPort")
        );
        assert!(schema.field(container, "env").unwrap().merges());
        assert_eq!(
            schema.definition_for("apps", "v1", "Deployment"),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        let swagger = serde_json::json!({"definitions": {
            "v1.Widget": {
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}],
                "properties": {"spec": {"$ref": "#/definitions/v1.Spec"}}
            },
            "v1.Spec": {"properties": {"items": {
                "type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-merge-key": "id", "x-kubernetes-patch-strategy": "merge"
            }}}
        }});
        let custom = Schema::from_swagger(&swagger).unwrap();
        let widget = custom
            .definition_for("example.com", "v1", "Widget")
            .unwrap();
        let spec = custom
            .field(widget, "spec")
            .unwrap()
            .ty
            .definition()
            .unwrap();
        assert!(custom.field(spec, "items").unwrap().merges());
        let newer = Schema::from_json(include_str!("../data/k8s-1.33.json")).unwrap();
        assert!(newer.has_definition("io.k8s.api.core.v1.Pod"));
        for version in BUNDLED_VERSIONS {
            let schema = bundled(version).unwrap();
            let pod = schema.definition_for("", "v1", "Pod").unwrap();
            assert!(schema.definition(pod).unwrap().is_struct, "{version}");
        }
        let container = newer.definition("io.k8s.api.core.v1.Container").unwrap();
        assert_eq!(container.required, vec!["name".to_string()]);
        let quantity = newer
            .definition("io.k8s.apimachinery.pkg.api.resource.Quantity")
            .unwrap();
        assert_eq!(quantity.ty, Some(Type::Scalar("number-or-string".into())));
        let selector = newer
            .definition("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")
            .unwrap();
        assert_eq!(selector.map_type.as_deref(), Some("atomic"));
        let service_spec = "io.k8s.api.core.v1.ServiceSpec";
        let selector = newer.field(service_spec, "selector").unwrap();
        assert_eq!(selector.map_type.as_deref(), Some("atomic"));
    }
}
