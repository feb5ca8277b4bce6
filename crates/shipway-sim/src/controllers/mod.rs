//! Workload simulation: the controllers, scheduler and kubelet a real cluster runs, as
//! synchronous reconcile functions over the [`Store`].
//!
//! A real API server stores objects and nothing more; Deployments become `ReplicaSets` and
//! pods, pods become Running and Ready, claims become Bound only because controllers and
//! kubelets write those changes back through the API. Health checks (`kubectl rollout
//! status`, Argo CD's health rules, shipway's own waits) read exactly those writes, so the
//! simulator runs small controllers that make them through the same write pipeline as any
//! client: the main resource for spec and metadata, `Subresource::Status` for status, each
//! with a real field manager (`kube-controller-manager`, `kube-scheduler`, `kubelet`), so
//! resourceVersions, generations and watch events look like a real cluster's.
//!
//! Each controller is one pass over the objects it owns ([`reconcile_pass`] runs them all);
//! a pass only writes what differs from the stored state, so repeating passes until none
//! writes settles the cluster. Time is the store's virtual clock ([`Store::now`]): delays
//! and deadlines are measured on it, so tests move it with `Simulator::advance` instead of
//! sleeping, and every timestamp a stage writes is derived from the previous stage's (not
//! from the moment the pass ran), so jumping the clock gives the same objects as waiting.
//!
//! # Faults scripted from the objects
//!
//! Pods inherit these from their template, so they are set on a Deployment's (or other
//! workload's) `spec.template.metadata.annotations`:
//!
//! - an image reference containing `does-not-exist` never pulls: the container waits with
//!   reason `ErrImagePull`, then `ImagePullBackOff`, and the pod stays Pending;
//! - `sim.shipway.dev/fault: crash-loop`: the container runs for a second, exits with code 1,
//!   and waits in `CrashLoopBackOff` for 10 s, 20 s, 40 s … (capped at 300 s) between
//!   restarts, with `restartCount` and `lastState.terminated` as a kubelet writes them;
//! - `sim.shipway.dev/fault: never-ready`: Running, never Ready;
//! - `sim.shipway.dev/fault: unhealthy`: Running and Ready, but its `/health` answers 503
//!   (what smoke checks catch and a readiness probe missed);
//! - `sim.shipway.dev/fault: slow-start`: containers start after ten times the configured
//!   delay; `sim.shipway.dev/start-seconds: "N"` sets the delay outright;
//! - `sim.shipway.dev/fault: fail`: a Job's pod ends in phase Failed with exit code 1;
//!   `sim.shipway.dev/run-seconds: "N"` sets how long a Job's pod runs;
//! - on a `PersistentVolumeClaim`, `sim.shipway.dev/fault: pending` keeps it Pending and
//!   `sim.shipway.dev/fault: lost` makes it Lost; on a `LoadBalancer` Service or an Ingress,
//!   `sim.shipway.dev/fault: pending` withholds the load-balancer address.
//!
//! Where cert-manager's CRDs are served, [`certmanager`] stands in for cert-manager:
//! issuers become Ready and Certificates get their TLS Secret (placeholder content).
//!
//! Pods that serve HTTP (`sim.shipway.dev/endpoint`, `sim.shipway.dev/error-rate`,
//! `sim.shipway.dev/latency-ms` and the `-bad`/`-slow` image tags) are described in
//! [`pod_http`]; the simulated CPU and memory use autoscalers read
//! (`sim.shipway.dev/cpu-utilization`, `sim.shipway.dev/cpu-usage` and their memory
//! counterparts) in [`hpa`]; the Events every stage writes, and how they are bounded, in
//! [`events`].

mod certmanager;
mod cronjob;
mod daemonset;
mod deployment;
pub(crate) mod events;
mod hpa;
mod job;
mod kubelet;
pub(crate) mod pod_http;
mod replicaset;
mod service;
mod statefulset;
mod volume;

pub(crate) use kubelet::ENDPOINT_ANNOTATION;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::clock;
use crate::error::ApiError;
use crate::resources::{self, ResourceType};
use crate::store::{DeleteOptions, Propagation, Store, Subresource, WriteOptions};

/// Field manager of the controllers (`kube-controller-manager` on a real cluster).
pub(crate) const CONTROLLER_MANAGER: &str = "kube-controller-manager";
/// Field manager of pod status and node writes.
pub(crate) const KUBELET: &str = "kubelet";
/// Field manager of pod bindings.
pub(crate) const SCHEDULER: &str = "kube-scheduler";

