//! `reliability/selector-matches-nothing`: PodDisruptionBudgets, NetworkPolicies and
//! Services whose pod selector matches no pod template in their namespace.

use shipway_model::Node;

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::{Check, Rule, rule};
use crate::selector::Selector;

rule! {
    /// ## What it checks
    /// Every pod selector that matches no pod or pod template in its namespace:
    /// - PodDisruptionBudget `spec.selector`;
    /// - NetworkPolicy `spec.podSelector` (an empty selector means every pod and is fine);
    /// - Service `spec.selector` (a Service without one is managed by hand and skipped).
    ///
    /// ## Why it matters
    /// A selector that matches nothing is usually a label typo or a label renamed on one
    /// side only. The Service then has no endpoints, the budget protects nothing, and the
    /// NetworkPolicy leaves the pods it was meant for unrestricted, all without any error.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   selector: {app: web-frontend}   # the pods are labelled app: web
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   selector: {app: web}
    /// ```
    ///
    /// ## Options
    /// None. Pods created outside the input (by an operator) are not seen: silence the rule
    /// for the object with the `shipway.dev/ignore` annotation.
    ///
    /// ## Fix safety
    /// No automatic fix: either side may be wrong.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors>
    /// - kube-linter `dangling-service`, `dangling-networkpolicy`
    pub static SELECTOR_MATCHES_NOTHING = {
        code: "reliability/selector-matches-nothing",
        summary: "A Service, PodDisruptionBudget or NetworkPolicy selects no pods",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(selector_matches_nothing),
    };
}

fn selector_matches_nothing(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let (path, selector) = match object.str_at(&["kind"]) {
        Some("PodDisruptionBudget") => (
            "spec.selector",
            object
                .get_path(&["spec", "selector"])
                .and_then(Selector::from_label_selector),
        ),
        Some("NetworkPolicy") => (
            "spec.podSelector",
            object
                .get_path(&["spec", "podSelector"])
                .and_then(Selector::from_label_selector),
        ),
        Some("Service") => (
            "spec.selector",
            object
                .get_path(&["spec", "selector"])
                .and_then(Selector::from_map),
        ),
        _ => return,
    };
    let Some(selector) = selector else {
        return;
    };
    if selector.is_empty()
        || ctx
            .pods()
            .matching(namespace_of(object), &selector)
            .next()
            .is_some()
    {
        return;
    }
    ctx.report(
        rule,
        object,
        path,
        format!("`{path}` matches no pod template in this namespace"),
    );
}
