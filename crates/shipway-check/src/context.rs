//! The state of one check run: the objects, indexes over them, and the findings so far.
//!
//! Rules receive a [`Ctx`] and report through it; suppression (the
//! `shipway.dev/ignore` annotation and the configuration file) is applied here, once, so
//! no rule has to think about it.

use std::collections::{HashMap, HashSet};

use shipway_model::{Finding, Node, ObjectRef, Pos, Severity, Value};

use crate::Settings;
use crate::placeholder::{Placeholder, Source};
use crate::presence::{Implied, built_in};
use crate::rules::{Check, Rule};
use crate::selector::LabelIndex;
use crate::workload::pod_template;

/// The annotation that silences rules for one object: `shipway.dev/ignore: RULE,RULE`.
pub const IGNORE_ANNOTATION: &str = "shipway.dev/ignore";

/// The annotation on a referring object that declares the objects it refers to as managed
/// elsewhere: `shipway.dev/external: Secret/api-tls, ConfigMap/ca, Service/monitoring/prometheus`
/// (`Kind/name`, `Kind/namespace/name`, or `Kind/*` for every object of the kind).
pub const EXTERNAL_ANNOTATION: &str = "shipway.dev/external";

/// The rule that reports placeholders, which must not itself be silenced by them.
const PLACEHOLDER_RULE: &str = "schema/unresolved-placeholder";

/// A placeholder that kept rules from judging values, with its first use.
#[derive(Debug, Clone)]
pub struct PlaceholderUse {
    /// The placeholder as written.
    pub text: String,
    /// Its variable's name.
    pub name: String,
    /// Whether it is a Flux post-build variable (else a kustomize var).
    pub flux: bool,
    /// The Flux default, if it gives one.
    pub default: Option<String>,
    /// The object of its first use, as its index in the input.
    pub object: usize,
    /// Where its first use is.
    pub pos: Pos,
    /// The report path of its first use.
    pub path: String,
    /// The values that hold it: where their object starts (file, line, column) and their
    /// report path.
    pub uses: std::collections::BTreeSet<(shipway_model::FileId, u32, u32, String)>,
}

