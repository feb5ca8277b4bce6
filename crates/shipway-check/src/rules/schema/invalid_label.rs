//! `schema/invalid-label`: label keys and values the API server rejects.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::pod_template;

use super::invalid_name::dns_subdomain;

rule! {
    /// ## What it checks
    /// Keys and values of `metadata.labels`, of pod template labels and of
    /// `spec.selector.matchLabels`: a key is an optional DNS-subdomain prefix and `/`, then
    /// a name of at most 63 alphanumerics, `-`, `_` and `.` starting and ending
    /// alphanumeric; a value is empty or follows the same name rule. Values must be
    /// strings (`version: 1.0` is a number).
    ///
    /// ## Why it matters
    /// The API server rejects the object, and selectors built from such labels never
    /// match.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels: {app: my app, version: 1.0}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// metadata:
    ///   labels: {app: my-app, version: "1.0"}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: selectors and other objects refer to labels.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set>
    pub static INVALID_LABEL = {
        code: "schema/invalid-label",
        summary: "A label key or value is not valid",
        severity: Error,
        status: Stable,
        check: Check::PerObject(invalid_label),
    };
}

fn invalid_label(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let mut maps: Vec<(String, &Node)> = Vec::new();
    if let Some(labels) = object.get_path(&["metadata", "labels"]) {
        maps.push(("metadata.labels".into(), labels));
    }
    if let Some(pod) = pod_template(object)
        && pod.metadata_path != "metadata"
        && let Some(labels) = pod.metadata.and_then(|m| m.get("labels"))
    {
        maps.push((format!("{}.labels", pod.metadata_path), labels));
    }
    if let Some(labels) = object.get_path(&["spec", "selector", "matchLabels"]) {
        maps.push(("spec.selector.matchLabels".into(), labels));
    }
    for (path, labels) in maps {
        let Some(map) = labels.as_map() else {
            continue;
        };
        for entry in &map.entries {
            let at = format!("{path}[{:?}]", entry.key);
            if let Err(problem) = label_key(&entry.key) {
                ctx.report(
                    rule,
                    object,
                    &at,
                    format!("label key `{}` is invalid: {problem}", entry.key),
                );
            }
            match &entry.value.value {
                Value::Str(value) => {
                    if let Err(problem) = label_name(value) {
                        ctx.report(
                            rule,
                            object,
                            &at,
                            format!(
                                "label value `{value}` of `{}` is invalid: {problem}",
                                entry.key
                            ),
                        );
                    }
                }
                Value::Null => {}
                other => ctx.report(
                    rule,
                    object,
                    &at,
                    format!(
                        "label `{}` must be a string; quote the value `{}`",
                        entry.key,
                        other.scalar_text().unwrap_or_default()
                    ),
                ),
            }
        }
    }
}

fn label_key(key: &str) -> Result<(), String> {
    let name = match key.rsplit_once('/') {
        Some((prefix, name)) => {
            dns_subdomain(prefix).map_err(|e| format!("prefix `{prefix}`: {e}"))?;
            name
        }
        None => key,
    };
    if name.is_empty() {
        return Err("the name part is empty".into());
    }
    label_name(name)
}

fn label_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err("at most 63 characters".into());
    }
    let bytes = value.as_bytes();
    let ok = bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if !ok {
        return Err(
            "alphanumerics, `-`, `_` and `.`, starting and ending with an alphanumeric".into(),
        );
    }
    Ok(())
}
