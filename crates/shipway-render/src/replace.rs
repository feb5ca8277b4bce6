//! `replacements:` — copy a field of one object into fields of others, as kustomize's
//! `ReplacementTransformer` (v5.5.0) does.
//!
//! A replacement names one source object (by group, version, kind, name and namespace,
//! matched exactly against the object's current or any earlier identity) and a field of
//! it, and targets selected the same way plus label and annotation selectors, with
//! rejections. Field paths are dotted (`spec.template.spec.containers.[name=web].image`):
//! `[key=value]` picks list elements whose `key` matches `value` (an anchored regular
//! expression), a number picks an element by index and `*` every element. With
//! `options.create`, missing fields and list elements are created; `options.delimiter`
//! and `options.index` replace one part of a delimited string.
//!
//! Scalars keep the target's type when replaced (kustomize copies only the text), which is
//! why `replicas: 1` stays a number when the source is the string `"3"`.

use std::path::Path;

use shipway_model::yaml::number::resolve_plain_v3;
use shipway_model::{Node, Pos, Value};

use crate::error::RenderError;
use crate::kustomization::Fields;
use crate::patch::{LabelSelector, Pattern};
use crate::resource::{Resource, ns_equal};

/// The field a replacement reads when none is given.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// One entry of `replacements:` (or of a file it names).
#[derive(Debug, Clone, Default)]
pub struct Replacement {
    /// The object and field the value comes from.
    pub source: Option<SourceSelector>,
    /// Where it goes.
    pub targets: Vec<TargetSelector>,
    /// A file holding more replacements, instead of `source` and `targets`.
    pub path: Option<String>,
    /// Where the entry was written.
    pub pos: Pos,
}

/// An identity selector: every field given must equal the object's.
#[derive(Debug, Clone, Default)]
pub struct IdSelector {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Namespace (`""` and `default` are the same).
    pub namespace: Option<String>,
}

/// `source:` of a replacement.
#[derive(Debug, Clone, Default)]
pub struct SourceSelector {
    /// Which object.
    pub id: IdSelector,
    /// Which field (`metadata.name` when empty).
    pub field_path: String,
    /// Delimiter and index.
    pub options: FieldOptions,
}

/// `select:` or a `reject:` entry of a target.
#[derive(Debug, Clone, Default)]
pub struct Select {
    /// Identity.
    pub id: IdSelector,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// One `targets:` entry.
#[derive(Debug, Clone, Default)]
pub struct TargetSelector {
    /// Objects to change (required).
    pub select: Option<Select>,
    /// Objects to leave alone.
    pub reject: Vec<Select>,
    /// Fields to set (`metadata.name` when none).
    pub field_paths: Vec<String>,
    /// Delimiter, index and create.
    pub options: FieldOptions,
}

/// `options:` of a source or target.
#[derive(Debug, Clone, Default)]
pub struct FieldOptions {
    /// Split the value on this string.
    pub delimiter: String,
    /// Which part (targets: negative prepends, past the end appends).
    pub index: i64,
    /// Create missing fields (targets only).
    pub create: bool,
}

impl Replacement {
    /// Decodes one replacement entry.
    pub fn decode(node: &Node, file: &Path) -> Result<Replacement, RenderError> {
        let mut f = Fields::new(node, file, "replacements")?;
        let mut r = Replacement {
            pos: node.pos,
            path: f.string(&["path"])?,
            ..Replacement::default()
        };
        if let Some(source) = f.take(&["source"]) {
            let mut s = Fields::new(source, file, "replacements.source")?;
            r.source = Some(SourceSelector {
                id: decode_id(&mut s)?,
                field_path: s.string(&["fieldPath"])?.unwrap_or_default(),
                options: decode_options(s.take(&["options"]), file)?,
            });
            s.finish()?;
        }
        for target in f.seq(&["targets"])? {
            let mut t = Fields::new(target, file, "replacements.targets")?;
            let select = t
                .take(&["select"])
                .map(|n| decode_select(n, file))
                .transpose()?;
            let mut reject = Vec::new();
            for item in t.seq(&["reject"])? {
                reject.push(decode_select(item, file)?);
            }
            let field_paths = t
                .string_list(&["fieldPaths"])?
                .into_iter()
                .map(|l| l.value)
                .collect();
            let options = decode_options(t.take(&["options"]), file)?;
            t.finish()?;
            r.targets.push(TargetSelector {
                select,
                reject,
                field_paths,
                options,
            });
        }
        f.finish()?;
        Ok(r)
    }
}

fn decode_id(f: &mut Fields<'_>) -> Result<IdSelector, RenderError> {
    Ok(IdSelector {
        group: f.string(&["group"])?,
        version: f.string(&["version"])?,
        kind: f.string(&["kind"])?,
        name: f.string(&["name"])?,
        namespace: f.string(&["namespace"])?,
    })
}

fn decode_select(node: &Node, file: &Path) -> Result<Select, RenderError> {
    let mut f = Fields::new(node, file, "replacements.targets.select")?;
    let select = Select {
        id: decode_id(&mut f)?,
        label_selector: f.string(&["labelSelector"])?,
        annotation_selector: f.string(&["annotationSelector"])?,
    };
    f.finish()?;
    Ok(select)
}

fn decode_options(node: Option<&Node>, file: &Path) -> Result<FieldOptions, RenderError> {
    let Some(node) = node else {
        return Ok(FieldOptions::default());
    };
    let mut f = Fields::new(node, file, "replacements.options")?;
    let index = match f.take(&["index"]) {
        None => 0,
        Some(Node {
            value: Value::Int(i),
            ..
        }) => *i,
        Some(other) => {
            return Err(RenderError::invalid(
                file,
                other.pos,
                "replacements.options.index: expected an integer",
            ));
        }
    };
    let options = FieldOptions {
        delimiter: f.string(&["delimiter"])?.unwrap_or_default(),
        index,
        create: f.bool(&["create"])?.unwrap_or(false),
    };
    // `encoding` exists in later kustomize releases only; v5.5.0 rejects it like any
    // unknown field.
    f.finish()?;
    Ok(options)
}

/// One identity of an object: its current one or an earlier one.
struct Id<'a> {
    name: &'a str,
    namespace: &'a str,
}

