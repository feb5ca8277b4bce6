//! The canary strategy's decision for one reconcile of a Rollout, with or without a traffic router:
//! from the spec, the status and the `ReplicaSets` seen, what each `ReplicaSet`'s size should
//! be, which step the rollout is on, its pause conditions, phase and message — as Argo
//! Rollouts decides them (`rollout/canary.go`), so `kubectl get rollout` and Argo CD read
//! the status the same way.
//!
//! Simplification, documented: Argo Rollouts moves towards a step's counts a few pods at a
//! time within `maxSurge`/`maxUnavailable`; this sets the canary to its count at once and
//! shrinks the stable side only once the canary's pods are available, which never drops
//! below the desired capacity and reaches the same counts.

use std::time::Duration;

use crate::replicas::weighted_counts;

/// One canary step, as the controller acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `setWeight: N`.
    SetWeight(u32),
    /// `pause: {}` (`None`: until promoted) or `pause: {duration}`.
    Pause(Option<Duration>),
    /// `analysis: {...}`: an inline step analysis; `index` names it.
    Analysis,
    /// `setCanaryScale: {...}`: the canary's size apart from the traffic weight (only with a
    /// traffic router, as Argo Rollouts' validation requires).
    SetCanaryScale(CanaryScale),
}

/// What a `setCanaryScale` step fixes the canary's size to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryScale {
    /// `replicas: N`: exactly N pods, whatever the weight.
    Replicas(u32),
    /// `weight: N`: `ceil(N × replicas / 100)` pods, whatever the traffic weight.
    Weight(u32),
    /// `matchTrafficWeight: true`: back to the traffic weight's share (the default).
    MatchTrafficWeight,
}

/// What the decision needs of the Rollout's spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// `spec.replicas` (default 1).
    pub replicas: u32,
    /// `strategy.canary.steps`.
    pub steps: Vec<Step>,
    /// Whether `maxSurge` allows one pod above the desired count.
    pub surge: bool,
    /// `spec.paused`.
    pub paused: bool,
    /// A traffic router moves the traffic (Gateway API, NGINX Ingress): the canary gets
    /// `ceil(weight × replicas)` pods (or what a `setCanaryScale` step says) and stable keeps
    /// every replica, so an abort is instant.
    pub routed: bool,
}

/// The (canary, stable) pod counts at step `index`, whose weight in force is `weight`.
fn counts(spec: &Spec, index: u32, weight: u32) -> (u32, u32) {
    if spec.routed {
        let canary = match canary_scale_at(&spec.steps, index) {
            Some(CanaryScale::Replicas(n)) => n,
            Some(CanaryScale::Weight(w)) => {
                crate::replicas::routed_canary_count(spec.replicas, w, 100)
            }
            Some(CanaryScale::MatchTrafficWeight) | None => {
                crate::replicas::routed_canary_count(spec.replicas, weight, 100)
            }
        };
        (canary, spec.replicas)
    } else {
        weighted_counts(spec.replicas, weight, 100, spec.surge)
    }
}

/// The `setCanaryScale` in force at step `index` (Argo Rollouts' `UseSetCanaryScale`): the
/// last one at or before it, unless that one is `matchTrafficWeight`; none after the last
/// step, where the canary takes every replica. Only a routed canary consults it.
pub fn canary_scale_at(steps: &[Step], index: u32) -> Option<CanaryScale> {
    if index as usize >= steps.len() {
        return None;
    }
    steps[..=index as usize]
        .iter()
        .rev()
        .find_map(|step| match step {
            Step::SetCanaryScale(scale) => Some(*scale),
            _ => None,
        })
        .filter(|scale| *scale != CanaryScale::MatchTrafficWeight)
}

/// A pause the controller put on the rollout (`status.pauseConditions[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseCondition {
    /// `CanaryPauseStep`, `InconclusiveAnalysisRun`.
    pub reason: String,
    /// When it was added, in seconds since the epoch.
    pub start: u64,
}

