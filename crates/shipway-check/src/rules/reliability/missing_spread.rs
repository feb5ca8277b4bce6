//! `reliability/missing-spread`: multi-replica workloads that may put every replica on one
//! node or zone.

use shipway_model::Node;

use crate::Ctx;
use crate::context::name_of;
use crate::rules::{Check, Rule, rule};
use crate::workload::pod_template;

rule! {
    /// ## What it checks
    /// Every Deployment and StatefulSet that runs more than one replica (`spec.replicas`, or
    /// the `minReplicas` of its HorizontalPodAutoscaler) whose pod template has neither
    /// `affinity.podAntiAffinity` nor `topologySpreadConstraints`.
    ///
    /// ## Why it matters
    /// The default scheduler spreads pods only as a soft preference among other scores.
    /// Replicas that end up on one node or in one zone all fail together when it does, and
    /// the extra replicas buy no availability.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   replicas: 3
    ///   template:
    ///     spec:
    ///       containers: [{name: web, image: "nginx:1.27.2"}]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   replicas: 3
    ///   template:
    ///     spec:
    ///       topologySpreadConstraints:
    ///       - maxSkew: 1
    ///         topologyKey: kubernetes.io/hostname
    ///         whenUnsatisfiable: ScheduleAnyway
    ///         labelSelector: {matchLabels: {app: web}}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: the right topology (node, zone) depends on the cluster.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/>
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity>
    pub static MISSING_SPREAD = {
        code: "reliability/missing-spread",
        summary: "A multi-replica workload has no anti-affinity or topology spread",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_spread),
    };
}

fn missing_spread(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if !matches!(object.str_at(&["kind"]), Some("Deployment" | "StatefulSet")) {
        return;
    }
    let Some(replicas) = ctx.min_replicas(object) else {
        return;
    };
    let Some(pod) = pod_template(object) else {
        return;
    };
    let spreads = pod
        .spec
        .get("topologySpreadConstraints")
        .and_then(Node::as_seq)
        .is_some_and(|c| !c.is_empty())
        || pod
            .spec
            .get_path(&["affinity", "podAntiAffinity"])
            .is_some_and(|a| !a.value.is_null());
    if replicas <= 1 || spreads {
        return;
    }
    let kind = object.str_at(&["kind"]).unwrap_or("");
    ctx.report(
        rule,
        object,
        pod.spec_path,
        format!(
            "{kind} `{}` runs {replicas} replicas with neither `affinity.podAntiAffinity` nor `topologySpreadConstraints`",
            name_of(object)
        ),
    );
}
