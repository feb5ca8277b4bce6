//! The `HorizontalPodAutoscaler` controller (`autoscaling/v2`): scales a target through its
//! `/scale` subresource from the pods' simulated resource use, and writes the status and
//! conditions `kubectl get hpa`, Argo CD's health rule and shipway's read.
//!
//! # Simulated resource use
//!
//! The sandbox has no metrics server, so each running pod's use is derived from its spec
//! and annotations (which pods inherit from their template):
//!
//! - by default every container uses half of its `resources.requests` (`cpu` and
//!   `memory`), so an autoscaler with the usual 70–80 % targets stays where it is;
//! - `sim.shipway.dev/cpu-utilization: "90"` (and `memory-utilization`) sets the share of
//!   the requests in percent;
//! - `sim.shipway.dev/cpu-usage: "300m"` (and `memory-usage: "200Mi"`) sets the pod's use
//!   outright, which also serves pods without requests and `AverageValue` targets.
//!
//! A pod's use does not depend on how many replicas there are, so a utilization above the
//! target keeps scaling up, step by step as new pods start, until `maxReplicas`.
//!
//! # The algorithm
//!
//! As the real controller's `reconcileAutoscaler` and replica calculator: a target below
//! `minReplicas` or above `maxReplicas` is moved into range without reading metrics; a
//! target at zero replicas disables scaling; otherwise each metric proposes
//! `ceil(usage ratio × pods with metrics)` (unchanged within the 10 % tolerance; pods
//! still starting count as using nothing on a scale-up and their whole request on a
//! scale-down, and a proposal that then reverses direction is dropped), the largest
//! proposal wins, and it is limited to `max(2 × current, 4)` and to the min/max range.
//! `Resource` and `ContainerResource` metrics are computed; `Pods`, `Object` and `External`
//! metrics have no API to come from and report `FailedGet…Metric`.
//!
//! Not simulated: `behavior` (scaling policies and stabilization windows: a recommendation
//! applies at once), the readiness grace period for CPU samples, `autoscaling/v1` objects
//! (only `v2` is served).

use serde_json::{Map, Value, json};

use super::{
    CONTROLLER_MANAGER, Ctx, annotation, int_at, is_deleting, name, namespace, pod_active,
    resource, selector_matches, str_at,
};
use crate::store::{PatchType, Subresource, WriteOptions};
use crate::validation::quantity_value;

/// The real controller's tolerance: a usage ratio within 10 % of 1 changes nothing.
const TOLERANCE: f64 = 0.1;

/// The default share of a container's requests a simulated pod uses, in percent.
const DEFAULT_UTILIZATION: f64 = 50.0;

/// One pass over every `HorizontalPodAutoscaler`.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(autoscalers) = resource("autoscaling", "horizontalpodautoscalers") else {
        return;
    };
    for autoscaler in ctx.list(autoscalers) {
        if !is_deleting(&autoscaler) {
            sync(ctx, autoscalers, &autoscaler);
        }
    }
}

/// What one metric contributes: its proposal and the `currentMetrics` entry.
struct Proposal {
    replicas: i64,
    status: Value,
    /// How `ValidMetricFound` names the metric.
    label: String,
}

/// Why a metric gave no proposal: the condition reason and message.
struct MetricError {
    reason: &'static str,
    message: String,
}

