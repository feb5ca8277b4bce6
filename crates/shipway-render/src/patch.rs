//! Patches: strategic merge (as kustomize's kyaml `merge2` applies it) and JSON 6902, and
//! the target selectors that choose which resources a patch applies to.
//!
//! Observed kustomize v5.5.0 behaviour this follows (checked with `kubectl kustomize`):
//! lists with a merge key in the Kubernetes 1.21 schema merge element by element, with the
//! patch's elements first in patch order and the untouched original elements after them;
//! lists without schema information (custom resources) are replaced; `null` deletes a field
//! but a mapping that only held nulls is still created; `$patch: delete|replace` works on
//! mappings and list elements. kyaml knows no other directive: `$retainKeys`,
//! `$setElementOrder/…` and `$deleteFromPrimitiveList/…` are merged as ordinary fields, and
//! a list without a merge key is copied verbatim, `$patch` entries and nulls included.

use regex::Regex;
use shipway_model::{Gvk, Mapping, Node, Value};
use shipway_schema::{Field, Schema, Type};

use crate::kustomization::Selector;
use crate::resource::Resource;

/// Applies a strategic merge patch to an object of kind `gvk`.
pub fn strategic_merge(
    schema: &Schema,
    gvk: &Gvk,
    target: &mut Node,
    patch: &Node,
) -> Result<(), String> {
    let definition = schema
        .definition_for(&gvk.group, &gvk.version, &gvk.kind)
        .map(str::to_string);
    match (&mut target.value, &patch.value) {
        (Value::Map(dest), Value::Map(src)) => {
            if directive(src) == Some("replace") {
                *dest = strip(src);
                return Ok(());
            }
            merge_map(schema, definition.as_deref(), dest, src);
            Ok(())
        }
        _ => Err("a strategic merge patch must be a mapping".into()),
    }
}

/// Whether a strategic merge patch asks to delete its target (`$patch: delete` at the top).
pub fn deletes_target(patch: &Node) -> bool {
    patch.as_map().and_then(directive) == Some("delete")
}

fn directive(map: &Mapping) -> Option<&str> {
    map.get("$patch").and_then(Node::as_str)
}

/// A copy of a patch value without `$patch` and null fields in its mappings, as kustomize
/// adds it; lists are copied as they are.
fn strip_node(node: &Node) -> Node {
    match &node.value {
        Value::Map(map) => Node::at(Value::Map(strip(map)), node.pos),
        _ => node.clone(),
    }
}

fn strip(map: &Mapping) -> Mapping {
    let mut out = Mapping::new();
    for entry in &map.entries {
        if entry.key == "$patch" || entry.value.value.is_null() {
            continue;
        }
        out.entries.push(shipway_model::Entry {
            key: entry.key.clone(),
            key_pos: entry.key_pos,
            value: strip_node(&entry.value),
        });
    }
    out
}

fn merge_map(schema: &Schema, definition: Option<&str>, dest: &mut Mapping, src: &Mapping) {
    for entry in &src.entries {
        let key = entry.key.as_str();
        if key == "$patch" {
            continue;
        }
        let patch_value = &entry.value;
        let deletes = patch_value.as_map().and_then(directive) == Some("delete");
        if patch_value.value.is_null() || deletes {
            dest.remove(key);
            continue;
        }
        let field = definition.and_then(|d| schema.field(d, key));
        if let Some(existing) = dest.get_mut(key) {
            merge_value(schema, field, existing, patch_value);
        } else {
            dest.insert(key.to_string(), strip_node(patch_value));
        }
    }
}

fn element_definition(field: Option<&Field>) -> Option<&str> {
    match &field?.ty {
        Type::Array(inner) => inner.definition(),
        _ => None,
    }
}

fn value_definition(field: Option<&Field>) -> Option<&str> {
    match &field?.ty {
        Type::Ref(name) => Some(name),
        _ => None,
    }
}

