//! `spec.workloadRef`: a Rollout that takes its pod template from a Deployment, as Argo
//! Rollouts' `rollout/templateref.go` resolves it — the template always, the selector when
//! the Rollout has none — so a team can move a Deployment under canary control without
//! rewriting it. The hash of the resolved template is the Rollout's, so editing the
//! Deployment's template starts a new canary. `scaleDown` says what becomes of the
//! Deployment's own pods ([`deployment_scale`], pure); [`resolve`] and [`scale`] are the
//! calls the controller makes.
//!
//! Only `apps/v1` `Deployment` is supported (Argo Rollouts also reads `ReplicaSet` and
//! `PodTemplate`).

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::rollout::{Rollout, SpecError};

/// `workloadRef.scaleDown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleDown {
    /// `never` (the default): the Deployment is left as it is.
    Never,
    /// `onsuccess`: the Deployment goes to 0 once the Rollout's first revision is Healthy.
    OnSuccess,
    /// `progressively`: while the first revision comes up, the Deployment keeps
    /// `replicas − ready Rollout pods`, then goes to 0 once the Rollout is Healthy.
    Progressively,
}

/// `spec.workloadRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadRef {
    /// `name`: the Deployment, in the Rollout's namespace.
    pub name: String,
    /// `scaleDown`.
    pub scale_down: ScaleDown,
}

impl WorkloadRef {
    /// Reads `spec.workloadRef`; `error` builds the Rollout's [`SpecError`] for a field.
    pub(crate) fn from_json(
        value: &Value,
        error: &dyn Fn(&str, &str) -> SpecError,
    ) -> Result<WorkloadRef, SpecError> {
        let at = "spec.workloadRef";
        let map = value
            .as_object()
            .ok_or_else(|| error(at, "must be a mapping"))?;
        if let Some(other) = map
            .keys()
            .find(|k| !["apiVersion", "kind", "name", "scaleDown"].contains(&k.as_str()))
        {
            return Err(error(
                &format!("{at}.{other}"),
                "not supported by shipway's Rollout controller",
            ));
        }
        let text = |field: &str| map.get(field).and_then(Value::as_str).unwrap_or("");
        if text("kind") != "Deployment" || text("apiVersion") != "apps/v1" {
            return Err(error(
                &format!("{at}.kind"),
                "shipway's Rollout controller reads only an `apps/v1` `Deployment` (not a ReplicaSet or PodTemplate)",
            ));
        }
        let name = text("name");
        if name.is_empty() {
            return Err(error(&format!("{at}.name"), "missing"));
        }
        let scale_down = match text("scaleDown") {
            "" | "never" => ScaleDown::Never,
            "onsuccess" => ScaleDown::OnSuccess,
            "progressively" => ScaleDown::Progressively,
            _ => {
                return Err(error(
                    &format!("{at}.scaleDown"),
                    "must be `never`, `onsuccess` or `progressively`",
                ));
            }
        };
        Ok(WorkloadRef {
            name: name.to_string(),
            scale_down,
        })
    }
}

/// Whether a Rollout's `spec.template` counts as empty next to a `workloadRef`: absent, or
/// with no value but nulls and empty mappings and lists (what defaulting leaves behind).
pub(crate) fn empty_template(template: Option<&Value>) -> bool {
    match template {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.values().all(|v| empty_template(Some(v))),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// The size the Deployment should be given, or `None` to leave it: only while the Rollout
/// is on its first revision (`revision` 1), as Argo Rollouts does — the migration from a
/// Deployment happens once. `ready` counts the Rollout's ready pods.
pub fn deployment_scale(
    scale_down: ScaleDown,
    revision: u64,
    healthy: bool,
    replicas: u32,
    ready: u32,
) -> Option<u32> {
    if revision != 1 {
        return None;
    }
    match scale_down {
        ScaleDown::Never => None,
        ScaleDown::OnSuccess => healthy.then_some(0),
        ScaleDown::Progressively if healthy => Some(0),
        // Nothing of the Rollout is ready yet: the Deployment keeps what it has.
        ScaleDown::Progressively => (ready > 0).then(|| replicas.saturating_sub(ready)),
    }
}

/// Why a `workloadRef` could not be resolved.
#[derive(Debug)]
pub(crate) enum WorkloadError {
    /// A call to the API server failed.
    Api(kube::Error),
    /// The Deployment is missing or gives no template or selector.
    Invalid(String),
}

fn deployments(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &crate::controller::resource("apps", "v1", "Deployment", "deployments"),
    )
}

/// Fills the Rollout's template (and its selector, when it has none) from the referenced
/// Deployment, and returns the Deployment's `metadata.generation` for
/// `status.workloadObservedGeneration`.
pub(crate) async fn resolve(
    client: &kube::Client,
    rollout: &mut Rollout,
    workload: &WorkloadRef,
) -> Result<i64, WorkloadError> {
    let invalid = |message: &str| {
        WorkloadError::Invalid(format!(
            "Rollout {}: `spec.workloadRef`: Deployment `{}/{}` {message}",
            rollout.name, rollout.namespace, workload.name
        ))
    };
    let object = deployments(client, &rollout.namespace)
        .get_opt(&workload.name)
        .await
        .map_err(WorkloadError::Api)?
        .ok_or_else(|| invalid("not found"))?;
    let object = serde_json::to_value(&object)
        .map_err(|e| WorkloadError::Api(kube::Error::SerdeError(e)))?;
    let template = object
        .pointer("/spec/template")
        .filter(|t| t.is_object())
        .cloned()
        .ok_or_else(|| invalid("has no `spec.template`"))?;
    if rollout.selector.is_empty() {
        let selector = object.pointer("/spec/selector");
        if selector
            .and_then(Value::as_object)
            .is_some_and(|s| s.keys().any(|k| k != "matchLabels"))
        {
            return Err(invalid(
                "selects with `matchExpressions`, which shipway does not support: give the Rollout a `selector`",
            ));
        }
        rollout.selector = selector
            .and_then(|s| s.get("matchLabels"))
            .and_then(Value::as_object)
            .filter(|labels| !labels.is_empty())
            .cloned()
            .ok_or_else(|| invalid("has no `spec.selector.matchLabels`"))?;
    }
    rollout.template = template;
    Ok(object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0))
}

