//! Capacity rules: whether a namespace's workloads fit its ResourceQuotas, computed by
//! [`crate::capacity`].

mod over_quota;
mod over_quota_at_scale;

pub use over_quota::OVER_QUOTA;
pub use over_quota_at_scale::OVER_QUOTA_AT_SCALE;

use std::fmt::Write as _;

use crate::capacity::{Amounts, Namespace, RESOURCES, show};
use crate::context::name_of;

/// Whether `usage` exceeds quota `quota`'s limit on `resource`.
fn exceeds(ns: &Namespace<'_>, usage: &Amounts, quota: usize, resource: usize) -> bool {
    ns.quotas[quota]
        .hard
        .iter()
        .any(|&(r, hard)| r == resource && usage[r] > hard + 1e-9)
}

/// Reports each excess under `rule`, at the quota's `spec.hard` entry for the resource
/// when it is spelled that way (else at `spec.hard`). `skip` leaves out excesses another
/// rule already reports.
pub(crate) fn report_excesses(
    ctx: &mut crate::Ctx<'_>,
    rule: &'static crate::rules::Rule,
    found: impl Fn(&Namespace<'_>) -> Vec<(usize, usize, String)>,
    skip: impl Fn(&Namespace<'_>, usize, usize) -> bool,
) {
    let mut reports = Vec::new();
    for ns in ctx.capacity().values() {
        for (quota, resource, message) in found(ns) {
            if skip(ns, quota, resource) {
                continue;
            }
            let object = ns.quotas[quota].object;
            let path = format!("spec.hard[{:?}]", RESOURCES[resource]);
            let path = if crate::context::node_at(object, &path).is_some() {
                path
            } else {
                "spec.hard".to_string()
            };
            reports.push((object, path, message));
        }
    }
    for (object, path, message) in reports {
        ctx.report(rule, object, &path, message);
    }
}

/// Each quota limit that `usage` exceeds: `(quota index, resource index, message)`.
pub(crate) fn excesses(
    ns: &Namespace<'_>,
    usage: &Amounts,
    when: &str,
) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (qi, quota) in ns.quotas.iter().enumerate() {
        for &(resource, hard) in &quota.hard {
            let used = usage[resource];
            if used > hard + 1e-9 {
                let mut consumers: Vec<(f64, String)> = ns
                    .workloads
                    .iter()
                    .map(|w| {
                        let pods = match when {
                            "at autoscaler maximum" => {
                                w.hpa_max.unwrap_or(w.replicas).max(w.replicas)
                            }
                            "during a rolling update" => w.replicas + w.surge,
                            _ => w.replicas,
                        };
                        (
                            w.per_pod[resource] * pods,
                            format!(
                                "{} `{}`",
                                w.object.str_at(&["kind"]).unwrap_or(""),
                                name_of(w.object)
                            ),
                        )
                    })
                    .filter(|(v, _)| *v > 0.0)
                    .collect();
                consumers.sort_by(|a, b| b.0.total_cmp(&a.0));
                let mut top = String::new();
                for (value, name) in consumers.iter().take(3) {
                    let _ = write!(
                        top,
                        "{}{name} {}",
                        if top.is_empty() { "" } else { ", " },
                        show(resource, *value)
                    );
                }
                out.push((
                    qi,
                    resource,
                    format!(
                        "`{}` {when} is {} but quota `{}` allows {} (largest: {top})",
                        RESOURCES[resource],
                        show(resource, used),
                        name_of(quota.object),
                        show(resource, hard)
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::fixture;

    #[test]
    fn over_quota() {
        fixture("capacity/over-quota");
    }

    #[test]
    fn over_quota_at_scale() {
        fixture("capacity/over-quota-at-scale");
    }
}
