//! The blue-green strategy's decision for one reconcile of a Rollout, as Argo Rollouts
//! decides it (`rollout/bluegreen.go`): the new `ReplicaSet` comes up at full size beside
//! the one the active Service selects; the preview Service selects it at once; once it is
//! saturated, the pre-promotion analysis runs, then the pause (`autoPromotionEnabled:
//! false` waits for a promote, `autoPromotionSeconds` resumes by itself), then the active
//! Service switches to it and the post-promotion analysis runs before it becomes stable.
//! The previous `ReplicaSets` stay at full size until a scale-down deadline
//! (`scaleDownDelaySeconds`), so a rollback within it is a selector switch. An abort points
//! the active Service back at stable at once.

use std::time::Duration;

use crate::canary::{PauseCondition, Status, StepAnalysis};

/// What the decision needs of the Rollout's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `spec.replicas` (default 1).
    pub replicas: u32,
    /// `autoPromotionEnabled` (default true): without it, the rollout waits for a promote
    /// before the switch.
    pub auto_promotion: bool,
    /// `autoPromotionSeconds` (0: none): a timed pause before the switch.
    pub auto_promotion_seconds: u64,
    /// A `prePromotionAnalysis` is given.
    pub pre_analysis: bool,
    /// A `postPromotionAnalysis` is given.
    pub post_analysis: bool,
    /// `scaleDownDelaySeconds` (default 30): how long a previous `ReplicaSet` keeps its pods
    /// after the active Service left it.
    pub scale_down_delay: u64,
    /// `abortScaleDownDelaySeconds` (default 30; 0 keeps the aborted pods).
    pub abort_scale_down_delay: u64,
    /// `spec.paused`.
    pub paused: bool,
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
    /// Its `scale-down-deadline` annotation, in seconds since the epoch.
    pub deadline: Option<u64>,
}

/// Which promotion analysis a decision needs to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    /// `prePromotionAnalysis`: before the switch.
    Pre,
    /// `postPromotionAnalysis`: after it, before the new `ReplicaSet` becomes stable.
    Post,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The desired size of each `ReplicaSet` by hash (the new one included, created when
    /// missing); `ReplicaSets` not listed go to 0.
    pub sizes: Vec<(String, u32)>,
    /// Scale-down deadlines to write on `ReplicaSets` that do not have one yet.
    pub deadlines: Vec<(String, u64)>,
    /// `ReplicaSets` whose scale-down deadline is to be removed: they serve again.
    pub clear_deadlines: Vec<String>,
    /// The status to write.
    pub status: Status,
    /// The hash the active Service selects.
    pub active: String,
    /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
    pub phase: &'static str,
    /// Why, for `status.message`.
    pub message: String,
    /// The promotion analysis that must exist.
    pub wants_analysis: Option<Promotion>,
    /// When to look again at the latest, even if nothing changes.
    pub requeue: Option<Duration>,
}

fn observed<'a>(sets: &'a [ReplicaSet], hash: &str) -> Option<&'a ReplicaSet> {
    sets.iter().find(|rs| rs.hash == hash)
}

/// The analyses' state for one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analyses {
    /// The pre-promotion run (`Running` when there is none yet).
    pub pre: StepAnalysis,
    /// The post-promotion run.
    pub post: StepAnalysis,
}

