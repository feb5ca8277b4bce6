//! Argo CD's `ignoreDifferences`: rules that remove fields from both the live and the
//! desired object before they are compared, so those fields never show as differences.
//!
//! A rule selects objects by group and kind (`*` globs, as Argo CD allows) and optionally
//! name and namespace, then names fields three ways: RFC 6901 JSON pointers, a subset of jq
//! path expressions (the `jq` module documents it), and field managers whose fields — per
//! the live object's `metadata.managedFields` — are to be ignored (the `fields_v1` module).

use serde_json::Value;

use super::{DiffError, fields_v1, jq};

/// One `ignoreDifferences` entry. The app module parses Argo CD manifests into its own type;
/// convert with [`IgnoreRule::new`] and struct update syntax, or parse the manifest entry
/// directly with [`IgnoreRule::from_argo`].
///
/// Matching: `group` is the API group (`""` for the core group, `apps`, …) and `kind` the
/// object kind, each a glob where `*` matches any run of characters; `name` and
/// `namespace`, when set and not empty, must equal the object's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// API group glob (`""` is the core group).
    pub group: String,
    /// Kind glob.
    pub kind: String,
    /// Only the object with this name.
    pub name: Option<String>,
    /// Only objects in this namespace.
    pub namespace: Option<String>,
    /// RFC 6901 pointers (`/spec/replicas`, `/metadata/annotations/a~1b`).
    pub json_pointers: Vec<String>,
    /// jq path expressions in the subset the `jq` module documents, e.g.
    /// `.spec.template.spec.initContainers[] | select(.name == "injected-init-container")`.
    pub jq_path_expressions: Vec<String>,
    /// Field managers (exact names, e.g. `kube-controller-manager`) whose fields are
    /// ignored.
    pub managed_fields_managers: Vec<String>,
}

impl IgnoreRule {
    /// A rule for `group`/`kind` that ignores nothing yet; fill the lists with struct
    /// update syntax: `IgnoreRule { json_pointers: vec![…], ..IgnoreRule::new("apps", "Deployment") }`.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
            ..Self::default()
        }
    }

    /// Parses Argo CD's `spec.ignoreDifferences` list (as JSON: `group`, `kind`, `name`,
    /// `namespace`, `jsonPointers`, `jqPathExpressions`, `managedFieldsManagers`) and
    /// checks every pointer and expression, so a bad one is reported when the app is
    /// loaded rather than at the first diff.
    pub fn from_argo(entries: &Value) -> Result<Vec<Self>, DiffError> {
        let list = match entries {
            Value::Null => return Ok(Vec::new()),
            Value::Array(list) => list,
            _ => {
                return Err(DiffError::InvalidRule {
                    index: 0,
                    reason: "ignoreDifferences must be a list".into(),
                });
            }
        };
        list.iter()
            .enumerate()
            .map(|(index, entry)| {
                let invalid = |reason: String| DiffError::InvalidRule { index, reason };
                let Some(map) = entry.as_object() else {
                    return Err(invalid("expected a mapping".into()));
                };
                let text = |field: &str| -> Result<Option<String>, DiffError> {
                    match map.get(field) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(text)) => Ok(Some(text.clone())),
                        Some(_) => Err(invalid(format!("`{field}` must be a string"))),
                    }
                };
                let texts = |field: &str| -> Result<Vec<String>, DiffError> {
                    match map.get(field) {
                        None | Some(Value::Null) => Ok(Vec::new()),
                        Some(Value::Array(items)) => items
                            .iter()
                            .map(|item| {
                                item.as_str().map(str::to_owned).ok_or_else(|| {
                                    invalid(format!("`{field}` must be a list of strings"))
                                })
                            })
                            .collect(),
                        Some(_) => Err(invalid(format!("`{field}` must be a list of strings"))),
                    }
                };
                let rule = Self {
                    group: text("group")?.unwrap_or_default(),
                    kind: text("kind")?.ok_or_else(|| invalid("`kind` is required".into()))?,
                    name: text("name")?,
                    namespace: text("namespace")?,
                    json_pointers: texts("jsonPointers")?,
                    jq_path_expressions: texts("jqPathExpressions")?,
                    managed_fields_managers: texts("managedFieldsManagers")?,
                };
                rule.check()?;
                Ok(rule)
            })
            .collect()
    }

    /// Checks that every pointer and jq expression is supported, without an object.
    pub fn check(&self) -> Result<(), DiffError> {
        for pointer in &self.json_pointers {
            parse_pointer(pointer)?;
        }
        for expression in &self.jq_path_expressions {
            jq::parse(expression)?;
        }
        Ok(())
    }

    /// Whether the rule applies to `object` (by its `apiVersion`, `kind`, `metadata.name`
    /// and `metadata.namespace`).
    pub fn matches(&self, object: &Value) -> bool {
        fn field(value: Option<&Value>) -> &str {
            value.and_then(Value::as_str).unwrap_or_default()
        }
        let api_version = field(object.get("apiVersion"));
        // `apps/v1` is group `apps`; `v1` is the core group.
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let metadata = object.get("metadata");
        let name = field(metadata.and_then(|m| m.get("name")));
        let namespace = field(metadata.and_then(|m| m.get("namespace")));
        glob(&self.group, group)
            && glob(&self.kind, field(object.get("kind")))
            && self
                .name
                .as_deref()
                .is_none_or(|want| want.is_empty() || want == name)
            && self
                .namespace
                .as_deref()
                .is_none_or(|want| want.is_empty() || want == namespace)
    }
}

