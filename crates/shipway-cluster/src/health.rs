//! Object health with Argo CD parity: what `sync --wait`, the wave gate and `status` read.
//!
//! The rules are gitops-engine's `pkg/health` checks for built-in kinds and Argo CD's bundled
//! Lua checks (`resource_customizations/…/health.lua`) for `CronJob`, `Job` suspension and
//! cert-manager, re-expressed as pure functions on the live object as JSON, so every rule is
//! unit-tested without a cluster and the sync engine, `status` and the tests agree on what
//! "healthy" means. Teams moving from Argo CD see the same verdicts and nearly the same
//! messages; where Argo CD has no rule (`Namespace`, arbitrary custom resources) the
//! additions are documented on [`object_health`].

use std::fmt;

use serde_json::Value;

/// The health of one object or of an app, as Argo CD names it.
///
/// The variants are declared from best to worst in Argo CD's order (gitops-engine's
/// `healthOrder`, used by `IsWorse`), so the derived ordering answers "which is worse":
/// `Healthy < Suspended < Progressing < Missing < Degraded < Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Everything the object promises is in place.
    Healthy,
    /// Paused on purpose (a paused Deployment, a suspended `CronJob` or Job).
    Suspended,
    /// Not there yet, but may still get there (rolling out, pending, being deleted).
    Progressing,
    /// The object should exist but is not in the cluster.
    Missing,
    /// Failed, or cannot reach the healthy state without a change.
    Degraded,
    /// The status could not be assessed.
    Unknown,
}

