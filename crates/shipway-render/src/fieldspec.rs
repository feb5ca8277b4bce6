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

/// Field spec tables: kustomize's built-in ones, extended by `configurations:` files.
#[derive(Debug, Clone, Default)]
pub struct Builtin {
    /// `commonLabels` (with selectors).
    pub common_labels: Vec<FieldSpec>,
    /// `labels` with `includeTemplates`.
    pub template_labels: Vec<FieldSpec>,
    /// Extra fields every `labels:` entry writes, whatever its options (the `labels`
    /// table of a `configurations:` file; kustomize has no default entries).
    pub labels: Vec<FieldSpec>,
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
    /// `varReference`: where `$(VAR)` is expanded.
    pub var_reference: Vec<FieldSpec>,
}

impl Builtin {
    /// Reads a `configurations:` file: any of the tables above under their kustomize
    /// names. Unknown keys are ignored, as kustomize's non-strict decoding does.
    pub fn from_config(node: &Node) -> Builtin {
        let table = |key: &str| -> Vec<FieldSpec> {
            node.get(key)
                .and_then(Node::as_seq)
                .map(|items| items.iter().filter_map(FieldSpec::from_node).collect())
                .unwrap_or_default()
        };
        Builtin {
            common_labels: table("commonLabels"),
            template_labels: table("templateLabels"),
            labels: table("labels"),
            common_annotations: table("commonAnnotations"),
            images: table("images"),
            replicas: table("replicas"),
            namespace: table("namespace"),
            name_prefix: table("namePrefix"),
            name_suffix: table("nameSuffix"),
            name_reference: parse_name_references(node),
            var_reference: table("varReference"),
        }
    }

    /// Reads a legacy `crds:` file: Go `OpenAPIDefinition`s keyed by type name
    /// (`github.com/example/apis/v1.MyKind`). For every type that looks like a Kubernetes
    /// object (it has `kind`, `apiVersion` and `metadata`), properties marked
    /// `x-kubernetes-label-selector` become label field specs, `x-kubernetes-identity` name
    /// prefix field specs, and `x-kubernetes-object-ref-kind`/`-api-version` (with
    /// `-name-key`, default `name`) name references, following `$ref`s into nested types.
    pub fn from_crd_definitions(node: &Node) -> Builtin {
        let mut out = Builtin::default();
        let Some(map) = node.as_map() else {
            return out;
        };
        for (name, _) in map.iter() {
            let looks_like_object = properties(map, name).is_some_and(|p| {
                ["kind", "apiVersion", "metadata"]
                    .iter()
                    .all(|k| p.contains_key(k))
            });
            if !looks_like_object {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name).to_string();
            let mut seen = Vec::new();
            crd_fields(&mut out, &kind, map, name, &[], &mut seen);
        }
        out
    }

    /// Adds `other`'s specs to these tables (kustomize's `TransformerConfig.Merge`): a
    /// spec already present is skipped, one that differs only in `create` is an error.
    pub fn merge(&mut self, other: &Builtin) -> Result<(), String> {
        merge_specs(&mut self.common_labels, &other.common_labels)?;
        merge_specs(&mut self.template_labels, &other.template_labels)?;
        merge_specs(&mut self.labels, &other.labels)?;
        merge_specs(&mut self.common_annotations, &other.common_annotations)?;
        merge_specs(&mut self.images, &other.images)?;
        merge_specs(&mut self.replicas, &other.replicas)?;
        merge_specs(&mut self.namespace, &other.namespace)?;
        merge_specs(&mut self.name_prefix, &other.name_prefix)?;
        merge_specs(&mut self.name_suffix, &other.name_suffix)?;
        merge_specs(&mut self.var_reference, &other.var_reference)?;
        for incoming in &other.name_reference {
            let same = |r: &&mut NameReference| {
                r.target.group == incoming.target.group
                    && r.target.version == incoming.target.version
                    && r.target.kind == incoming.target.kind
            };
            match self.name_reference.iter_mut().find(same) {
                Some(existing) => merge_specs(&mut existing.field_specs, &incoming.field_specs)?,
                None => self.name_reference.push(incoming.clone()),
            }
        }
        Ok(())
    }
}

/// The `properties` of definition `name` (under its `Schema`, spelled in any case).
fn properties<'a>(map: &'a Mapping, name: &str) -> Option<&'a Mapping> {
    let definition = map.get(name)?.as_map()?;
    let schema = definition
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schema"))?
        .1;
    schema.get("properties")?.as_map()
}

fn crd_fields(
    out: &mut Builtin,
    kind: &str,
    map: &Mapping,
    type_name: &str,
    path: &[String],
    seen: &mut Vec<String>,
) {
    // Recursive types would otherwise never end.
    if seen.iter().any(|t| t == type_name) {
        return;
    }
    let Some(props) = properties(map, type_name) else {
        return;
    };
    seen.push(type_name.to_string());
    for (prop, schema) in props.iter() {
        let ext = |key: &str| schema.get(key).and_then(Node::as_str);
        let spec = |path: Vec<String>| FieldSpec {
            kind: Some(kind.to_string()),
            path,
            ..FieldSpec::default()
        };
        let mut here = path.to_vec();
        here.push(prop.to_string());
        if ext("x-kubernetes-label-selector").is_some() {
            out.common_labels.push(spec(here.clone()));
        }
        if ext("x-kubernetes-identity").is_some() {
            out.name_prefix.push(spec(here.clone()));
        }
        if let (Some(version), Some(target)) = (
            ext("x-kubernetes-object-ref-api-version"),
            ext("x-kubernetes-object-ref-kind"),
        ) {
            let mut name_path = here.clone();
            name_path.push(
                ext("x-kubernetes-object-ref-name-key")
                    .unwrap_or("name")
                    .to_string(),
            );
            out.name_reference.push(NameReference {
                target: FieldSpec {
                    version: Some(version.to_string()),
                    kind: Some(target.to_string()),
                    ..FieldSpec::default()
                },
                field_specs: vec![spec(name_path)],
            });
        }
        if let Some(reference) = ext("$ref") {
            let reference = reference.trim_start_matches("#/definitions/");
            crd_fields(out, kind, map, reference, &here, seen);
        }
    }
    seen.pop();
}

fn merge_specs(into: &mut Vec<FieldSpec>, from: &[FieldSpec]) -> Result<(), String> {
    for spec in from {
        let existing = into.iter().find(|e| {
            e.group == spec.group
                && e.version == spec.version
                && e.kind == spec.kind
                && e.path == spec.path
        });
        match existing {
            Some(e) if e.create != spec.create => {
                return Err(format!(
                    "conflicting fieldspecs for path `{}` of kind `{}`: one creates the field, the other does not",
                    spec.path.join("/"),
                    spec.kind.as_deref().unwrap_or("")
                ));
            }
            Some(_) => {}
            None => into.push(spec.clone()),
        }
    }
    Ok(())
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
            labels: Vec::new(),
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
            var_reference: table(
                include_str!("../data/fieldspecs/varreference.yaml"),
                "varReference",
            ),
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
        assert!(b.var_reference.len() > 10);
    }
}