/// Removes, from both objects, every field the rules that match them ignore. The rules
/// are matched against the desired object (the live one when there is no desired object,
/// i.e. `desired` is not a JSON object). Either side may be `Value::Null` (create or
/// delete). Fields owned by ignored managers are found in the LIVE object's
/// `metadata.managedFields` and removed first, while both objects still have the shape that
/// ownership describes.
pub fn apply_ignores(
    live: &mut Value,
    desired: &mut Value,
    rules: &[IgnoreRule],
) -> Result<(), DiffError> {
    let identity = if desired.is_object() {
        &*desired
    } else {
        &*live
    };
    let matching: Vec<&IgnoreRule> = rules.iter().filter(|rule| rule.matches(identity)).collect();
    if matching.is_empty() {
        return Ok(());
    }
    let managers: Vec<&str> = matching
        .iter()
        .flat_map(|rule| rule.managed_fields_managers.iter().map(String::as_str))
        .collect();
    if !managers.is_empty() {
        // Copied out before anything is removed: the trees describe the original live object.
        let owned = fields_v1::owned_trees(live, &managers);
        for (manager, tree) in &owned {
            fields_v1::remove_owned(manager, tree, live)?;
            fields_v1::remove_owned(manager, tree, desired)?;
        }
    }
    for rule in &matching {
        for pointer in &rule.json_pointers {
            let tokens = parse_pointer(pointer)?;
            for side in [&mut *live, &mut *desired] {
                if let Some(location) = resolve_pointer(side, &tokens) {
                    remove_locations(side, vec![location]);
                }
            }
        }
        for text in &rule.jq_path_expressions {
            let expression = jq::parse(text)?;
            for side in [&mut *live, &mut *desired] {
                let locations = expression.locations(side)?;
                remove_locations(side, locations);
            }
        }
    }
    Ok(())
}

/// A glob where `*` matches any run of characters (including none).
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// One step of a location inside an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Argo CD's `RespectIgnoreDifferences=true`: `desired` with every field the matching
/// rules' JSON pointers name set to its live value (or removed when the live object has
/// none), so a sync leaves those fields as they are in the cluster — an HPA's
/// `/spec/replicas` stays what the HPA made it. Only JSON pointers are respected; the app
/// loader refuses this option with jq expressions or managers (their fields cannot be
/// written back one by one).
pub fn respect_ignores(desired: &Value, live: &Value, rules: &[IgnoreRule]) -> Value {
    let mut out = desired.clone();
    for rule in rules.iter().filter(|rule| rule.matches(desired)) {
        for pointer in &rule.json_pointers {
            let Ok(tokens) = parse_pointer(pointer) else {
                continue;
            };
            match live.pointer(pointer) {
                Some(value) => set_at(&mut out, &tokens, value.clone()),
                None => {
                    if let Some((last, parents)) = tokens.split_last()
                        && let Some(Value::Object(parent)) = walk_mut(&mut out, parents)
                    {
                        parent.remove(last);
                    }
                }
            }
        }
    }
    out
}

/// The value at `tokens` below `root`, following objects and list indices.
fn walk_mut<'a>(root: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(root, |node, token| match node {
        Value::Object(map) => map.get_mut(token),
        Value::Array(list) => token.parse::<usize>().ok().and_then(|i| list.get_mut(i)),
        _ => None,
    })
}