fn merge_value(schema: &Schema, field: Option<&Field>, dest: &mut Node, src: &Node) {
    match (&mut dest.value, &src.value) {
        (Value::Map(d), Value::Map(s)) => match directive(s) {
            Some("replace") => *d = strip(s),
            Some("delete") => *dest = Node::new(Value::Null),
            _ => merge_map(schema, value_definition(field), d, s),
        },
        (Value::Seq(d), Value::Seq(s)) => {
            let merge_key = field
                .filter(|f| f.merges())
                .and_then(|f| f.merge_key.clone());
            // Only an element that is nothing but `$patch: replace` replaces the list; one
            // with other fields is an element-level directive (kyaml's
            // `determineSequenceNodePatchStrategy`).
            let replace = s.iter().any(|item| {
                item.as_map()
                    .is_some_and(|m| m.len() == 1 && directive(m) == Some("replace"))
            });
            if replace {
                *d = s
                    .iter()
                    .filter(|i| i.as_map().and_then(directive).is_none())
                    .map(strip_node)
                    .collect();
            } else if let Some(key) = merge_key {
                *d = merge_keyed_list(schema, element_definition(field), d, s, &key);
            } else if field.is_some_and(Field::merges)
                && s.iter()
                    .all(|i| !matches!(i.value, Value::Map(_) | Value::Seq(_)))
            {
                // A primitive list with the merge strategy is a set: the patch's values
                // first, then the original ones it did not repeat.
                let mut out: Vec<Node> = s.clone();
                for item in d.iter() {
                    if !out.iter().any(|o| o.same_value(item)) {
                        out.push(item.clone());
                    }
                }
                *d = out;
            } else {
                d.clone_from(s);
            }
        }
        _ => *dest = strip_node(src),
    }
    if dest.value.is_null()
        && !src.value.is_null()
        && src.as_map().and_then(directive) != Some("delete")
    {
        *dest = strip_node(src);
    }
}

fn key_of<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    node.as_map().and_then(|m| m.get(key))
}

fn merge_keyed_list(
    schema: &Schema,
    definition: Option<&str>,
    dest: &[Node],
    src: &[Node],
    key: &str,
) -> Vec<Node> {
    let mut used = vec![false; dest.len()];
    let mut out = Vec::with_capacity(dest.len() + src.len());
    for item in src {
        let Some(item_key) = key_of(item, key) else {
            out.push(strip_node(item));
            continue;
        };
        let matched = dest
            .iter()
            .enumerate()
            .find(|(i, d)| !used[*i] && key_of(d, key).is_some_and(|k| k.same_value(item_key)));
        let delete = item.as_map().and_then(directive) == Some("delete");
        match matched {
            // kubectl kustomize ignores the content of an element carrying `$patch:
            // replace` that matches one in the list: the original is kept unchanged, but
            // moves to the patch's position like any merged element (observed).
            Some((index, existing)) if item.as_map().and_then(directive) == Some("replace") => {
                used[index] = true;
                out.push(existing.clone());
            }
            Some((index, existing)) => {
                used[index] = true;
                if delete {
                    continue;
                }
                let mut merged = existing.clone();
                if let (Value::Map(d), Value::Map(s)) = (&mut merged.value, &item.value) {
                    if directive(s) == Some("replace") {
                        *d = strip(s);
                    } else {
                        merge_map(schema, definition, d, s);
                    }
                }
                out.push(merged);
            }
            None if delete => {}
            None => out.push(strip_node(item)),
        }
    }
    for (index, item) in dest.iter().enumerate() {
        if !used[index] {
            out.push(item.clone());
        }
    }
    out
}

/// Applies JSON 6902 operations (already parsed from YAML or JSON) to `target`.
///
/// kustomize patches objects that carry its internal annotations, so `/metadata/annotations`
/// always exists during the patch (an `add` below it works on an object without
/// annotations, while one below a missing `/metadata/labels` fails); an annotations mapping
/// that is still empty afterwards disappears again, as kustomize's internal ones do.
pub fn json6902(target: &mut Node, operations: &Node) -> Result<(), String> {
    let Some(ops) = operations.as_seq() else {
        return Err("a JSON 6902 patch must be a list of operations".into());
    };
    let added_annotations = match target.get_mut("metadata").and_then(Node::as_map_mut) {
        Some(meta) if meta.get("annotations").is_none() => {
            meta.insert("annotations".into(), Node::map());
            true
        }
        _ => false,
    };
    let result = apply_operations(target, ops);
    if added_annotations
        && let Some(meta) = target.get_mut("metadata").and_then(Node::as_map_mut)
        && meta
            .get("annotations")
            .and_then(Node::as_map)
            .is_some_and(shipway_model::Mapping::is_empty)
    {
        meta.remove("annotations");
    }
    result
}

