//! Label selectors, implemented once for every rule that asks "which objects does this
//! select": `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`) of
//! a `LabelSelector`, and the plain label map of a Service's `spec.selector`.
//!
//! [`LabelIndex`] answers "which of these objects does a selector match" without scanning
//! every object: it indexes objects by `(namespace, key, value)` and only checks the
//! candidates that carry the selector's first `matchLabels` pair.

use std::collections::HashMap;

use shipway_model::Node;

use crate::context::effective_namespace;

/// How a `matchExpressions` entry compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label is present and its value is one of the values.
    In,
    /// The label is absent, or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    /// The label key.
    pub key: String,
    /// The comparison.
    pub operator: Operator,
    /// The values (`In`, `NotIn`).
    pub values: Vec<String>,
}

/// A parsed label selector. Every requirement must hold (they are combined with a logical and).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// `matchLabels` (or a plain label map): key and value.
    pub labels: Vec<(String, String)>,
    /// `matchExpressions`.
    pub expressions: Vec<Expression>,
}

impl Selector {
    /// A `LabelSelector` (`matchLabels`, `matchExpressions`). `None` when it is malformed
    /// (an unknown operator, a non-mapping), so that rules skip it instead of guessing.
    pub fn from_label_selector(node: &Node) -> Option<Selector> {
        let map = node.as_map()?;
        let mut selector = Selector::default();
        if let Some(labels) = map.get("matchLabels") {
            selector.labels = label_pairs(labels)?;
        }
        if let Some(expressions) = map.get("matchExpressions") {
            for item in expressions.as_seq()? {
                let key = item.str_at(&["key"])?.to_string();
                let operator = match item.str_at(&["operator"])? {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    _ => return None,
                };
                let values = item
                    .get("values")
                    .and_then(Node::as_seq)
                    .map(|v| v.iter().filter_map(|n| n.value.scalar_text()).collect())
                    .unwrap_or_default();
                selector.expressions.push(Expression {
                    key,
                    operator,
                    values,
                });
            }
        }
        Some(selector)
    }

    /// A plain label map (a Service's `spec.selector`).
    pub fn from_map(node: &Node) -> Option<Selector> {
        Some(Selector {
            labels: label_pairs(node)?,
            expressions: Vec::new(),
        })
    }

    /// Whether the selector has no requirement (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether the selector matches an object with `labels` (a mapping, or `None`).
    pub fn matches(&self, labels: Option<&Node>) -> bool {
        let value = |key: &str| {
            labels
                .and_then(|l| l.get(key))
                .and_then(|n| n.value.scalar_text())
        };
        self.labels
            .iter()
            .all(|(k, v)| value(k).as_deref() == Some(v.as_str()))
            && self.expressions.iter().all(|e| {
                let actual = value(&e.key);
                match e.operator {
                    Operator::In => actual.is_some_and(|a| e.values.contains(&a)),
                    Operator::NotIn => actual.is_none_or(|a| !e.values.contains(&a)),
                    Operator::Exists => actual.is_some(),
                    Operator::DoesNotExist => actual.is_none(),
                }
            })
    }
}

fn label_pairs(node: &Node) -> Option<Vec<(String, String)>> {
    if node.value.is_null() {
        return Some(Vec::new());
    }
    node.as_map()?
        .iter()
        .map(|(k, v)| Some((k.to_string(), v.value.scalar_text()?)))
        .collect()
}

/// Objects with labels, indexed so that a selector finds its matches without a scan.
#[derive(Default)]
pub struct LabelIndex<'a> {
    entries: Vec<(&'a Node, Option<&'a Node>)>,
    by_label: HashMap<(&'a str, &'a str, String), Vec<usize>>,
    by_namespace: HashMap<&'a str, Vec<usize>>,
}

impl<'a> LabelIndex<'a> {
    /// Adds `object` (for its namespace) with `labels`.
    pub fn add(&mut self, object: &'a Node, labels: Option<&'a Node>) {
        let at = self.entries.len();
        self.entries.push((object, labels));
        let namespace = effective_namespace(crate::context::namespace_of(object));
        self.by_namespace.entry(namespace).or_default().push(at);
        for (key, value) in labels
            .and_then(Node::as_map)
            .into_iter()
            .flat_map(shipway_model::Mapping::iter)
        {
            if let Some(value) = value.value.scalar_text() {
                self.by_label
                    .entry((namespace, key, value))
                    .or_default()
                    .push(at);
            }
        }
    }