impl Health {
    /// The name Argo CD prints and `shipway status -o json` writes (`"Healthy"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "Healthy",
            Self::Suspended => "Suspended",
            Self::Progressing => "Progressing",
            Self::Missing => "Missing",
            Self::Degraded => "Degraded",
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health of one object and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthStatus {
    /// The verdict.
    pub health: Health,
    /// What the object's status says (may be empty for a plain Healthy). For a Pod held by
    /// a container error it starts with the waiting reason (`ImagePullBackOff: …`) so the
    /// caller can print `Pod web-7d9c… ImagePullBackOff`.
    pub message: String,
}

impl HealthStatus {
    fn new(health: Health, message: impl Into<String>) -> Self {
        Self {
            health,
            message: message.into(),
        }
    }
}

/// The worst of `healths`: an app's health from its objects' (Argo CD aggregates the same
/// way). An app none of whose objects has a health is Healthy.
pub fn worst<I>(healths: I) -> Health
where
    I: IntoIterator<Item = Health>,
{
    healths.into_iter().max().unwrap_or(Health::Healthy)
}

/// The health of a live object, or `None` when its kind has no health (`ConfigMap`,
/// `Secret`, RBAC, …: Argo CD shows no health for them either and they do not count towards
/// the app's).
///
/// Rules, first match wins:
/// - a `metadata.deletionTimestamp` → Progressing "Pending deletion", whatever the kind;
/// - `apps`/`extensions` `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`; `batch`
///   `Job` and `CronJob`; core `Pod`, `PersistentVolumeClaim`, `Service`; `Ingress`;
///   `HorizontalPodAutoscaler`; `APIService`; `CustomResourceDefinition`; `argoproj.io`
///   `Workflow`: gitops-engine's rules (and its messages). Each workload check trusts the
///   status counters only once `status.observedGeneration` has caught up with
///   `metadata.generation`, and is Progressing before;
/// - `argoproj.io` `Rollout` (Argo CD's Lua): Progressing until `status.observedGeneration`
///   (a string) equals `metadata.generation`, then by `status.phase` — `Paused` is
///   Suspended; `AnalysisRun`: Successful → Healthy, Failed/Error → Degraded,
///   Inconclusive → Suspended, else Progressing;
/// - `CronJob`: Argo CD's Lua check — `spec.suspend` → Suspended; never scheduled →
///   Healthy; last schedule after the last success with no active job → Degraded;
///   otherwise Healthy;
/// - cert-manager `Certificate`: an `Issuing` condition True → Progressing, then `Ready`
///   True → Healthy, False → Degraded; `Issuer`/`ClusterIssuer`: `Ready` True → Healthy,
///   False → Degraded; without a `Ready` condition both are Progressing (Argo CD's Lua);
/// - `Namespace` (no Argo CD rule): phase `Active` → Healthy, `Terminating` → Progressing;
/// - any other kind with `status.conditions` (kstatus-like, our addition):
///   `status.observedGeneration` behind `metadata.generation` → Progressing; `Stalled` True
///   → Degraded; `Reconciling` True → Progressing; then the `Ready` condition, else the
///   `Available` one: True → Healthy, Unknown → Progressing, False → Degraded unless its
///   reason says work is under way (`Progressing`, `Reconciling`, `Pending`, `Issuing`,
///   `InProgress`, `Creating`, `Updating`, `Initializing`) → Progressing. A kind with
///   neither condition has no health.
///
/// For cert-manager and the generic rule a condition that carries its own
/// `observedGeneration` older than `metadata.generation` is stale: Progressing.
pub fn object_health(object: &Value) -> Option<HealthStatus> {
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return Some(HealthStatus::new(Health::Progressing, "Pending deletion"));
    }
    let api_version = str_at(object, "/apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = str_at(object, "/kind");
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => Some(deployment(object)),
        ("apps" | "extensions", "ReplicaSet") => Some(replica_set(object)),
        ("apps", "StatefulSet") => Some(stateful_set(object)),
        ("apps" | "extensions", "DaemonSet") => Some(daemon_set(object)),
        ("batch", "Job") => Some(job(object)),
        ("batch", "CronJob") => Some(cron_job(object)),
        ("", "Pod") => Some(pod(object)),
        ("", "PersistentVolumeClaim") => Some(claim(object)),
        ("", "Service") => Some(service(object)),
        ("", "Namespace") => Some(namespace(object)),
        ("networking.k8s.io" | "extensions", "Ingress") => Some(ingress(object)),
        ("autoscaling", "HorizontalPodAutoscaler") => Some(autoscaler(object, version)),
        ("apiregistration.k8s.io", "APIService") => Some(api_service(object)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(definition(object)),
        ("argoproj.io", "Workflow") => Some(workflow(object)),
        ("argoproj.io", "Rollout") => Some(rollout(object)),
        ("argoproj.io", "AnalysisRun") => Some(analysis_run(object)),
        ("cert-manager.io", "Certificate") => Some(certificate(object)),
        ("cert-manager.io", "Issuer" | "ClusterIssuer") => Some(issuer(object)),
        _ => generic(object),
    }
}

/// The string at `pointer`, or `""`.
fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The integer at `pointer`, or 0 (Go's zero value, which the rules were written against).
fn int_at(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The integer at `pointer` when present (`spec.replicas` is a pointer in Go).
fn opt_int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// `status.conditions` (empty when absent).
fn conditions(object: &Value) -> &[Value] {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The first condition of `kind`.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    conditions(object)
        .iter()
        .find(|c| str_at(c, "/type") == kind)
}

/// Whether the status counters describe the current spec (`generation <= observed`).
fn generation_observed(object: &Value) -> bool {
    int_at(object, "/metadata/generation") <= int_at(object, "/status/observedGeneration")
}

fn deployment(object: &Value) -> HealthStatus {
    if object.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return HealthStatus::new(Health::Suspended, "Deployment is paused");
    }
    if !generation_observed(object) {
        return HealthStatus::new(
            Health::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let updated = int_at(object, "/status/updatedReplicas");
    let replicas = int_at(object, "/status/replicas");
    let available = int_at(object, "/status/availableReplicas");
    if condition(object, "Progressing")
        .is_some_and(|c| str_at(c, "/reason") == "ProgressDeadlineExceeded")
    {
        return HealthStatus::new(
            Health::Degraded,
            format!(
                "Deployment \"{}\" exceeded its progress deadline",
                str_at(object, "/metadata/name")
            ),
        );
    }
    if let Some(desired) = opt_int(object, "/spec/replicas")
        && updated < desired
    {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
        );
    }
    if replicas > updated {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    HealthStatus::new(Health::Healthy, "")
}

fn replica_set(object: &Value) -> HealthStatus {
    if !generation_observed(object) {
        return HealthStatus::new(
            Health::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    if let Some(failure) =
        condition(object, "ReplicaFailure").filter(|c| str_at(c, "/status") == "True")
    {
        return HealthStatus::new(Health::Degraded, str_at(failure, "/message"));
    }
    let available = int_at(object, "/status/availableReplicas");
    if let Some(desired) = opt_int(object, "/spec/replicas")
        && available < desired
    {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {desired} new replicas are available..."
            ),
        );
    }
    HealthStatus::new(Health::Healthy, "")
}

fn stateful_set(object: &Value) -> HealthStatus {
    let observed = int_at(object, "/status/observedGeneration");
    if observed == 0 || int_at(object, "/metadata/generation") > observed {
        return HealthStatus::new(
            Health::Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let desired = opt_int(object, "/spec/replicas");
    let ready = int_at(object, "/status/readyReplicas");
    if let Some(desired) = desired
        && ready < desired
    {
        return HealthStatus::new(
            Health::Progressing,
            format!("Waiting for {} pods to be ready...", desired - ready),
        );
    }
    let updated = int_at(object, "/status/updatedReplicas");
    let strategy = str_at(object, "/spec/updateStrategy/type");
    if strategy == "RollingUpdate"
        && object
            .pointer("/spec/updateStrategy/rollingUpdate")
            .is_some()
    {
        if let (Some(desired), Some(partition)) = (
            desired,
            opt_int(object, "/spec/updateStrategy/rollingUpdate/partition"),
        ) && updated < desired - partition
        {
            return HealthStatus::new(
                Health::Progressing,
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    desired - partition
                ),
            );
        }
        return HealthStatus::new(
            Health::Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        );
    }
    if strategy == "OnDelete" {
        return HealthStatus::new(
            Health::Healthy,
            format!("statefulset has {ready} ready pods"),
        );
    }
    let update_revision = str_at(object, "/status/updateRevision");
    let current_revision = str_at(object, "/status/currentRevision");
    if update_revision != current_revision {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
            ),
        );
    }
    HealthStatus::new(
        Health::Healthy,
        format!(
            "statefulset rolling update complete {} pods at revision {current_revision}...",
            int_at(object, "/status/currentReplicas")
        ),
    )
}

fn daemon_set(object: &Value) -> HealthStatus {
    if !generation_observed(object) {
        return HealthStatus::new(
            Health::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let name = str_at(object, "/metadata/name");
    let desired = int_at(object, "/status/desiredNumberScheduled");
    let updated = int_at(object, "/status/updatedNumberScheduled");
    let available = int_at(object, "/status/numberAvailable");
    if str_at(object, "/spec/updateStrategy/type") == "OnDelete" {
        return HealthStatus::new(
            Health::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    if updated < desired {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for daemon set \"{name}\" rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
        );
    }
    if available < desired {
        return HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for daemon set \"{name}\" rollout to finish: {available} of {desired} updated pods are available..."
            ),
        );
    }
    HealthStatus::new(Health::Healthy, "")
}

/// Argo CD's Job check: conditions are read by type only (a `Failed` condition ends the
/// Job whatever its status), except `Suspended`, which suspends only when True.
fn job(object: &Value) -> HealthStatus {
    let mut failed = None;
    let mut complete = false;
    let mut suspended = false;
    let mut message = "";
    for c in conditions(object) {
        match str_at(c, "/type") {
            "Failed" => {
                failed = Some(str_at(c, "/message"));
                complete = true;
            }
            "Complete" => {
                complete = true;
                message = str_at(c, "/message");
            }
            "Suspended" => {
                complete = true;
                message = str_at(c, "/message");
                suspended |= str_at(c, "/status") == "True";
            }
            _ => {}
        }
    }
    if !complete {
        return HealthStatus::new(Health::Progressing, message);
    }
    if let Some(failure) = failed {
        return HealthStatus::new(Health::Degraded, failure);
    }
    if suspended {
        return HealthStatus::new(Health::Suspended, message);
    }
    HealthStatus::new(Health::Healthy, message)
}

/// Argo CD's `batch/CronJob/health.lua`. Timestamps are RFC 3339 in UTC with whole
/// seconds as the API server writes them, so comparing the strings compares the instants
/// (the Lua check does the same).
fn cron_job(object: &Value) -> HealthStatus {
    if object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return HealthStatus::new(Health::Suspended, "CronJob is Suspended");
    }
    let Some(status) = object.get("status") else {
        return HealthStatus::new(Health::Progressing, "Waiting for CronJob");
    };
    let Some(scheduled) = status.get("lastScheduleTime").and_then(Value::as_str) else {
        return HealthStatus::new(Health::Healthy, "CronJob has not been scheduled yet");
    };
    let Some(succeeded) = status.get("lastSuccessfulTime").and_then(Value::as_str) else {
        return HealthStatus::new(
            Health::Healthy,
            "The CronJob never completed successfully. It may not be healthy",
        );
    };
    if status
        .get("active")
        .and_then(Value::as_array)
        .is_some_and(|active| !active.is_empty())
    {
        return HealthStatus::new(
            Health::Healthy,
            "The job is running. Its last execution may not have been successful",
        );
    }
    if succeeded < scheduled {
        return HealthStatus::new(
            Health::Degraded,
            "CronJob has not completed its last execution successfully",
        );
    }
    HealthStatus::new(
        Health::Healthy,
        "CronJob has completed its last execution successfully",
    )
}

/// Whether a waiting reason is one of the errors Argo CD degrades a pod for
/// (`ErrImagePull`, `CreateContainerConfigError`, `ImagePullBackOff`, `CrashLoopBackOff` …).
fn is_error_reason(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

fn pod(object: &Value) -> HealthStatus {
    let restart_policy = match str_at(object, "/spec/restartPolicy") {
        // The API server defaults it; a pod read back always has one.
        "" => "Always",
        policy => policy,
    };
    let statuses: &[Value] = object
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let pod_message = str_at(object, "/status/message");
    // Only long-running pods: a hook pod (OnFailure/Never) waiting on an image is left
    // Progressing, or a PreSync hook would fail before the image arrives (Argo CD's reason).
    if restart_policy == "Always" {
        let errors: Vec<String> = statuses
            .iter()
            .filter_map(|status| status.pointer("/state/waiting"))
            .filter(|waiting| is_error_reason(str_at(waiting, "/reason")))
            .map(|waiting| {
                // Argo CD shows only the message; the reason goes first here so that a
                // one-line summary names it.
                let reason = str_at(waiting, "/reason");
                match str_at(waiting, "/message") {
                    "" => reason.to_owned(),
                    message => format!("{reason}: {message}"),
                }
            })
            .collect();
        if !errors.is_empty() {
            return HealthStatus::new(Health::Degraded, errors.join(", "));
        }
    }
    match str_at(object, "/status/phase") {
        "Pending" => HealthStatus::new(Health::Progressing, pod_message),
        "Succeeded" => HealthStatus::new(Health::Healthy, pod_message),
        "Failed" => {
            if !pod_message.is_empty() {
                return HealthStatus::new(Health::Degraded, pod_message);
            }
            let init: &[Value] = object
                .pointer("/status/initContainerStatuses")
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice);
            let message = init
                .iter()
                .chain(statuses)
                .find_map(failure_message)
                .unwrap_or_default();
            HealthStatus::new(Health::Degraded, message)
        }
        "Running" => match restart_policy {
            "Always" => {
                if condition(object, "Ready").is_some_and(|c| str_at(c, "/status") == "True") {
                    HealthStatus::new(Health::Healthy, pod_message)
                } else if statuses
                    .iter()
                    .any(|s| s.pointer("/lastState/terminated").is_some())
                {
                    HealthStatus::new(Health::Degraded, pod_message)
                } else {
                    HealthStatus::new(Health::Progressing, pod_message)
                }
            }
            // Finite pods (typically hooks) are Progressing until they finish.
            _ => HealthStatus::new(Health::Progressing, pod_message),
        },
        _ => HealthStatus::new(Health::Unknown, pod_message),
    }
}

/// Why a terminated container failed, as gitops-engine words it.
fn failure_message(status: &Value) -> Option<String> {
    let terminated = status.pointer("/state/terminated")?;
    let message = str_at(terminated, "/message");
    if !message.is_empty() {
        return Some(message.to_owned());
    }
    if str_at(terminated, "/reason") == "OOMKilled" {
        return Some("OOMKilled".to_owned());
    }
    let code = int_at(terminated, "/exitCode");
    (code != 0).then(|| {
        format!(
            "container \"{}\" failed with exit code {code}",
            str_at(status, "/name")
        )
    })
}

fn claim(object: &Value) -> HealthStatus {
    let health = match str_at(object, "/status/phase") {
        "Bound" => Health::Healthy,
        "Pending" => Health::Progressing,
        "Lost" => Health::Degraded,
        _ => Health::Unknown,
    };
    HealthStatus::new(health, "")
}

/// Whether `status.loadBalancer.ingress` has an entry with an address.
fn has_load_balancer_address(object: &Value) -> bool {
    object
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| !str_at(e, "/ip").is_empty() || !str_at(e, "/hostname").is_empty())
        })
}

