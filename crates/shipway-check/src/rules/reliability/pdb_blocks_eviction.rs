//! `reliability/pdb-blocks-eviction`: PodDisruptionBudgets that allow no voluntary
//! disruption at all.

use shipway_model::{Node, Value};

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::{Check, Rule, rule};
use crate::selector::Selector;

rule! {
    /// ## What it checks
    /// Every PodDisruptionBudget that can never allow an eviction:
    /// - `maxUnavailable` is `0` or `0%`;
    /// - `minAvailable` is `100%`;
    /// - `minAvailable` (a number, or a percentage rounded up as the eviction API does) is at
    ///   least the replicas of the Deployments and StatefulSets it selects, counting the
    ///   `minReplicas` of an HPA that scales one of them, since the HPA may shrink it that
    ///   far.
    ///
    /// ## Why it matters
    /// Node drains wait for evictions the budget never allows: cluster upgrades and
    /// autoscaler scale-downs hang until someone deletes the budget or the pods by hand.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PodDisruptionBudget
    /// spec:
    ///   minAvailable: 3      # the Deployment runs 3 replicas
    ///   selector: {matchLabels: {app: web}}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// kind: PodDisruptionBudget
    /// spec:
    ///   maxUnavailable: 1
    ///   selector: {matchLabels: {app: web}}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: how many pods may be down at once is an availability decision.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/run-application/configure-pdb/#think-about-how-your-application-reacts-to-disruptions>
    /// - kube-linter `pdb-min-available`, `pdb-max-unavailable`
    pub static PDB_BLOCKS_EVICTION = {
        code: "reliability/pdb-blocks-eviction",
        summary: "A PodDisruptionBudget allows no eviction",
        severity: Error,
        status: Preview,
        check: Check::PerObject(pdb_blocks_eviction),
    };
}

fn pdb_blocks_eviction(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if object.str_at(&["kind"]) != Some("PodDisruptionBudget") {
        return;
    }
    if let Some(max) = object.get_path(&["spec", "maxUnavailable"]) {
        if matches!(&max.value, Value::Int(0)) || max.as_str() == Some("0%") {
            let shown = max.value.scalar_text().unwrap_or_default();
            ctx.report(
                rule,
                object,
                "spec.maxUnavailable",
                format!(
                    "`spec.maxUnavailable` is {shown}, so no pod can ever be evicted; allow at least 1"
                ),
            );
        }
        return;
    }
    let Some(min) = object.get_path(&["spec", "minAvailable"]) else {
        return;
    };
    let percent = min
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|p| p.parse::<i64>().ok());
    if percent.is_some_and(|p| p >= 100) {
        ctx.report(
            rule,
            object,
            "spec.minAvailable",
            "`spec.minAvailable` is 100%, so no pod can ever be evicted; lower it or use `maxUnavailable`",
        );
        return;
    }
    let Some(selector) = object
        .get_path(&["spec", "selector"])
        .and_then(Selector::from_label_selector)
    else {
        return;
    };
    let mut replicas = 0;
    let mut scaled = false;
    for workload in ctx.pods().matching(namespace_of(object), &selector) {
        if let Some(n) = ctx.min_replicas(workload) {
            replicas += n;
            scaled |= ctx.hpa_for(workload).is_some();
        }
    }
    if replicas == 0 {
        return;
    }
    let required = match (&min.value, percent) {
        (Value::Int(n), _) => *n,
        // The eviction API rounds a percentage of minAvailable up.
        (_, Some(p)) => (p * replicas + 99) / 100,
        _ => return,
    };
    if required >= replicas {
        let what = if scaled {
            format!(
                "the workloads it selects can scale down to {replicas} replicas (HPA `minReplicas`)"
            )
        } else {
            format!("the workloads it selects run {replicas} replicas")
        };
        ctx.report(
            rule,
            object,
            "spec.minAvailable",
            format!(
                "`spec.minAvailable` requires {required} pods but {what}, so no pod can ever be evicted"
            ),
        );
    }
}