/// One check run.
pub struct Ctx<'a> {
    /// Every object checked, in input order.
    pub objects: &'a [Node],
    /// How to check.
    pub settings: &'a Settings,
    by_kind: HashMap<&'a str, Vec<usize>>,
    /// `(kind, effective namespace, name)` → object, for reference rules.
    by_name: HashMap<(&'a str, &'a str, &'a str), usize>,
    /// `(effective namespace, target kind, target name)` → the HPA scaling it.
    hpa_by_target: HashMap<(&'a str, &'a str, &'a str), usize>,
    /// Namespaces named anywhere in the input (Namespace objects and `metadata.namespace`).
    namespaces: HashSet<&'a str>,
    /// `(kind, effective namespace)` of every object, for [`Ctx::manages`].
    kinds_in: HashSet<(&'a str, &'a str)>,
    /// Every pod and pod template, by the labels its pods get.
    pods: LabelIndex<'a>,
    /// Every Service, by its own labels (what ServiceMonitors select).
    services: LabelIndex<'a>,
    /// Objects that controllers in the input create.
    implied: Implied,
    /// Placeholders met instead of findings, by text.
    placeholders: std::collections::BTreeMap<String, PlaceholderUse>,
    /// The most severe a [`Ctx::report`] may be while set: Pod Security rules evaluate a
    /// level that is only warned about with this at `warning`.
    pub(crate) severity_cap: Option<Severity>,
    findings: Vec<Finding>,
    /// Every object's schema violations, computed once for all schema rules.
    pub(crate) schema_cache:
        std::cell::OnceCell<Vec<Vec<crate::rules::schema::validate::Violation>>>,
    /// Namespace capacity, computed once for both capacity rules.
    capacity_cache:
        std::cell::OnceCell<std::collections::BTreeMap<String, crate::capacity::Namespace<'a>>>,
}

impl<'a> Ctx<'a> {
    /// A run over `objects`.
    pub fn new(objects: &'a [Node], settings: &'a Settings) -> Ctx<'a> {
        // Every index is built here, once, in one pass: rules then look objects up instead of
        // scanning, so no rule is quadratic in the number of objects.
        let mut by_kind: HashMap<&'a str, Vec<usize>> = HashMap::new();
        let mut by_name = HashMap::new();
        let mut hpa_by_target = HashMap::new();
        let mut namespaces = HashSet::new();
        let mut kinds_in = HashSet::new();
        let mut pods = LabelIndex::default();
        let mut services = LabelIndex::default();
        for (i, object) in objects.iter().enumerate() {
            let kind = object.str_at(&["kind"]).unwrap_or("");
            let namespace = effective_namespace(namespace_of(object));
            by_kind.entry(kind).or_default().push(i);
            kinds_in.insert((kind, namespace));
            by_name
                .entry((kind, namespace, name_of(object)))
                .or_insert(i);
            if !namespace_of(object).is_empty() {
                namespaces.insert(namespace_of(object));
            }
            match kind {
                "Namespace" => {
                    namespaces.insert(name_of(object));
                }
                "Service" => services.add(object, object.get_path(&["metadata", "labels"])),
                "HorizontalPodAutoscaler" => {
                    if let (Some(target_kind), Some(target_name)) = (
                        object.str_at(&["spec", "scaleTargetRef", "kind"]),
                        object.str_at(&["spec", "scaleTargetRef", "name"]),
                    ) {
                        hpa_by_target
                            .entry((namespace, target_kind, target_name))
                            .or_insert(i);
                    }
                }
                _ => {}
            }
            if let Some(pod) = pod_template(object) {
                pods.add(object, pod.metadata.and_then(|m| m.get("labels")));
            }
        }
        Ctx {
            objects,
            settings,
            by_kind,
            by_name,
            hpa_by_target,
            namespaces,
            kinds_in,
            pods,
            services,
            implied: Implied::of(objects),
            placeholders: std::collections::BTreeMap::new(),
            severity_cap: None,
            findings: Vec::new(),
            schema_cache: std::cell::OnceCell::new(),
            capacity_cache: std::cell::OnceCell::new(),
        }
    }

    /// The object of this kind and name in `namespace` (`""` means `default`; cluster-scoped
    /// objects are found with `""`), when it is in the input.
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Node> {
        self.by_name
            .get(&(kind, effective_namespace(namespace), name))
            .map(|&i| &self.objects[i])
    }

    /// Whether a reference resolves: the object is in the input, a controller in the input
    /// or the control plane creates it, or it is declared as managed elsewhere (in the
    /// configuration, or with [`EXTERNAL_ANNOTATION`] on `referrer`).
    pub fn resolves(&self, referrer: &Node, kind: &str, namespace: &str, name: &str) -> bool {
        self.find(kind, namespace, name).is_some()
            || self.implied.creator(kind, namespace, name).is_some()
            || built_in(kind, namespace, name).is_some()
            || self.declared_external(referrer, kind, namespace, name)
    }

    /// Whether the configuration or `referrer`'s [`EXTERNAL_ANNOTATION`] declares the object
    /// as managed elsewhere.
    pub fn declared_external(
        &self,
        referrer: &Node,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> bool {
        self.settings
            .config
            .external(kind, namespace, name)
            .is_some()
            || annotated_external(referrer, kind, namespace, name)
    }

    /// Whether the input manages objects of `kind` in `namespace`: it holds some there, or a
    /// controller in it creates some. A reference that misses is then most likely a typo.
    pub fn manages(&self, kind: &str, namespace: &str) -> bool {
        self.kinds_in
            .contains(&(kind, effective_namespace(namespace)))
            || self.implied.names_in(kind, namespace).next().is_some()
    }

    /// The severity and message of a reference that does not resolve, or `None` when it
    /// does (see [`Ctx::resolves`]). The severity model: `rule`'s severity when the input
    /// manages the kind in that namespace (with the closest name as a hint), otherwise at
    /// most a warning that says how to declare the object as external. `namespace` is
    /// ignored for cluster-scoped kinds (pass `""`).
    pub fn missing_reference(
        &self,
        rule: &Rule,
        referrer: &Node,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<(Severity, String)> {
        if self.resolves(referrer, kind, namespace, name) {
            return None;
        }
        let cluster_scoped = matches!(kind, "ClusterRole" | "Namespace" | "StorageClass");
        let place = if cluster_scoped {
            "the input".to_string()
        } else {
            format!(
                "namespace `{}` of the input",
                effective_namespace(namespace)
            )
        };
        // The short form names the referrer's own namespace.
        let same_namespace =
            effective_namespace(namespace) == effective_namespace(namespace_of(referrer));
        let declare = if cluster_scoped || same_namespace {
            format!("{kind}/{name}")
        } else {
            format!("{kind}/{}/{name}", effective_namespace(namespace))
        };
        if self.manages(kind, namespace) {
            let mut names: Vec<&str> = self.of_kind_in(kind, namespace).map(name_of).collect();
            names.extend(self.implied.names_in(kind, namespace));
            names.sort_unstable();
            names.dedup();
            let hint = if let Some(close) = crate::suggest::closest(name, names.iter().copied()) {
                format!(": did you mean `{close}`?")
            } else {
                let shown: Vec<String> = names.iter().take(3).map(|n| format!("`{n}`")).collect();
                let more = if names.len() > 3 { ", …" } else { "" };
                format!(
                    " ({}{more}); fix the name, add it, or declare it with `{EXTERNAL_ANNOTATION}: {declare}`",
                    shown.join(", ")
                )
            };
            let there = if cluster_scoped { "" } else { " there" };
            return Some((
                rule.severity,
                format!("{kind} `{name}` is not in {place}, which has other {kind}s{there}{hint}"),
            ));
        }
        Some((
            rule.severity.min(Severity::Warning),
            format!(
                "{kind} `{name}` is not in {place}; if it is managed elsewhere, declare it with the annotation `{EXTERNAL_ANNOTATION}: {declare}` or in the configuration's `external` list"
            ),
        ))
    }

    /// Reports a reference from `referrer` (the name at `path`) that does not resolve, with
    /// the severity of [`Ctx::missing_reference`].
    pub fn check_reference(
        &mut self,
        rule: &Rule,
        referrer: &Node,
        path: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) {
        if let Some((severity, message)) =
            self.missing_reference(rule, referrer, kind, namespace, name)
        {
            self.report_as(rule, severity, referrer, path, message);
        }
    }

    /// Who creates an object that is not in the input, when a controller in the input or
    /// the control plane does.
    pub fn creator(&self, kind: &str, namespace: &str, name: &str) -> Option<&str> {
        self.implied
            .creator(kind, namespace, name)
            .or_else(|| built_in(kind, namespace, name))
    }

    /// Pods and pod templates (their objects) by the labels of the pods they create.
    pub fn pods(&self) -> &LabelIndex<'a> {
        &self.pods
    }

    /// Services by their own `metadata.labels`.
    pub fn services(&self) -> &LabelIndex<'a> {
        &self.services
    }

    /// Whether `namespace` is named anywhere in the input.
    pub fn knows_namespace(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
    }

    /// The HorizontalPodAutoscaler whose `scaleTargetRef` is `object`, if any.
    pub fn hpa_for(&self, object: &Node) -> Option<&'a Node> {
        let kind = object.str_at(&["kind"])?;
        let namespace = effective_namespace(namespace_of(object));
        self.hpa_by_target
            .get(&(namespace, kind, name_of(object)))
            .map(|&i| &self.objects[i])
    }

    /// The fewest replicas a workload runs with: the `minReplicas` of the HPA that scales it
    /// (1 when unset, as the API server defaults it), else its `spec.replicas`.
    pub fn min_replicas(&self, object: &Node) -> Option<i64> {
        let replicas = crate::workload::replicas(object)?;
        Some(match self.hpa_for(object) {
            Some(hpa) => match hpa.get_path(&["spec", "minReplicas"]).map(|n| &n.value) {
                Some(Value::Int(n)) => *n,
                _ => 1,
            },
            None => replicas,
        })
    }

    /// Objects of one kind, in input order.
    pub fn of_kind(&self, kind: &str) -> impl Iterator<Item = &'a Node> + use<'a, '_> {
        let objects = self.objects;
        self.by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .map(move |&i| &objects[i])
    }

    /// Objects of one kind in one namespace (`""` and `default` are the same).
    pub fn of_kind_in(
        &self,
        kind: &str,
        namespace: &str,
    ) -> impl Iterator<Item = &'a Node> + use<'a, '_> {
        let namespace = effective_namespace(namespace).to_string();
        self.of_kind(kind)
            .filter(move |o| effective_namespace(namespace_of(o)) == namespace)
    }

    /// Every namespace's capacity ([`crate::capacity::namespaces`]), computed on first use.
    pub fn capacity(&self) -> &std::collections::BTreeMap<String, crate::capacity::Namespace<'a>> {
        self.capacity_cache
            .get_or_init(|| crate::capacity::namespaces(self.objects))
    }

    /// Runs one rule.
    pub fn run(&mut self, rule: &'static Rule) {
        match rule.check {
            Check::PerObject(f) => {
                for object in self.objects {
                    f(self, rule, object);
                }
            }
            Check::Global(f) => f(self, rule),
        }
    }

    /// Reports `message` about the field at `path` of `object` (empty path: the object),
    /// with the rule's severity (capped by the current Pod Security evaluation).
    pub fn report(&mut self, rule: &Rule, object: &Node, path: &str, message: impl Into<String>) {
        let severity = self
            .severity_cap
            .map_or(rule.severity, |cap| rule.severity.min(cap));
        self.report_as(rule, severity, object, path, message);
    }

    /// Reports with an explicit severity (rules whose severity depends on the case).
    pub fn report_as(
        &mut self,
        rule: &Rule,
        severity: Severity,
        object: &Node,
        path: &str,
        message: impl Into<String>,
    ) {
        let pos = node_at(object, path).map_or(object.pos, |n| n.pos);
        self.push(rule, severity, object, path, pos, message.into());
    }

    /// Like [`Ctx::report_as`], pointing at the key of the field at `path` rather than its
    /// value: for findings about the field's name.
    pub fn report_key_as(
        &mut self,
        rule: &Rule,
        severity: Severity,
        object: &Node,
        path: &str,
        message: impl Into<String>,
    ) {
        let Some(pos) = key_pos_at(object, path) else {
            self.report_as(rule, severity, object, path, message);
            return;
        };
        self.push(rule, severity, object, path, pos, message.into());
    }

    fn push(
        &mut self,
        rule: &Rule,
        severity: Severity,
        object: &Node,
        path: &str,
        pos: Pos,
        message: String,
    ) {
        if is_ignored(object, rule.code) || self.settings.config.ignores(rule.code, object) {
            return;
        }
        // A value that a later stage fills in is not judged: the placeholder is recorded and
        // reported once by its own rule.
        if rule.code != PLACEHOLDER_RULE
            && let Some(placeholder) = placeholder_at(object, path)
        {
            self.record_placeholder(placeholder, object, path, pos);
            return;
        }
        self.findings.push(Finding {
            rule: rule.code.to_string(),
            severity,
            object: Some(ObjectRef::of(object)),
            pos,
            path: path.to_string(),
            message,
        });
    }

    /// Reports a finding about the input as a whole (no object).
    pub fn report_input(&mut self, rule: &Rule, pos: Pos, message: impl Into<String>) {
        self.findings.push(Finding {
            rule: rule.code.to_string(),
            severity: rule.severity,
            object: None,
            pos,
            path: String::new(),
            message: message.into(),
        });
    }

    fn record_placeholder(
        &mut self,
        placeholder: Placeholder<'_>,
        object: &Node,
        path: &str,
        pos: Pos,
    ) {
        let (name, flux, default) = match placeholder.source {
            Source::Flux { name, default } => (name, true, default.map(str::to_string)),
            Source::KustomizeVar { name } => (name, false, None),
        };
        // Objects are told apart by where they start in the input; finding an object's index
        // is a scan, done only for the first use of each placeholder.
        let index_of = |objects: &[Node]| {
            objects
                .iter()
                .position(|o| std::ptr::eq(o, object))
                .unwrap_or(usize::MAX)
        };
        let key = (
            object.pos.file,
            object.pos.line,
            object.pos.col,
            path.to_string(),
        );
        if let Some(entry) = self.placeholders.get_mut(placeholder.text) {
            if (pos.file, pos.line, pos.col) < (entry.pos.file, entry.pos.line, entry.pos.col) {
                entry.object = index_of(self.objects);
                entry.pos = pos;
                entry.path = path.to_string();
            }
            entry.uses.insert(key);
            return;
        }
        let mut uses = std::collections::BTreeSet::new();
        uses.insert(key);
        self.placeholders.insert(
            placeholder.text.to_string(),
            PlaceholderUse {
                text: placeholder.text.to_string(),
                name: name.to_string(),
                flux,
                default,
                object: index_of(self.objects),
                pos,
                path: path.to_string(),
                uses,
            },
        );
    }

    /// The placeholders that kept values from being judged so far, by text.
    pub fn placeholders(&self) -> impl Iterator<Item = &PlaceholderUse> {
        self.placeholders.values()
    }

    /// Reports a placeholder's first use as an `info` finding of `rule`.
    pub(crate) fn report_placeholder(
        &mut self,
        rule: &Rule,
        used: &PlaceholderUse,
        message: String,
    ) {
        let Some(object) = self.objects.get(used.object) else {
            return;
        };
        self.push(rule, Severity::Info, object, &used.path, used.pos, message);
    }

    /// The findings, unsorted.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// `metadata.namespace` of an object (`""` when unset).
