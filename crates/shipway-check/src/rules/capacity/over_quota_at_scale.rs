//! `capacity/over-quota-at-scale`: a namespace fits its ResourceQuota at declared replicas
//! but not when autoscalers reach their maximum or a rolling update surges.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// The same sums as `capacity/over-quota`, at each HorizontalPodAutoscaler's
    /// `maxReplicas` and with every Deployment's rolling-update surge (`maxSurge`, default
    /// 25% rounded up), reported only when the declared replicas fit.
    ///
    /// ## Why it matters
    /// The autoscaler stops short of its maximum under load, and a rollout waits for quota
    /// that the old pods still hold: both fail only on the busy day.
    ///
    /// ## Example
    /// A quota of 4 CPU, a Deployment of 2 × 1 CPU whose autoscaler may reach 6 replicas.
    ///
    /// ## Use instead
    /// Size the quota for the autoscaler maximum plus surge, or lower `maxReplicas`.
    ///
    /// ## Options
    /// `shipway check --capacity` prints the per-namespace table.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/policy/resource-quotas/>
    /// - <https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge>
    pub static OVER_QUOTA_AT_SCALE = {
        code: "capacity/over-quota-at-scale",
        summary: "A namespace exceeds its ResourceQuota at autoscaler maximum or during a rollout",
        severity: Warning,
        status: Stable,
        check: Check::Global(over_quota_at_scale),
    };
}

fn over_quota_at_scale(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_excesses(
        ctx,
        rule,
        |ns| {
            let (_, at_max, at_surge) = ns.totals();
            let mut found = super::excesses(ns, &at_max, "at autoscaler maximum");
            found.extend(super::excesses(ns, &at_surge, "during a rolling update"));
            found
        },
        // What already exceeds at declared replicas is `capacity/over-quota`'s finding.
        |ns, quota, resource| super::exceeds(ns, &ns.totals().0, quota, resource),
    );
}
