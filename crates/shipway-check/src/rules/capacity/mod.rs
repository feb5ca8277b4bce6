//! Capacity rules: whether a namespace's workloads fit its ResourceQuotas, computed by
//! [`crate::capacity`].

mod over_quota;
mod over_quota_at_scale;

pub use over_quota::OVER_QUOTA;
pub use over_quota_at_scale::OVER_QUOTA_AT_SCALE;

use std::fmt::Write as _;

use crate::capacity::{Amounts, Namespace, RESOURCES, show};
use crate::context::name_of;

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
