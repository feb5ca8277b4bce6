//! `reliability/missing-pdb`: multi-replica workloads that no PodDisruptionBudget covers.

use std::collections::HashSet;

use shipway_model::Node;

use crate::Ctx;
use crate::context::{effective_namespace, name_of, namespace_of};
use crate::rules::{Check, Rule, rule};
use crate::selector::Selector;
use crate::workload::pod_template;

rule! {
    /// ## What it checks
    /// Every Deployment and StatefulSet that runs more than one replica (`spec.replicas`, or
    /// the `minReplicas` of the HorizontalPodAutoscaler that scales it) and whose pod template
    /// labels no PodDisruptionBudget in its namespace selects.
    ///
    /// ## Why it matters
    /// Node drains (upgrades, autoscaler scale-downs) evict pods without regard for the
    /// workload: all replicas on the drained nodes go at once. Several replicas only protect
    /// availability if a PodDisruptionBudget tells the eviction API how many must stay up.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: web}
    /// spec:
    ///   replicas: 3
    ///   template:
    ///     metadata: {labels: {app: web}}
    /// ```
    ///
    /// ## Use instead
    /// Add a budget that selects the pods:
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata: {name: web}
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
    /// - <https://kubernetes.io/docs/concepts/workloads/pods/disruptions/>
    /// - <https://kubernetes.io/docs/tasks/run-application/configure-pdb/>
    pub static MISSING_PDB = {
        code: "reliability/missing-pdb",
        summary: "A multi-replica workload has no PodDisruptionBudget",
        severity: Warning,
        status: Preview,
        check: Check::Global(missing_pdb),
    };
}

fn missing_pdb(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    // One pass over the budgets marks what they cover, so each workload is then a lookup.
    let mut covered: HashSet<*const Node> = HashSet::new();
    let mut whole_namespace: HashSet<&str> = HashSet::new();
    for pdb in ctx.of_kind("PodDisruptionBudget") {
        let Some(selector) = pdb
            .get_path(&["spec", "selector"])
            .and_then(Selector::from_label_selector)
        else {
            continue;
        };
        if selector.is_empty() {
            whole_namespace.insert(effective_namespace(namespace_of(pdb)));
            continue;
        }
        covered.extend(
            ctx.pods()
                .matching(namespace_of(pdb), &selector)
                .map(std::ptr::from_ref),
        );
    }
    let mut found = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        for object in ctx.of_kind(kind) {
            let Some(replicas) = ctx.min_replicas(object) else {
                continue;
            };
            if replicas <= 1
                || covered.contains(&std::ptr::from_ref(object))
                || whole_namespace.contains(effective_namespace(namespace_of(object)))
            {
                continue;
            }
            let path = pod_template(object)
                .and_then(|p| p.metadata.map(|_| format!("{}.labels", p.metadata_path)))
                .unwrap_or_else(|| "metadata.name".to_string());
            found.push((object, path, replicas));
        }
    }
    for (object, path, replicas) in found {
        let kind = object.str_at(&["kind"]).unwrap_or("");
        ctx.report(
            rule,
            object,
            &path,
            format!(
                "{kind} `{}` runs {replicas} replicas but no PodDisruptionBudget in its namespace selects its pods",
                name_of(object)
            ),
        );
    }
}
