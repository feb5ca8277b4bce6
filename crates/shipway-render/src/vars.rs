//! `vars:` — kustomize's deprecated `$(NAME)` substitution, kept because many existing
//! bases still use it.
//!
//! A var names an object (`objref`: apiVersion, kind, name and optionally namespace) and a
//! field of it (`fieldref.fieldpath`, default `metadata.name`). It is bound to that object
//! in the kustomization that declares it, matching any identity the object has had so far;
//! its value is read from the object's final form once every transformer and the name
//! fix-up have run, and `$(NAME)` is expanded only in the fields of kustomize's
//! `varReference` table (container commands, args and env, Ingress hosts, …). A field that
//! is exactly `$(NAME)` takes the value with its type (`80`, not `"80"`); `$$` escapes a
//! dollar, and unknown names are left as written.

use std::path::{Path, PathBuf};

use shipway_model::yaml::number::go_format_g;
use shipway_model::{Gvk, Node, Pos, Value};

use crate::error::RenderError;
use crate::fieldspec::{FieldSpec, visit_fields};
use crate::kustomization::Fields;
use crate::resource::{Resource, ns_equal};

/// One `vars:` entry.
#[derive(Debug, Clone, Default)]
pub struct Var {
    /// The name used in `$(NAME)`.
    pub name: String,
    /// The referred object's kind, group and version.
    pub gvk: Gvk,
    /// The referred object's name.
    pub object_name: String,
    /// The referred object's namespace, when given.
    pub namespace: Option<String>,
    /// The field to read.
    pub field_path: String,
    /// The kustomization that declared it.
    pub file: PathBuf,
    /// Where it was declared.
    pub pos: Pos,
}

impl Var {
    /// Decodes one `vars:` entry.
    pub fn decode(node: &Node, file: &Path) -> Result<Var, RenderError> {
        let mut f = Fields::new(node, file, "vars")?;
        let name = f.string(&["name"])?.unwrap_or_default();
        let mut var = Var {
            name,
            file: file.to_path_buf(),
            pos: node.pos,
            field_path: "metadata.name".into(),
            ..Var::default()
        };
        if let Some(objref) = f.take(&["objref"]) {
            let mut o = Fields::new(objref, file, "vars.objref")?;
            let api_version = o.string(&["apiVersion"])?;
            let group = o.string(&["group"])?;
            let version = o.string(&["version"])?;
            let kind = o.string(&["kind"])?.unwrap_or_default();
            var.gvk = match api_version {
                Some(av) => Gvk::from_api_version(&av, &kind),
                None => Gvk {
                    group: group.unwrap_or_default(),
                    version: version.unwrap_or_default(),
                    kind,
                },
            };
            var.object_name = o.string(&["name"])?.unwrap_or_default();
            var.namespace = o.string(&["namespace"])?.filter(|s| !s.is_empty());
            o.take(&["fieldPath", "resourceVersion", "uid"]);
            o.finish()?;
        }
        if let Some(fieldref) = f.take(&["fieldref"]) {
            let mut r = Fields::new(fieldref, file, "vars.fieldref")?;
            if let Some(path) = r.string(&["fieldpath"])?.filter(|s| !s.is_empty()) {
                var.field_path = path;
            }
            r.finish()?;
        }
        f.finish()?;
        if var.name.is_empty() {
            return Err(RenderError::invalid(
                file,
                node.pos,
                "vars: a var needs a `name`",
            ));
        }
        Ok(var)
    }

    /// How kustomize prints a var in its errors: `{NAME Kind.version.group {fieldpath}}`.
    fn describe(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{{{} {}.{}.{} {{{}}}}}",
            self.name,
            self.gvk.kind,
            or(&self.gvk.version, "[noVer]"),
            or(&self.gvk.group, "[noGrp]"),
            self.field_path
        )
    }

    /// Whether the var refers to `resource` under any identity it has had.
    pub fn refers_to(&self, resource: &Resource) -> bool {
        if resource.gvk() != self.gvk {
            return false;
        }
        let ns_ok = |ns: &str| {
            self.namespace
                .as_deref()
                .is_none_or(|want| ns_equal(want, ns))
        };
        (resource.name() == self.object_name && ns_ok(resource.namespace()))
            || (resource.original_name == self.object_name && ns_ok(&resource.original_namespace))
            || resource
                .previous
                .iter()
                .any(|(n, ns)| *n == self.object_name && ns_ok(ns))
    }
}