/// Decides one reconcile of a blue-green Rollout whose template hashes to `new`, with the
/// active Service on `active` (`status.blueGreen.activeSelector`), at `now` (seconds since
/// the epoch).
#[allow(clippy::too_many_lines)] // one state machine, read top to bottom as Argo's
pub fn decide(
    spec: &Spec,
    status: &Status,
    active: Option<&str>,
    new: &str,
    sets: &[ReplicaSet],
    analyses: Analyses,
    now: u64,
) -> Decision {
    let mut next = status.clone();
    let r = spec.replicas;
    let available = |hash: &str| observed(sets, hash).map_or(0, |rs| rs.available);
    next.start_over_for(new);
    next.step = 0;
    let stable = next.stable.get_or_insert_with(|| new.to_string()).clone();
    let mut active = active.unwrap_or(&stable).to_string();
    let mut out = Decision {
        sizes: Vec::new(),
        deadlines: Vec::new(),
        clear_deadlines: Vec::new(),
        status: next.clone(),
        active: active.clone(),
        phase: "Progressing",
        message: String::new(),
        wants_analysis: None,
        requeue: None,
    };
    // Promoted (or a template equal to stable again: the fast rollback, which skips the
    // pause and the analyses): everything on it.
    if stable == new {
        next.pauses.clear();
        next.controller_pause = false;
        next.abort = false;
        let saturated =
            observed(sets, new).is_some_and(|rs| rs.replicas == r) && available(new) >= r;
        out.active = new.to_string();
        out.sizes.push((new.to_string(), r));
        unhold(&mut out, sets, &[new]);
        retire(&mut out, sets, &[new], spec.scale_down_delay, now);
        if saturated {
            out.phase = "Healthy";
        } else {
            out.message = "updated replicas are still becoming available".into();
        }
        out.status = next;
        return out;
    }
    if next.abort {
        next.pauses.clear();
        next.controller_pause = false;
        out.active.clone_from(&stable);
        out.sizes.push((stable.clone(), r));
        // The aborted pods go once stable is whole again, after the abort delay (0 keeps
        // them, for a look at what went wrong).
        let stable_whole = available(&stable) >= r;
        let new_now = observed(sets, new).map_or(0, |rs| rs.replicas);
        if stable_whole && spec.abort_scale_down_delay > 0 {
            let keep = hold(&mut out, sets, new, spec.abort_scale_down_delay, now);
            out.sizes
                .push((new.to_string(), if keep { new_now } else { 0 }));
        } else {
            out.sizes.push((new.to_string(), new_now));
        }
        retire(&mut out, sets, &[new, &stable], spec.scale_down_delay, now);
        out.phase = "Degraded";
        out.message = format!("RolloutAborted: Rollout aborted update to revision {new}");
        out.status = next;
        return out;
    }
    // A user cleared the pauses the controller set: a promote.
    let resumed = next.controller_pause && next.pauses.is_empty();
    if resumed {
        next.controller_pause = false;
    }
    let abort = |mut next: Status, mut out: Decision, which: &str| {
        next.abort = true;
        next.pauses.clear();
        next.controller_pause = false;
        out.active.clone_from(&stable);
        out.sizes = vec![
            (stable.clone(), r),
            (
                new.to_string(),
                observed(sets, new).map_or(0, |rs| rs.replicas),
            ),
        ];
        out.phase = "Degraded";
        out.message = format!("RolloutAborted: Blue/green {which}-promotion analysis failed");
        out.status = next;
        out
    };
    let pause = |next: &mut Status, out: &mut Decision, reason: &str| {
        if !next.pauses.iter().any(|p| p.reason == reason) {
            next.pauses.push(PauseCondition {
                reason: reason.into(),
                start: now,
            });
        }
        next.controller_pause = true;
        out.phase = "Paused";
        out.message = reason.into();
    };
    out.sizes = vec![(new.to_string(), r), (stable.clone(), r)];
    retire(&mut out, sets, &[new, &stable], spec.scale_down_delay, now);
    let saturated = observed(sets, new).is_some_and(|rs| rs.replicas == r) && available(new) >= r;
    // The fast rollback: going back to a template whose ReplicaSet still holds its pods
    // within its scale-down delay switches at once, without pause or analysis.
    let fast =
        saturated && observed(sets, new).is_some_and(|rs| rs.deadline.is_some_and(|d| now < d));
    unhold(&mut out, sets, &[new, &stable]);
    if active != new {
        if !saturated {
            out.message = "updated replicas are still becoming available".into();
            out.status = next;
            return out;
        }
        if spec.paused {
            out.phase = "Paused";
            out.message = "manually paused".into();
            out.status = next;
            return out;
        }
        let skip = next.promote_full || resumed || fast;
        if spec.pre_analysis && !skip {
            out.wants_analysis = Some(Promotion::Pre);
            match analyses.pre {
                StepAnalysis::Successful => {}
                StepAnalysis::Failed => return abort(next, out, "pre"),
                StepAnalysis::Inconclusive => {
                    pause(&mut next, &mut out, "InconclusiveAnalysisRun");
                    out.status = next;
                    return out;
                }
                StepAnalysis::Running => {
                    out.message = "waiting for analysis to complete".into();
                    out.status = next;
                    return out;
                }
            }
        }
        let pauses = !spec.auto_promotion || spec.auto_promotion_seconds > 0;
        if pauses && !skip {
            pause(&mut next, &mut out, "BlueGreenPause");
            let start = next
                .pauses
                .iter()
                .find(|p| p.reason == "BlueGreenPause")
                .map_or(now, |p| p.start);
            let end = start + spec.auto_promotion_seconds;
            if !spec.auto_promotion || now < end {
                if spec.auto_promotion {
                    out.requeue = Some(Duration::from_secs(end - now));
                }
                out.status = next;
                return out;
            }
            next.pauses.retain(|p| p.reason != "BlueGreenPause");
            next.controller_pause = !next.pauses.is_empty();
            out.phase = "Progressing";
            out.message.clear();
        }
        // The switch.
        active = new.to_string();
        out.active.clone_from(&active);
        if spec.post_analysis && !next.promote_full && !fast {
            out.wants_analysis = Some(Promotion::Post);
            out.message = "waiting for post-promotion verification to complete".into();
            out.status = next;
            return out;
        }
    } else if spec.post_analysis && !next.promote_full && !resumed {
        out.wants_analysis = Some(Promotion::Post);
        match analyses.post {
            StepAnalysis::Successful => {}
            StepAnalysis::Failed => return abort(next, out, "post"),
            StepAnalysis::Inconclusive => {
                pause(&mut next, &mut out, "InconclusiveAnalysisRun");
                out.status = next;
                return out;
            }
            StepAnalysis::Running => {
                out.message = "waiting for post-promotion verification to complete".into();
                out.status = next;
                return out;
            }
        }
    }
    // Promotion: the new ReplicaSet is stable; the old one keeps its pods until its
    // scale-down deadline.
    next.stable = Some(new.to_string());
    next.pauses.clear();
    next.controller_pause = false;
    out.deadlines.clear();
    out.sizes = vec![(new.to_string(), r)];
    retire(&mut out, sets, &[new], spec.scale_down_delay, now);
    out.wants_analysis = None;
    out.phase = "Healthy";
    out.message.clear();
    out.status = next;
    out
}

