//! `reliability/hpa-min-above-max`: HorizontalPodAutoscalers whose `minReplicas` exceeds
//! `maxReplicas`.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every HorizontalPodAutoscaler whose `spec.minReplicas` (1 when unset) is greater than
    /// `spec.maxReplicas`.
    ///
    /// ## Why it matters
    /// The API server rejects the object (`minReplicas` must be less than or equal to
    /// `maxReplicas`), so the whole apply fails, usually because one of the two was changed
    /// in an overlay without the other.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   minReplicas: 5
    ///   maxReplicas: 3
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   minReplicas: 3
    ///   maxReplicas: 5
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: either bound may be the mistake.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/>
    pub static HPA_MIN_ABOVE_MAX = {
        code: "reliability/hpa-min-above-max",
        summary: "A HorizontalPodAutoscaler's `minReplicas` is above its `maxReplicas`",
        severity: Error,
        status: Preview,
        check: Check::PerObject(hpa_min_above_max),
    };
}

fn hpa_min_above_max(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if object.str_at(&["kind"]) != Some("HorizontalPodAutoscaler") {
        return;
    }
    let int = |key: &str| match object.get_path(&["spec", key]).map(|n| &n.value) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    };
    let Some(max) = int("maxReplicas") else {
        return;
    };
    let (min, path) = match int("minReplicas") {
        Some(min) => (min, "spec.minReplicas"),
        None => (1, "spec.maxReplicas"),
    };
    if min > max {
        ctx.report(
            rule,
            object,
            path,
            format!("`spec.minReplicas` ({min}) is greater than `spec.maxReplicas` ({max})"),
        );
    }
}