fn apply_operations(target: &mut Node, ops: &[Node]) -> Result<(), String> {
    for op in ops {
        let name = op.str_at(&["op"]).ok_or("operation without `op`")?;
        let path = op
            .str_at(&["path"])
            .ok_or_else(|| format!("{name} operation without `path`"))?;
        let pointer = parse_pointer(path)?;
        match name {
            "add" => {
                let value = op
                    .get("value")
                    .cloned()
                    .ok_or("add operation without `value`")?;
                add(target, &pointer, value)
                    .map_err(|e| format!("add operation does not apply: {e}: {path}"))?;
            }
            "remove" => {
                remove(target, &pointer)
                    .map_err(|e| format!("remove operation does not apply: {e}: {path}"))?;
            }
            "replace" => {
                let value = op
                    .get("value")
                    .cloned()
                    .ok_or("replace operation without `value`")?;
                if let Some(slot) = get_mut(target, &pointer) {
                    *slot = value;
                } else {
                    // A missing key of an existing mapping is added, as the JSON patch
                    // library kustomize uses does; a missing parent or list index is
                    // an error (observed with `kubectl kustomize`).
                    let parent = pointer
                        .split_last()
                        .and_then(|(key, parent)| Some((key, get_mut(target, parent)?)))
                        .and_then(|(key, parent)| Some((key, parent.as_map_mut()?)));
                    let Some((key, map)) = parent else {
                        return Err(format!(
                            "replace operation does not apply: doc is missing path: {path}"
                        ));
                    };
                    map.insert(key.clone(), value);
                }
            }
            "move" | "copy" => {
                let from = op
                    .str_at(&["from"])
                    .ok_or_else(|| format!("{name} operation without `from`"))?;
                let from_pointer = parse_pointer(from)?;
                let value = if name == "move" {
                    remove(target, &from_pointer)
                        .map_err(|e| format!("move operation does not apply: {e}: {from}"))?
                } else {
                    get(target, &from_pointer).cloned().ok_or_else(|| {
                        format!("copy operation does not apply: doc is missing from path: {from}")
                    })?
                };
                add(target, &pointer, value)
                    .map_err(|e| format!("{name} operation does not apply: {e}: {path}"))?;
            }
            "test" => {
                let expected = op.get("value").ok_or("test operation without `value`")?;
                let actual = get(target, &pointer)
                    .ok_or_else(|| format!("testing value {path} failed: missing"))?;
                if !actual.same_value(expected) {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            other => return Err(format!("unexpected operation {other:?}")),
        }
    }
    Ok(())
}

fn parse_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("JSON pointer {path:?} must start with `/`"));
    };
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn get<'a>(node: &'a Node, pointer: &[String]) -> Option<&'a Node> {
    let mut node = node;
    for segment in pointer {
        node = match &node.value {
            Value::Map(map) => map.get(segment)?,
            Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn get_mut<'a>(node: &'a mut Node, pointer: &[String]) -> Option<&'a mut Node> {
    let mut node = node;
    for segment in pointer {
        node = match &mut node.value {
            Value::Map(map) => map.get_mut(segment)?,
            Value::Seq(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn add(target: &mut Node, pointer: &[String], value: Node) -> Result<(), String> {
    let Some((last, parent)) = pointer.split_last() else {
        *target = value;
        return Ok(());
    };
    let parent = get_mut(target, parent).ok_or("doc is missing path")?;
    match &mut parent.value {
        Value::Map(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Seq(items) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            let index: usize = last.parse().map_err(|_| "invalid array index")?;
            if index > items.len() {
                return Err("index out of bounds".into());
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err("parent is not a container".into()),
    }
}

fn remove(target: &mut Node, pointer: &[String]) -> Result<Node, String> {
    let Some((last, parent)) = pointer.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    let parent = get_mut(target, parent).ok_or("doc is missing path")?;
    match &mut parent.value {
        Value::Map(map) => map.remove(last).ok_or_else(|| "doc is missing key".into()),
        Value::Seq(items) => {
            let index: usize = last.parse().map_err(|_| "invalid array index")?;
            if index >= items.len() {
                return Err("index out of bounds".into());
            }
            Ok(items.remove(index))
        }
        _ => Err("parent is not a container".into()),
    }
}

/// A compiled patch target.
pub struct Target {
    group: Option<String>,
    version: Option<String>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

impl Target {
    /// Compiles a selector; names, namespaces and kinds are anchored regular expressions.
    pub fn compile(selector: &Selector) -> Result<Target, String> {
        let regex = |s: &Option<String>| -> Result<Option<Pattern>, String> {
            s.as_ref()
                .filter(|s| !s.is_empty())
                .map(|s| Pattern::new(s))
                .transpose()
        };
        Ok(Target {
            group: selector.group.clone().filter(|s| !s.is_empty()),
            version: selector.version.clone().filter(|s| !s.is_empty()),
            kind: regex(&selector.kind)?,
            name: regex(&selector.name)?,
            namespace: regex(&selector.namespace)?,
            labels: selector
                .label_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
            annotations: selector
                .annotation_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
        })
    }

    /// Whether a resource is selected.
    pub fn matches(&self, resource: &Resource) -> bool {
        let gvk = resource.gvk();
        self.group.as_ref().is_none_or(|g| *g == gvk.group)
            && self.version.as_ref().is_none_or(|v| *v == gvk.version)
            && self.kind.as_ref().is_none_or(|k| k.is_match(&gvk.kind))
            && self
                .name
                .as_ref()
                .is_none_or(|n| n.is_match(resource.name()) || resource.was_named_matching(n))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| n.is_match(resource.namespace()))
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&resource.labels()))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&resource.annotations()))
    }
}

/// A kind, name or namespace pattern of a selector: an anchored regular expression, kept
/// as a plain string when it has no metacharacters. Most targets name one object, and
/// compiling a regex per patch was a measurable share of rendering large repositories.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Matches exactly this string.
    Literal(String),
    /// Matches the whole string against this expression.
    Regex(Regex),
}

impl Pattern {
    /// Compiles `pattern` as kustomize does: anchored at both ends.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        if pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/' || c == ':')
        {
            return Ok(Pattern::Literal(pattern.to_string()));
        }
        Regex::new(&format!("^(?:{pattern})$"))
            .map(Pattern::Regex)
            .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Literal(literal) => literal == text,
            Pattern::Regex(regex) => regex.is_match(text),
        }
    }
}

