//! The Job controller: pods up to `parallelism` until `completions` succeed, failures
//! counted against `backoffLimit`, `suspend`, and the terminal conditions in the order a
//! 1.32 controller writes them.
//!
//! Success writes `SuccessCriteriaMet` first and `Complete` (with `completionTime`) on the
//! next pass; too many failures write `FailureTarget` (and remove the active pods), then
//! `Failed`, both with reason `BackoffLimitExceeded`. Pods run for `job_run_seconds` (or
//! `sim.shipway.dev/run-seconds`) and succeed, or fail with exit code 1 when the template
//! carries `sim.shipway.dev/fault: fail`. Finished pods are kept, and counted from, as the
//! real controller keeps them (it tracks them with a finalizer this simulation does not
//! need, since nothing deletes them behind its back).

use serde_json::{Map, Value, json};

use super::{
    CONTROLLER_MANAGER, Ctx, PodName, condition_true, conditions_of, int_at, is_deleting, name,
    namespace, pod_active, pod_from_template, pod_ready, resource, str_at, uid, with_status,
};

/// One pass over every Job.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(jobs) = resource("batch", "jobs") else {
        return;
    };
    for job in ctx.list(jobs) {
        if !is_deleting(&job) {
            sync(ctx, &job);
        }
    }
}

/// Whether the Job reached `Complete` or `Failed`.
pub(crate) fn finished(job: &Value) -> Option<&'static str> {
    if condition_true(job, "Complete") {
        Some("Complete")
    } else if condition_true(job, "Failed") {
        Some("Failed")
    } else {
        None
    }
}