fn sync(ctx: &mut Ctx<'_>, autoscalers: &'static crate::resources::ResourceType, hpa: &Value) {
    let ns = namespace(hpa).to_owned();
    let mut conditions = hpa
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut status = hpa
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    status.insert(
        "observedGeneration".into(),
        hpa["metadata"]["generation"].clone(),
    );
    let now = ctx.now_rfc3339();
    let target_ref = hpa
        .pointer("/spec/scaleTargetRef")
        .cloned()
        .unwrap_or_default();
    let (kind, target_name) = (str_at(&target_ref, "/kind"), str_at(&target_ref, "/name"));
    let target_type = ctx
        .store
        .find_kind(str_at(&target_ref, "/apiVersion"), kind)
        .filter(|t| t.has_scale());
    let target = target_type.and_then(|t| {
        ctx.store
            .get(t, Some(&ns), target_name)
            .ok()
            .map(|o| (t, o))
    });
    let Some((target_type, target)) = target else {
        let detail = match target_type {
            Some(t) => format!("{}.{} \"{target_name}\" not found", t.plural, t.group),
            None => format!("no scale subresource for kind {kind:?}"),
        };
        set(
            &mut conditions,
            "AbleToScale",
            false,
            "FailedGetScale",
            &format!("the HPA controller was unable to get the target's current scale: {detail}"),
            &now,
        );
        write_status(ctx, autoscalers, hpa, status, conditions);
        return;
    };
    // As the real controller does, AbleToScale is recorded first (so it leads the list),
    // then refined once the rescale is decided.
    set(
        &mut conditions,
        "AbleToScale",
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
        &now,
    );
    let current = int_at(&target, "/spec/replicas", 1);
    let min = int_at(hpa, "/spec/minReplicas", 1);
    let max = int_at(hpa, "/spec/maxReplicas", 1);
    status.insert("currentReplicas".into(), json!(current));
    let desired = if current == 0 && min != 0 {
        set(
            &mut conditions,
            "ScalingActive",
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
            &now,
        );
        0
    } else if current > max {
        max
    } else if current < min {
        min
    } else {
        let pods = target_pods(ctx, &ns, &target);
        let mut proposals = Vec::new();
        let mut errors = Vec::new();
        for metric in hpa
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match propose(metric, &pods, current) {
                Ok(proposal) => proposals.push(proposal),
                Err(error) => errors.push(error),
            }
        }
        let best = proposals.iter().max_by_key(|p| p.replicas);
        let refused = match best {
            None => true,
            Some(best) => !errors.is_empty() && best.replicas < current,
        };
        if let (false, Some(best)) = (refused, best) {
            let metrics: Vec<Value> = proposals.iter().map(|p| p.status.clone()).collect();
            status.insert("currentMetrics".into(), Value::Array(metrics));
            set(
                &mut conditions,
                "ScalingActive",
                true,
                "ValidMetricFound",
                &format!(
                    "the HPA was able to successfully calculate a replica count from {}",
                    best.label
                ),
                &now,
            );
            let limit = (2 * current).max(4);
            let (bounded, reason, message) = if best.replicas > limit.min(max) && limit < max {
                (
                    limit,
                    "ScaleUpLimit",
                    "the desired replica count is increasing faster than the maximum scale rate",
                )
            } else if best.replicas > max {
                (
                    max,
                    "TooManyReplicas",
                    "the desired replica count is more than the maximum replica count",
                )
            } else if best.replicas < min {
                (
                    min,
                    "TooFewReplicas",
                    "the desired replica count is less than the minimum replica count",
                )
            } else {
                (
                    best.replicas,
                    "DesiredWithinRange",
                    "the desired count is within the acceptable range",
                )
            };
            let limited = reason != "DesiredWithinRange";
            set(
                &mut conditions,
                "ScalingLimited",
                limited,
                reason,
                message,
                &now,
            );
            bounded
        } else {
            let error = errors.into_iter().next().unwrap_or(MetricError {
                reason: "FailedGetResourceMetric",
                message: "no metrics to compute a replica count from".into(),
            });
            set(
                &mut conditions,
                "ScalingActive",
                false,
                error.reason,
                &format!(
                    "the HPA was unable to compute the replica count: {}",
                    error.message
                ),
                &now,
            );
            current
        }
    };
    if desired == current {
        set(
            &mut conditions,
            "AbleToScale",
            true,
            "ReadyForNewScale",
            "recommended size matches current size",
            &now,
        );
    } else {
        let scaled = ctx.store.patch(
            target_type,
            Some(&ns),
            target_name,
            PatchType::Merge,
            &json!({"spec": {"replicas": desired}}),
            Subresource::Scale,
            &WriteOptions::manager(CONTROLLER_MANAGER),
        );
        match scaled {
            Ok(_) => {
                set(
                    &mut conditions,
                    "AbleToScale",
                    true,
                    "SucceededRescale",
                    &format!("the HPA controller was able to update the target scale to {desired}"),
                    &now,
                );
                status.insert("lastScaleTime".into(), json!(now));
                let message = format!(
                    "New size: {desired}; reason: {}",
                    rescale_reason(current, desired, min, max)
                );
                super::events::record(
                    ctx,
                    hpa,
                    "Normal",
                    "SuccessfulRescale",
                    &message,
                    "horizontal-pod-autoscaler",
                );
            }
            Err(error) => set(
                &mut conditions,
                "AbleToScale",
                false,
                "FailedUpdateScale",
                &format!("the HPA controller was unable to update the target scale: {error}"),
                &now,
            ),
        }
    }
    status.insert("desiredReplicas".into(), json!(desired));
    write_status(ctx, autoscalers, hpa, status, conditions);
}