/// What the decision needs of the Rollout's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// `status.stableRS`: the promoted pod-template hash (`None` before the first deploy).
    pub stable: Option<String>,
    /// The hash the last decision worked on (`status.currentPodHash`).
    pub current: Option<String>,
    /// `status.currentStepIndex`.
    pub step: u32,
    /// `status.pauseConditions`.
    pub pauses: Vec<PauseCondition>,
    /// `status.controllerPause`: the controller paused, so pause conditions that are gone
    /// were cleared by a user (a promote).
    pub controller_pause: bool,
    /// `status.abort`.
    pub abort: bool,
    /// `status.promoteFull`.
    pub promote_full: bool,
}

impl Status {
    /// A template other than the one worked on: back to the first step, with no pause,
    /// abort or full promotion left over (Argo Rollouts' `resetRolloutStatus`).
    pub fn start_over_for(&mut self, new: &str) {
        if self.current.as_deref() != Some(new) {
            self.current = Some(new.to_string());
            self.step = 0;
            self.pauses.clear();
            self.controller_pause = false;
            self.abort = false;
            self.promote_full = false;
        }
    }
}

/// A `ReplicaSet` of the Rollout, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSet {
    /// Its `rollouts-pod-template-hash`.
    pub hash: String,
    /// `spec.replicas`.
    pub replicas: u32,
    /// `status.availableReplicas`.
    pub available: u32,
}

/// How the current step's analysis run stands (for an `analysis` step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAnalysis {
    /// Not created yet, or still measuring.
    Running,
    /// Passed: the step is done.
    Successful,
    /// Failed or Error: the rollout aborts.
    Failed,
    /// Inconclusive: the rollout pauses until promoted.
    Inconclusive,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The desired size of each `ReplicaSet` by hash (the new one included, created when
    /// missing); `ReplicaSets` not listed go to 0.
    pub sizes: Vec<(String, u32)>,
    /// The status to write.
    pub status: Status,
    /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
    pub phase: &'static str,
    /// Why, for `status.message`.
    pub message: String,
    /// The weight in force, in percent (traffic follows the pod ratio).
    pub weight: u32,
    /// Whether an analysis run for the current step must exist.
    pub wants_step_analysis: bool,
    /// When to look again at the latest, even if nothing changes (a timed pause).
    pub requeue: Option<Duration>,
}

/// The weight in force at step `index`: the last `setWeight` at or before it, 0 before
/// any, 100 after the last step.
pub fn weight_at(steps: &[Step], index: u32) -> u32 {
    if index as usize >= steps.len() {
        return 100;
    }
    steps[..=index as usize]
        .iter()
        .rev()
        .find_map(|step| match step {
            Step::SetWeight(w) => Some(*w),
            _ => None,
        })
        .unwrap_or(0)
}

fn observed<'a>(sets: &'a [ReplicaSet], hash: &str) -> Option<&'a ReplicaSet> {
    sets.iter().find(|rs| rs.hash == hash)
}