/// The annotation that scripts a fault on a pod template, claim, Service or Ingress.
pub(crate) const FAULT_ANNOTATION: &str = "sim.shipway.dev/fault";

/// How the simulated cluster behaves: its size, the delays of each stage a pod goes
/// through, and the load-balancer and deadline rules. Every delay is in seconds of the
/// simulator's clock ([`Store::now`]), so tests that move the clock see the stages happen
/// without waiting.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationConfig {
    /// How many `Node` objects (`sim-node-1` …) exist, Ready; `DaemonSets` run one pod on
    /// each and the scheduler spreads pods over them. 0 leaves every pod unschedulable.
    pub nodes: usize,
    /// Seconds from a pod's creation until the scheduler binds it to a node.
    pub scheduling_delay: u64,
    /// Seconds from scheduling until the containers run (images pulled and started).
    pub container_start_delay: u64,
    /// Seconds a running container takes to pass its readiness check.
    pub readiness_delay: u64,
    /// Seconds a Job's pod runs before its containers exit.
    pub job_run_seconds: u64,
    /// Seconds from a `LoadBalancer` Service's (or an Ingress's) creation until its
    /// `status.loadBalancer.ingress` is filled.
    pub load_balancer_delay: u64,
    /// Whether Deployments report `ProgressDeadlineExceeded` once `progressDeadlineSeconds`
    /// pass without progress (as a real controller does); off keeps a stuck rollout
    /// Progressing forever.
    pub progress_deadlines: bool,
    /// Simulated requests per second of simulator clock that each serving pod's metrics
    /// count (see the `pod_http` module).
    pub requests_per_second: u64,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            nodes: 1,
            scheduling_delay: 0,
            container_start_delay: 1,
            readiness_delay: 0,
            job_run_seconds: 1,
            load_balancer_delay: 1,
            progress_deadlines: true,
            requests_per_second: 10,
        }
    }
}

/// What the controllers remember between passes besides the objects: the configuration,
/// address allocators, and the pods' HTTP listeners.
#[derive(Debug, Default)]
pub(crate) struct ControllerState {
    /// The behaviour of the simulated cluster.
    pub(crate) config: SimulationConfig,
    /// Next pod IP offset in 10.244.0.0/16.
    next_pod_ip: u32,
    /// Load-balancer addresses handed out, by Service uid.
    load_balancer_ips: HashMap<String, String>,
    /// The loopback listeners of pods that serve HTTP.
    pub(crate) endpoints: pod_http::Registry,
    /// Keeps the names of events recorded in the same second apart.
    pub(crate) event_sequence: u64,
    /// The `v1` event recorded for each correlation key (object uid, reason, message,
    /// component), so repeats update its count.
    pub(crate) event_index: HashMap<String, String>,
}

impl ControllerState {
    /// State for a cluster configured by `config`.
    pub(crate) fn new(config: SimulationConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The next pod IP (10.244.0.1, 10.244.0.2 … skipping network and broadcast).
    fn allocate_pod_ip(&mut self) -> String {
        let offset = self.next_pod_ip % (256 * 254);
        self.next_pod_ip += 1;
        format!("10.244.{}.{}", offset / 254, offset % 254 + 1)
    }

    /// The load-balancer address of the object with `uid` (172.18.255.200 onwards).
    fn load_balancer_ip(&mut self, uid: &str) -> String {
        let next = self.load_balancer_ips.len();
        self.load_balancer_ips
            .entry(uid.to_owned())
            .or_insert_with(|| format!("172.18.{}.{}", 255 - next / 50, 200 + next % 50))
            .clone()
    }
}

/// One pass of every controller over `store`; returns how many writes it persisted (0 when
/// the cluster is settled at the store's current time).
pub(crate) fn reconcile_pass(store: &mut Store, state: &mut ControllerState) -> usize {
    let before = store.resource_version();
    let now = store.now();
    state.endpoints.set_now(now);
    let mut ctx = Ctx { store, state, now };
    kubelet::sync_nodes(&mut ctx);
    hpa::reconcile(&mut ctx);
    deployment::reconcile(&mut ctx);
    replicaset::reconcile(&mut ctx);
    statefulset::reconcile(&mut ctx);
    daemonset::reconcile(&mut ctx);
    cronjob::reconcile(&mut ctx);
    job::reconcile(&mut ctx);
    volume::reconcile(&mut ctx);
    kubelet::schedule(&mut ctx);
    kubelet::reconcile(&mut ctx);
    service::reconcile(&mut ctx);
    certmanager::reconcile(&mut ctx);
    events::expire(&mut ctx);
    (ctx.store.resource_version() - before) as usize
}

/// What a controller works with during one pass.
pub(crate) struct Ctx<'a> {
    /// The objects.
    pub(crate) store: &'a mut Store,
    /// Configuration and allocations.
    pub(crate) state: &'a mut ControllerState,
    /// The simulator clock when the pass started (seconds since the epoch).
    pub(crate) now: u64,
}