fn service(object: &Value) -> HealthStatus {
    if str_at(object, "/spec/type") == "LoadBalancer" && !has_load_balancer_address(object) {
        return HealthStatus::new(Health::Progressing, "");
    }
    HealthStatus::new(Health::Healthy, "")
}

fn ingress(object: &Value) -> HealthStatus {
    if has_load_balancer_address(object) {
        HealthStatus::new(Health::Healthy, "")
    } else {
        HealthStatus::new(Health::Progressing, "")
    }
}

fn namespace(object: &Value) -> HealthStatus {
    match str_at(object, "/status/phase") {
        "Active" => HealthStatus::new(Health::Healthy, ""),
        "Terminating" => HealthStatus::new(Health::Progressing, "Namespace is terminating"),
        "" => HealthStatus::new(
            Health::Progressing,
            "Waiting for the namespace to be Active",
        ),
        other => HealthStatus::new(Health::Unknown, format!("Namespace phase is {other}")),
    }
}

/// gitops-engine's HPA check. `autoscaling/v1` keeps the conditions in an annotation as a
/// JSON string; a corrupt one makes the health Unknown, naming the problem.
fn autoscaler(object: &Value, version: &str) -> HealthStatus {
    const WAITING: &str = "Waiting to Autoscale";
    let parsed;
    let list: &[Value] = if version == "v1" {
        let Some(text) = object
            .pointer("/metadata/annotations/autoscaling.alpha.kubernetes.io~1conditions")
            .and_then(Value::as_str)
        else {
            return HealthStatus::new(Health::Progressing, WAITING);
        };
        parsed = match serde_json::from_str::<Vec<Value>>(text) {
            Ok(list) => list,
            Err(error) => {
                return HealthStatus::new(
                    Health::Unknown,
                    format!("failed to convert conditions annotation to typed: {error}"),
                );
            }
        };
        &parsed
    } else {
        conditions(object)
    };
    // Argo CD's `checkConditions`: the first condition that is degraded or healthy
    // decides, in the order the controller wrote them (AbleToScale comes first).
    for c in list {
        let (kind, reason) = (str_at(c, "/type"), str_at(c, "/reason"));
        let degraded = matches!(
            (kind, reason),
            ("AbleToScale", "FailedGetScale" | "FailedUpdateScale")
                | (
                    "ScalingActive",
                    "FailedGetResourceMetric" | "InvalidSelector"
                )
        );
        if degraded {
            return HealthStatus::new(Health::Degraded, str_at(c, "/message"));
        }
        if matches!(kind, "AbleToScale" | "ScalingLimited") && str_at(c, "/status") == "True" {
            return HealthStatus::new(Health::Healthy, str_at(c, "/message"));
        }
    }
    HealthStatus::new(Health::Progressing, WAITING)
}