fn ids(resource: &Resource) -> Vec<Id<'_>> {
    let mut out = vec![Id {
        name: resource.name(),
        namespace: resource.namespace(),
    }];
    out.extend(
        resource
            .previous
            .iter()
            .map(|(name, namespace)| Id { name, namespace }),
    );
    out
}

/// A selector field, when given and not empty.
fn given(field: Option<&String>) -> Option<&str> {
    field.map(String::as_str).filter(|s| !s.is_empty())
}

impl IdSelector {
    fn is_empty(&self) -> bool {
        [
            &self.group,
            &self.version,
            &self.kind,
            &self.name,
            &self.namespace,
        ]
        .iter()
        .all(|f| f.as_deref().is_none_or(str::is_empty))
    }

    /// kustomize's `ResId.IsSelectedBy`: exact comparison of every field given.
    fn selects(&self, resource: &Resource, id: &Id<'_>) -> bool {
        let gvk = resource.gvk();
        given(self.group.as_ref()).is_none_or(|g| g == gvk.group)
            && given(self.version.as_ref()).is_none_or(|v| v == gvk.version)
            && given(self.kind.as_ref()).is_none_or(|k| k == gvk.kind)
            && given(self.name.as_ref()).is_none_or(|n| n == id.name)
            && given(self.namespace.as_ref()).is_none_or(|ns| ns_equal(ns, id.namespace))
    }

    fn selects_any(&self, resource: &Resource) -> bool {
        ids(resource).iter().any(|id| self.selects(resource, id))
    }