fn sync(ctx: &mut Ctx<'_>, job: &Value) {
    let (Some(pods), Some(jobs)) = (resource("", "pods"), resource("batch", "jobs")) else {
        return;
    };
    let ns = namespace(job).to_owned();
    let owned = ctx.owned(pods, &ns, uid(job));
    let active: Vec<&Value> = owned.iter().filter(|p| pod_active(p)).collect();
    let succeeded = owned
        .iter()
        .filter(|p| str_at(p, "/status/phase") == "Succeeded")
        .count() as i64;
    let failed = owned
        .iter()
        .filter(|p| str_at(p, "/status/phase") == "Failed")
        .count() as i64;
    let parallelism = int_at(job, "/spec/parallelism", 1).max(0);
    let completions = int_at(job, "/spec/completions", 1).max(0);
    let backoff_limit = int_at(job, "/spec/backoffLimit", 6).max(0);
    let suspended = job
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = ctx.now_rfc3339();
    let condition = |kind: &str, state: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": state, "lastProbeTime": now,
               "lastTransitionTime": now, "reason": reason, "message": message})
    };
    let mut conditions = conditions_of(job);
    let mut status: Map<String, Value> = job
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut active_count = active.len() as i64;
    if finished(job).is_none() {
        if condition_true(job, "FailureTarget") {
            for pod in &active {
                ctx.delete(pods, pod);
            }
            active_count = 0;
            super::set_condition(
                &mut conditions,
                condition(
                    "Failed",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
            );
        } else if condition_true(job, "SuccessCriteriaMet") {
            super::set_condition(
                &mut conditions,
                condition(
                    "Complete",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
            );
            status.insert("completionTime".into(), now.clone().into());
        } else if failed > backoff_limit {
            for pod in &active {
                ctx.delete(pods, pod);
            }
            active_count = 0;
            super::set_condition(
                &mut conditions,
                condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
            );
        } else if succeeded >= completions {
            super::set_condition(
                &mut conditions,
                condition(
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
            );
        } else if suspended {
            for pod in &active {
                ctx.delete(pods, pod);
            }
            active_count = 0;
            status.remove("startTime");
            super::set_condition(
                &mut conditions,
                condition("Suspended", "True", "JobSuspended", "Job suspended"),
            );
        } else {
            if condition_true(job, "Suspended") {
                super::set_condition(
                    &mut conditions,
                    condition("Suspended", "False", "JobResumed", "Job resumed"),
                );
            }
            status
                .entry("startTime")
                .or_insert_with(|| now.clone().into());
            let wanted = parallelism.min(completions - succeeded).max(0);
            let job_name = name(job).to_owned();
            let job_uid = uid(job).to_owned();
            let template = job
                .pointer("/spec/template")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let labels = [
                ("batch.kubernetes.io/controller-uid", job_uid.clone()),
                ("batch.kubernetes.io/job-name", job_name.clone()),
                ("controller-uid", job_uid),
                ("job-name", job_name.clone()),
            ];
            let prefix = format!("{job_name}-");
            let missing = (wanted - active_count).max(0);
            for _ in 0..missing {
                let pod = pod_from_template(job, &template, PodName::Generate(&prefix), &labels);
                if ctx.create(pods, &ns, pod, CONTROLLER_MANAGER).is_ok() {
                    active_count += 1;
                }
            }
        }
    }
    let ready = if active_count == 0 {
        0
    } else {
        active.iter().filter(|p| pod_ready(p)).count()
    };
    status.insert("active".into(), active_count.into());
    status.insert("ready".into(), ready.into());
    status.insert("succeeded".into(), succeeded.into());
    status.insert("failed".into(), failed.into());
    status.insert("uncountedTerminatedPods".into(), json!({}));
    if conditions.is_empty() {
        status.remove("conditions");
    } else {
        status.insert("conditions".into(), Value::Array(conditions));
    }
    // `ready` is always written; the other counters are `omitempty`.
    super::omit_zero(&mut status, &["active", "succeeded", "failed"]);
    ctx.update_status(
        jobs,
        with_status(job, Value::Object(status)),
        CONTROLLER_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::controllers::testing::Harness;
    use crate::controllers::{SimulationConfig, condition, condition_true};

    fn job(name: &str, annotations: &Value, spec: &Value) -> Value {
        let mut object = json!({"metadata": {"name": name},
            "spec": {"template": {"metadata": {"annotations": annotations},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "run", "image": "busybox"}]}}}});
        crate::patch::merge_patch(&mut object["spec"], spec);
        object
    }

    #[test]
    fn completions_run_in_parallel_then_the_job_completes() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "batch",
            "jobs",
            job(
                "batch",
                &json!({}),
                &json!({"completions": 4, "parallelism": 2}),
            ),
        );
        sim.settle();
        assert_eq!(sim.list("", "pods").len(), 2);
        let pod = &sim.list("", "pods")[0];
        assert_eq!(
            pod["metadata"]["labels"]["batch.kubernetes.io/job-name"],
            "batch"
        );
        let live = sim.get("batch", "jobs", "batch");
        assert_eq!(live["status"]["active"], 2);
        assert!(live["status"]["startTime"].is_string());
        sim.advance(10);
        let live = sim.get("batch", "jobs", "batch");
        assert_eq!(live["status"]["succeeded"], 4, "{live}");
        assert!(live["status"].get("active").is_none());
        assert_eq!(live["status"]["ready"], 0);
        assert!(condition_true(&live, "SuccessCriteriaMet"));
        let complete = condition(&live, "Complete").unwrap();
        assert_eq!(complete["reason"], "CompletionsReached");
        assert!(live["status"]["completionTime"].is_string());
        assert_eq!(sim.list("", "pods").len(), 4);
    }

    #[test]
    fn failing_pods_exhaust_the_backoff_limit() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "batch",
            "jobs",
            job(
                "bad",
                &json!({"sim.shipway.dev/fault": "fail"}),
                &json!({"backoffLimit": 1}),
            ),
        );
        sim.advance(10);
        let live = sim.get("batch", "jobs", "bad");
        assert_eq!(live["status"]["failed"], 2);
        let failed = condition(&live, "Failed").unwrap();
        assert_eq!(failed["reason"], "BackoffLimitExceeded");
        assert_eq!(
            failed["message"],
            "Job has reached the specified backoff limit"
        );
        assert!(condition_true(&live, "FailureTarget"));
        assert!(!condition_true(&live, "Complete"));
        let pod = &sim.list("", "pods")[0];
        assert_eq!(pod["status"]["phase"], "Failed");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
    }

    #[test]
    fn a_suspended_job_runs_nothing_until_resumed() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "batch",
            "jobs",
            job("later", &json!({}), &json!({"suspend": true})),
        );
        sim.advance(2);
        assert!(sim.list("", "pods").is_empty());
        assert!(condition_true(
            &sim.get("batch", "jobs", "later"),
            "Suspended"
        ));
        sim.patch(
            "batch",
            "jobs",
            "later",
            &json!({"spec": {"suspend": false}}),
        );
        sim.advance(5);
        let live = sim.get("batch", "jobs", "later");
        assert_eq!(
            condition(&live, "Suspended").unwrap()["reason"],
            "JobResumed"
        );
        assert!(condition_true(&live, "Complete"));
    }
}