impl Ctx<'_> {
    /// Every object of `resource` (a snapshot, so the pass can write while walking it).
    pub(crate) fn list(&self, resource: &ResourceType) -> Vec<Value> {
        self.store.objects_of(resource, None).cloned().collect()
    }

    /// Every object of `resource` in `namespace`.
    pub(crate) fn list_in(&self, resource: &ResourceType, namespace: &str) -> Vec<Value> {
        self.store
            .objects_of(resource, Some(namespace))
            .cloned()
            .collect()
    }

    /// Objects of `resource` in `namespace` whose controller is the object with `uid`.
    pub(crate) fn owned(&self, resource: &ResourceType, namespace: &str, uid: &str) -> Vec<Value> {
        self.store
            .objects_of(resource, Some(namespace))
            .filter(|object| controller_uid(object) == Some(uid))
            .cloned()
            .collect()
    }

    /// The simulator clock as Kubernetes writes timestamps.
    pub(crate) fn now_rfc3339(&self) -> String {
        clock::format_rfc3339(self.now)
    }

    /// Creates `object` as `manager`.
    pub(crate) fn create(
        &mut self,
        resource: &'static ResourceType,
        namespace: &str,
        object: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let namespace = resource.namespaced.then_some(namespace);
        self.store
            .create(resource, namespace, object, &WriteOptions::manager(manager))
            .map(|written| written.object)
    }

    /// Writes `object` (a modified copy of the stored one) to the main resource as
    /// `manager`, unless nothing outside `status` changed.
    pub(crate) fn update(
        &mut self,
        resource: &'static ResourceType,
        object: Value,
        manager: &str,
    ) -> Option<Value> {
        self.write(resource, object, Subresource::Main, manager)
    }

    /// Writes `object`'s status through `/status` as `manager`, unless it is unchanged.
    pub(crate) fn update_status(
        &mut self,
        resource: &'static ResourceType,
        object: Value,
        manager: &str,
    ) -> Option<Value> {
        self.write(resource, object, Subresource::Status, manager)
    }

    fn write(
        &mut self,
        resource: &'static ResourceType,
        mut object: Value,
        subresource: Subresource,
        manager: &str,
    ) -> Option<Value> {
        let namespace = str_at(&object, "/metadata/namespace").to_owned();
        let name = str_at(&object, "/metadata/name").to_owned();
        let namespace = resource.namespaced.then_some(namespace.as_str());
        let stored = self.store.get(resource, namespace, &name).ok()?;
        if stored == object {
            return Some(stored);
        }
        // The stored version is the precondition: a controller never overwrites a change
        // it has not seen (within one locked pass it always has).
        if let Some(version) = stored.pointer("/metadata/resourceVersion") {
            set_path(
                &mut object,
                &["metadata", "resourceVersion"],
                version.clone(),
            );
        }
        self.store
            .update(
                resource,
                namespace,
                &name,
                object,
                subresource,
                &WriteOptions::manager(manager),
            )
            .ok()
            .map(|written| written.object)
    }

    /// Deletes an object in the background (its dependents follow through the garbage
    /// collector); a missing object is not an error.
    pub(crate) fn delete(&mut self, resource: &'static ResourceType, object: &Value) {
        let namespace = str_at(object, "/metadata/namespace");
        let namespace = resource.namespaced.then_some(namespace);
        let options = DeleteOptions {
            propagation: Some(Propagation::Background),
            preconditions: object
                .pointer("/metadata/uid")
                .map(|uid| json!({ "uid": uid })),
            dry_run: false,
        };
        let _ = self
            .store
            .delete(resource, namespace, name(object), &options);
    }
}