    fn describe(&self) -> String {
        let or = |f: &Option<String>, d: &str| {
            f.as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(d)
                .to_string()
        };
        format!(
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

impl Select {
    fn matches_labels(&self, resource: &Resource) -> Result<bool, String> {
        if let Some(text) = self.label_selector.as_deref().filter(|s| !s.is_empty())
            && !LabelSelector::parse(text)?.matches(&resource.labels())
        {
            return Ok(false);
        }
        if let Some(text) = self
            .annotation_selector
            .as_deref()
            .filter(|s| !s.is_empty())
            && !LabelSelector::parse(text)?.matches(&resource.annotations())
        {
            return Ok(false);
        }
        Ok(true)
    }
}

/// One part of a field path.
#[derive(Debug)]
enum Segment {
    /// A mapping key.
    Field(String),
    /// `[key=value]` (or `[=value]` for scalar elements).
    Match {
        key: String,
        value: String,
        pattern: Pattern,
    },
    /// A list index.
    Index(usize),
    /// `*`: every element.
    Every,
}

/// Splits a dotted path, keeping `[...]` parts whole (kyaml's `SmarterPathSplitter`).
fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    split_path(path)
        .into_iter()
        .map(|part| {
            if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']'))
                && let Some((key, value)) = inner.split_once('=')
            {
                return Ok(Segment::Match {
                    key: key.to_string(),
                    value: value.to_string(),
                    pattern: Pattern::new(value)?,
                });
            }
            // `[cert-manager.io/inject-ca-from]`, brackets without `=`, quotes a mapping key
            // that holds dots; kubectl reads it as that key.
            if let Some(key) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                return Ok(Segment::Field(key.to_string()));
            }
            if part == "*" {
                return Ok(Segment::Every);
            }
            if !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && let Ok(index) = part.parse()
            {
                return Ok(Segment::Index(index));
            }
            Ok(Segment::Field(part))
        })
        .collect()
}

fn element_matches(element: &Node, key: &str, pattern: &Pattern) -> bool {
    let text = if key.is_empty() {
        element.value.scalar_text()
    } else {
        element.get(key).and_then(|v| v.value.scalar_text())
    };
    text.is_some_and(|t| pattern.is_match(&t))
}

/// Reads the field at `path` (kyaml's `Lookup`: no wildcards, first match).
fn lookup<'a>(node: &'a Node, path: &[Segment]) -> Option<&'a Node> {
    let Some((first, rest)) = path.split_first() else {
        return Some(node);
    };
    let next = match (first, &node.value) {
        (Segment::Field(key), Value::Map(map)) => map.get(key)?,
        (Segment::Match { key, pattern, .. }, Value::Seq(items)) => {
            items.iter().find(|e| element_matches(e, key, pattern))?
        }
        (Segment::Index(i), Value::Seq(items)) => items.get(*i)?,
        _ => return None,
    };
    lookup(next, rest)
}

/// What to create for missing fields: nothing, or a node shaped like the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    No,
    Scalar,
    Map,
    Seq,
}

fn node_for(next: Option<&Segment>, last: Create) -> Node {
    match next {
        Some(Segment::Match { .. } | Segment::Index(_)) => Node::seq(),
        Some(_) => Node::map(),
        None => match last {
            Create::Map => Node::map(),
            Create::Seq => Node::seq(),
            // An untagged empty scalar: the value's text is resolved when written.
            Create::Scalar | Create::No => Node::new(Value::Null),
        },
    }
}

/// Calls `f` on every field `path` reaches (kyaml's `PathMatcher`), creating missing
/// ones when asked. `f` learns whether the field was just created.
fn visit(
    node: &mut Node,
    path: &[Segment],
    create: Create,
    created: bool,
    f: &mut dyn FnMut(&mut Node, bool) -> Result<(), String>,
) -> Result<usize, String> {
    let Some((first, rest)) = path.split_first() else {
        f(node, created)?;
        return Ok(1);
    };
    match first {
        Segment::Field(key) => {
            let Value::Map(map) = &mut node.value else {
                if create != Create::No && node.value.is_null() {
                    node.value = Value::Map(shipway_model::Mapping::new());
                    return visit(node, path, create, created, f);
                }
                return Err(format!(
                    "wrong node kind: expected a mapping at `{key}`, found a {}",
                    node.value.type_name()
                ));
            };
            let mut fresh = false;
            if !map.contains_key(key) {
                if create == Create::No {
                    return Ok(0);
                }
                map.insert(key.clone(), node_for(rest.first(), create));
                fresh = true;
            }
            match map.get_mut(key) {
                Some(child) => visit(child, rest, create, fresh, f),
                None => Ok(0),
            }
        }
        Segment::Match {
            key,
            value,
            pattern,
        } => {
            if create != Create::No && node.value.is_null() {
                node.value = Value::Seq(Vec::new());
            }
            let Value::Seq(items) = &mut node.value else {
                return Err(format!(
                    "wrong node kind: expected a sequence at `[{key}={value}]`, found a {}",
                    node.value.type_name()
                ));
            };
            let mut count = 0;
            for item in items.iter_mut() {
                if element_matches(item, key, pattern) {
                    count += visit(item, rest, create, false, f)?;
                }
            }
            if count == 0 && create != Create::No {
                let element = if key.is_empty() {
                    Node::string(value.clone())
                } else {
                    let mut m = Node::map();
                    if let Some(map) = m.as_map_mut() {
                        map.insert(key.clone(), Node::string(value.clone()));
                    }
                    m
                };
                items.push(element);
                if let Some(last) = items.last_mut() {
                    count += visit(last, rest, create, rest.is_empty(), f)?;
                }
            }
            Ok(count)
        }
        Segment::Index(index) => match &mut node.value {
            Value::Seq(items) => match items.get_mut(*index) {
                Some(item) => visit(item, rest, create, false, f),
                None => Ok(0),
            },
            other => Err(format!(
                "wrong node kind: expected a sequence at index {index}, found a {}",
                other.type_name()
            )),
        },
        Segment::Every => {
            let mut count = 0;
            match &mut node.value {
                Value::Seq(items) => {
                    for item in items {
                        count += visit(item, rest, create, false, f)?;
                    }
                }
                Value::Map(map) => {
                    for entry in &mut map.entries {
                        count += visit(&mut entry.value, rest, create, false, f)?;
                    }
                }
                _ => {}
            }
            Ok(count)
        }
    }
}