/// Decides one reconcile of a canary Rollout whose template hashes to `new`, at `now`
/// (seconds since the epoch).
pub fn decide(
    spec: &Spec,
    status: &Status,
    new: &str,
    sets: &[ReplicaSet],
    analysis: StepAnalysis,
    now: u64,
) -> Decision {
    let mut next = status.clone();
    let r = spec.replicas;
    let available = |hash: &str| observed(sets, hash).map_or(0, |rs| rs.available);
    // A new template: start again from the first step.
    next.start_over_for(new);
    let steps = spec.steps.len() as u32;
    // The first deploy, and a template equal to the stable one, skip the steps.
    let stable = match &next.stable {
        None => {
            next.stable = Some(new.to_string());
            next.step = steps;
            new.to_string()
        }
        Some(stable) if stable == new => {
            next.step = steps;
            stable.clone()
        }
        Some(stable) => stable.clone(),
    };
    if stable == new {
        let healthy = available(new) >= r;
        return Decision {
            sizes: vec![(new.to_string(), r)],
            phase: if healthy { "Healthy" } else { "Progressing" },
            message: if healthy {
                String::new()
            } else {
                "updated replicas are still becoming available".into()
            },
            status: next,
            weight: 100,
            wants_step_analysis: false,
            requeue: None,
        };
    }
    if next.abort {
        // As Argo Rollouts: an abort clears the pauses and starts the steps over, so a
        // retry (`status.abort: false`) begins at the first step.
        next.step = 0;
        next.pauses.clear();
        next.controller_pause = false;
        return Decision {
            sizes: vec![(stable.clone(), r), (new.to_string(), 0)],
            phase: "Degraded",
            message: format!(
                "RolloutAborted: Rollout aborted update to revision {new}{}",
                if available(&stable) >= r {
                    ""
                } else {
                    " (stable still scaling up)"
                }
            ),
            status: next,
            weight: 0,
            wants_step_analysis: false,
            requeue: None,
        };
    }
    // A user cleared the pauses the controller set: that was a promote of the step.
    if next.controller_pause && next.pauses.is_empty() {
        next.controller_pause = false;
        if next.step < steps
            && matches!(
                spec.steps[next.step as usize],
                Step::Pause(_) | Step::Analysis
            )
        {
            next.step += 1;
        }
    }
    if next.promote_full {
        next.step = steps;
        next.pauses.clear();
    }
    let mut requeue = None;
    let mut wants_step_analysis = false;
    let mut message = String::new();
    let mut phase = "Progressing";
    // Advance through every step that is already done, in one decision.
    loop {
        let weight = weight_at(&spec.steps, next.step);
        let (canary, stable_size) = counts(spec, next.step, weight);
        if next.step >= steps {
            break;
        }
        let settled = available(new) >= canary
            && observed(sets, new).is_some_and(|rs| rs.replicas == canary)
            && observed(sets, &stable).is_none_or(|rs| rs.replicas == stable_size)
            && sets
                .iter()
                .filter(|rs| rs.hash != new && rs.hash != stable)
                .all(|rs| rs.available == 0);
        // An inconclusive background analysis holds the rollout wherever it stands, until
        // a promote clears the pause.
        if next
            .pauses
            .iter()
            .any(|p| p.reason == "InconclusiveAnalysisRun")
        {
            phase = "Paused";
            message = "InconclusiveAnalysisRun".into();
            break;
        }
        match &spec.steps[next.step as usize] {
            Step::SetWeight(_) => {
                if !settled {
                    message =
                        format!("waiting for the canary at weight {weight} ({canary} of {r} pods)");
                    break;
                }
                next.step += 1;
            }
            // As Argo Rollouts: done once the counts it asks for are reached.
            Step::SetCanaryScale(_) => {
                if !settled {
                    message = format!("waiting for the canary at scale {canary} of {r} pods");
                    break;
                }
                next.step += 1;
            }
            Step::Pause(duration) => {
                if spec.paused {
                    break;
                }
                let start = if let Some(pause) =
                    next.pauses.iter().find(|p| p.reason == "CanaryPauseStep")
                {
                    pause.start
                } else {
                    next.pauses.push(PauseCondition {
                        reason: "CanaryPauseStep".into(),
                        start: now,
                    });
                    next.controller_pause = true;
                    now
                };
                match duration {
                    Some(duration) if now >= start + duration.as_secs() => {
                        next.pauses.retain(|p| p.reason != "CanaryPauseStep");
                        next.controller_pause = !next.pauses.is_empty();
                        next.step += 1;
                    }
                    Some(duration) => {
                        requeue = Some(Duration::from_secs(start + duration.as_secs() - now));
                        phase = "Paused";
                        message = "CanaryPauseStep".into();
                        break;
                    }
                    None => {
                        phase = "Paused";
                        message = "CanaryPauseStep".into();
                        break;
                    }
                }
            }
            Step::Analysis => match analysis {
                StepAnalysis::Successful => next.step += 1,
                StepAnalysis::Running => {
                    wants_step_analysis = true;
                    message = format!("waiting for the analysis of step {}", next.step);
                    break;
                }
                StepAnalysis::Inconclusive => {
                    wants_step_analysis = true;
                    if !next
                        .pauses
                        .iter()
                        .any(|p| p.reason == "InconclusiveAnalysisRun")
                    {
                        next.pauses.push(PauseCondition {
                            reason: "InconclusiveAnalysisRun".into(),
                            start: now,
                        });
                        next.controller_pause = true;
                    }
                    phase = "Paused";
                    message = "InconclusiveAnalysisRun".into();
                    break;
                }
                StepAnalysis::Failed => {
                    next.abort = true;
                    next.step = 0;
                    next.pauses.clear();
                    next.controller_pause = false;
                    return Decision {
                        sizes: vec![(stable.clone(), r), (new.to_string(), 0)],
                        phase: "Degraded",
                        message: format!(
                            "RolloutAborted: Step-based analysis of step {} failed",
                            next.step
                        ),
                        status: next,
                        weight: 0,
                        wants_step_analysis: true,
                        requeue: None,
                    };
                }
            },
        }
    }
    if spec.paused {
        phase = "Paused";
        message = "manually paused".into();
    }
    let weight = weight_at(&spec.steps, next.step);
    let (canary, stable_size) = counts(spec, next.step, weight);
    if next.step >= steps {
        // Every step done: promote once the new ReplicaSet is fully available.
        if available(new) >= r && observed(sets, new).is_some_and(|rs| rs.replicas == r) {
            next.stable = Some(new.to_string());
            return Decision {
                sizes: vec![(new.to_string(), r)],
                phase: "Healthy",
                message: String::new(),
                status: next,
                weight: 100,
                wants_step_analysis: false,
                requeue: None,
            };
        }
        return Decision {
            sizes: vec![
                (new.to_string(), r),
                (stable.clone(), r.min(stable_keep(sets, &stable))),
            ],
            phase,
            message: "waiting for all steps to complete".into(),
            status: next,
            weight: 100,
            wants_step_analysis: false,
            requeue,
        };
    }
    // Keep capacity: the stable side shrinks only as far as the canary's pods are up.
    let shortfall = canary.saturating_sub(available(new));
    let stable_now = observed(sets, &stable).map_or(0, |rs| rs.replicas);
    let stable_target = (stable_size + shortfall).min(stable_now.max(stable_size));
    Decision {
        sizes: vec![(new.to_string(), canary), (stable.clone(), stable_target)],
        phase,
        message,
        status: next,
        weight,
        wants_step_analysis,
        requeue,
    }
}

