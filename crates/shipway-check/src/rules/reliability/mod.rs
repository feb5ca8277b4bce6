//! Reliability and high-availability rules: what makes a workload fail, flap or go down
//! during a node drain or a rollout.

mod hpa_min_above_max;
mod latest_image_tag;
mod missing_limits;
mod missing_liveness_probe;
mod missing_pdb;
mod missing_readiness_probe;
mod missing_requests;
mod missing_spread;
mod pdb_blocks_eviction;
mod resources;
mod selector_matches_nothing;

pub use hpa_min_above_max::HPA_MIN_ABOVE_MAX;
pub use latest_image_tag::LATEST_IMAGE_TAG;
pub use missing_limits::MISSING_LIMITS;
pub use missing_liveness_probe::MISSING_LIVENESS_PROBE;
pub use missing_pdb::MISSING_PDB;
pub use missing_readiness_probe::MISSING_READINESS_PROBE;
pub use missing_requests::MISSING_REQUESTS;
pub use missing_spread::MISSING_SPREAD;
pub use pdb_blocks_eviction::PDB_BLOCKS_EVICTION;
pub use selector_matches_nothing::SELECTOR_MATCHES_NOTHING;

/// Reports every regular container of a long-running workload that has no `field`
/// (`livenessProbe`, `readinessProbe`).
fn report_missing_probe(
    ctx: &mut crate::Ctx<'_>,
    rule: &'static crate::rules::Rule,
    object: &shipway_model::Node,
    field: &str,
) {
    use crate::workload::{is_long_running, pod_template, regular_containers};
    if !is_long_running(object) {
        return;
    }
    let Some(pod) = pod_template(object) else {
        return;
    };
    for (index, container) in regular_containers(pod.spec) {
        if container.get(field).is_some() {
            continue;
        }
        let name = container.str_at(&["name"]).unwrap_or("");
        ctx.report(
            rule,
            object,
            &format!("{}.containers[{index}]", pod.spec_path),
            format!("container `{name}` has no `{field}`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::fixture;

    #[test]
    fn latest_image_tag() {
        fixture("reliability/latest-image-tag");
    }

    #[test]
    fn missing_readiness_probe() {
        fixture("reliability/missing-readiness-probe");
    }

    #[test]
    fn missing_liveness_probe() {
        fixture("reliability/missing-liveness-probe");
    }

    #[test]
    fn missing_requests() {
        fixture("reliability/missing-requests");
    }

    #[test]
    fn missing_limits() {
        fixture("reliability/missing-limits");
    }

    #[test]
    fn missing_pdb() {
        fixture("reliability/missing-pdb");
    }

    #[test]
    fn missing_spread() {
        fixture("reliability/missing-spread");
    }

    #[test]
    fn pdb_blocks_eviction() {
        fixture("reliability/pdb-blocks-eviction");
    }

    #[test]
    fn selector_matches_nothing() {
        fixture("reliability/selector-matches-nothing");
    }

    #[test]
    fn hpa_min_above_max() {
        fixture("reliability/hpa-min-above-max");
    }
}
