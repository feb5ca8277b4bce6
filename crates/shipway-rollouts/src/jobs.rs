//! The `job` metric provider, as Argo Rollouts' `metricproviders/job`: each measurement
//! creates a Job from the metric's `provider.job` (`metadata` labels and annotations,
//! `spec`), owned by the `AnalysisRun`, and is Running until the Job has the condition
//! `Complete` (Successful) or `Failed` (Failed); the conditions of the metric are not
//! evaluated. Measurements are asynchronous: the run records the Job's name in the
//! measurement's `metadata["job-name"]`, and later advances resume that measurement instead
//! of starting another. Terminating a measurement deletes its Job, and, as Argo's
//! `GarbageCollect` does, only the newest Jobs of a metric are kept (as many as the
//! measurements the run keeps), so an indefinite metric does not pile them up.
//!
//! Argo names the Job `<runUID>.<metric>.<n>`; a dot is valid in a Job name but the name
//! also becomes the pods' `job-name` label, so shipway uses `<run>-<metric>-<n>`, made a
//! DNS label (lower case, `-` for anything else, at most 63 characters, a hash when cut).

use std::fmt::Write as _;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams, PropagationPolicy};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::analysis::Phase;

/// The measurement metadata key that names the measurement's Job (Argo's `JobNameKey`).
pub const JOB_NAME_KEY: &str = "job-name";
/// The Job's label holding the run's uid (Argo's `AnalysisRunUIDLabelKey`).
pub const RUN_UID_LABEL: &str = "analysisrun.argoproj.io/uid";
/// The Job's annotation holding the run's name.
pub const RUN_NAME_ANNOTATION: &str = "analysisrun.argoproj.io/name";
/// The Job's annotation holding the metric's name.
pub const METRIC_NAME_ANNOTATION: &str = "analysisrun.argoproj.io/metric-name";

/// The longest Kubernetes label value, which the Job's name becomes on its pods.
const MAX_NAME: usize = 63;

/// The `AnalysisRun` a Job is measured for.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// Its namespace (the Job's).
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its uid (the Job's owner).
    pub uid: &'a str,
}

fn jobs(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &crate::controller::resource("batch", "v1", "Job", "jobs"),
    )
}

/// The Job of measurement `n` (1-based) of `metric` in `run`: `<run>-<metric>-<n>` as a DNS
/// label; when that is too long, cut with 8 hex digits of the full name's hash before `-<n>`.
pub fn job_name(run: &str, metric: &str, n: u64) -> String {
    let mut base: String = format!("{run}-{metric}")
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '-' }
        })
        .collect();
    base = base.trim_matches('-').to_string();
    let suffix = format!("-{n}");
    if base.len() + suffix.len() <= MAX_NAME {
        return format!("{base}{suffix}");
    }
    let digest = Sha256::digest(format!("{run}\n{metric}").as_bytes());
    let mut hash = String::new();
    for byte in &digest[..4] {
        let _ = write!(hash, "{byte:02x}");
    }
    let keep = MAX_NAME - suffix.len() - hash.len() - 1;
    let cut = base[..keep].trim_end_matches('-');
    format!("{cut}-{hash}{suffix}")
}

fn string_map(value: Option<&Value>) -> Map<String, Value> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.is_string())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates measurement `n`'s Job from `provider` (the metric's `provider.job`); returns its
/// name. A Job of that name this run already owns (a measurement whose status write was
/// lost) is taken as the measurement's, as Argo does; one owned by anything else is an error.
pub async fn start(
    client: &kube::Client,
    run: Run<'_>,
    metric: &str,
    n: u64,
    provider: &Value,
) -> Result<String, String> {
    let spec = provider
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or("the job provider needs a `spec` (a JobSpec)")?;
    let name = job_name(run.name, metric, n);
    let mut labels = string_map(provider.pointer("/metadata/labels"));
    labels.insert(RUN_UID_LABEL.into(), run.uid.into());
    let mut annotations = string_map(provider.pointer("/metadata/annotations"));
    annotations.insert(RUN_NAME_ANNOTATION.into(), run.name.into());
    annotations.insert(METRIC_NAME_ANNOTATION.into(), metric.into());
    let manifest = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AnalysisRun",
                "name": run.name,
                "uid": run.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": spec,
    });
    let object: DynamicObject = serde_json::from_value(manifest)
        .map_err(|e| format!("the job provider's Job {name}: {e}"))?;
    let api = jobs(client, run.namespace);
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(name),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api
                .get(&name)
                .await
                .map_err(|e| format!("Job {name} exists but cannot be read: {e}"))?;
            let owned = existing
                .metadata
                .owner_references
                .unwrap_or_default()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == run.uid);
            if owned {
                Ok(name)
            } else {
                Err(format!(
                    "Job {}/{name} already exists and is not this AnalysisRun's",
                    run.namespace
                ))
            }
        }
        Err(e) => Err(format!("creating Job {}/{name}: {e}", run.namespace)),
    }
}

