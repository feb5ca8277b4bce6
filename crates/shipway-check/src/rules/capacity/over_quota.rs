//! `capacity/over-quota`: a namespace's workloads at their declared replicas exceed its
//! ResourceQuota.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Per namespace, the CPU and memory requests and limits of every workload multiplied
    /// by `spec.replicas` (Job parallelism, one for a Pod), with LimitRange defaults for
    /// containers that set none, and the pod count, against each ResourceQuota's
    /// `spec.hard` (`requests.cpu`/`cpu`, `requests.memory`/`memory`, `limits.cpu`,
    /// `limits.memory`, `pods`). DaemonSets and scoped quotas are not counted.
    ///
    /// ## Why it matters
    /// The quota admission plugin refuses the pods that do not fit: the rollout stalls
    /// with `exceeded quota` events while the Deployment looks applied.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ResourceQuota
    /// spec: {hard: {requests.cpu: "2"}}
    /// ---
    /// kind: Deployment
    /// spec:
    ///   replicas: 3
    ///   template: {spec: {containers: [{resources: {requests: {cpu: "1"}}}]}}
    /// ```
    ///
    /// ## Use instead
    /// Raise the quota, lower the requests, or run fewer replicas.
    ///
    /// ## Options
    /// `shipway check --capacity` prints the per-namespace table.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/policy/resource-quotas/>
    pub static OVER_QUOTA = {
        code: "capacity/over-quota",
        summary: "A namespace's workloads exceed its ResourceQuota at their declared replicas",
        severity: Error,
        status: Stable,
        check: Check::Global(over_quota),
    };
}

fn over_quota(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_excesses(
        ctx,
        rule,
        |ns| super::excesses(ns, &ns.totals().0, "at `spec.replicas`"),
        |_, _, _| false,
    );
}
