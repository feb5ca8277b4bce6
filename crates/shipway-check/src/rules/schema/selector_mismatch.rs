//! `schema/selector-mismatch`: a workload's selector does not match its own pod template.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::pod_template;

rule! {
    /// ## What it checks
    /// Deployments, ReplicaSets, StatefulSets and DaemonSets (and Jobs with
    /// `manualSelector: true`) whose `spec.selector` (`matchLabels` and
    /// `matchExpressions`) does not select the labels of their own pod template.
    ///
    /// ## Why it matters
    /// The API server rejects the object ("`selector` does not match template `labels`");
    /// the usual cause is a label added to the template or the selector in one place only.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   selector: {matchLabels: {app: web}}
    ///   template:
    ///     metadata: {labels: {app: frontend}}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   selector: {matchLabels: {app: web}}
    ///   template:
    ///     metadata: {labels: {app: web}}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// The selector of an existing workload is immutable: change the template's labels.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector>
    pub static SELECTOR_MISMATCH = {
        code: "schema/selector-mismatch",
        summary: "A workload's selector does not match its pod template labels",
        severity: Error,
        status: Stable,
        check: Check::PerObject(selector_mismatch),
    };
}

fn selector_mismatch(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let kind = object.str_at(&["kind"]).unwrap_or("");
    let applies = match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => true,
        "Job" => matches!(
            object
                .get_path(&["spec", "manualSelector"])
                .map(|n| &n.value),
            Some(shipway_model::Value::Bool(true))
        ),
        _ => false,
    };
    if !applies {
        return;
    }
    let (Some(selector), Some(pod)) =
        (object.get_path(&["spec", "selector"]), pod_template(object))
    else {
        return;
    };
    let labels: Vec<(String, String)> = pod
        .metadata
        .and_then(|m| m.get("labels"))
        .and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.value.scalar_text().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let get = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut problems = Vec::new();
    if let Some(match_labels) = selector.get("matchLabels").and_then(Node::as_map) {
        for (key, value) in match_labels.iter() {
            let want = value.value.scalar_text().unwrap_or_default();
            match get(key) {
                Some(have) if have == want => {}
                Some(have) => problems.push(format!(
                    "`{key}` is `{want}` in the selector but `{have}` in the template"
                )),
                None => problems.push(format!("`{key}: {want}` is not a template label")),
            }
        }
    }
    for expr in selector
        .get("matchExpressions")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let key = expr.str_at(&["key"]).unwrap_or("");
        let values: Vec<String> = expr
            .get("values")
            .and_then(Node::as_seq)
            .map(|v| v.iter().filter_map(|n| n.value.scalar_text()).collect())
            .unwrap_or_default();
        let have = get(key);
        let ok = match expr.str_at(&["operator"]).unwrap_or("") {
            "In" => have.is_some_and(|h| values.iter().any(|v| v == h)),
            "NotIn" => have.is_none_or(|h| !values.iter().any(|v| v == h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => true,
        };
        if !ok {
            problems.push(format!(
                "the expression on `{key}` does not match the template"
            ));
        }
    }
    if !problems.is_empty() {
        ctx.report(
            rule,
            object,
            "spec.selector",
            format!(
                "`spec.selector` does not match the pod template labels: {}",
                problems.join("; ")
            ),
        );
    }
}