/// A built-in resource type by group and plural (every version served is the only one).
pub(crate) fn resource(group: &str, plural: &str) -> Option<&'static ResourceType> {
    resources::RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
}

/// The string at `pointer`, or `""`.
pub(crate) fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The integer at `pointer`, or `default` when absent or not an integer.
pub(crate) fn int_at(object: &Value, pointer: &str, default: i64) -> i64 {
    object
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// `metadata.name`.
pub(crate) fn name(object: &Value) -> &str {
    str_at(object, "/metadata/name")
}

/// `metadata.namespace`.
pub(crate) fn namespace(object: &Value) -> &str {
    str_at(object, "/metadata/namespace")
}

/// `metadata.uid`.
pub(crate) fn uid(object: &Value) -> &str {
    str_at(object, "/metadata/uid")
}

/// An annotation's value, or `""`.
pub(crate) fn annotation<'a>(object: &'a Value, key: &str) -> &'a str {
    object
        .pointer("/metadata/annotations")
        .and_then(|annotations| annotations.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether the object carries a `deletionTimestamp`.
pub(crate) fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// The uid of the object's controller (the owner reference with `controller: true`).
pub(crate) fn controller_uid(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|owner| owner.get("controller").and_then(Value::as_bool) == Some(true))?
        .get("uid")?
        .as_str()
}

/// The kind of the object's controller, or `""`.
pub(crate) fn controller_kind(object: &Value) -> &str {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|owners| {
            owners
                .iter()
                .find(|owner| owner.get("controller").and_then(Value::as_bool) == Some(true))
        })
        .map_or("", |owner| str_at(owner, "/kind"))
}