pub fn namespace_of(object: &Node) -> &str {
    object.str_at(&["metadata", "namespace"]).unwrap_or("")
}

/// `metadata.name` of an object.
pub fn name_of(object: &Node) -> &str {
    object.str_at(&["metadata", "name"]).unwrap_or("")
}

/// The namespace an object without one lands in.
pub fn effective_namespace(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// Whether `referrer`'s [`EXTERNAL_ANNOTATION`] names the object.
fn annotated_external(referrer: &Node, kind: &str, namespace: &str, name: &str) -> bool {
    let Some(list) = referrer
        .get_path(&["metadata", "annotations"])
        .and_then(|a| a.get(EXTERNAL_ANNOTATION))
        .and_then(Node::as_str)
    else {
        return false;
    };
    list.split(',').map(str::trim).any(|entry| {
        let mut parts = entry.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(k), Some(n), None) => k == kind && (n == name || n == "*"),
            (Some(k), Some(ns), Some(n)) => {
                k == kind
                    && effective_namespace(ns) == effective_namespace(namespace)
                    && (n == name || n == "*")
            }
            _ => false,
        }
    })
}

/// The placeholder in the value (or the last key) at a report path of `object`.
fn placeholder_at<'o>(object: &'o Node, path: &'o str) -> Option<Placeholder<'o>> {
    if !path.contains('$')
        && !node_at(object, path)
            .and_then(Node::as_str)
            .is_some_and(|s| s.contains('$'))
    {
        return None;
    }
    node_at(object, path)
        .and_then(Node::as_str)
        .and_then(crate::placeholder::find)
        .or_else(|| crate::placeholder::find(path))
}