/// Binds `vars` declared by the kustomization `file` to the resources accumulated so far
/// (kustomize's `MergeVars`).
pub fn bind(vars: &[Var], resources: &mut [Resource]) -> Result<(), RenderError> {
    for var in vars {
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| var.refers_to(r))
            .map(|(i, _)| i)
            .collect();
        match matched.as_slice() {
            [] => {}
            [one] => resources[*one].var_names.push(var.name.clone()),
            many => {
                return Err(RenderError::invalid(
                    &var.file,
                    var.pos,
                    format!(
                        "found {} resId matches for var {} (unable to disambiguate)",
                        many.len(),
                        var.describe()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Resolves every var against the final objects and expands `$(NAME)` in the
/// `varReference` fields. Returns the names of vars that were never used.
pub fn resolve(
    vars: &[Var],
    resources: &mut [Resource],
    specs: &[FieldSpec],
) -> Result<Vec<String>, RenderError> {
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<(String, Value)> = Vec::with_capacity(vars.len());
    for var in vars {
        let Some(resource) = resources.iter().find(|r| r.var_names.contains(&var.name)) else {
            return Err(RenderError::invalid(
                &var.file,
                var.pos,
                format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    var.describe()
                ),
            ));
        };
        let value = field_value(&resource.node, &var.field_path).ok_or_else(|| {
            RenderError::invalid(
                &var.file,
                var.pos,
                format!(
                    "field specified in var '{}' not found in corresponding resource",
                    var.describe()
                ),
            )
        })?;
        if matches!(value, Value::Map(_) | Value::Seq(_)) {
            return Err(RenderError::unsupported(
                &var.file,
                var.pos,
                format!(
                    "var '{}' refers to a {}; shipway substitutes only scalar vars",
                    var.name,
                    value.type_name()
                ),
            ));
        }
        values.push((var.name.clone(), value));
    }
    let mut used = vec![false; values.len()];
    for resource in resources.iter_mut() {
        let gvk = resource.gvk();
        for spec in specs.iter().filter(|s| s.applies_to(&gvk)) {
            visit_fields(&mut resource.node, &spec.path, false, &mut |map, key| {
                if let Some(node) = map.get_mut(key) {
                    expand_node(node, &values, &mut used);
                }
            });
        }
    }
    Ok(values
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|((name, _), _)| name.clone())
        .collect())
}

/// Reads `path` (`spec.ports[0].port` style) of `node`.
fn field_value(node: &Node, path: &str) -> Option<Value> {
    let mut current = node;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indexes
            .split(']')
            .filter_map(|s| s.strip_prefix('['))
            .filter(|s| !s.is_empty())
        {
            current = current.as_seq()?.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(current.value.clone())
}

fn expand_node(node: &mut Node, values: &[(String, Value)], used: &mut [bool]) {
    match &mut node.value {
        Value::Str(s) => {
            if let Some(v) = expand(s, values, used) {
                node.value = v;
            }
        }
        Value::Seq(items) => {
            for item in items {
                if let Value::Str(s) = &item.value
                    && let Some(v) = expand(s, values, used)
                {
                    item.value = v;
                }
            }
        }
        Value::Map(map) => {
            for entry in &mut map.entries {
                if let Value::Str(s) = &entry.value.value
                    && let Some(v) = expand(s, values, used)
                {
                    entry.value.value = v;
                }
            }
        }
        _ => {}
    }
}

/// Go's `%v` of a scalar var value inside a longer string.
fn display(value: &Value) -> String {
    match value {
        Value::Float(f) => go_format_g(*f),
        other => other.scalar_text().unwrap_or_default(),
    }
}

/// Kubernetes-style `$(NAME)` expansion (the fork kustomize carries). Returns `None` when
/// the string has no `$`, so untouched strings are not rebuilt.
fn expand(input: &str, values: &[(String, Value)], used: &mut [bool]) -> Option<Value> {
    if !input.contains('$') {
        return None;
    }
    let mut lookup = |name: &str| -> Option<Value> {
        let i = values.iter().position(|(n, _)| n == name)?;
        used[i] = true;
        Some(values[i].1.clone())
    };
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => {
                    if let Some(close) = rest.find(')') {
                        let name = &rest[1..close];
                        if let Some(v) = lookup(name) {
                            if input.len() == name.len() + 3 {
                                // The whole field is one reference: keep the type.
                                return Some(v);
                            }
                            out.push_str(&display(&v));
                        } else {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                        close + 1
                    } else {
                        out.push_str("$(");
                        1
                    }
                }
                _ => {
                    // `$x`: the operator and the next character, as written.
                    let ch = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..ch]);
                    ch
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    Some(Value::Str(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Value {
        let values = vec![
            ("SVC".to_string(), Value::Str("web".into())),
            ("PORT".to_string(), Value::Int(80)),
        ];
        let mut used = vec![false; 2];
        expand(input, &values, &mut used).unwrap_or(Value::Str(input.into()))
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        assert_eq!(run("$(SVC):$(PORT)"), Value::Str("web:80".into()));
        assert_eq!(run("$(PORT)"), Value::Int(80));
        assert_eq!(run("$$(SVC)"), Value::Str("$(SVC)".into()));
        assert_eq!(run("$(NOPE)"), Value::Str("$(NOPE)".into()));
        assert_eq!(run("a$(b"), Value::Str("a$(b".into()));
        assert_eq!(run("cost $5"), Value::Str("cost $5".into()));
        assert_eq!(run("end$"), Value::Str("end$".into()));
    }

    #[test]
    fn field_paths_take_indexes() {
        let node = shipway_model::yaml::parse_one("spec:\n  ports:\n  - port: 80\n").unwrap();
        assert_eq!(
            field_value(&node, "spec.ports[0].port"),
            Some(Value::Int(80))
        );
        assert_eq!(field_value(&node, "spec.ports[1].port"), None);
    }
}