/// Removes the scale-down deadline of the `ReplicaSets` in `serving`: they serve again.
fn unhold(out: &mut Decision, sets: &[ReplicaSet], serving: &[&str]) {
    for rs in sets {
        if serving.contains(&rs.hash.as_str()) && rs.deadline.is_some() {
            out.clear_deadlines.push(rs.hash.clone());
        }
    }
}

/// Sizes every `ReplicaSet` other than `keep`: at its size until its scale-down deadline
/// (set now when it has none), then 0.
fn retire(out: &mut Decision, sets: &[ReplicaSet], keep: &[&str], delay: u64, now: u64) {
    for rs in sets {
        if keep.contains(&rs.hash.as_str()) || rs.replicas == 0 {
            continue;
        }
        let held = hold(out, sets, &rs.hash, delay, now);
        out.sizes
            .push((rs.hash.clone(), if held { rs.replicas } else { 0 }));
    }
}

/// Whether `hash` is still within its scale-down deadline (writing one `delay` from now
/// when it has none), asking for a look again when it ends.
fn hold(out: &mut Decision, sets: &[ReplicaSet], hash: &str, delay: u64, now: u64) -> bool {
    let deadline = match observed(sets, hash).and_then(|rs| rs.deadline) {
        Some(deadline) => deadline,
        None if delay == 0 => return false,
        None => {
            out.deadlines.push((hash.to_string(), now + delay));
            now + delay
        }
    };
    if now >= deadline {
        return false;
    }
    let wait = Duration::from_secs(deadline - now);
    out.requeue = Some(out.requeue.map_or(wait, |r| r.min(wait)));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            replicas: 3,
            auto_promotion: true,
            auto_promotion_seconds: 0,
            pre_analysis: false,
            post_analysis: false,
            scale_down_delay: 30,
            abort_scale_down_delay: 30,
            paused: false,
        }
    }

    fn rs(hash: &str, replicas: u32, available: u32, deadline: Option<u64>) -> ReplicaSet {
        ReplicaSet {
            hash: hash.into(),
            replicas,
            available,
            deadline,
        }
    }

    fn size(decision: &Decision, hash: &str) -> u32 {
        decision
            .sizes
            .iter()
            .find(|(h, _)| h == hash)
            .map_or(0, |(_, n)| *n)
    }

    fn promoted(stable: &str) -> Status {
        Status {
            stable: Some(stable.into()),
            current: Some(stable.into()),
            ..Status::default()
        }
    }

    const NONE: Analyses = Analyses {
        pre: StepAnalysis::Running,
        post: StepAnalysis::Running,
    };

    #[test]
    fn the_first_deploy_is_active_at_once() {
        let d = decide(&spec(), &Status::default(), None, "a", &[], NONE, 100);
        assert_eq!(d.active, "a");
        assert_eq!(d.status.stable.as_deref(), Some("a"));
        assert_eq!(size(&d, "a"), 3);
        assert_eq!(d.phase, "Progressing");
        let d = decide(
            &spec(),
            &d.status,
            Some("a"),
            "a",
            &[rs("a", 3, 3, None)],
            NONE,
            101,
        );
        assert_eq!(d.phase, "Healthy");
    }

    #[test]
    fn the_new_set_comes_up_beside_active_then_switches_and_the_old_waits_its_delay() {
        let s = spec();
        let sets = [rs("a", 3, 3, None), rs("b", 0, 0, None)];
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, NONE, 100);
        assert_eq!((size(&d, "a"), size(&d, "b")), (3, 3));
        assert_eq!(d.active, "a");
        assert_eq!(d.message, "updated replicas are still becoming available");
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let d = decide(&s, &d.status, Some("a"), "b", &sets, NONE, 110);
        assert_eq!(d.active, "b");
        assert_eq!(d.phase, "Healthy");
        assert_eq!(d.status.stable.as_deref(), Some("b"));
        // The old one keeps its pods for scaleDownDelaySeconds.
        assert_eq!(size(&d, "a"), 3);
        assert_eq!(d.deadlines, vec![("a".to_string(), 140)]);
        assert_eq!(d.requeue, Some(Duration::from_secs(30)));
        let sets = [rs("a", 3, 3, Some(140)), rs("b", 3, 3, None)];
        let d = decide(&s, &d.status, Some("b"), "b", &sets, NONE, 139);
        assert_eq!(size(&d, "a"), 3);
        let d = decide(&s, &d.status, Some("b"), "b", &sets, NONE, 140);
        assert_eq!(size(&d, "a"), 0);
        assert!(d.deadlines.is_empty());
    }

    #[test]
    fn without_auto_promotion_it_waits_for_a_promote() {
        let s = Spec {
            auto_promotion: false,
            ..spec()
        };
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, NONE, 100);
        assert_eq!((d.phase, d.message.as_str()), ("Paused", "BlueGreenPause"));
        assert!(d.status.controller_pause);
        assert_eq!(d.active, "a");
        assert_eq!(d.requeue, None);
        let d = decide(&s, &d.status, Some("a"), "b", &sets, NONE, 5000);
        assert_eq!(d.phase, "Paused");
        // A promote clears the pause conditions.
        let mut status = d.status.clone();
        status.pauses.clear();
        let d = decide(&s, &status, Some("a"), "b", &sets, NONE, 5001);
        assert_eq!((d.phase, d.active.as_str()), ("Healthy", "b"));
    }

    #[test]
    fn auto_promotion_seconds_resume_by_themselves() {
        let s = Spec {
            auto_promotion_seconds: 20,
            ..spec()
        };
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, NONE, 100);
        assert_eq!(d.phase, "Paused");
        assert_eq!(d.requeue, Some(Duration::from_secs(20)));
        let d = decide(&s, &d.status, Some("a"), "b", &sets, NONE, 119);
        assert_eq!(d.active, "a");
        let d = decide(&s, &d.status, Some("a"), "b", &sets, NONE, 120);
        assert_eq!((d.phase, d.active.as_str()), ("Healthy", "b"));
    }

    #[test]
    fn analyses_gate_the_switch_and_the_promotion() {
        let s = Spec {
            pre_analysis: true,
            post_analysis: true,
            ..spec()
        };
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, NONE, 100);
        assert_eq!(d.wants_analysis, Some(Promotion::Pre));
        assert_eq!(d.message, "waiting for analysis to complete");
        assert_eq!(d.active, "a");
        let pre_ok = Analyses {
            pre: StepAnalysis::Successful,
            post: StepAnalysis::Running,
        };
        let d = decide(&s, &d.status, Some("a"), "b", &sets, pre_ok, 101);
        assert_eq!(d.active, "b");
        assert_eq!(d.wants_analysis, Some(Promotion::Post));
        assert_eq!(d.status.stable.as_deref(), Some("a"));
        // Both kept while the post-promotion analysis runs.
        assert_eq!((size(&d, "a"), size(&d, "b")), (3, 3));
        let post_bad = Analyses {
            pre: StepAnalysis::Successful,
            post: StepAnalysis::Failed,
        };
        let aborted = decide(&s, &d.status, Some("b"), "b", &sets, post_bad, 102);
        assert_eq!(aborted.phase, "Degraded");
        assert_eq!(aborted.active, "a");
        assert!(aborted.status.abort);
        assert!(aborted.message.contains("post-promotion analysis failed"));
        let post_ok = Analyses {
            pre: StepAnalysis::Successful,
            post: StepAnalysis::Successful,
        };
        let d = decide(&s, &d.status, Some("b"), "b", &sets, post_ok, 102);
        assert_eq!(d.status.stable.as_deref(), Some("b"));
        assert_eq!(d.phase, "Healthy");
    }

    #[test]
    fn a_failed_pre_promotion_analysis_never_switches_and_the_aborted_set_goes_after_its_delay() {
        let s = Spec {
            pre_analysis: true,
            ..spec()
        };
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let bad = Analyses {
            pre: StepAnalysis::Failed,
            post: StepAnalysis::Running,
        };
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, bad, 100);
        assert_eq!((d.phase, d.active.as_str()), ("Degraded", "a"));
        assert!(d.message.contains("pre-promotion analysis failed"));
        let d = decide(&s, &d.status, Some("a"), "b", &sets, bad, 101);
        assert_eq!(size(&d, "b"), 3);
        assert_eq!(d.deadlines, vec![("b".to_string(), 131)]);
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, Some(131))];
        let d = decide(&s, &d.status, Some("a"), "b", &sets, bad, 131);
        assert_eq!((size(&d, "a"), size(&d, "b")), (3, 0));
        // Inconclusive pauses instead.
        let unsure = Analyses {
            pre: StepAnalysis::Inconclusive,
            post: StepAnalysis::Running,
        };
        let sets = [rs("a", 3, 3, None), rs("b", 3, 3, None)];
        let d = decide(&s, &promoted("a"), Some("a"), "b", &sets, unsure, 100);
        assert_eq!(
            (d.phase, d.message.as_str()),
            ("Paused", "InconclusiveAnalysisRun")
        );
    }

    #[test]
    fn going_back_to_the_old_template_within_its_delay_is_a_selector_switch() {
        let s = spec();
        let s = Spec {
            auto_promotion: false,
            pre_analysis: true,
            ..s
        };
        // b is stable and active; a still holds its pods until 140.
        let sets = [rs("a", 3, 3, Some(140)), rs("b", 3, 3, None)];
        let d = decide(&s, &promoted("b"), Some("b"), "a", &sets, NONE, 120);
        assert_eq!((d.phase, d.active.as_str()), ("Healthy", "a"));
        assert_eq!(d.status.stable.as_deref(), Some("a"));
        assert_eq!(size(&d, "b"), 3);
        assert_eq!(d.deadlines, vec![("b".to_string(), 150)]);
        assert_eq!(d.clear_deadlines, vec!["a".to_string()]);
        // After its delay the ReplicaSet is an ordinary new one: pause and analysis again.
        let d = decide(&s, &promoted("b"), Some("b"), "a", &sets, NONE, 141);
        assert_eq!((d.phase, d.active.as_str()), ("Progressing", "b"));
        assert_eq!(d.wants_analysis, Some(Promotion::Pre));
    }
}