/// The owner reference a controller puts on what it creates, so the garbage collector
/// removes it with its owner.
pub(crate) fn owner_reference(owner: &Value) -> Value {
    json!([{
        "apiVersion": str_at(owner, "/apiVersion"),
        "kind": str_at(owner, "/kind"),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

/// Sets the value at `path` (object keys), creating objects on the way.
pub(crate) fn set_path(object: &mut Value, path: &[&str], value: Value) {
    let mut current = object;
    for (index, key) in path.iter().enumerate() {
        if !current.is_object() {
            *current = json!({});
        }
        let Some(map) = current.as_object_mut() else {
            return;
        };
        if index + 1 == path.len() {
            map.insert((*key).to_owned(), value);
            return;
        }
        current = map.entry((*key).to_owned()).or_insert_with(|| json!({}));
    }
}

/// Whether `labels` (an object of strings, or absent) satisfy a `LabelSelector`
/// (`matchLabels` and `matchExpressions`). The empty selector matches everything.
pub(crate) fn selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in match_labels {
            if label(key) != value.as_str() {
                return false;
            }
        }
    }
    for expression in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = str_at(expression, "/key");
        let values: Vec<&str> = expression
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let found = label(key);
        let ok = match str_at(expression, "/operator") {
            "In" => found.is_some_and(|v| values.contains(&v)),
            "NotIn" => !found.is_some_and(|v| values.contains(&v)),
            "Exists" => found.is_some(),
            "DoesNotExist" => found.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A pod's condition of `kind`, if present.
pub(crate) fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|condition| str_at(condition, "/type") == kind)
}

/// Whether the object's condition of `kind` has status `True`.
pub(crate) fn condition_true(object: &Value, kind: &str) -> bool {
    condition(object, kind).is_some_and(|c| str_at(c, "/status") == "True")
}

/// Whether a pod is Ready.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    condition_true(pod, "Ready")
}

/// Whether a pod has been Ready for at least `min_ready_seconds` at `now` (a controller's
/// "available").
pub(crate) fn pod_available(pod: &Value, min_ready_seconds: i64, now: u64) -> bool {
    let Some(ready) = condition(pod, "Ready").filter(|c| str_at(c, "/status") == "True") else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    clock::parse_rfc3339(str_at(ready, "/lastTransitionTime"))
        .is_some_and(|since| since.saturating_add(min_ready_seconds as u64) <= now)
}

/// Whether a pod has finished (phase Succeeded or Failed).
pub(crate) fn pod_terminal(pod: &Value) -> bool {
    matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
}

/// Whether a pod counts as one of its controller's replicas: not finished, not deleting.
pub(crate) fn pod_active(pod: &Value) -> bool {
    !pod_terminal(pod) && !is_deleting(pod)
}

/// Sets a condition in `conditions` the way the controllers' `SetCondition` helpers do: an
/// unchanged status and reason leaves the list alone; a changed reason keeps the
/// `lastTransitionTime`; the new condition goes last. `condition` must carry `type`,
/// `status`, `reason`, `message` and `lastTransitionTime` (plus any kind-specific times).
pub(crate) fn set_condition(conditions: &mut Vec<Value>, mut condition: Value) {
    let kind = str_at(&condition, "/type").to_owned();
    if let Some(current) = conditions.iter().find(|c| str_at(c, "/type") == kind) {
        if str_at(current, "/status") == str_at(&condition, "/status")
            && str_at(current, "/reason") == str_at(&condition, "/reason")
        {
            return;
        }
        if str_at(current, "/status") == str_at(&condition, "/status")
            && let Some(since) = current.get("lastTransitionTime")
        {
            set_path(&mut condition, &["lastTransitionTime"], since.clone());
        }
    }
    conditions.retain(|c| str_at(c, "/type") != kind);
    conditions.push(condition);
}

/// The conditions array of an object's status (empty when absent).
pub(crate) fn conditions_of(object: &Value) -> Vec<Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Resolves an `IntOrString` (`3`, `"25%"`) against `total`, rounding a percentage up or
/// down as Kubernetes does for `maxSurge` (up) and `maxUnavailable` (down).
pub(crate) fn int_or_percent(
    value: Option<&Value>,
    default: &str,
    total: i64,
    round_up: bool,
) -> i64 {
    let text = match value {
        Some(Value::Number(number)) => return number.as_i64().unwrap_or(0).max(0),
        Some(Value::String(text)) => text.as_str(),
        _ => default,
    };
    if let Some(percent) = text.strip_suffix('%') {
        let percent = percent.trim().parse::<i64>().unwrap_or(0).max(0);
        let scaled = percent.saturating_mul(total);
        if round_up {
            scaled.saturating_add(99) / 100
        } else {
            scaled / 100
        }
    } else {
        text.trim().parse::<i64>().unwrap_or(0).max(0)
    }
}

/// Keys of every object sorted recursively, so equal values print equally.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut sorted = Map::new();
            for key in keys {
                sorted.insert(key.clone(), canonical(&map[key]));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A stable short hash of a pod template, spelled as the real `pod-template-hash` is: the
/// FNV-32a hash's decimal digits mapped onto the alphabet of `rand.SafeEncodeString`, so
/// names look like `web-7d4b9c8f5`.
pub(crate) fn template_hash(template: &Value, collision_count: i64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut text = canonical(template).to_string();
    if collision_count > 0 {
        text.push_str(&collision_count.to_string());
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|digit| char::from(ALPHABET[usize::from(digit) % ALPHABET.len()]))
        .collect()
}

/// A pod built from a workload's template: its labels and annotations (plus `extra_labels`),
/// its spec, the workload as controller, in the workload's namespace.
pub(crate) fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: PodName<'_>,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut metadata = Map::new();
    match name {
        PodName::Exact(exact) => metadata.insert("name".into(), exact.into()),
        PodName::Generate(prefix) => metadata.insert("generateName".into(), prefix.into()),
    };
    metadata.insert("namespace".into(), namespace(owner).into());
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in extra_labels {
        labels.insert((*key).to_owned(), value.clone().into());
    }
    metadata.insert("labels".into(), Value::Object(labels));
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), annotations.clone());
    }
    metadata.insert("ownerReferences".into(), owner_reference(owner));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// How a controller names a pod.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PodName<'a> {
    /// A fixed name (`StatefulSet` pods).
    Exact(&'a str),
    /// `generateName` (`ReplicaSet`, `DaemonSet` and Job pods).
    Generate(&'a str),
}

/// Removes counters that are zero, as the real status types' `omitempty` does.
pub(crate) fn omit_zero(status: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if status.get(*key).and_then(Value::as_i64) == Some(0) {
            status.remove(*key);
        }
    }
}