fn api_service(object: &Value) -> HealthStatus {
    match condition(object, "Available") {
        Some(c) => {
            let message = format!("{}: {}", str_at(c, "/reason"), str_at(c, "/message"));
            if str_at(c, "/status") == "True" {
                HealthStatus::new(Health::Healthy, message)
            } else {
                HealthStatus::new(Health::Progressing, message)
            }
        }
        None => HealthStatus::new(Health::Progressing, "Waiting to be processed"),
    }
}

fn definition(object: &Value) -> HealthStatus {
    if conditions(object).is_empty() {
        return HealthStatus::new(Health::Progressing, "Status conditions not found");
    }
    let status_of = |kind: &str| condition(object, kind).map(|c| (str_at(c, "/status"), c));
    if let Some(("True", c)) = status_of("Terminating") {
        return HealthStatus::new(
            Health::Progressing,
            format!("CRD is being terminated: {}", str_at(c, "/message")),
        );
    }
    if let Some(("False", c)) = status_of("NamesAccepted") {
        return HealthStatus::new(
            Health::Degraded,
            format!(
                "CRD names have not been accepted: {}",
                str_at(c, "/message")
            ),
        );
    }
    match status_of("Established") {
        Some(("True", _)) => {}
        other => {
            let message = other.map_or("", |(_, c)| str_at(c, "/message"));
            return HealthStatus::new(
                Health::Degraded,
                format!("CRD is not established: {message}"),
            );
        }
    }
    if let Some(("True", c)) = status_of("NonStructuralSchema") {
        return HealthStatus::new(
            Health::Degraded,
            format!("Schema violations found: {}", str_at(c, "/message")),
        );
    }
    HealthStatus::new(Health::Healthy, "CRD is healthy")
}

fn workflow(object: &Value) -> HealthStatus {
    let message = str_at(object, "/status/message");
    match str_at(object, "/status/phase") {
        "" | "Pending" | "Running" => HealthStatus::new(Health::Progressing, message),
        "Succeeded" => HealthStatus::new(Health::Healthy, message),
        "Failed" | "Error" => HealthStatus::new(Health::Degraded, message),
        other => HealthStatus::new(Health::Unknown, format!("unknown phase {other}")),
    }
}

/// Argo CD's Lua rule for `argoproj.io/Rollout`: a spec the controller has not observed is
/// Progressing; then `status.phase` (`Paused` is Suspended).
fn rollout(object: &Value) -> HealthStatus {
    let observed = str_at(object, "/status/observedGeneration");
    let generation = int_at(object, "/metadata/generation");
    if observed.is_empty() || observed.parse::<i64>().ok() != Some(generation) {
        return HealthStatus::new(
            Health::Progressing,
            "Waiting for rollout spec update to be observed",
        );
    }
    let message = str_at(object, "/status/message");
    match str_at(object, "/status/phase") {
        "Healthy" => HealthStatus::new(Health::Healthy, message),
        "Paused" => HealthStatus::new(Health::Suspended, message),
        "Degraded" => HealthStatus::new(Health::Degraded, message),
        _ => HealthStatus::new(Health::Progressing, message),
    }
}

/// Argo CD's rule for `AnalysisRun`: by `status.phase`.
fn analysis_run(object: &Value) -> HealthStatus {
    let message = str_at(object, "/status/message");
    match str_at(object, "/status/phase") {
        "Successful" => HealthStatus::new(Health::Healthy, message),
        "Failed" | "Error" => HealthStatus::new(Health::Degraded, message),
        "Inconclusive" => HealthStatus::new(Health::Suspended, message),
        _ => HealthStatus::new(Health::Progressing, message),
    }
}

/// A condition whose own `observedGeneration` is behind the object's generation describes
/// an older spec.
fn stale_condition(object: &Value, c: &Value) -> Option<HealthStatus> {
    let observed = opt_int(c, "/observedGeneration")?;
    let generation = opt_int(object, "/metadata/generation")?;
    (observed < generation).then(|| {
        HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for the {} condition to observe generation {generation} (it describes {observed})",
                str_at(c, "/type")
            ),
        )
    })
}