    /// The objects in `namespace` that `selector` matches, in the order they were added.
    pub fn matching<'s>(
        &'s self,
        namespace: &str,
        selector: &'s Selector,
    ) -> impl Iterator<Item = &'a Node> + use<'a, 's> {
        // The namespace as the index stores it, so the lookups below borrow only `self`. The
        // rarest matchLabels pair narrows the candidates (a shared `team` label would not);
        // only selectors made of expressions alone fall back to the whole namespace.
        let candidates: &[usize] = match self
            .by_namespace
            .get_key_value(effective_namespace(namespace))
        {
            None => &[],
            Some((_, in_namespace)) if selector.labels.is_empty() => in_namespace,
            Some((&namespace, _)) => selector
                .labels
                .iter()
                .map(|(key, value)| {
                    self.by_label
                        .get(&(namespace, key.as_str(), value.clone()))
                        .map_or(&[][..], Vec::as_slice)
                })
                .min_by_key(|c| c.len())
                .unwrap_or(&[]),
        };
        candidates.iter().filter_map(move |&i| {
            let (object, labels) = self.entries[i];
            selector.matches(labels).then_some(object)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipway_model::yaml::parse_one;

    fn selector(yaml: &str) -> Selector {
        Selector::from_label_selector(&parse_one(yaml).unwrap()).unwrap()
    }

    fn labels(yaml: &str) -> Node {
        parse_one(yaml).unwrap()
    }

    #[test]
    fn match_labels_need_every_pair() {
        let s = selector("matchLabels: {app: web, tier: front}");
        assert!(s.matches(Some(&labels("{app: web, tier: front, extra: x}"))));
        assert!(!s.matches(Some(&labels("{app: web}"))));
        assert!(!s.matches(None));
    }

    #[test]
    fn expressions_follow_the_api_semantics() {
        let s = selector(
            "matchExpressions:\n- {key: env, operator: In, values: [prod, staging]}\n- {key: canary, operator: DoesNotExist}\n",
        );
        assert!(s.matches(Some(&labels("{env: prod}"))));
        assert!(!s.matches(Some(&labels("{env: dev}"))));
        assert!(!s.matches(Some(&labels("{env: prod, canary: 'true'}"))));
        let s = selector("matchExpressions:\n- {key: env, operator: NotIn, values: [dev]}\n");
        assert!(
            s.matches(Some(&labels("{app: x}"))),
            "NotIn holds when absent"
        );
        assert!(!s.matches(Some(&labels("{env: dev}"))));
        let s = selector("matchExpressions:\n- {key: env, operator: Exists}\n");
        assert!(s.matches(Some(&labels("{env: ''}"))));
        assert!(!s.matches(None));
    }

    #[test]
    fn empty_selectors_match_everything_and_bad_ones_do_not_parse() {
        assert!(selector("{}").is_empty());
        assert!(selector("{}").matches(None));
        let bad = parse_one("matchExpressions:\n- {key: a, operator: Gt}\n").unwrap();
        assert!(Selector::from_label_selector(&bad).is_none());
        let map = Selector::from_map(&parse_one("{app: web}").unwrap()).unwrap();
        assert!(map.matches(Some(&labels("{app: web}"))));
    }

    #[test]
    fn the_index_finds_matches_in_the_namespace_only() {
        let a = parse_one("metadata: {name: a, labels: {app: web}}").unwrap();
        let b = parse_one("metadata: {name: b, namespace: other, labels: {app: web}}").unwrap();
        let mut index = LabelIndex::default();
        index.add(&a, a.get_path(&["metadata", "labels"]));
        index.add(&b, b.get_path(&["metadata", "labels"]));
        let s = selector("matchLabels: {app: web}");
        assert_eq!(index.matching("", &s).count(), 1);
        assert_eq!(index.matching("other", &s).count(), 1);
        let s = selector("matchExpressions: [{key: app, operator: Exists}]");
        assert_eq!(index.matching("default", &s).count(), 1);
    }
}