/// Sets `value` at `tokens`, creating missing parent objects; a path through a missing
/// list element or a scalar is left alone (the live object had it, the render does not
/// have the list: nothing sensible to write).
fn set_at(root: &mut Value, tokens: &[String], value: Value) {
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut node = root;
    for token in parents {
        node = match node {
            Value::Object(map) => map
                .entry(token.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new())),
            Value::Array(list) => match token.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                Some(element) => element,
                None => return,
            },
            _ => return,
        };
    }
    match node {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(list) => {
            if let Some(element) = last.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                *element = value;
            }
        }
        _ => {}
    }
}

/// The unescaped reference tokens of an RFC 6901 pointer.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, DiffError> {
    let error = |reason: &str| DiffError::JsonPointer {
        pointer: pointer.to_owned(),
        reason: reason.to_owned(),
    };
    if pointer.is_empty() {
        return Err(error(
            "the empty pointer is the whole object, which cannot be ignored",
        ));
    }
    let Some(body) = pointer.strip_prefix('/') else {
        return Err(error("a JSON pointer starts with `/`"));
    };
    body.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(error("`~` must be followed by 0 or 1 (RFC 6901)")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Where a pointer's tokens lead in `root`, when the field exists.
fn resolve_pointer(root: &Value, tokens: &[String]) -> Option<Vec<Step>> {
    let mut node = root;
    let mut location = Vec::with_capacity(tokens.len());
    for token in tokens {
        match node {
            Value::Object(map) => {
                node = map.get(token)?;
                location.push(Step::Key(token.clone()));
            }
            Value::Array(items) => {
                // RFC 6901 array indexes: decimal without leading zeros; `-` (past the end)
                // never names an existing item.
                if token.is_empty()
                    || (token.len() > 1 && token.starts_with('0'))
                    || !token.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                let index: usize = token.parse().ok()?;
                node = items.get(index)?;
                location.push(Step::Index(index));
            }
            _ => return None,
        }
    }
    Some(location)
}

/// Removes every location from `root`. Deepest and highest-index first, so removing one
/// list item never shifts another that is still to be removed.
pub(super) fn remove_locations(root: &mut Value, mut locations: Vec<Vec<Step>>) {
    locations.sort();
    locations.dedup();
    for location in locations.iter().rev() {
        let Some((last, parents)) = location.split_last() else {
            continue;
        };
        let Some(node) = parents
            .iter()
            .try_fold(&mut *root, |node, step| match (step, node) {
                (Step::Key(key), Value::Object(map)) => map.get_mut(key),
                (Step::Index(index), Value::Array(items)) => items.get_mut(*index),
                _ => None,
            })
        else {
            continue;
        };
        match (last, node) {
            (Step::Key(key), Value::Object(map)) => {
                map.shift_remove(key);
            }
            (Step::Index(index), Value::Array(items)) if *index < items.len() => {
                items.remove(*index);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop",
                         "annotations": {"a/b": "1", "x~y": "2", "keep": "3"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "web", "image": "web:1"}, {"name": "log", "image": "fb:1"}
            ]}}}
        })
    }

    #[test]
    fn respected_pointers_take_the_live_value_or_drop_the_field() {
        let mut live = deployment();
        live["spec"]["replicas"] = json!(7);
        let mut desired = deployment();
        desired["spec"]["replicas"] = json!(1);
        desired["metadata"]["annotations"]["only-desired"] = json!("x");
        let rule = IgnoreRule {
            json_pointers: vec![
                "/spec/replicas".into(),
                "/metadata/annotations/only-desired".into(),
                "/spec/template/spec/containers/1/image".into(),
            ],
            ..IgnoreRule::new("apps", "Deployment")
        };
        live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("fb:2");
        let out = respect_ignores(&desired, &live, std::slice::from_ref(&rule));
        assert_eq!(out["spec"]["replicas"], 7);
        assert!(out["metadata"]["annotations"].get("only-desired").is_none());
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][1]["image"],
            "fb:2"
        );
        assert_eq!(out["metadata"]["annotations"]["keep"], "3");
        // Another kind is untouched.
        let other = IgnoreRule::new("", "ConfigMap");
        let untouched = respect_ignores(
            &desired,
            &live,
            &[IgnoreRule {
                json_pointers: rule.json_pointers.clone(),
                ..other
            }],
        );
        assert_eq!(untouched, desired);
    }

    #[test]
    fn json_pointers_remove_from_both_sides() {
        let mut live = deployment();
        let mut desired = deployment();
        desired["spec"]["replicas"] = json!(1);
        let rule = IgnoreRule {
            json_pointers: vec![
                "/spec/replicas".into(),
                "/metadata/annotations/a~1b".into(),
                "/metadata/annotations/x~0y".into(),
                "/spec/template/spec/containers/1".into(),
                "/spec/missing/field".into(),
                "/spec/template/spec/containers/-".into(),
                "/spec/template/spec/containers/01".into(),
            ],
            ..IgnoreRule::new("apps", "Deployment")
        };
        apply_ignores(&mut live, &mut desired, &[rule]).unwrap();
        for side in [&live, &desired] {
            assert!(side["spec"].get("replicas").is_none());
            assert_eq!(side["metadata"]["annotations"], json!({"keep": "3"}));
            assert_eq!(
                side["spec"]["template"]["spec"]["containers"],
                json!([{"name": "web", "image": "web:1"}])
            );
        }
        assert_eq!(live, desired);
    }

    #[test]
    fn bad_pointers_and_expressions_are_named() {
        let mut rule = IgnoreRule::new("apps", "Deployment");
        rule.json_pointers = vec!["spec/replicas".into()];
        let error = apply_ignores(&mut deployment(), &mut deployment(), &[rule.clone()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`spec/replicas`"), "{error}");
        rule.json_pointers = vec!["/a~2".into()];
        assert!(rule.check().is_err());
        rule.json_pointers = vec![String::new()];
        assert!(rule.check().is_err());
        rule.json_pointers.clear();
        rule.jq_path_expressions = vec![".spec | length".into()];
        let error = rule.check().unwrap_err().to_string();
        assert!(error.contains("`.spec | length`"), "{error}");
    }

    #[test]
    fn matching_by_group_kind_name_namespace() {
        let object = deployment();
        assert!(IgnoreRule::new("apps", "Deployment").matches(&object));
        assert!(IgnoreRule::new("*", "*").matches(&object));
        assert!(IgnoreRule::new("ap*", "Deploy*t").matches(&object));
        assert!(!IgnoreRule::new("", "Deployment").matches(&object));
        assert!(!IgnoreRule::new("apps", "StatefulSet").matches(&object));
        let named = |name: &str, namespace: &str| IgnoreRule {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..IgnoreRule::new("apps", "Deployment")
        };
        assert!(named("web", "shop").matches(&object));
        assert!(named("", "").matches(&object));
        assert!(!named("api", "shop").matches(&object));
        assert!(!named("web", "other").matches(&object));
        let config_map =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(IgnoreRule::new("", "ConfigMap").matches(&config_map));
        // A rule that does not match leaves both sides alone.
        let mut live = deployment();
        let mut desired = deployment();
        let rule = IgnoreRule {
            json_pointers: vec!["/spec/replicas".into()],
            ..IgnoreRule::new("", "ConfigMap")
        };
        apply_ignores(&mut live, &mut desired, &[rule]).unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
    }

    #[test]
    fn rules_match_the_live_side_on_delete() {
        let mut live = deployment();
        let mut desired = Value::Null;
        let rule = IgnoreRule {
            json_pointers: vec!["/spec/replicas".into()],
            ..IgnoreRule::new("apps", "Deployment")
        };
        apply_ignores(&mut live, &mut desired, &[rule]).unwrap();
        assert!(live["spec"].get("replicas").is_none());
        assert!(desired.is_null());
    }

    #[test]
    fn parses_argo_entries() {
        let entries = json!([
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {"kind": "Service", "name": "web", "namespace": "shop",
             "jqPathExpressions": [".spec.ports[] | select(.name == \"http\") | .nodePort"],
             "managedFieldsManagers": ["kube-controller-manager"]}
        ]);
        let rules = IgnoreRule::from_argo(&entries).unwrap();
        assert_eq!(rules[0].json_pointers, vec!["/spec/replicas"]);
        assert_eq!(rules[1].group, "");
        assert_eq!(rules[1].name.as_deref(), Some("web"));
        assert_eq!(
            rules[1].managed_fields_managers,
            vec!["kube-controller-manager"]
        );
        assert!(IgnoreRule::from_argo(&Value::Null).unwrap().is_empty());
        let error = IgnoreRule::from_argo(&json!([{"group": "apps"}])).unwrap_err();
        assert!(
            error.to_string().contains("entry 0: `kind` is required"),
            "{error}"
        );
        assert!(IgnoreRule::from_argo(&json!([{"kind": "X", "jsonPointers": "/a"}])).is_err());
        assert!(
            IgnoreRule::from_argo(&json!([{"kind": "X", "jqPathExpressions": ["del(.a)"]}]))
                .is_err()
        );
        assert!(IgnoreRule::from_argo(&json!({"kind": "X"})).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(glob("a*c", "ac"));
        assert!(!glob("a*c", "ab"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("", ""));
        assert!(!glob("", "apps"));
    }
}