impl Resource {
    /// Whether the original or a previous name matches `regex`.
    pub fn was_named_matching(&self, regex: &Pattern) -> bool {
        regex.is_match(&self.original_name) || self.previous.iter().any(|(n, _)| regex.is_match(n))
    }
}

/// A Kubernetes label selector in its string form (`a=b,c!=d,e in (x,y),!f,g`).
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl LabelSelector {
    /// Parses a selector.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            // Split at the next comma that is not inside parentheses.
            let mut depth = 0;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let part = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("").trim();
            requirements.push(
                Self::requirement(part)
                    .ok_or_else(|| format!("invalid label selector {text:?}"))?,
            );
        }
        Ok(LabelSelector { requirements })
    }

    fn requirement(part: &str) -> Option<Requirement> {
        if let Some(key) = part.strip_prefix('!') {
            return Some(Requirement::NotExists(key.trim().to_string()));
        }
        if let Some((key, value)) = part.split_once("!=") {
            return Some(Requirement::NotEquals(
                key.trim().into(),
                value.trim().into(),
            ));
        }
        if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
            return Some(Requirement::Equals(key.trim().into(), value.trim().into()));
        }
        // apimachinery's lexer ends an identifier at whitespace or `(`, so `tier in (a)`,
        // `tier in(a)` and `tier\tin  ( a )` are the same requirement.
        if let Some((key, rest)) = part.split_once(char::is_whitespace) {
            let rest = rest.trim_start();
            let op_end = rest
                .find(|c: char| c.is_whitespace() || c == '(')
                .unwrap_or(rest.len());
            let (op, list) = rest.split_at(op_end);
            if op == "in" || op == "notin" {
                let list = list.trim().strip_prefix('(')?.strip_suffix(')')?;
                let values = list.split(',').map(|v| v.trim().to_string()).collect();
                let key = key.to_string();
                return Some(if op == "in" {
                    Requirement::In(key, values)
                } else {
                    Requirement::NotIn(key, values)
                });
            }
        }
        if part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && !part.is_empty()
        {
            return Some(Requirement::Exists(part.to_string()));
        }
        None
    }

    /// Whether a set of labels satisfies every requirement.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LabelSelector;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn set_requirements_take_apimachinery_spacing() {
        let fe = labels(&[("tier", "fe")]);
        let db = labels(&[("tier", "db")]);
        for text in [
            "tier in (a,fe)",
            "tier in(fe)",
            "tier   in   ( fe , a )",
            "tier\tin (fe)",
        ] {
            let selector = LabelSelector::parse(text).unwrap();
            assert!(selector.matches(&fe), "{text:?} should select tier=fe");
            assert!(!selector.matches(&db), "{text:?} should not select tier=db");
        }
        let notin = LabelSelector::parse("tier notin(fe),!app").unwrap();
        assert!(notin.matches(&db));
        assert!(!notin.matches(&fe));
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for text in ["tier in fe", "tier in (fe", "a b", "tier on (fe)"] {
            assert!(LabelSelector::parse(text).is_err(), "{text:?} parsed");
        }
    }
}
