//! Label and field selectors for list requests.
//!
//! Label selectors take the full string syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
//! `a notin (x)`, `a`, `!a`). Field selectors take `metadata.name` and `metadata.namespace`
//! with `=`, `==` and `!=` on every kind, plus the fields each kind's registry declares
//! (pods' `spec.nodeName` and `status.phase`, events' `involvedObject.*`, …); any other
//! field is refused with the real server's message rather than silently ignored.

use serde_json::Value;

/// One requirement of a selector.
#[derive(Debug, PartialEq)]
enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value`: also true when the key is absent.
    NotEquals(String, String),
    /// `key in (values)`.
    In(String, Vec<String>),
    /// `key notin (values)`: also true when the key is absent.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Self::Equals(key, value) => lookup(key).as_deref() == Some(value.as_str()),
            Self::NotEquals(key, value) => lookup(key).as_deref() != Some(value.as_str()),
            Self::In(key, values) => lookup(key).is_some_and(|found| values.contains(&found)),
            Self::NotIn(key, values) => !lookup(key).is_some_and(|found| values.contains(&found)),
            Self::Exists(key) => lookup(key).is_some(),
            Self::DoesNotExist(key) => lookup(key).is_none(),
        }
    }
}

/// A parsed label or field selector; the empty selector matches everything.
#[derive(Debug, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parses a label selector.
    pub fn labels(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            requirements.push(parse_label_requirement(part.trim())?);
        }
        Ok(Self { requirements })
    }

    /// Parses a field selector, accepting only the fields every resource supports.
    pub fn fields(text: &str) -> Result<Self, String> {
        Self::fields_of("", "", text)
    }

    /// Parses a field selector for objects of `group`/`kind`: `metadata.name` and
    /// `metadata.namespace` everywhere, plus the fields that kind's registry strategy
    /// declares (a pod's `spec.nodeName` and `status.phase`, an event's `involvedObject.*`,
    /// …). Any other field is refused with the real server's message.
    pub fn fields_of(group: &str, kind: &str, text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let requirement = if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                ));
            };
            let (Requirement::Equals(key, _) | Requirement::NotEquals(key, _)) = &requirement
            else {
                continue;
            };
            let known = key == "metadata.name"
                || key == "metadata.namespace"
                || kind_fields(group, kind).contains(&key.as_str());
            if !known {
                return Err(format!("field label not supported: {key}"));
            }
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    /// Whether an object's labels satisfy the selector.
    pub fn matches_labels(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let lookup = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        self.requirements.iter().all(|r| r.matches(&lookup))
    }

    /// Whether an object's fields satisfy the selector (an absent field reads as `""`,
    /// numbers and booleans as their text, as the registries' field sets spell them).
    pub fn matches_fields(&self, object: &Value) -> bool {
        let lookup = |key: &str| {
            let path = match key {
                // Fields whose selector name is not their path.
                "source" => "source.component",
                "deprecatedSource" => "deprecatedSource.component",
                other => other,
            };
            let pointer = format!("/{}", path.replace('.', "/"));
            Some(match object.pointer(&pointer) {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Bool(flag)) => flag.to_string(),
                Some(Value::Number(number)) => number.to_string(),
                // `spec.unschedulable` and `spec.hostNetwork` are false when unset.
                None if matches!(key, "spec.unschedulable" | "spec.hostNetwork") => {
                    "false".to_owned()
                }
                _ => String::new(),
            })
        };
        self.requirements.iter().all(|r| r.matches(&lookup))
    }
}

/// The selectable fields beyond `metadata.name` and `metadata.namespace`, from each
/// kind's `GetAttrs`/`SelectableFields` in the Kubernetes registries.
fn kind_fields(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "Event") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "deprecatedSource",
            "type",
        ],
        ("", "Node") => &["spec.unschedulable"],
        ("", "Namespace") => &["status.phase"],
        ("", "Secret") => &["type"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest") => &["spec.signerName"],
        _ => &[],
    }
}

/// Splits on commas outside parentheses, so `a in (x,y),b` gives two parts.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_u32;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.retain(|part| !part.trim().is_empty());
    parts
}

fn parse_label_requirement(part: &str) -> Result<Requirement, String> {
    let invalid = || format!("unable to parse requirement: {part:?}");
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key.trim().into()));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key.trim().into(), value.trim().into()));
    }
    if let Some(open) = part.find('(') {
        let close = part
            .rfind(')')
            .filter(|close| *close > open)
            .ok_or_else(invalid)?;
        let values = part[open + 1..close]
            .split(',')
            .map(|value| value.trim().to_owned())
            .collect();
        let mut words = part[..open].split_whitespace();
        let (Some(key), Some(operator), None) = (words.next(), words.next(), words.next()) else {
            return Err(invalid());
        };
        return match operator {
            "in" => Ok(Requirement::In(key.into(), values)),
            "notin" => Ok(Requirement::NotIn(key.into(), values)),
            _ => Err(invalid()),
        };
    }
    if part.contains(char::is_whitespace) || part.is_empty() {
        return Err(invalid());
    }
    Ok(Requirement::Exists(part.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_cover_equality_set_and_existence() {
        let object = json!({"metadata":{"labels":{"app":"web","tier":"front"}}});
        for (selector, expected) in [
            ("", true),
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("app in (api, web),tier", true),
            ("app notin (web)", false),
            ("!tier", false),
            ("!missing", true),
        ] {
            let parsed = Selector::labels(selector).unwrap();
            assert_eq!(parsed.matches_labels(&object), expected, "{selector}");
        }
        assert!(Selector::labels("app in web").is_err());
    }

    #[test]
    fn field_selectors_accept_only_metadata_fields() {
        let object = json!({"metadata":{"name":"web","namespace":"x"}});
        assert!(
            Selector::fields("metadata.name=web")
                .unwrap()
                .matches_fields(&object)
        );
        assert!(
            !Selector::fields("metadata.namespace!=x")
                .unwrap()
                .matches_fields(&object)
        );
        assert_eq!(
            Selector::fields("status.phase=Running").unwrap_err(),
            "field label not supported: status.phase"
        );
    }

    /// Issue 17: `kubectl describe node` lists the node's pods with
    /// `spec.nodeName=…,status.phase!=Succeeded,status.phase!=Failed`, and `describe`
    /// finds an object's events by `involvedObject.*`.
    #[test]
    fn field_selectors_take_each_kinds_fields() {
        let pod = json!({"metadata": {"name": "web", "namespace": "x"},
            "spec": {"nodeName": "sim-node-1"}, "status": {"phase": "Running"}});
        let describe_node = "spec.nodeName=sim-node-1,status.phase!=Succeeded,status.phase!=Failed";
        assert!(
            Selector::fields_of("", "Pod", describe_node)
                .unwrap()
                .matches_fields(&pod)
        );
        assert!(
            !Selector::fields_of("", "Pod", "spec.nodeName=sim-node-2")
                .unwrap()
                .matches_fields(&pod)
        );
        let event = json!({"metadata": {"name": "web.1", "namespace": "x"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "x", "uid": "u1"},
            "source": {"component": "kubelet"}, "type": "Normal"});
        let describe = "involvedObject.name=web,involvedObject.namespace=x,involvedObject.kind=Pod,involvedObject.uid=u1";
        assert!(
            Selector::fields_of("", "Event", describe)
                .unwrap()
                .matches_fields(&event)
        );
        assert!(
            Selector::fields_of("", "Event", "source=kubelet,type!=Warning")
                .unwrap()
                .matches_fields(&event)
        );
        assert!(
            Selector::fields_of("", "Node", "spec.unschedulable=false")
                .unwrap()
                .matches_fields(&json!({"metadata": {"name": "n"}, "spec": {}}))
        );
        assert_eq!(
            Selector::fields_of("", "ConfigMap", "spec.nodeName=x").unwrap_err(),
            "field label not supported: spec.nodeName"
        );
    }
}