/// The stable `ReplicaSet`'s size while the new one finishes scaling after the last step.
fn stable_keep(sets: &[ReplicaSet], stable: &str) -> u32 {
    observed(sets, stable).map_or(0, |rs| rs.replicas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(steps: Vec<Step>) -> Spec {
        Spec {
            replicas: 4,
            steps,
            surge: true,
            paused: false,
            routed: false,
        }
    }

    fn sets(list: &[(&str, u32, u32)]) -> Vec<ReplicaSet> {
        list.iter()
            .map(|(hash, replicas, available)| ReplicaSet {
                hash: (*hash).into(),
                replicas: *replicas,
                available: *available,
            })
            .collect()
    }

    fn size(decision: &Decision, hash: &str) -> u32 {
        decision
            .sizes
            .iter()
            .find(|(h, _)| h == hash)
            .map_or(0, |(_, n)| *n)
    }

    #[test]
    fn the_first_deploy_is_promoted_at_once() {
        let s = spec(vec![Step::SetWeight(25), Step::Pause(None)]);
        let d = decide(&s, &Status::default(), "a", &[], StepAnalysis::Running, 0);
        assert_eq!(size(&d, "a"), 4);
        assert_eq!(d.status.stable.as_deref(), Some("a"));
        assert_eq!(d.status.step, 2);
        assert_eq!(d.phase, "Progressing");
        let d = decide(
            &s,
            &d.status,
            "a",
            &sets(&[("a", 4, 4)]),
            StepAnalysis::Running,
            1,
        );
        assert_eq!(d.phase, "Healthy");
    }

    #[test]
    fn a_canary_walks_its_steps_pauses_and_is_promoted() {
        let s = spec(vec![
            Step::SetWeight(25),
            Step::Pause(Some(Duration::from_secs(10))),
            Step::SetWeight(50),
            Step::Pause(None),
        ]);
        let stable = Status {
            stable: Some("a".into()),
            current: Some("a".into()),
            step: 4,
            ..Status::default()
        };
        // The new template: one canary pod (25 % of 4), stable kept at 4 until it is up.
        let d = decide(
            &s,
            &stable,
            "b",
            &sets(&[("a", 4, 4)]),
            StepAnalysis::Running,
            100,
        );
        assert_eq!((size(&d, "b"), size(&d, "a")), (1, 4));
        assert_eq!(d.status.step, 0);
        assert_eq!(d.weight, 25);
        // The canary pod is up: stable shrinks to 3, then the timed pause starts.
        let d = decide(
            &s,
            &d.status,
            "b",
            &sets(&[("a", 4, 4), ("b", 1, 1)]),
            StepAnalysis::Running,
            101,
        );
        assert_eq!((size(&d, "b"), size(&d, "a")), (1, 3));
        let d = decide(
            &s,
            &d.status,
            "b",
            &sets(&[("a", 3, 3), ("b", 1, 1)]),
            StepAnalysis::Running,
            102,
        );
        assert_eq!(d.phase, "Paused");
        assert_eq!(d.status.step, 1);
        assert_eq!(d.requeue, Some(Duration::from_secs(10)));
        // The pause ends: weight 50, then the indefinite pause waits for a promote.
        let d = decide(
            &s,
            &d.status,
            "b",
            &sets(&[("a", 3, 3), ("b", 1, 1)]),
            StepAnalysis::Running,
            112,
        );
        assert_eq!(d.status.step, 2);
        assert_eq!((size(&d, "b"), size(&d, "a")), (2, 3));
        let observed = sets(&[("a", 2, 2), ("b", 2, 2)]);
        let d = decide(&s, &d.status, "b", &observed, StepAnalysis::Running, 113);
        assert_eq!((d.phase, d.status.step), ("Paused", 3));
        assert!(d.status.controller_pause);
        let d = decide(&s, &d.status, "b", &observed, StepAnalysis::Running, 500);
        assert_eq!(d.phase, "Paused", "an indefinite pause waits");
        // `promote` clears the pause conditions.
        let mut promoted = d.status.clone();
        promoted.pauses.clear();
        let d = decide(&s, &promoted, "b", &observed, StepAnalysis::Running, 501);
        assert_eq!(d.status.step, 4);
        assert_eq!(size(&d, "b"), 4);
        let d = decide(
            &s,
            &d.status,
            "b",
            &sets(&[("a", 2, 2), ("b", 4, 4)]),
            StepAnalysis::Running,
            502,
        );
        assert_eq!(d.phase, "Healthy");
        assert_eq!(d.status.stable.as_deref(), Some("b"));
        assert_eq!(size(&d, "a"), 0, "the old stable goes to 0");
    }

    #[test]
    fn a_failed_analysis_aborts_to_stable_and_inconclusive_pauses() {
        let s = spec(vec![
            Step::SetWeight(50),
            Step::Analysis,
            Step::SetWeight(100),
        ]);
        let status = Status {
            stable: Some("a".into()),
            current: Some("b".into()),
            step: 1,
            ..Status::default()
        };
        let observed = sets(&[("a", 2, 2), ("b", 2, 2)]);
        let d = decide(&s, &status, "b", &observed, StepAnalysis::Running, 0);
        assert!(d.wants_step_analysis);
        assert_eq!(d.status.step, 1);
        let d = decide(&s, &status, "b", &observed, StepAnalysis::Inconclusive, 0);
        assert_eq!(d.phase, "Paused");
        assert_eq!(d.status.pauses[0].reason, "InconclusiveAnalysisRun");
        let d = decide(&s, &status, "b", &observed, StepAnalysis::Failed, 0);
        assert_eq!(d.phase, "Degraded");
        assert!(d.status.abort);
        assert_eq!((size(&d, "a"), size(&d, "b")), (4, 0));
        // Aborted stays aborted until the template changes (or a retry clears it).
        let d = decide(&s, &d.status, "b", &observed, StepAnalysis::Successful, 1);
        assert_eq!(d.phase, "Degraded");
        let d = decide(&s, &d.status, "c", &observed, StepAnalysis::Running, 2);
        assert!(!d.status.abort, "a new revision starts over");
        assert_eq!(d.status.step, 0);
    }

    #[test]
    fn an_inconclusive_pause_holds_any_step_until_promoted() {
        // A background analysis' pause: the settled weight step would otherwise complete.
        let s = spec(vec![Step::SetWeight(50), Step::SetWeight(75)]);
        let status = Status {
            stable: Some("a".into()),
            current: Some("b".into()),
            step: 0,
            pauses: vec![PauseCondition {
                reason: "InconclusiveAnalysisRun".into(),
                start: 5,
            }],
            controller_pause: true,
            ..Status::default()
        };
        let observed = sets(&[("a", 2, 2), ("b", 2, 2)]);
        let d = decide(&s, &status, "b", &observed, StepAnalysis::Running, 10);
        assert_eq!((d.phase, d.status.step), ("Paused", 0));
        assert_eq!(d.message, "InconclusiveAnalysisRun");
        // A promote (the pause cleared) lets it go on.
        let promoted = Status {
            pauses: Vec::new(),
            ..status
        };
        let d = decide(&s, &promoted, "b", &observed, StepAnalysis::Running, 11);
        assert_eq!(d.status.step, 1);
        assert_ne!(d.phase, "Paused");
    }

    #[test]
    fn with_a_router_stable_keeps_every_replica_and_the_canary_gets_its_share() {
        let mut s = spec(vec![Step::SetWeight(25), Step::Pause(None)]);
        s.routed = true;
        let status = Status {
            stable: Some("a".into()),
            current: Some("a".into()),
            step: 2,
            ..Status::default()
        };
        let d = decide(
            &s,
            &status,
            "b",
            &sets(&[("a", 4, 4)]),
            StepAnalysis::Running,
            0,
        );
        assert_eq!((size(&d, "b"), size(&d, "a")), (1, 4));
        let d = decide(
            &s,
            &d.status,
            "b",
            &sets(&[("a", 4, 4), ("b", 1, 1)]),
            StepAnalysis::Running,
            1,
        );
        assert_eq!(
            (size(&d, "b"), size(&d, "a")),
            (1, 4),
            "stable is not shrunk"
        );
        assert_eq!((d.phase, d.status.step), ("Paused", 1));
    }

    #[test]
    fn set_canary_scale_sizes_a_routed_canary_apart_from_its_weight() {
        let mut s = spec(vec![
            Step::SetCanaryScale(CanaryScale::Replicas(3)),
            Step::SetWeight(25),
            Step::Pause(None),
            Step::SetCanaryScale(CanaryScale::Weight(50)),
            Step::Pause(None),
            Step::SetCanaryScale(CanaryScale::MatchTrafficWeight),
            Step::Pause(None),
        ]);
        s.routed = true;
        let at = |step: u32, observed: &[(&str, u32, u32)]| {
            let status = Status {
                stable: Some("a".into()),
                current: Some("b".into()),
                step,
                ..Status::default()
            };
            decide(&s, &status, "b", &sets(observed), StepAnalysis::Running, 0)
        };
        // Step 0: three canary pods at weight 0; the step waits for them.
        let d = at(0, &[("a", 4, 4)]);
        assert_eq!((size(&d, "b"), size(&d, "a"), d.weight), (3, 4, 0));
        assert_eq!(d.status.step, 0);
        // Once they are up: the weight goes to 25 and the canary stays at 3 pods.
        let d = at(0, &[("a", 4, 4), ("b", 3, 3)]);
        assert_eq!((d.status.step, d.phase), (2, "Paused"));
        assert_eq!((size(&d, "b"), d.weight), (3, 25));
        // `weight: 50` of 4 replicas: 2 pods, the traffic still at 25.
        let d = at(3, &[("a", 4, 4), ("b", 3, 3)]);
        assert_eq!((size(&d, "b"), d.weight), (2, 25));
        // `matchTrafficWeight`: back to ceil(25 % of 4) = 1.
        let d = at(5, &[("a", 4, 4), ("b", 2, 2)]);
        assert_eq!((size(&d, "b"), size(&d, "a"), d.weight), (1, 4, 25));
        // Past the last step the canary takes every replica.
        assert_eq!(canary_scale_at(&s.steps, 7), None);
        assert_eq!(canary_scale_at(&s.steps, 2), Some(CanaryScale::Replicas(3)));
    }

    #[test]
    fn weights_in_force() {
        let steps = vec![
            Step::Pause(None),
            Step::SetWeight(20),
            Step::Analysis,
            Step::SetWeight(60),
        ];
        assert_eq!(weight_at(&steps, 0), 0);
        assert_eq!(weight_at(&steps, 2), 20);
        assert_eq!(weight_at(&steps, 3), 60);
        assert_eq!(weight_at(&steps, 4), 100);
    }
}