/// How the Job `name` stands: `None` while it runs, else Successful or Failed with why.
pub async fn resume(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<(Phase, String)>, String> {
    let job = jobs(client, namespace)
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Job {namespace}/{name}: {e}"))?
        .ok_or_else(|| format!("Job {namespace}/{name} of the measurement is gone"))?;
    let job = serde_json::to_value(&job).unwrap_or(Value::Null);
    Ok(verdict(name, &job))
}

/// A Job's verdict from its conditions (`None`: neither Complete nor Failed yet).
fn verdict(name: &str, job: &Value) -> Option<(Phase, String)> {
    for condition in job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if condition["status"] != "True" {
            continue;
        }
        match condition["type"].as_str() {
            Some("Complete") => return Some((Phase::Successful, String::new())),
            Some("Failed") => {
                let reason = condition["reason"].as_str().unwrap_or("");
                let message = condition["message"].as_str().unwrap_or("");
                let why = [reason, message]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                return Some((
                    Phase::Failed,
                    if why.is_empty() {
                        format!("Job {name} failed")
                    } else {
                        format!("Job {name} failed ({why})")
                    },
                ));
            }
            _ => {}
        }
    }
    None
}

/// Deletes the Job `name` (and, in the foreground, its pods); one already gone is fine.
pub async fn terminate(client: &kube::Client, namespace: &str, name: &str) -> Result<(), String> {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..DeleteParams::default()
    };
    match jobs(client, namespace).delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(format!("deleting Job {namespace}/{name}: {e}")),
    }
}

/// Deletes the Jobs of `run`'s `metric` but the newest `keep` (by measurement number).
pub async fn garbage_collect(
    client: &kube::Client,
    run: Run<'_>,
    metric: &str,
    keep: usize,
) -> Result<(), String> {
    let listed = jobs(client, run.namespace)
        .list(&ListParams::default().labels(&format!("{RUN_UID_LABEL}={}", run.uid)))
        .await
        .map_err(|e| format!("listing the Jobs of AnalysisRun {}: {e}", run.name))?;
    let mut mine: Vec<(u64, String)> = listed
        .items
        .iter()
        .filter(|job| job.metadata.deletion_timestamp.is_none())
        .filter(|job| {
            job.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(METRIC_NAME_ANNOTATION))
                .is_some_and(|m| m == metric)
        })
        .filter_map(|job| {
            let name = job.metadata.name.clone()?;
            let n = name.rsplit('-').next()?.parse().ok()?;
            Some((n, name))
        })
        .collect();
    mine.sort();
    let excess = mine.len().saturating_sub(keep);
    for (_, name) in &mine[..excess] {
        terminate(client, run.namespace, name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_of_at_most_63_characters() {
        assert_eq!(job_name("web-abc-1", "smoke", 1), "web-abc-1-smoke-1");
        assert_eq!(job_name("web", "Smoke_Test.v2", 12), "web-smoke-test-v2-12");
        let long = job_name(&"r".repeat(60), "integration-tests", 3);
        assert!(long.len() <= 63, "{long}");
        assert!(long.ends_with("-3") && long.starts_with("rrrr"), "{long}");
        // Different long names that share the kept prefix stay apart.
        assert_ne!(long, job_name(&"r".repeat(60), "integration-other", 3));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn a_job_is_judged_by_its_true_terminal_condition() {
        let with = |conditions: Value| json!({"status": {"conditions": conditions}});
        assert_eq!(verdict("j", &with(json!([]))), None);
        assert_eq!(
            verdict(
                "j",
                &with(json!([{"type": "SuccessCriteriaMet", "status": "True"}]))
            ),
            None
        );
        assert_eq!(
            verdict("j", &with(json!([{"type": "Complete", "status": "True"}]))),
            Some((Phase::Successful, String::new()))
        );
        assert_eq!(
            verdict("j", &with(json!([{"type": "Complete", "status": "False"}]))),
            None
        );
        let failed = verdict(
            "j",
            &with(json!([{"type": "FailureTarget", "status": "True"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}])),
        )
        .unwrap();
        assert_eq!(failed.0, Phase::Failed);
        assert_eq!(
            failed.1,
            "Job j failed (BackoffLimitExceeded: Job has reached the specified backoff limit)"
        );
    }
}