fn is_ignored(object: &Node, code: &str) -> bool {
    object
        .get_path(&["metadata", "annotations"])
        .and_then(|a| a.get(IGNORE_ANNOTATION))
        .and_then(Node::as_str)
        .is_some_and(|list| list.split(',').any(|r| matches_code(r.trim(), code)))
}

/// Whether a suppression entry names `code`: the exact id, its family (`reliability` or
/// `reliability/*`), or `*`.
pub fn matches_code(entry: &str, code: &str) -> bool {
    if entry == "*" || entry == code {
        return true;
    }
    let family = entry.trim_end_matches("/*");
    code.split_once('/').is_some_and(|(f, _)| f == family)
}

/// The node at a report path (`spec.containers[0].image`, `metadata.labels["app"]`).
pub fn node_at<'n>(object: &'n Node, path: &str) -> Option<&'n Node> {
    let mut node = object;
    for step in steps(path)? {
        node = match step {
            Step::Index(index) => node.as_seq()?.get(index)?,
            key => &entry(node, &key)?.value,
        };
    }
    Some(node)
}

/// Where the key of the field at a report path is written, for findings about the key
/// itself (an unknown field is its name, not its value). `None` when the path does not end
/// in a mapping key or does not exist.
pub fn key_pos_at(object: &Node, path: &str) -> Option<Pos> {
    let mut steps = steps(path)?;
    let last = steps.pop()?;
    if matches!(last, Step::Index(_)) {
        return None;
    }
    let mut node = object;
    for step in steps {
        node = match step {
            Step::Index(index) => node.as_seq()?.get(index)?,
            key => &entry(node, &key)?.value,
        };
    }
    Some(entry(node, &last)?.key_pos)
}