/// The object with `status` replaced.
pub(crate) fn with_status(object: &Value, status: Value) -> Value {
    let mut next = object.clone();
    set_path(&mut next, &["status"], status);
    next
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers the controllers' tests share: a store, a state, and a settle loop on the
    //! store's clock.

    use serde_json::Value;

    use super::{ControllerState, SimulationConfig, reconcile_pass};
    use crate::store::{Store, WriteOptions};

    /// A store and controller state, driven like `Simulator::advance` does.
    pub(crate) struct Harness {
        pub(crate) store: Store,
        pub(crate) state: ControllerState,
    }

    impl Harness {
        /// A fresh cluster with `config`.
        pub(crate) fn new(config: SimulationConfig) -> Self {
            Self {
                store: Store::new(),
                state: ControllerState::new(config),
            }
        }

        /// Passes until one writes nothing.
        pub(crate) fn settle(&mut self) -> usize {
            let mut total = 0;
            for _ in 0..200 {
                let writes = reconcile_pass(&mut self.store, &mut self.state);
                total += writes;
                if writes == 0 {
                    break;
                }
            }
            total
        }

        /// Moves the clock one second at a time, settling after each.
        pub(crate) fn advance(&mut self, seconds: u64) {
            self.settle();
            for _ in 0..seconds {
                self.store.advance_clock(1);
                self.settle();
            }
        }

        /// Creates an object (the kind's row found by group and plural).
        pub(crate) fn create(&mut self, group: &str, plural: &str, object: Value) -> Value {
            let resource = super::resource(group, plural).expect("row");
            self.store
                .create(
                    resource,
                    Some("default"),
                    object,
                    &WriteOptions::manager("test"),
                )
                .expect("create")
                .object
        }

        /// The stored object.
        pub(crate) fn get(&self, group: &str, plural: &str, name: &str) -> Value {
            let resource = super::resource(group, plural).expect("row");
            self.store
                .get(resource, Some("default"), name)
                .expect("object exists")
        }

        /// Every stored object of the type in `default`.
        pub(crate) fn list(&self, group: &str, plural: &str) -> Vec<Value> {
            let resource = super::resource(group, plural).expect("row");
            self.store
                .objects_of(resource, Some("default"))
                .cloned()
                .collect()
        }

        /// Merge-patches an object's main resource.
        pub(crate) fn patch(&mut self, group: &str, plural: &str, name: &str, patch: &Value) {
            let resource = super::resource(group, plural).expect("row");
            self.store
                .patch(
                    resource,
                    Some("default"),
                    name,
                    crate::store::PatchType::Merge,
                    patch,
                    crate::store::Subresource::Main,
                    &WriteOptions::manager("test"),
                )
                .expect("patch");
        }
    }

    /// A pod template running `image`, labelled `app: <app>`.
    pub(crate) fn template(app: &str, image: &str) -> Value {
        serde_json::json!({
            "metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": image,
                                     "ports": [{"containerPort": 8080}]}]},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_kubernetes() {
        let surge = json!("25%");
        assert_eq!(int_or_percent(Some(&surge), "25%", 3, true), 1);
        assert_eq!(int_or_percent(Some(&surge), "25%", 3, false), 0);
        assert_eq!(int_or_percent(Some(&json!(2)), "25%", 3, false), 2);
        assert_eq!(int_or_percent(None, "25%", 10, false), 2);
        assert_eq!(int_or_percent(None, "25%", 10, true), 3);
    }

    #[test]
    fn template_hash_is_stable_and_key_order_blind() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {}});
        let b = json!({"spec": {}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
        assert_ne!(template_hash(&a, 0), template_hash(&a, 1));
        assert!(
            template_hash(&a, 0)
                .bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
    }

    #[test]
    fn selectors_take_labels_and_expressions() {
        let labels = json!({"app": "web", "tier": "front"});
        let selector = json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]},
                                 {"key": "gone", "operator": "DoesNotExist"}]});
        assert!(selector_matches(&selector, Some(&labels)));
        let other = json!({"matchLabels": {"app": "api"}});
        assert!(!selector_matches(&other, Some(&labels)));
        assert!(selector_matches(&json!({}), None));
    }

    #[test]
    fn conditions_keep_transition_times_when_the_status_holds() {
        let mut conditions = vec![json!({"type": "Progressing", "status": "True",
            "reason": "NewReplicaSetCreated", "lastTransitionTime": "t1"})];
        set_condition(
            &mut conditions,
            json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                   "lastTransitionTime": "t2"}),
        );
        assert_eq!(conditions[0]["lastTransitionTime"], "t1");
        assert_eq!(conditions[0]["reason"], "ReplicaSetUpdated");
        set_condition(
            &mut conditions,
            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                   "lastTransitionTime": "t3"}),
        );
        assert_eq!(conditions[0]["lastTransitionTime"], "t3");
    }
}
