//! Field specs: which fields of which kinds a transformer touches.
//!
//! The built-in tables are kustomize's own (`data/fieldspecs/`, kept in the format users
//! write in `configurations:` files, with their provenance). A spec names a path such as
//! `spec/template/spec/containers[]/image`; sequences on the way are walked element by
//! element, and `create: true` adds missing mappings and the final field, but never a
//! missing sequence (a segment marked `[]`), as kustomize's field spec filter.

use std::sync::OnceLock;

use shipway_model::yaml::{parse_one, read::YamlError};
use shipway_model::{Gvk, Mapping, Node, Value};

/// One field spec.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    /// Group the resource must have (any when `None`).
    pub group: Option<String>,
    /// Version the resource must have (any when `None`).
    pub version: Option<String>,
    /// Kind the resource must have (any when `None`).
    pub kind: Option<String>,
    /// Path segments.
    pub path: Vec<String>,
    /// Whether missing fields are created.
    pub create: bool,
}

impl FieldSpec {
    /// Whether the spec applies to a resource of this kind.
    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        self.group.as_ref().is_none_or(|g| *g == gvk.group)
            && self.version.as_ref().is_none_or(|v| *v == gvk.version)
            && self.kind.as_ref().is_none_or(|k| *k == gvk.kind)
    }

    /// Reads a field spec from its YAML form.
    pub fn from_node(node: &Node) -> Option<FieldSpec> {
        let path = node.str_at(&["path"])?;
        Some(FieldSpec {
            group: node.str_at(&["group"]).map(str::to_string),
            version: node.str_at(&["version"]).map(str::to_string),
            kind: node.str_at(&["kind"]).map(str::to_string),
            path: split_path(path),
            create: matches!(
                node.get("create").map(|n| &n.value),
                Some(Value::Bool(true))
            ),
        })
    }
}

/// Splits a field path on `/`, honouring `\/` escapes. A `[]` suffix is kept on its
/// segment: sequences are walked implicitly anyway, but [`visit_fields`] must not create a
/// missing one.
pub fn split_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                current.push('/');
                chars.next();
            }
            '/' => segments.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    segments.push(current);
    segments.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Calls `f` on every field the path reaches in `node`, creating missing fields first when
/// `create` is set. `f` receives the field's parent mapping and key; the field may be absent
/// only when `create` is set, in which case `f` decides what to put there.
pub fn visit_fields(
    node: &mut Node,
    path: &[String],
    create: bool,
    f: &mut dyn FnMut(&mut Mapping, &str),
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let (first, sequence) = match first.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (first.as_str(), false),
    };
    match &mut node.value {
        Value::Seq(items) => {
            for item in items {
                visit_fields(item, path, create, f);
            }
        }
        Value::Map(map) => {
            if rest.is_empty() {
                if map.contains_key(first) || create {
                    f(map, first);
                }
                return;
            }
            let missing = map.get(first).is_none_or(|n| n.value.is_null());
            if missing {
                if !create || sequence {
                    return;
                }
                map.insert(first.to_string(), Node::map());
            }
            if let Some(child) = map.get_mut(first) {
                visit_fields(child, rest, create, f);
            }
        }
        _ => {}
    }
}

/// Kustomize's built-in field spec tables.
pub struct Builtin {
    /// `commonLabels` (with selectors).
    pub common_labels: Vec<FieldSpec>,
    /// `labels` with `includeTemplates`.
    pub template_labels: Vec<FieldSpec>,
    /// `commonAnnotations`.
    pub common_annotations: Vec<FieldSpec>,
    /// `images`.
    pub images: Vec<FieldSpec>,
    /// `replicas`.
    pub replicas: Vec<FieldSpec>,
    /// `namespace`.
    pub namespace: Vec<FieldSpec>,
    /// `namePrefix`.
    pub name_prefix: Vec<FieldSpec>,
    /// `nameSuffix`.
    pub name_suffix: Vec<FieldSpec>,
    /// `nameReference`.
    pub name_reference: Vec<NameReference>,
}

/// One `nameReference` entry: a referred kind and the fields that refer to it by name.
#[derive(Debug, Clone)]
pub struct NameReference {
    /// The referred kind.
    pub target: FieldSpec,
    /// Fields of referring objects that hold the name.
    pub field_specs: Vec<FieldSpec>,
}

fn parse_table(text: &str, key: &str) -> Result<Vec<FieldSpec>, YamlError> {
    let node = parse_one(text)?;
    Ok(node
        .get(key)
        .and_then(Node::as_seq)
        .map(|items| items.iter().filter_map(FieldSpec::from_node).collect())
        .unwrap_or_default())
}

/// Reads `nameReference` entries.
pub fn parse_name_references(node: &Node) -> Vec<NameReference> {
    node.get("nameReference")
        .and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .map(|item| NameReference {
                    target: FieldSpec {
                        group: item.str_at(&["group"]).map(str::to_string),
                        version: item.str_at(&["version"]).map(str::to_string),
                        kind: item.str_at(&["kind"]).map(str::to_string),
                        path: Vec::new(),
                        create: false,
                    },
                    field_specs: item
                        .get("fieldSpecs")
                        .and_then(Node::as_seq)
                        .map(|specs| specs.iter().filter_map(FieldSpec::from_node).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The built-in tables, parsed once.
pub fn builtin() -> &'static Builtin {
    static TABLES: OnceLock<Builtin> = OnceLock::new();
    TABLES.get_or_init(|| {
        // The tables are compiled into the binary and covered by tests, so a parse failure
        // here can only come from editing them; an empty table is the safe fallback.
        let table = |text: &str, key: &str| parse_table(text, key).unwrap_or_default();
        Builtin {
            common_labels: table(
                include_str!("../data/fieldspecs/commonlabels.yaml"),
                "commonLabels",
            ),
            template_labels: table(
                include_str!("../data/fieldspecs/templatelabels.yaml"),
                "templateLabels",
            ),
            common_annotations: table(
                include_str!("../data/fieldspecs/commonannotations.yaml"),
                "commonAnnotations",
            ),
            images: table(include_str!("../data/fieldspecs/images.yaml"), "images"),
            replicas: table(include_str!("../data/fieldspecs/replicas.yaml"), "replicas"),
            namespace: table(
                include_str!("../data/fieldspecs/namespace.yaml"),
                "namespace",
            ),
            name_prefix: table(
                include_str!("../data/fieldspecs/nameprefix.yaml"),
                "namePrefix",
            ),
            name_suffix: table(
                include_str!("../data/fieldspecs/namesuffix.yaml"),
                "nameSuffix",
            ),
            name_reference: parse_one(include_str!("../data/fieldspecs/namereference.yaml"))
                .map(|n| parse_name_references(&n))
                .unwrap_or_default(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_parse() {
        let b = builtin();
        assert!(b.common_labels.len() > 20);
        assert!(b.name_reference.len() > 10);
        // `[]` stays on its segment so that `visit_fields` never creates a sequence.
        assert_eq!(b.images[0].path, vec!["spec", "containers[]", "image"]);
    }
}