/// Argo CD's `cert-manager.io/Certificate/health.lua`: `Issuing` True wins, then `Ready`.
fn certificate(object: &Value) -> HealthStatus {
    if let Some(issuing) = condition(object, "Issuing").filter(|c| str_at(c, "/status") == "True") {
        return HealthStatus::new(Health::Progressing, str_at(issuing, "/message"));
    }
    ready_condition(object, "Waiting for certificate")
}

/// Argo CD's `cert-manager.io/{Issuer,ClusterIssuer}/health.lua`.
fn issuer(object: &Value) -> HealthStatus {
    ready_condition(object, "Initializing issuer")
}

/// `Ready` True → Healthy, False → Degraded, anything else → Progressing with `waiting`.
fn ready_condition(object: &Value, waiting: &str) -> HealthStatus {
    let Some(ready) = condition(object, "Ready") else {
        return HealthStatus::new(Health::Progressing, waiting);
    };
    if let Some(stale) = stale_condition(object, ready) {
        return stale;
    }
    let message = str_at(ready, "/message");
    match str_at(ready, "/status") {
        "True" => HealthStatus::new(Health::Healthy, message),
        "False" => HealthStatus::new(Health::Degraded, message),
        _ => HealthStatus::new(Health::Progressing, waiting),
    }
}

/// Condition reasons that mean "not yet" rather than "failed" on a False `Ready`.
const IN_PROGRESS_REASONS: &[&str] = &[
    "Progressing",
    "Reconciling",
    "Pending",
    "Issuing",
    "InProgress",
    "Creating",
    "Updating",
    "Initializing",
];

