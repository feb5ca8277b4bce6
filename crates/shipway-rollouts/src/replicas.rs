//! Argo Rollouts' replica arithmetic for a canary without a traffic router: how many canary
//! and stable pods a weight means (traffic follows the pod ratio), and how `maxSurge` and
//! `maxUnavailable` strings are read — including the upstream quirk that any string is a
//! percentage, with or without `%`.

/// `maxSurge`/`maxUnavailable` as written: an integer, or a string read as a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IntOrPercent {
    /// A pod count.
    Count(u32),
    /// A percentage of `spec.replicas` (`"25%"`, and — as Argo Rollouts reads it — `"25"`).
    Percent(f64),
}

impl IntOrPercent {
    /// Reads a YAML/JSON value: a number is a count, a string a percentage.
    pub fn from_json(value: &serde_json::Value) -> Result<IntOrPercent, String> {
        match value {
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(IntOrPercent::Count)
                .ok_or_else(|| format!("`{n}` is not a pod count")),
            serde_json::Value::String(text) => {
                let digits = text.trim().trim_end_matches('%');
                digits
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .map(IntOrPercent::Percent)
                    .ok_or_else(|| format!("`{text}` is not a percentage"))
            }
            other => Err(format!("`{other}` is neither a count nor a percentage")),
        }
    }

    fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Count(n) => n,
            IntOrPercent::Percent(p) => {
                let exact = f64::from(replicas) * p / 100.0;
                if round_up {
                    exact.ceil() as u32
                } else {
                    exact.floor() as u32
                }
            }
        }
    }
}

/// `maxSurge` (rounded up) and `maxUnavailable` (rounded down) in pods; when both come to
/// 0, unavailable becomes 1 so a rollout can always move.
pub fn fenceposts(replicas: u32, surge: IntOrPercent, unavailable: IntOrPercent) -> (u32, u32) {
    let surge = surge.resolve(replicas, true);
    let unavailable = unavailable.resolve(replicas, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The (canary, stable) pod counts for `weight` of `max_weight` with `replicas` desired,
/// as Argo Rollouts' basic canary computes them: of the candidate canary sizes (floor and
/// ceiling of the exact share, over `replicas` and, when surge is allowed, `replicas + 1`)
/// the one whose ratio is closest to the weight; a canary of 0 only at weight 0 (or with one
/// replica and no surge), and never all of them below full weight.
pub fn weighted_counts(replicas: u32, weight: u32, max_weight: u32, surge: bool) -> (u32, u32) {
    if max_weight == 0 || weight == 0 {
        return (0, replicas);
    }
    if weight >= max_weight {
        return (replicas, 0);
    }
    let (w, m) = (f64::from(weight), f64::from(max_weight));
    let zero_allowed = replicas == 1 && !surge;
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    let mut totals = vec![replicas];
    if surge {
        totals.push(replicas + 1);
    }
    for total in totals {
        let exact = f64::from(total) * w / m;
        let (floor, ceil) = (exact.floor() as u32, exact.ceil() as u32);
        let tie = (exact - exact.floor() - 0.5).abs() < f64::EPSILON;
        let mut options = vec![ceil];
        if floor != ceil && !tie {
            options.push(floor);
        }
        for canary in options {
            if canary == 0 && !zero_allowed {
                continue;
            }
            // All pods on the canary below full weight would leave no stable pod.
            if canary >= total && !zero_allowed {
                continue;
            }
            candidates.push((canary, total));
        }
    }
    let best = candidates.iter().copied().min_by(|(c1, t1), (c2, t2)| {
        let d1 = (f64::from(*c1) * m / f64::from(*t1) - w).abs();
        let d2 = (f64::from(*c2) * m / f64::from(*t2) - w).abs();
        d1.total_cmp(&d2)
    });
    match best {
        Some((canary, total)) => (canary, total - canary),
        None if zero_allowed || replicas == 0 => {
            // One replica and no surge: all on the canary from half the weight on.
            if 2 * weight >= max_weight {
                (replicas, 0)
            } else {
                (0, replicas)
            }
        }
        // Only one replica and a weight that rounds to all of it: with surge, one pod of
        // each side (Argo Rollouts would run two canary pods and no stable one).
        None if surge => (1, replicas),
        None => (1, replicas.saturating_sub(1)),
    }
}

/// The canary's pods with a traffic router: `ceil(weight × replicas / max)`; stable keeps
/// every replica (so an abort is instant).
pub fn routed_canary_count(replicas: u32, weight: u32, max_weight: u32) -> u32 {
    if max_weight == 0 {
        return 0;
    }
    (u64::from(weight) * u64::from(replicas)).div_ceil(u64::from(max_weight)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_of_argo_rollouts_basic_canary() {
        assert_eq!(weighted_counts(10, 41, 100, true), (4, 6));
        assert_eq!(weighted_counts(3, 50, 100, true), (2, 2));
        assert_eq!(weighted_counts(1, 5, 100, true), (1, 1));
        assert_eq!(weighted_counts(1, 40, 100, false), (0, 1));
        assert_eq!(weighted_counts(1, 50, 100, false), (1, 0));
        assert_eq!(weighted_counts(5, 0, 100, true), (0, 5));
        assert_eq!(weighted_counts(5, 100, 100, true), (5, 0));
        assert_eq!(weighted_counts(4, 25, 100, false), (1, 3));
        assert_eq!(
            weighted_counts(1, 75, 100, true),
            (1, 1),
            "found by the property below"
        );
    }

    #[test]
    fn surge_strings_are_percentages_and_zero_zero_becomes_one_unavailable() {
        let parse = |v| IntOrPercent::from_json(&v).unwrap();
        assert_eq!(parse(serde_json::json!("25%")), IntOrPercent::Percent(25.0));
        assert_eq!(parse(serde_json::json!("1")), IntOrPercent::Percent(1.0));
        assert_eq!(parse(serde_json::json!(2)), IntOrPercent::Count(2));
        assert!(IntOrPercent::from_json(&serde_json::json!("lots")).is_err());
        assert_eq!(
            fenceposts(10, IntOrPercent::Percent(25.0), IntOrPercent::Percent(25.0)),
            (3, 2)
        );
        assert_eq!(
            fenceposts(3, IntOrPercent::Count(0), IntOrPercent::Percent(10.0)),
            (0, 1)
        );
        assert_eq!(routed_canary_count(10, 5, 100), 1);
        assert_eq!(routed_canary_count(10, 50, 100), 5);
    }

    proptest::proptest! {
        #[test]
        fn counts_stay_within_one_surge_pod(replicas in 1u32..50, weight in 0u32..=100, surge: bool) {
            let (canary, stable) = weighted_counts(replicas, weight, 100, surge);
            proptest::prop_assert!(canary + stable <= replicas + u32::from(surge));
            proptest::prop_assert!(canary + stable >= replicas);
            if weight > 0 && weight < 100 && (surge || replicas != 1) {
                proptest::prop_assert!(canary >= 1, "a weight above 0 runs a canary pod");
                proptest::prop_assert!(stable >= 1, "below full weight some stable stays");
            }
        }
    }
}