/// The event's reason text, as the real controller phrases the common cases.
fn rescale_reason(current: i64, desired: i64, min: i64, max: i64) -> &'static str {
    if current < min {
        "Current number of replicas below Spec.MinReplicas"
    } else if current > max {
        "Current number of replicas above Spec.MaxReplicas"
    } else if desired > current {
        "All metrics above target"
    } else {
        "All metrics below target"
    }
}

fn write_status(
    ctx: &mut Ctx<'_>,
    autoscalers: &'static crate::resources::ResourceType,
    hpa: &Value,
    mut status: Map<String, Value>,
    conditions: Vec<Value>,
) {
    status.insert("conditions".into(), Value::Array(conditions));
    let next = super::with_status(hpa, Value::Object(status));
    ctx.update_status(autoscalers, next, CONTROLLER_MANAGER);
}

/// Sets a condition in place (the real controller's `setCondition`): a new type goes last,
/// and `lastTransitionTime` moves only when the status changes.
fn set(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) {
    let status = if status { "True" } else { "False" };
    let mut condition = json!({"type": kind, "status": status, "lastTransitionTime": now,
        "reason": reason, "message": message});
    match conditions.iter_mut().find(|c| str_at(c, "/type") == kind) {
        Some(existing) => {
            if str_at(existing, "/status") == status {
                condition["lastTransitionTime"] = existing["lastTransitionTime"].clone();
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

/// The target's pods: active pods in its namespace matched by its selector.
fn target_pods(ctx: &Ctx<'_>, ns: &str, target: &Value) -> Vec<Value> {
    let Some(pods) = resource("", "pods") else {
        return Vec::new();
    };
    let selector = target
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({"matchLabels": {"": "no selector"}}));
    ctx.list_in(pods, ns)
        .into_iter()
        .filter(|pod| {
            pod_active(pod) && selector_matches(&selector, pod.pointer("/metadata/labels"))
        })
        .collect()
}

/// The metric's proposal for the replica count.
fn propose(metric: &Value, pods: &[Value], current: i64) -> Result<Proposal, MetricError> {
    let kind = str_at(metric, "/type");
    let (source, container) = match kind {
        "Resource" => (&metric["resource"], None),
        "ContainerResource" => (
            &metric["containerResource"],
            Some(str_at(metric, "/containerResource/container")),
        ),
        "Pods" | "Object" | "External" => {
            let reason = match kind {
                "Pods" => "FailedGetPodsMetric",
                "Object" => "FailedGetObjectMetric",
                _ => "FailedGetExternalMetric",
            };
            let metric_name = metric
                .pointer(&format!("/{}/metric/name", kind.to_ascii_lowercase()))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(MetricError {
                reason,
                message: format!(
                    "unable to get metric {metric_name}: the sandbox serves no custom or external metrics API"
                ),
            });
        }
        other => {
            return Err(MetricError {
                reason: "InvalidMetricSourceType",
                message: format!("unknown metric source type {other:?}"),
            });
        }
    };
    let resource_name = str_at(source, "/name");
    let failed = |message: String| MetricError {
        reason: if container.is_some() {
            "FailedGetContainerResourceMetric"
        } else {
            "FailedGetResourceMetric"
        },
        message: format!("failed to get {resource_name} utilization: {message}"),
    };
    if resource_name != "cpu" && resource_name != "memory" {
        return Err(failed(format!(
            "the sandbox simulates cpu and memory only, not {resource_name:?}"
        )));
    }
    let target = &source["target"];
    let by_value = str_at(target, "/type") == "AverageValue";
    let mut samples = Vec::new();
    let mut starting = Vec::new();
    for pod in pods {
        match pod_use(pod, resource_name, container, !by_value) {
            Ok(sample) if str_at(pod, "/status/phase") == "Running" => samples.push(sample),
            Ok(sample) => starting.push(sample),
            Err(message) => return Err(failed(message)),
        }
    }
    if samples.is_empty() {
        return Err(failed(
            "did not receive metrics for targeted pods (pods might be unready)".into(),
        ));
    }
    let total = |samples: &[Sample]| {
        samples
            .iter()
            .fold((0.0, 0.0), |(u, r), s| (u + s.usage, r + s.request))
    };
    let (usage, request) = total(&samples);
    let count = samples.len() as f64;
    let ratio_of = |usage: f64, request: f64, count: f64| -> f64 {
        if by_value {
            let wanted = target
                .get("averageValue")
                .and_then(quantity_value)
                .unwrap_or(0.0);
            if wanted > 0.0 {
                usage / count / wanted
            } else {
                0.0
            }
        } else {
            let wanted = target
                .get("averageUtilization")
                .and_then(Value::as_f64)
                .unwrap_or(80.0);
            if request > 0.0 && wanted > 0.0 {
                usage * 100.0 / request / wanted
            } else {
                0.0
            }
        }
    };
    let ratio = ratio_of(usage, request, count);
    let replicas = if starting.is_empty() {
        if (ratio - 1.0).abs() <= TOLERANCE {
            current
        } else {
            ceil(ratio * count)
        }
    } else {
        // Pods without metrics yet: nothing on the way up, their whole request (or the
        // target value) on the way down, and no move if that reverses the direction.
        let mut all_usage = usage;
        let mut all_request = request;
        for sample in &starting {
            all_request += sample.request;
            if ratio < 1.0 {
                all_usage += if by_value {
                    target
                        .get("averageValue")
                        .and_then(quantity_value)
                        .unwrap_or(0.0)
                } else {
                    sample.request
                };
            }
        }
        let all = count + starting.len() as f64;
        let adjusted = ratio_of(all_usage, all_request, all);
        let proposal = ceil(adjusted * all);
        if (adjusted - 1.0).abs() <= TOLERANCE
            || (ratio > 1.0) != (adjusted > 1.0)
            || (adjusted < 1.0 && proposal > current)
            || (adjusted > 1.0 && proposal < current)
        {
            current
        } else {
            proposal
        }
    };
    let average = usage / count;
    let mut current_value = Map::new();
    current_value.insert(
        "averageValue".into(),
        json!(format_quantity(resource_name, average)),
    );
    if !by_value && request > 0.0 {
        current_value.insert(
            "averageUtilization".into(),
            json!((usage * 100.0 / request).round() as i64),
        );
    }
    let mut detail = json!({"name": resource_name, "current": current_value});
    let status = match container {
        Some(container) => {
            detail["container"] = json!(container);
            json!({"type": "ContainerResource", "containerResource": detail})
        }
        None => json!({"type": "Resource", "resource": detail}),
    };
    let label = match (container, by_value) {
        (None, false) => format!("{resource_name} resource utilization (percentage of request)"),
        (None, true) => format!("{resource_name} resource"),
        (Some(_), false) => {
            format!("{resource_name} container resource utilization (percentage of request)")
        }
        (Some(_), true) => format!("{resource_name} container resource"),
    };
    Ok(Proposal {
        replicas,
        status,
        label,
    })
}

/// One pod's simulated use and its requests of a resource (cores or bytes).
struct Sample {
    usage: f64,
    request: f64,
}

/// The pod's simulated use of `resource` (see the module docs). With `need_requests`, a
/// container without a request for it is the real controller's error.
fn pod_use(
    pod: &Value,
    resource: &str,
    container: Option<&str>,
    need_requests: bool,
) -> Result<Sample, String> {
    let mut request = 0.0;
    for spec in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| container.is_none_or(|wanted| str_at(c, "/name") == wanted))
    {
        match spec
            .pointer(&format!("/resources/requests/{resource}"))
            .and_then(quantity_value)
        {
            Some(value) => request += value,
            None if need_requests => {
                return Err(format!(
                    "missing request for {resource} in container {} of Pod {}",
                    str_at(spec, "/name"),
                    name(pod)
                ));
            }
            None => {}
        }
    }
    let usage_key = format!("sim.shipway.dev/{resource}-usage");
    let share_key = format!("sim.shipway.dev/{resource}-utilization");
    let usage = match quantity_value(&json!(annotation(pod, &usage_key))) {
        Some(usage) if !annotation(pod, &usage_key).is_empty() => usage,
        _ => {
            let share = annotation(pod, &share_key)
                .trim()
                .trim_end_matches('%')
                .parse::<f64>()
                .unwrap_or(DEFAULT_UTILIZATION);
            request * share / 100.0
        }
    };
    Ok(Sample { usage, request })
}

fn ceil(value: f64) -> i64 {
    // Replica counts are small; the cast saturates on anything absurd.
    (value - 1e-9).ceil().max(0.0) as i64
}

/// A use as the metrics API spells it: millicores for CPU, `Ki`/`Mi` or bytes for memory.
fn format_quantity(resource: &str, value: f64) -> String {
    if resource == "cpu" {
        return format!("{}m", (value * 1000.0).round() as i64);
    }
    let bytes = value.round() as i64;
    if bytes != 0 && bytes % (1024 * 1024) == 0 {
        format!("{}Mi", bytes / (1024 * 1024))
    } else if bytes != 0 && bytes % 1024 == 0 {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::SimulationConfig;
    use super::super::testing::Harness;

    fn deployment(replicas: i64, annotations: &Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}, "annotations": annotations},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}})
    }

    fn hpa(min: i64, max: i64, metrics: &Value) -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"}, "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": min, "maxReplicas": max, "metrics": metrics}})
    }

    fn cpu(target: i64) -> Value {
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}}])
    }

    fn condition<'a>(hpa: &'a Value, kind: &str) -> &'a Value {
        hpa["status"]["conditions"]
            .as_array()
            .and_then(|list| list.iter().find(|c| c["type"] == kind))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn scales_up_to_min_replicas_and_reports_metrics() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create("apps", "deployments", deployment(1, &json!({})));
        sim.create(
            "autoscaling",
            "horizontalpodautoscalers",
            hpa(3, 10, &cpu(70)),
        );
        sim.advance(5);
        assert_eq!(sim.get("apps", "deployments", "web")["spec"]["replicas"], 3);
        let hpa = sim.get("autoscaling", "horizontalpodautoscalers", "web");
        assert_eq!(hpa["status"]["currentReplicas"], 3);
        assert_eq!(hpa["status"]["desiredReplicas"], 3);
        assert_eq!(
            hpa["status"]["currentMetrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageValue": "50m", "averageUtilization": 50}}}])
        );
        assert_eq!(condition(&hpa, "AbleToScale")["status"], "True");
        let order: Vec<&str> = hpa["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["AbleToScale", "ScalingActive", "ScalingLimited"]);
        assert_eq!(
            condition(&hpa, "ScalingActive")["reason"],
            "ValidMetricFound"
        );
        // ceil(50 / 70 × 3) = 3: within range once the minimum is reached.
        assert_eq!(
            condition(&hpa, "ScalingLimited")["reason"],
            "DesiredWithinRange"
        );
        assert_eq!(condition(&hpa, "ScalingLimited")["status"], "False");
        assert_eq!(condition(&hpa, "AbleToScale")["reason"], "ReadyForNewScale");
        let rescaled = sim
            .list("", "events")
            .into_iter()
            .find(|e| e["reason"] == "SuccessfulRescale")
            .expect("a SuccessfulRescale event");
        assert_eq!(
            rescaled["message"],
            "New size: 3; reason: Current number of replicas below Spec.MinReplicas"
        );
    }

    #[test]
    fn high_utilization_scales_to_max_replicas() {
        let mut sim = Harness::new(SimulationConfig::default());
        let busy = json!({"sim.shipway.dev/cpu-utilization": "140"});
        sim.create("apps", "deployments", deployment(2, &busy));
        sim.create(
            "autoscaling",
            "horizontalpodautoscalers",
            hpa(2, 5, &cpu(70)),
        );
        sim.advance(30);
        assert_eq!(sim.get("apps", "deployments", "web")["spec"]["replicas"], 5);
        let hpa = sim.get("autoscaling", "horizontalpodautoscalers", "web");
        assert_eq!(hpa["status"]["desiredReplicas"], 5);
        assert_eq!(
            condition(&hpa, "ScalingLimited")["reason"],
            "TooManyReplicas"
        );
        assert_eq!(
            hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            140
        );
    }

    #[test]
    fn low_utilization_scales_down_within_range() {
        let mut sim = Harness::new(SimulationConfig::default());
        let idle = json!({"sim.shipway.dev/cpu-utilization": "10"});
        sim.create("apps", "deployments", deployment(6, &idle));
        sim.create(
            "autoscaling",
            "horizontalpodautoscalers",
            hpa(2, 10, &cpu(50)),
        );
        sim.advance(10);
        // ceil(0.2 × 6) = 2: the minimum.
        assert_eq!(sim.get("apps", "deployments", "web")["spec"]["replicas"], 2);
        assert_eq!(sim.list("", "pods").len(), 2);
    }

    #[test]
    fn missing_requests_and_targets_are_reported() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut bare = deployment(2, &json!({}));
        bare["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({});
        sim.create("apps", "deployments", bare);
        sim.create(
            "autoscaling",
            "horizontalpodautoscalers",
            hpa(1, 4, &cpu(70)),
        );
        sim.advance(5);
        let status = sim.get("autoscaling", "horizontalpodautoscalers", "web");
        let active = condition(&status, "ScalingActive");
        assert_eq!(active["reason"], "FailedGetResourceMetric");
        assert!(
            active["message"]
                .as_str()
                .unwrap()
                .contains("missing request for cpu in container main of Pod web-"),
            "{active}"
        );

        let mut lost = hpa(1, 4, &cpu(70));
        lost["metadata"]["name"] = json!("lost");
        lost["spec"]["scaleTargetRef"]["name"] = json!("gone");
        sim.create("autoscaling", "horizontalpodautoscalers", lost);
        sim.settle();
        let lost = sim.get("autoscaling", "horizontalpodautoscalers", "lost");
        assert_eq!(condition(&lost, "AbleToScale")["reason"], "FailedGetScale");
        assert_eq!(
            condition(&lost, "AbleToScale")["message"],
            "the HPA controller was unable to get the target's current scale: deployments.apps \"gone\" not found"
        );
    }

    #[test]
    fn average_value_targets_use_the_usage_annotation() {
        let mut sim = Harness::new(SimulationConfig::default());
        let used = json!({"sim.shipway.dev/memory-usage": "48Mi"});
        sim.create("apps", "deployments", deployment(4, &used));
        let metrics = json!([{"type": "Resource", "resource": {"name": "memory",
            "target": {"type": "AverageValue", "averageValue": "64Mi"}}}]);
        sim.create(
            "autoscaling",
            "horizontalpodautoscalers",
            hpa(1, 8, &metrics),
        );
        sim.advance(10);
        // ceil(4 × 48Mi / 64Mi) = 3 pods, then ceil(3 × 0.75) = 3 holds.
        assert_eq!(sim.get("apps", "deployments", "web")["spec"]["replicas"], 3);
        let hpa = sim.get("autoscaling", "horizontalpodautoscalers", "web");
        assert_eq!(
            hpa["status"]["currentMetrics"][0]["resource"]["current"],
            json!({"averageValue": "48Mi"})
        );
    }
}