/// The kstatus-like rule for kinds without a specific check (see [`object_health`]).
fn generic(object: &Value) -> Option<HealthStatus> {
    let list = conditions(object);
    if list.is_empty() {
        return None;
    }
    let is_true =
        |kind: &str| condition(object, kind).is_some_and(|c| str_at(c, "/status") == "True");
    let ready = condition(object, "Ready").or_else(|| condition(object, "Available"));
    let stalled = is_true("Stalled");
    let reconciling = is_true("Reconciling");
    if ready.is_none() && !stalled && !reconciling {
        return None;
    }
    if let (Some(observed), Some(generation)) = (
        opt_int(object, "/status/observedGeneration"),
        opt_int(object, "/metadata/generation"),
    ) && observed < generation
    {
        return Some(HealthStatus::new(
            Health::Progressing,
            format!(
                "Waiting for status to observe generation {generation} (observed generation {observed} is stale)"
            ),
        ));
    }
    if stalled {
        let message = condition(object, "Stalled").map_or("", |c| str_at(c, "/message"));
        return Some(HealthStatus::new(Health::Degraded, message));
    }
    if reconciling {
        let message = condition(object, "Reconciling").map_or("", |c| str_at(c, "/message"));
        return Some(HealthStatus::new(Health::Progressing, message));
    }
    let ready = ready?;
    if let Some(stale) = stale_condition(object, ready) {
        return Some(stale);
    }
    let message = str_at(ready, "/message");
    let health = match str_at(ready, "/status") {
        "True" => Health::Healthy,
        "False" if !IN_PROGRESS_REASONS.contains(&str_at(ready, "/reason")) => Health::Degraded,
        _ => Health::Progressing,
    };
    Some(HealthStatus::new(health, message))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn health(object: &Value) -> (Health, String) {
        let status = object_health(object).expect("the kind has a health");
        (status.health, status.message)
    }

    fn deploy(generation: i64, spec: &Value, status: &Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "generation": generation},
               "spec": spec, "status": status})
    }

    #[test]
    fn order_follows_argo_cd() {
        use Health::{Degraded, Healthy, Missing, Progressing, Suspended, Unknown};
        let ordered = [Healthy, Suspended, Progressing, Missing, Degraded, Unknown];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(worst([Healthy, Degraded, Progressing]), Degraded);
        assert_eq!(worst([Suspended, Healthy]), Suspended);
        assert_eq!(worst([Missing, Progressing]), Missing);
        assert_eq!(worst([Degraded, Unknown]), Unknown);
        assert_eq!(worst(Vec::new()), Healthy);
        assert_eq!(Progressing.as_str(), "Progressing");
        assert_eq!(Missing.to_string(), "Missing");
    }

    #[test]
    fn kinds_without_health_have_none_and_deletion_is_progressing() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "c"}, "data": {"a": "b"}});
        assert_eq!(object_health(&config), None);
        let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                             "metadata": {"name": "w"}, "status": {"size": 3}});
        assert_eq!(object_health(&unknown), None);
        let mut deleting = config.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            health(&deleting),
            (Health::Progressing, "Pending deletion".into())
        );
    }

    #[test]
    fn deployment_rules() {
        let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                          "readyReplicas": 3, "availableReplicas": 3,
                          "conditions": [{"type": "Progressing", "status": "True",
                                          "reason": "NewReplicaSetAvailable"}]});
        assert_eq!(
            health(&deploy(2, &json!({"replicas": 3}), &done)).0,
            Health::Healthy
        );
        // A newer spec than the status describes: counters are not trusted.
        let (h, message) = health(&deploy(3, &json!({"replicas": 3}), &done));
        assert_eq!(h, Health::Progressing);
        assert!(
            message.contains("observed deployment generation"),
            "{message}"
        );
        assert_eq!(
            health(&deploy(2, &json!({"replicas": 3, "paused": true}), &done)).0,
            Health::Suspended
        );
        let rolling = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1,
                             "availableReplicas": 3});
        assert_eq!(
            health(&deploy(2, &json!({"replicas": 3}), &rolling)),
            (
                Health::Progressing,
                "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."
                    .into()
            )
        );
        let old = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
                         "availableReplicas": 3});
        assert!(
            health(&deploy(2, &json!({"replicas": 3}), &old))
                .1
                .contains("1 old replicas are pending termination")
        );
        let unavailable = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                                 "availableReplicas": 2});
        assert!(
            health(&deploy(2, &json!({"replicas": 3}), &unavailable))
                .1
                .contains("2 of 3 updated replicas are available")
        );
        let stuck = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
                           "conditions": [{"type": "Progressing", "status": "False",
                                           "reason": "ProgressDeadlineExceeded"}]});
        assert_eq!(
            health(&deploy(2, &json!({"replicas": 3}), &stuck)),
            (
                Health::Degraded,
                "Deployment \"web\" exceeded its progress deadline".into()
            )
        );
    }

    #[test]
    fn replica_set_rules() {
        let rs = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "web-7d9c", "generation": 1},
                   "spec": {"replicas": 2}, "status": status})
        };
        assert_eq!(
            health(&rs(
                json!({"observedGeneration": 1, "replicas": 2, "availableReplicas": 2})
            ))
            .0,
            Health::Healthy
        );
        assert_eq!(
            health(&rs(
                json!({"observedGeneration": 1, "availableReplicas": 1})
            ))
            .0,
            Health::Progressing
        );
        assert_eq!(health(&rs(json!({}))).0, Health::Progressing);
        let failed = rs(json!({"observedGeneration": 1, "conditions": [
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"web-7d9c-\" is forbidden: exceeded quota"}]}));
        assert_eq!(
            health(&failed),
            (
                Health::Degraded,
                "pods \"web-7d9c-\" is forbidden: exceeded quota".into()
            )
        );
    }

    #[test]
    fn stateful_set_rules() {
        let sts = |generation: i64, strategy: Value, status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "db", "generation": generation},
                   "spec": {"replicas": 3, "updateStrategy": strategy}, "status": status})
        };
        let rolling = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
        let ready = json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
                           "updatedReplicas": 3, "currentReplicas": 3,
                           "currentRevision": "db-1", "updateRevision": "db-1"});
        assert_eq!(
            health(&sts(2, rolling.clone(), ready.clone())).0,
            Health::Healthy
        );
        assert_eq!(
            health(&sts(3, rolling.clone(), ready.clone())).0,
            Health::Progressing
        );
        assert_eq!(
            health(&sts(1, rolling.clone(), json!({}))).0,
            Health::Progressing
        );
        let not_ready = json!({"observedGeneration": 2, "readyReplicas": 1});
        assert_eq!(
            health(&sts(2, rolling.clone(), not_ready)),
            (
                Health::Progressing,
                "Waiting for 2 pods to be ready...".into()
            )
        );
        let partial = json!({"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1});
        let partitioned = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
        assert_eq!(
            health(&sts(2, partitioned, partial.clone())).0,
            Health::Progressing
        );
        assert_eq!(
            health(&sts(2, json!({"type": "OnDelete"}), partial)).0,
            Health::Healthy
        );
        let mut revisions = ready;
        revisions["updateRevision"] = json!("db-2");
        assert_eq!(
            health(&sts(2, json!({"type": "RollingUpdate"}), revisions)).0,
            Health::Progressing
        );
    }

    #[test]
    fn daemon_set_rules() {
        let ds = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                   "metadata": {"name": "agent", "generation": 1},
                   "spec": {"updateStrategy": {"type": "RollingUpdate"}}, "status": status})
        };
        assert_eq!(
            health(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                              "updatedNumberScheduled": 2, "numberAvailable": 2})
            ))
            .0,
            Health::Healthy
        );
        assert!(
            health(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                              "updatedNumberScheduled": 1})
            ))
            .1
            .contains("1 out of 2 new pods have been updated")
        );
        assert!(
            health(&ds(
                json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                              "updatedNumberScheduled": 2, "numberAvailable": 1})
            ))
            .1
            .contains("1 of 2 updated pods are available")
        );
        assert_eq!(health(&ds(json!({}))).0, Health::Progressing);
    }

    #[test]
    fn job_and_cron_job_rules() {
        let job = |conditions: Value| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
                   "status": {"conditions": conditions}})
        };
        assert_eq!(health(&job(json!([]))).0, Health::Progressing);
        assert_eq!(
            health(&job(
                json!([{"type": "SuccessCriteriaMet", "status": "True"},
                                {"type": "Complete", "status": "True"}])
            ))
            .0,
            Health::Healthy
        );
        assert_eq!(
            health(&job(json!([{"type": "Failed", "status": "True",
                                 "reason": "BackoffLimitExceeded",
                                 "message": "Job has reached the specified backoff limit"}]))),
            (
                Health::Degraded,
                "Job has reached the specified backoff limit".into()
            )
        );
        assert_eq!(
            health(&job(json!([{"type": "Suspended", "status": "True"}]))).0,
            Health::Suspended
        );
        assert_eq!(
            health(&job(json!([{"type": "Suspended", "status": "False"}]))).0,
            Health::Healthy
        );

        let cron = |spec: Value, status: Option<Value>| {
            let mut object = json!({"apiVersion": "batch/v1", "kind": "CronJob",
                                    "metadata": {"name": "report"}, "spec": spec});
            if let Some(status) = status {
                object["status"] = status;
            }
            object
        };
        let spec = json!({"schedule": "*/5 * * * *"});
        assert_eq!(
            health(&cron(json!({"suspend": true}), Some(json!({})))).0,
            Health::Suspended
        );
        assert_eq!(health(&cron(spec.clone(), None)).0, Health::Progressing);
        assert_eq!(
            health(&cron(spec.clone(), Some(json!({})))),
            (Health::Healthy, "CronJob has not been scheduled yet".into())
        );
        let failed = json!({"lastScheduleTime": "2026-01-01T10:05:00Z",
                            "lastSuccessfulTime": "2026-01-01T10:00:30Z"});
        assert_eq!(
            health(&cron(spec.clone(), Some(failed.clone()))).0,
            Health::Degraded
        );
        let mut running = failed;
        running["active"] = json!([{"kind": "Job", "name": "report-29000"}]);
        assert_eq!(
            health(&cron(spec.clone(), Some(running))).0,
            Health::Healthy
        );
        let ok = json!({"lastScheduleTime": "2026-01-01T10:05:00Z",
                        "lastSuccessfulTime": "2026-01-01T10:05:40Z"});
        assert_eq!(health(&cron(spec.clone(), Some(ok))).0, Health::Healthy);
        let never = json!({"lastScheduleTime": "2026-01-01T10:05:00Z"});
        assert_eq!(health(&cron(spec, Some(never))).0, Health::Healthy);
    }

    fn pod_with(restart: &str, status: &Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-7d9c8f5-x2x4z", "namespace": "shop"},
               "spec": {"restartPolicy": restart,
                        "containers": [{"name": "main", "image": "does-not-exist:1"}]},
               "status": status})
    }

    #[test]
    fn pod_waiting_errors_name_the_reason() {
        let pulling = json!({"phase": "Pending", "containerStatuses": [{
            "name": "main", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": "Back-off pulling image \"does-not-exist:1\""}}}]});
        let (h, message) = health(&pod_with("Always", &pulling));
        assert_eq!(h, Health::Degraded);
        assert!(message.starts_with("ImagePullBackOff"), "{message}");
        assert!(message.contains("does-not-exist:1"), "{message}");
        // A hook pod waiting on its image is not failed yet.
        assert_eq!(health(&pod_with("Never", &pulling)).0, Health::Progressing);
        for reason in [
            "ErrImagePull",
            "CreateContainerConfigError",
            "CrashLoopBackOff",
        ] {
            let status = json!({"phase": "Running", "containerStatuses": [{
                "name": "main", "state": {"waiting": {"reason": reason}}}]});
            assert_eq!(
                health(&pod_with("Always", &status)),
                (Health::Degraded, reason.to_owned())
            );
        }
        let creating = json!({"phase": "Pending", "containerStatuses": [{
            "name": "main", "state": {"waiting": {"reason": "ContainerCreating"}}}]});
        assert_eq!(
            health(&pod_with("Always", &creating)).0,
            Health::Progressing
        );
    }

    #[test]
    fn pod_phase_rules() {
        let ready = json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "main", "ready": true,
                                   "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]});
        assert_eq!(health(&pod_with("Always", &ready)).0, Health::Healthy);
        assert_eq!(
            health(&pod_with("OnFailure", &ready)).0,
            Health::Progressing
        );
        let restarted = json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "main", "ready": false,
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                "state": {"running": {}}}]});
        assert_eq!(health(&pod_with("Always", &restarted)).0, Health::Degraded);
        let starting = json!({"phase": "Running",
            "containerStatuses": [{"name": "main", "state": {"running": {}}}]});
        assert_eq!(
            health(&pod_with("Always", &starting)).0,
            Health::Progressing
        );
        assert_eq!(
            health(&pod_with("Never", &json!({"phase": "Succeeded"}))).0,
            Health::Healthy
        );
        let failed = json!({"phase": "Failed", "containerStatuses": [{"name": "main",
            "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]});
        assert_eq!(
            health(&pod_with("Never", &failed)),
            (
                Health::Degraded,
                "container \"main\" failed with exit code 2".into()
            )
        );
        let oom = json!({"phase": "Failed", "containerStatuses": [{"name": "main",
            "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]});
        assert_eq!(health(&pod_with("Never", &oom)).1, "OOMKilled");
        let evicted = json!({"phase": "Failed", "reason": "Evicted",
                             "message": "The node was low on resource: memory."});
        assert_eq!(
            health(&pod_with("Always", &evicted)).1,
            "The node was low on resource: memory."
        );
        assert_eq!(
            health(&pod_with("Always", &json!({"phase": "Mystery"}))).0,
            Health::Unknown
        );
    }

    #[test]
    fn claim_service_ingress_namespace_rules() {
        let pvc = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data"}, "status": {"phase": phase}})
        };
        assert_eq!(health(&pvc("Bound")).0, Health::Healthy);
        assert_eq!(health(&pvc("Pending")).0, Health::Progressing);
        assert_eq!(health(&pvc("Lost")).0, Health::Degraded);
        assert_eq!(health(&pvc("")).0, Health::Unknown);

        let lb = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                        "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert_eq!(health(&lb).0, Health::Progressing);
        let mut served = lb.clone();
        served["status"]["loadBalancer"]["ingress"] = json!([{"ip": "172.18.255.200"}]);
        assert_eq!(health(&served).0, Health::Healthy);
        let cluster_ip = json!({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": "api"}, "spec": {"type": "ClusterIP"}});
        assert_eq!(health(&cluster_ip).0, Health::Healthy);

        let mut ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                             "metadata": {"name": "web"}, "status": {"loadBalancer": {}}});
        assert_eq!(health(&ing).0, Health::Progressing);
        ing["status"]["loadBalancer"]["ingress"] = json!([{"hostname": "lb.example.com"}]);
        assert_eq!(health(&ing).0, Health::Healthy);

        let ns = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"},
                   "status": {"phase": phase}})
        };
        assert_eq!(health(&ns("Active")).0, Health::Healthy);
        assert_eq!(health(&ns("Terminating")).0, Health::Progressing);
    }

    #[test]
    fn autoscaler_rules() {
        let hpa = |conditions: Value| {
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "web"}, "status": {"conditions": conditions}})
        };
        let healthy = hpa(json!([
            {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
             "message": "recommended size matches current size"},
            {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
             "message": "the desired replica count is less than the minimum replica count"}]));
        assert_eq!(health(&healthy).0, Health::Healthy);
        let partly = hpa(json!([
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
             "message": "unable to get metrics for resource cpu"},
            {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale",
             "message": "ok"}]));
        assert_eq!(
            health(&partly),
            (
                Health::Degraded,
                "unable to get metrics for resource cpu".into()
            )
        );
        // The first deciding condition wins, as in gitops-engine: AbleToScale True ahead of
        // a failing metric reads Healthy there too.
        let first = hpa(json!([
            {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale",
             "message": "ok"},
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
             "message": "unable to get metrics for resource cpu"}]));
        assert_eq!(health(&first), (Health::Healthy, "ok".into()));
        // What a real controller writes: AbleToScale first decides (Argo CD's first match).
        let real = hpa(json!([
            {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
             "message": "recommended size matches current size"},
            {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
            {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"}]));
        assert_eq!(
            health(&real),
            (
                Health::Healthy,
                "recommended size matches current size".into()
            )
        );
        let waiting = hpa(json!([
            {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
            {"type": "AbleToScale", "status": "False", "reason": "BackoffBoth"}]));
        assert_eq!(health(&waiting).0, Health::Progressing);
        assert_eq!(health(&hpa(json!([]))).0, Health::Progressing);

        let v1 = |annotation: &str| {
            json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "web", "annotations": {
                       "autoscaling.alpha.kubernetes.io/conditions": annotation}}})
        };
        let text = r#"[{"type":"AbleToScale","status":"False","reason":"FailedGetScale","message":"no scale"}]"#;
        assert_eq!(health(&v1(text)), (Health::Degraded, "no scale".into()));
        assert_eq!(health(&v1("{not json")).0, Health::Unknown);
    }

    #[test]
    fn api_service_definition_and_workflow_rules() {
        let api = |status: &str| {
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                   "metadata": {"name": "v1beta1.metrics.k8s.io"},
                   "status": {"conditions": [{"type": "Available", "status": status,
                       "reason": "Passed", "message": "all checks passed"}]}})
        };
        assert_eq!(
            health(&api("True")),
            (Health::Healthy, "Passed: all checks passed".into())
        );
        assert_eq!(health(&api("False")).0, Health::Progressing);

        let crd = |conditions: Value| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com"},
                   "status": {"conditions": conditions}})
        };
        assert_eq!(
            health(&crd(json!([{"type": "NamesAccepted", "status": "True"},
                                {"type": "Established", "status": "True"}])))
            .0,
            Health::Healthy
        );
        assert_eq!(health(&crd(json!([]))).0, Health::Progressing);
        assert_eq!(
            health(&crd(json!([{"type": "NamesAccepted", "status": "False",
                                 "message": "conflicts"}])))
            .0,
            Health::Degraded
        );
        let wf = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                        "metadata": {"name": "w"}, "status": {"phase": "Failed"}});
        assert_eq!(health(&wf).0, Health::Degraded);
    }

    #[test]
    fn cert_manager_rules() {
        let cert = |generation: i64, conditions: Value| {
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                   "metadata": {"name": "web-tls", "generation": generation},
                   "spec": {"secretName": "web-tls",
                            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
                   "status": {"conditions": conditions}})
        };
        let ready = json!([{"type": "Ready", "status": "True", "reason": "Ready",
                            "observedGeneration": 1,
                            "message": "Certificate is up to date and has not expired"}]);
        assert_eq!(
            health(&cert(1, ready.clone())),
            (
                Health::Healthy,
                "Certificate is up to date and has not expired".into()
            )
        );
        // A spec change cert-manager has not seen yet.
        assert_eq!(health(&cert(2, ready)).0, Health::Progressing);
        let issuing = json!([
            {"type": "Ready", "status": "False", "reason": "DoesNotExist",
             "message": "Issuing certificate as Secret does not exist"},
            {"type": "Issuing", "status": "True", "reason": "DoesNotExist",
             "message": "Issuing certificate as Secret does not exist"}]);
        assert_eq!(health(&cert(1, issuing)).0, Health::Progressing);
        let broken = json!([{"type": "Ready", "status": "False", "reason": "ConfigError",
                             "message": "invalid dnsNames"}]);
        assert_eq!(
            health(&cert(1, broken)),
            (Health::Degraded, "invalid dnsNames".into())
        );
        assert_eq!(
            health(&cert(1, json!([]))),
            (Health::Progressing, "Waiting for certificate".into())
        );

        let issuer = |kind: &str, status: Option<&str>| {
            let conditions = status.map_or_else(
                || json!([]),
                |s| {
                    json!([{"type": "Ready", "status": s, "reason": "ErrRegisterACMEAccount",
                            "message": "Failed to register ACME account"}])
                },
            );
            json!({"apiVersion": "cert-manager.io/v1", "kind": kind,
                   "metadata": {"name": "letsencrypt"}, "status": {"conditions": conditions}})
        };
        assert_eq!(
            health(&issuer("ClusterIssuer", Some("True"))).0,
            Health::Healthy
        );
        assert_eq!(
            health(&issuer("Issuer", Some("False"))),
            (Health::Degraded, "Failed to register ACME account".into())
        );
        assert_eq!(
            health(&issuer("Issuer", None)),
            (Health::Progressing, "Initializing issuer".into())
        );
    }

    #[test]
    fn generic_conditions_rule() {
        let object = |generation: i64, status: Value| {
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "repo", "generation": generation}, "status": status})
        };
        let ready = |status: &str, reason: &str| {
            json!({"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": status, "reason": reason, "message": "m"}]})
        };
        assert_eq!(
            health(&object(3, ready("True", "Succeeded"))),
            (Health::Healthy, "m".into())
        );
        assert_eq!(
            health(&object(3, ready("False", "AuthenticationFailed"))).0,
            Health::Degraded
        );
        assert_eq!(
            health(&object(3, ready("False", "Progressing"))).0,
            Health::Progressing
        );
        assert_eq!(
            health(&object(3, ready("Unknown", "Reconciling"))).0,
            Health::Progressing
        );
        let (h, message) = health(&object(4, ready("True", "Succeeded")));
        assert_eq!(h, Health::Progressing);
        assert!(message.contains("stale"), "{message}");
        let stalled = json!({"conditions": [
            {"type": "Stalled", "status": "True", "message": "spec.url is invalid"},
            {"type": "Ready", "status": "False", "reason": "Progressing"}]});
        assert_eq!(
            health(&object(1, stalled)),
            (Health::Degraded, "spec.url is invalid".into())
        );
        let available = json!({"conditions": [{"type": "Available", "status": "True"}]});
        assert_eq!(health(&object(1, available)).0, Health::Healthy);
        let other = json!({"conditions": [{"type": "Synced", "status": "True"}]});
        assert_eq!(object_health(&object(1, other)), None);
        // A per-condition observedGeneration behind the object's generation is stale too.
        let stale = json!({"conditions": [{"type": "Ready", "status": "True",
                                           "observedGeneration": 1}]});
        assert_eq!(health(&object(2, stale)).0, Health::Progressing);
    }
}