/// Scales the referenced Deployment to `replicas` unless it is there already.
pub(crate) async fn scale(
    client: &kube::Client,
    rollout: &Rollout,
    workload: &WorkloadRef,
    replicas: u32,
) -> Result<(), kube::Error> {
    let api = deployments(client, &rollout.namespace);
    let Some(object) = api.get_opt(&workload.name).await? else {
        return Ok(());
    };
    let current = serde_json::to_value(&object)
        .ok()
        .and_then(|o| o.pointer("/spec/replicas").and_then(Value::as_u64));
    if current == Some(u64::from(replicas)) {
        return Ok(());
    }
    api.patch(
        &workload.name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})),
    )
    .await?;
    Ok(())
}

/// The revision of the new `ReplicaSet` (`rollout.argoproj.io/revision`): its own when it
/// exists, else one past the highest of the others (1 for the first).
pub(crate) fn revision_of(owned: &[Value], new: &str) -> u64 {
    let revision = |rs: &Value| {
        rs.pointer("/metadata/annotations/rollout.argoproj.io~1revision")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok())
    };
    let hash = |rs: &Value| {
        rs.pointer(&format!(
            "/metadata/labels/{}",
            crate::controller::HASH_LABEL
        ))
        .and_then(Value::as_str)
        .map(str::to_string)
    };
    owned
        .iter()
        .find(|rs| hash(rs).as_deref() == Some(new))
        .and_then(revision)
        .unwrap_or_else(|| owned.iter().filter_map(revision).max().unwrap_or(0) + 1)
}

/// Scales the `workloadRef` Deployment (if any) as its `scaleDown` says for this reconcile
/// of the Rollout, whose `ReplicaSets` are `owned` and new template `new`.
pub(crate) async fn hand_over(
    client: &kube::Client,
    rollout: &crate::rollout::Rollout,
    owned: &[serde_json::Value],
    new: &str,
    healthy: bool,
) -> Result<(), kube::Error> {
    let Some(workload) = &rollout.workload_ref else {
        return Ok(());
    };
    let ready = owned
        .iter()
        .map(|rs| crate::controller::int(rs, "/status/readyReplicas"))
        .sum();
    if let Some(replicas) = deployment_scale(
        workload.scale_down,
        revision_of(owned, new),
        healthy,
        rollout.replicas,
        ready,
    ) {
        scale(client, rollout, workload, replicas).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_deployment_is_scaled_down_on_the_first_revision_only() {
        use ScaleDown::{Never, OnSuccess, Progressively};
        assert_eq!(deployment_scale(Never, 1, true, 4, 4), None);
        assert_eq!(deployment_scale(OnSuccess, 1, false, 4, 3), None);
        assert_eq!(deployment_scale(OnSuccess, 1, true, 4, 4), Some(0));
        assert_eq!(deployment_scale(Progressively, 1, false, 4, 0), None);
        assert_eq!(deployment_scale(Progressively, 1, false, 4, 1), Some(3));
        assert_eq!(deployment_scale(Progressively, 1, false, 4, 6), Some(0));
        assert_eq!(deployment_scale(Progressively, 1, true, 4, 4), Some(0));
        assert_eq!(deployment_scale(OnSuccess, 2, true, 4, 4), None);
        assert_eq!(deployment_scale(Progressively, 2, false, 4, 1), None);
    }

    #[test]
    fn templates_left_by_defaulting_are_empty() {
        assert!(empty_template(None));
        assert!(empty_template(Some(&json!({}))));
        assert!(empty_template(Some(
            &json!({"metadata": {"creationTimestamp": null}, "spec": {"containers": null}})
        )));
        assert!(!empty_template(Some(
            &json!({"metadata": {"labels": {"app": "web"}}})
        )));
    }

    #[test]
    fn the_new_revision_is_its_own_or_one_past_the_others() {
        let rs = |hash: &str, revision: &str| {
            json!({"metadata": {"labels": {"rollouts-pod-template-hash": hash},
                "annotations": {"rollout.argoproj.io/revision": revision}}})
        };
        assert_eq!(revision_of(&[], "a"), 1);
        let owned = [rs("a", "1"), rs("b", "2")];
        assert_eq!(revision_of(&owned, "a"), 1);
        assert_eq!(revision_of(&owned, "c"), 3);
    }
}