/// One step of a report path.
enum Step<'p> {
    /// `.name`: a plain key.
    Key(&'p str),
    /// `["name"]`: a key as Rust's `{:?}` prints it, quotes included.
    Quoted(&'p str),
    /// `[0]`.
    Index(usize),
}

/// The steps of a report path; `None` when it is malformed.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (step, len) = if after.starts_with('"') {
                // The closing quote is the first one not escaped with a backslash.
                let mut escaped = false;
                let end = after.char_indices().skip(1).find_map(|(i, c)| {
                    let closes = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    closes.then_some(i)
                })?;
                (Step::Quoted(&after[..=end]), end + 1)
            } else {
                let close = after.find(']')?;
                (Step::Index(after[..close].parse().ok()?), close)
            };
            rest = after[len..].strip_prefix(']')?.trim_start_matches('.');
            out.push(step);
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        out.push(Step::Key(&rest[..end]));
        rest = rest[end..].trim_start_matches('.');
    }
    Some(out)
}

/// The entry a key step names in a mapping.
fn entry<'n>(node: &'n Node, step: &Step<'_>) -> Option<&'n shipway_model::Entry> {
    let map = node.as_map()?;
    match step {
        Step::Key(key) => map.entry(key),
        // Paths quote keys with `{:?}`, escapes and all; compare the same spelling.
        Step::Quoted(quoted) => map
            .entries
            .iter()
            .find(|e| format!("{:?}", e.key) == *quoted),
        Step::Index(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipway_model::yaml::parse_one;

    #[test]
    fn paths_reach_fields_by_key_index_and_quoted_key() {
        let node = parse_one(
            "spec:\n  containers:\n  - name: a\n    image: x\nmetadata:\n  labels:\n    app.kubernetes.io/name: y\n",
        )
        .unwrap();
        assert_eq!(
            node_at(&node, "spec.containers[0].image").and_then(Node::as_str),
            Some("x")
        );
        assert_eq!(
            node_at(&node, "metadata.labels[\"app.kubernetes.io/name\"]").and_then(Node::as_str),
            Some("y")
        );
        assert!(node_at(&node, "spec.containers[1]").is_none());
    }

    #[test]
    fn key_positions_are_the_keys_not_the_values() {
        let node = parse_one(
            "spec:\n  foo:\n    bar: 1\n  containers:\n  - name: a\n    \"we\\\"ird\": x\n",
        )
        .unwrap();
        let at = |path| key_pos_at(&node, path).map(|p| (p.line, p.col));
        assert_eq!(at("spec.foo"), Some((2, 3)));
        assert_eq!(node_at(&node, "spec.foo").map(|n| n.pos.line), Some(3));
        assert_eq!(at("spec.containers[0][\"we\\\"ird\"]"), Some((6, 5)));
        assert_eq!(at("spec.containers[0]"), None);
        assert_eq!(at("spec.nope"), None);
    }

    #[test]
    fn suppression_entries_match_rules_and_families() {
        assert!(matches_code("reliability", "reliability/latest-image-tag"));
        assert!(matches_code(
            "reliability/*",
            "reliability/latest-image-tag"
        ));
        assert!(matches_code("*", "schema/unknown-field"));
        assert!(!matches_code("schema", "reliability/latest-image-tag"));
    }
}