/// Applies `replacements` (already loaded from files) to `resources`.
pub fn apply(
    replacements: &[(Replacement, std::path::PathBuf)],
    resources: &mut [Resource],
) -> Result<(), RenderError> {
    for (r, file) in replacements {
        let err = |message: String| RenderError::invalid(file, r.pos, message);
        let Some(source) = &r.source else {
            return Err(err(
                "replacements must specify a source and at least one target".into(),
            ));
        };
        if r.targets.is_empty() {
            return Err(err(
                "replacements must specify a source and at least one target".into(),
            ));
        }
        let value = source_value(source, resources).map_err(err)?;
        for target in &r.targets {
            let Some(select) = &target.select else {
                return Err(err("target must specify resources to select".into()));
            };
            let paths: Vec<String> = if target.field_paths.is_empty() {
                vec![DEFAULT_FIELD_PATH.to_string()]
            } else {
                target.field_paths.clone()
            };
            for resource in resources.iter_mut() {
                if !select.matches_labels(resource).map_err(err)? {
                    continue;
                }
                let mut rejected = false;
                for reject in &target.reject {
                    let by_labels = (reject.label_selector.is_some()
                        || reject.annotation_selector.is_some())
                        && reject.matches_labels(resource).map_err(err)?;
                    if by_labels || (!reject.id.is_empty() && reject.id.selects_any(resource)) {
                        rejected = true;
                        break;
                    }
                }
                if rejected || !select.id.selects_any(resource) {
                    continue;
                }
                for path in &paths {
                    copy_to_target(&mut resource.node, &value, path, &target.options).map_err(
                        |e| {
                            err(format!(
                                "replacement target {}: {e}",
                                crate::resource::describe_id(&resource.id())
                            ))
                        },
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn source_value(source: &SourceSelector, resources: &[Resource]) -> Result<Node, String> {
    let mut matches = resources.iter().filter(|r| source.id.selects_any(r));
    let Some(found) = matches.next() else {
        return Err(format!(
            "replacement source: nothing selected by {}",
            source.id.describe()
        ));
    };
    if matches.next().is_some() {
        return Err(format!(
            "replacement source: multiple matches for selector {}",
            source.id.describe()
        ));
    }
    let field_path = if source.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let path = parse_path(field_path)?;
    let value = lookup(&found.node, &path).filter(|n| match &n.value {
        Value::Null => false,
        Value::Map(m) => !m.is_empty(),
        Value::Seq(s) => !s.is_empty(),
        _ => true,
    });
    let Some(value) = value else {
        return Err(format!(
            "fieldPath `{field_path}` is missing for replacement source {}",
            source.id.describe()
        ));
    };
    let options = &source.options;
    if options.delimiter.is_empty() {
        return Ok(value.clone());
    }
    let Some(text) = value.value.scalar_text() else {
        return Err("delimiter option can only be used with scalar nodes".into());
    };
    let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
    let part = usize::try_from(options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            format!(
                "options.index {} is out of bounds for value {text}",
                options.index
            )
        })?;
    // The part keeps the source's type tag in kustomize; a part of a string is a string.
    let mut node = value.clone();
    node.value = retag(&value.value, part);
    Ok(node)
}

/// `text` with the scalar type of `like` (kustomize replaces a scalar's text, not its tag).
fn retag(like: &Value, text: &str) -> Value {
    match like {
        Value::Null => resolve_plain_v3(text),
        Value::Int(_) | Value::Uint(_) => match resolve_plain_v3(text) {
            v @ (Value::Int(_) | Value::Uint(_)) => v,
            _ => Value::Str(text.to_string()),
        },
        Value::Float(_) => match resolve_plain_v3(text) {
            v @ (Value::Int(_) | Value::Uint(_) | Value::Float(_)) => v,
            _ => Value::Str(text.to_string()),
        },
        Value::Bool(_) => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text.to_string()),
        },
        Value::Str(_) | Value::Seq(_) | Value::Map(_) => Value::Str(text.to_string()),
    }
}

fn copy_to_target(
    node: &mut Node,
    value: &Node,
    field_path: &str,
    options: &FieldOptions,
) -> Result<(), String> {
    let create = if options.create {
        match value.value {
            Value::Map(_) => Create::Map,
            Value::Seq(_) => Create::Seq,
            _ => Create::Scalar,
        }
    } else {
        Create::No
    };
    let path = parse_path(field_path)?;
    let not_found = || {
        if create == Create::No {
            format!("unable to find field {field_path:?} in replacement target")
        } else {
            format!("unable to find or create field {field_path:?} in replacement target")
        }
    };
    let count = visit(node, &path, create, false, &mut |target, created| {
        set_field(target, value, options, created)
    })
    .map_err(|e| format!("{}: {e}", not_found()))?;
    if count == 0 {
        return Err(not_found());
    }
    Ok(())
}

fn set_field(
    target: &mut Node,
    value: &Node,
    options: &FieldOptions,
    created: bool,
) -> Result<(), String> {
    let target_is_scalar = !matches!(target.value, Value::Map(_) | Value::Seq(_));
    let mut text = value.value.scalar_text();
    if !options.delimiter.is_empty() {
        if !target_is_scalar {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let current = target.value.scalar_text().unwrap_or_default();
        let mut parts: Vec<String> = current
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = text.clone().unwrap_or_default();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        text = Some(parts.join(&options.delimiter));
    }
    if target_is_scalar {
        let text = text.unwrap_or_default();
        target.value = if created {
            resolve_plain_v3(&text)
        } else {
            retag(&target.value, &text)
        };
    } else {
        let pos = target.pos;
        *target = value.clone();
        target.pos = pos;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_brackets_whole() {
        assert_eq!(
            split_path("spec.containers.[name=a.b].image"),
            vec!["spec", "containers", "[name=a.b]", "image"]
        );
    }

    /// `[a.b/c]` without `=` names the key `a.b/c`, as kubectl reads it.
    #[test]
    fn brackets_without_equals_name_a_dotted_key() {
        let mut node = Node::map();
        copy_to_target(
            &mut node,
            &Node::string("ns/cert"),
            "metadata.annotations.[cert-manager.io/inject-ca-from]",
            &FieldOptions {
                create: true,
                ..FieldOptions::default()
            },
        )
        .unwrap();
        let annotations = node.get_path(&["metadata", "annotations"]).unwrap();
        let keys: Vec<&str> = annotations
            .as_map()
            .unwrap()
            .entries
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(keys, ["cert-manager.io/inject-ca-from"]);
    }

    #[test]
    fn created_scalars_resolve_like_untagged_yaml() {
        let mut node = Node::map();
        let value = Node::string("80");
        copy_to_target(
            &mut node,
            &value,
            "spec.port",
            &FieldOptions {
                create: true,
                ..FieldOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            node.get_path(&["spec", "port"]).unwrap().value,
            Value::Int(80)
        );
    }

    #[test]
    fn existing_string_targets_stay_strings() {
        let mut node = Node::map();
        node.as_map_mut()
            .unwrap()
            .insert("x".into(), Node::string("old"));
        copy_to_target(
            &mut node,
            &Node::new(Value::Int(3)),
            "x",
            &FieldOptions::default(),
        )
        .unwrap();
        assert_eq!(node.get("x").unwrap().value, Value::Str("3".into()));
    }
}
