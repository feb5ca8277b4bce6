//! Defaulting: the fields a real 1.32 API server fills in on every write, so live objects
//! differ from manifests exactly as they do on a real cluster.
//!
//! Diffs and health checks of deployment tools are written against live objects, which carry the
//! defaults of `SetDefaults_*` in `k8s.io/kubernetes/pkg/apis/*/v1/defaults.go`, the
//! declarative `+default` markers, a few registry strategies (Job selector generation,
//! Service IP and port allocation) and the built-in admission plugins (`ServiceAccount`,
//! `DefaultTolerationSeconds`, `Priority`). [`apply_defaults`] reproduces them on the JSON
//! object, only ever filling fields that are missing (or hold Go's zero value where the
//! upstream code tests for it), never overwriting what the client sent.
//!
//! Deliberate simplifications:
//! - Quantities are not canonicalised (`cpu: 0.5` stays `0.5`, a real server stores `500m`).
//! - Cluster IPs and node ports are allocated in order from the bottom of their ranges
//!   (10.96.0.0/12 skipping `.1` and `.10`, 30000–32767), not at random; a client-chosen IP
//!   or port that is already taken is accepted rather than refused with 422.
//! - The cluster is single-stack IPv4; `ipFamilies` is always `[IPv4]`.
//! - Pod `status` (phase `Pending`, `qosClass`) is left to whoever writes status.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::clock;

/// First address of the service range 10.96.0.0/12 (kubeadm's default).
const SERVICE_RANGE_START: u32 = u32::from_be_bytes([10, 96, 0, 0]);
/// Number of addresses in a /12.
const SERVICE_RANGE_SIZE: u32 = 1 << 20;
/// Node ports a default cluster hands out.
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// The cluster-wide allocators a store keeps for the lifetime of the simulated cluster:
/// Service cluster IPs and node ports, with the ones in use.
#[derive(Debug, Clone)]
pub(crate) struct Allocator {
    used_ips: BTreeSet<u32>,
    used_ports: BTreeSet<u16>,
    /// Feeds generated names (`kube-api-access-xxxxx`).
    sequence: u64,
}

impl Default for Allocator {
    fn default() -> Self {
        // `.1` belongs to the `kubernetes` Service and `.10` to kube-dns on a real
        // kubeadm cluster, so nothing else may receive them.
        Self {
            used_ips: [SERVICE_RANGE_START + 1, SERVICE_RANGE_START + 10]
                .into_iter()
                .collect(),
            used_ports: BTreeSet::new(),
            sequence: 0,
        }
    }
}

impl Allocator {
    /// A fresh allocator with the addresses a new cluster already uses.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Gives back the cluster IPs and node ports of a deleted Service (or of one whose
    /// update dropped them), so later Services may receive them.
    pub(crate) fn release(&mut self, service: &Value) {
        for ip in service_ips(service) {
            self.used_ips.remove(&ip);
        }
        for port in service_node_ports(service) {
            self.used_ports.remove(&port);
        }
    }

    /// Marks a Service's cluster IPs and node ports as taken (used when the client chose
    /// them, and by a store rebuilding its allocator from stored objects).
    pub(crate) fn reserve(&mut self, service: &Value) {
        self.used_ips.extend(service_ips(service));
        self.used_ports.extend(service_node_ports(service));
    }

    fn allocate_ip(&mut self) -> Option<String> {
        // Network and broadcast addresses are never handed out.
        let free = (1..SERVICE_RANGE_SIZE - 1)
            .map(|offset| SERVICE_RANGE_START + offset)
            .find(|ip| !self.used_ips.contains(ip))?;
        self.used_ips.insert(free);
        Some(std::net::Ipv4Addr::from(free).to_string())
    }

    fn allocate_port(&mut self) -> Option<u16> {
        let free = NODE_PORTS
            .clone()
            .find(|port| !self.used_ports.contains(port))?;
        self.used_ports.insert(free);
        Some(free)
    }
}

/// Parsed cluster IPs (`clusterIP` and `clusterIPs`) of a Service in the service range.
fn service_ips(service: &Value) -> Vec<u32> {
    let spec = service.get("spec");
    let single = spec.and_then(|s| s.get("clusterIP")).into_iter();
    let many = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    single
        .chain(many)
        .filter_map(Value::as_str)
        .filter_map(|ip| ip.parse::<std::net::Ipv4Addr>().ok())
        .map(u32::from)
        .collect()
}

/// Node ports of a Service, including its health-check node port.
fn service_node_ports(service: &Value) -> Vec<u16> {
    let spec = service.get("spec");
    let ports = spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|port| port.get("nodePort"));
    ports
        .chain(spec.and_then(|s| s.get("healthCheckNodePort")))
        .filter_map(Value::as_u64)
        .filter_map(|port| u16::try_from(port).ok())
        .collect()
}

/// What one write's defaulting may consult: the cluster allocators, and on update the
/// stored object (Services keep their allocated IPs and ports when a client omits them,
/// and admission defaults and Job selector generation only run on create).
#[derive(Debug)]
pub(crate) struct DefaultContext<'a> {
    allocator: &'a mut Allocator,
    old: Option<&'a Value>,
}

impl<'a> DefaultContext<'a> {
    /// Context for a create (POST, or an apply that creates).
    pub(crate) fn create(allocator: &'a mut Allocator) -> Self {
        Self {
            allocator,
            old: None,
        }
    }

    /// Context for an update of `old` (PUT and every patch).
    pub(crate) fn update(allocator: &'a mut Allocator, old: &'a Value) -> Self {
        Self {
            allocator,
            old: Some(old),
        }
    }
}

/// Fills in what a real API server defaults on `object`, a `group`/`kind` object about to
/// be stored. The caller sets `metadata.uid` (and `metadata.name`) first: Job selector
/// generation copies them into labels. Kinds without defaults are left alone.
pub(crate) fn apply_defaults(
    group: &str,
    kind: &str,
    object: &mut Value,
    ctx: &mut DefaultContext,
) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("apps", "Deployment") => default_deployment(root),
        ("apps", "ReplicaSet") => {
            let spec = child(root, "spec");
            set_absent(spec, "replicas", json!(1));
            default_template_in(spec);
        }
        ("apps", "StatefulSet") => default_statefulset(root),
        ("apps", "DaemonSet") => default_daemonset(root),
        ("batch", "Job") => default_job(root, ctx.old.is_none()),
        ("batch", "CronJob") => default_cronjob(root),
        ("", "Pod") => default_pod(root, ctx),
        ("", "Service") => default_service(root, ctx),
        ("", "PersistentVolumeClaim") => {
            default_pvc_spec(child(root, "spec"));
            set_empty(child(root, "status"), "phase", json!("Pending"));
        }
        ("", "Secret") => default_secret(root),
        ("autoscaling", "HorizontalPodAutoscaler") => default_hpa(root),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// JSON helpers. "Absent" is what Go sees as a nil pointer (missing or null); "empty" adds
// the zero values Go's `== ""` / `== 0` tests also treat as unset.
// ---------------------------------------------------------------------------------------

fn is_absent(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_none_or(Value::is_null)
}

fn is_empty(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(Value::Number(number)) => number.as_f64() == Some(0.0),
        Some(_) => false,
    }
}

/// Sets `key` when missing or null (a nil pointer in Go).
fn set_absent(map: &mut Map<String, Value>, key: &str, value: Value) {
    if is_absent(map, key) {
        map.insert(key.into(), value);
    }
}

/// Sets `key` when missing, null, `""` or `0` (a Go zero value).
fn set_empty(map: &mut Map<String, Value>, key: &str, value: Value) {
    if is_empty(map, key) {
        map.insert(key.into(), value);
    }
}

/// The object at `key`, created empty when missing or not an object (Go structs that are
/// values, not pointers, always exist).
fn child<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let entry = map.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(inner) => inner,
        // Just made an object above.
        _ => unreachable!("entry was replaced by an object"),
    }
}

/// The object at `key` if there is one (a Go pointer that may be nil).
fn child_opt<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Every object item of the array at `key`.
fn items_mut<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'m mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

// ---------------------------------------------------------------------------------------
// Workloads.
// ---------------------------------------------------------------------------------------

fn default_deployment(root: &mut Map<String, Value>) {
    let spec = child(root, "spec");
    set_absent(spec, "replicas", json!(1));
    let strategy = child(spec, "strategy");
    set_empty(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = child(strategy, "rollingUpdate");
        set_absent(rolling, "maxUnavailable", json!("25%"));
        set_absent(rolling, "maxSurge", json!("25%"));
    }
    set_absent(spec, "revisionHistoryLimit", json!(10));
    set_absent(spec, "progressDeadlineSeconds", json!(600));
    default_template_in(spec);
}

fn default_daemonset(root: &mut Map<String, Value>) {
    let spec = child(root, "spec");
    let strategy = child(spec, "updateStrategy");
    set_empty(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = child(strategy, "rollingUpdate");
        set_absent(rolling, "maxUnavailable", json!(1));
        set_absent(rolling, "maxSurge", json!(0));
    }
    set_absent(spec, "revisionHistoryLimit", json!(10));
    default_template_in(spec);
}

fn default_statefulset(root: &mut Map<String, Value>) {
    let spec = child(root, "spec");
    set_empty(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = child(spec, "updateStrategy");
    if is_empty(strategy, "type") {
        strategy.insert("type".into(), json!("RollingUpdate"));
        set_absent(strategy, "rollingUpdate", json!({}));
    }
    // Upstream defaults the partition only when `rollingUpdate` exists by now.
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
        && let Some(rolling) = child_opt(strategy, "rollingUpdate")
    {
        set_absent(rolling, "partition", json!(0));
    }
    let retention = child(spec, "persistentVolumeClaimRetentionPolicy");
    set_empty(retention, "whenDeleted", json!("Retain"));
    set_empty(retention, "whenScaled", json!("Retain"));
    set_absent(spec, "replicas", json!(1));
    set_absent(spec, "revisionHistoryLimit", json!(10));
    for claim in items_mut(spec, "volumeClaimTemplates") {
        // What a live StatefulSet shows: the embedded claims go through the PVC's own
        // defaulting (status phase included) and come back with their type meta and
        // Go's `creationTimestamp: null` (1.32 serialises the zero time that way).
        set_empty(claim, "apiVersion", json!("v1"));
        set_empty(claim, "kind", json!("PersistentVolumeClaim"));
        set_absent(child(claim, "metadata"), "creationTimestamp", Value::Null);
        default_pvc_spec(child(claim, "spec"));
        set_empty(child(claim, "status"), "phase", json!("Pending"));
    }
    default_template_in(spec);
}

fn default_pvc_spec(spec: &mut Map<String, Value>) {
    set_absent(spec, "volumeMode", json!("Filesystem"));
}

/// `SetDefaults_Job` plus the strategy's selector generation. Generation happens only on
/// create (the real strategy does it in `Validate`, not `ValidateUpdate`), so an update
/// that drops the selector is refused as an immutable-field change, as on a real server.
fn default_job(root: &mut Map<String, Value>, creating: bool) {
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let uid = root
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let spec = child(root, "spec");
    if is_absent(spec, "completions") && is_absent(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_absent(spec, "parallelism", json!(1));
    let backoff = if is_absent(spec, "backoffLimitPerIndex") {
        6
    } else {
        i64::from(i32::MAX)
    };
    set_absent(spec, "backoffLimit", json!(backoff));
    set_absent(spec, "completionMode", json!("NonIndexed"));
    set_absent(spec, "suspend", json!(false));
    let replacement = if is_absent(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set_absent(spec, "podReplacementPolicy", json!(replacement));
    if let Some(failure_policy) = child_opt(spec, "podFailurePolicy") {
        for rule in items_mut(failure_policy, "rules") {
            for pattern in items_mut(rule, "onPodConditions") {
                set_empty(pattern, "status", json!("True"));
            }
        }
    }
    set_absent(spec, "manualSelector", json!(false));
    let template_labels_before = spec
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|labels| !labels.is_null())
        .cloned();
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if creating && !manual {
        let template = child(spec, "template");
        let labels = child(child(template, "metadata"), "labels");
        for (key, value) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            // A label the client set is kept; validation then rejects a wrong value.
            labels.entry(key).or_insert_with(|| value.clone().into());
        }
        let selector = child(spec, "selector");
        child(selector, "matchLabels")
            .entry("batch.kubernetes.io/controller-uid")
            .or_insert_with(|| uid.clone().into());
    }
    default_template_in(spec);
    // Job labels default to the template's. The stored object is defaulted again when
    // read back, so a template without labels at decode time hands the generated ones
    // to the Job (as `kubectl create job` shows), while labels the client put on the
    // template are copied as they were sent.
    let template_labels = template_labels_before.or_else(|| {
        root.get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels"))
            .cloned()
    });
    let metadata = child(root, "metadata");
    let job_labels_empty = metadata
        .get("labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if job_labels_empty && let Some(labels) = template_labels {
        metadata.insert("labels".into(), labels);
    }
}

fn default_cronjob(root: &mut Map<String, Value>) {
    let spec = child(root, "spec");
    set_empty(spec, "concurrencyPolicy", json!("Allow"));
    set_absent(spec, "suspend", json!(false));
    set_absent(spec, "successfulJobsHistoryLimit", json!(3));
    set_absent(spec, "failedJobsHistoryLimit", json!(1));
    // The job template gets only the pod-template defaults: `SetDefaults_Job` is
    // registered for the Job object, not for `JobTemplateSpec`.
    let job_template = child(spec, "jobTemplate");
    set_absent(
        child(job_template, "metadata"),
        "creationTimestamp",
        Value::Null,
    );
    default_template_in(child(job_template, "spec"));
}

/// Defaults `spec.template` (a `PodTemplateSpec`) of a workload spec.
fn default_template_in(spec: &mut Map<String, Value>) {
    let template = child(spec, "template");
    // 1.32 serialises the zero `metav1.Time` of embedded object metadata as null.
    set_absent(
        child(template, "metadata"),
        "creationTimestamp",
        Value::Null,
    );
    default_pod_spec(child(template, "spec"));
}

// ---------------------------------------------------------------------------------------
// Pods and pod specs.
// ---------------------------------------------------------------------------------------

/// `SetDefaults_PodSpec` and everything the generated defaulters call below a `PodSpec`
/// (containers, probes, volumes, env). Applies to bare Pods and to every template.
fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_empty(spec, "dnsPolicy", json!("ClusterFirst"));
    set_empty(spec, "restartPolicy", json!("Always"));
    set_absent(spec, "securityContext", json!({}));
    set_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_empty(spec, "schedulerName", json!("default-scheduler"));
    // Conversion, not defaulting, but visible the same way: v1 keeps the deprecated
    // `serviceAccount` in step with `serviceAccountName`.
    if is_empty(spec, "serviceAccountName")
        && let Some(deprecated) = spec.get("serviceAccount").filter(|v| !v.is_null()).cloned()
    {
        spec.insert("serviceAccountName".into(), deprecated);
    }
    if let Some(name) = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
    {
        let name = name.to_owned();
        spec.insert("serviceAccount".into(), name.into());
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for container in items_mut(spec, key) {
            default_container(container);
        }
    }
    for volume in items_mut(spec, "volumes") {
        default_volume(volume);
    }
}

fn default_container(container: &mut Map<String, Value>) {
    if is_empty(container, "imagePullPolicy") {
        let image = container
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let policy = if image_tag(image) == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        container.insert("imagePullPolicy".into(), json!(policy));
    }
    set_empty(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set_empty(container, "terminationMessagePolicy", json!("File"));
    // `resources` is a struct value in Go, so it is always serialised.
    child(container, "resources");
    for port in items_mut(container, "ports") {
        set_empty(port, "protocol", json!("TCP"));
    }
    for env in items_mut(container, "env") {
        if let Some(field_ref) = child_opt(env, "valueFrom").and_then(|v| child_opt(v, "fieldRef"))
        {
            set_empty(field_ref, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = child_opt(container, probe) {
            set_empty(probe, "timeoutSeconds", json!(1));
            set_empty(probe, "periodSeconds", json!(10));
            set_empty(probe, "successThreshold", json!(1));
            set_empty(probe, "failureThreshold", json!(3));
            default_handler(probe);
        }
    }
    if let Some(lifecycle) = child_opt(container, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(hook) = child_opt(lifecycle, hook) {
                default_handler(hook);
            }
        }
    }
}

/// Defaults of a probe or lifecycle handler: `httpGet` path and scheme, `grpc` service.
fn default_handler(handler: &mut Map<String, Value>) {
    if let Some(http) = child_opt(handler, "httpGet") {
        set_empty(http, "path", json!("/"));
        set_empty(http, "scheme", json!("HTTP"));
    }
    if let Some(grpc) = child_opt(handler, "grpc") {
        set_absent(grpc, "service", json!(""));
    }
}

/// The tag `ParseImageName` finds: `latest` when neither tag nor digest is given, `None`
/// when only a digest is. A registry port (`host:5000/app`) is not a tag.
fn image_tag(image: &str) -> Option<&str> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    match last_segment.rsplit_once(':') {
        Some((_, tag)) => Some(tag),
        None if digest.is_some() => None,
        None => Some("latest"),
    }
}

fn default_volume(volume: &mut Map<String, Value>) {
    let has_source = volume
        .iter()
        .any(|(key, value)| key != "name" && !value.is_null());
    if !has_source {
        volume.insert("emptyDir".into(), json!({}));
    }
    for mode_source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = child_opt(volume, mode_source) {
            set_absent(source, "defaultMode", json!(420));
        }
    }
    if let Some(host_path) = child_opt(volume, "hostPath") {
        set_absent(host_path, "type", json!(""));
    }
    if let Some(downward) = child_opt(volume, "downwardAPI") {
        default_downward_items(downward);
    }
    if let Some(projected) = child_opt(volume, "projected") {
        for source in items_mut(projected, "sources") {
            if let Some(downward) = child_opt(source, "downwardAPI") {
                default_downward_items(downward);
            }
            if let Some(token) = child_opt(source, "serviceAccountToken") {
                set_absent(token, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(iscsi) = child_opt(volume, "iscsi") {
        set_empty(iscsi, "iscsiInterface", json!("default"));
    }
    if let Some(rbd) = child_opt(volume, "rbd") {
        set_empty(rbd, "pool", json!("rbd"));
        set_empty(rbd, "user", json!("admin"));
        set_empty(rbd, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(azure) = child_opt(volume, "azureDisk") {
        set_absent(azure, "cachingMode", json!("ReadWrite"));
        set_absent(azure, "fsType", json!("ext4"));
        set_absent(azure, "readOnly", json!(false));
        set_absent(azure, "kind", json!("Shared"));
    }
    if let Some(scale_io) = child_opt(volume, "scaleIO") {
        set_empty(scale_io, "storageMode", json!("ThinProvisioned"));
        set_empty(scale_io, "fsType", json!("xfs"));
    }
    if let Some(template) =
        child_opt(volume, "ephemeral").and_then(|e| child_opt(e, "volumeClaimTemplate"))
    {
        default_pvc_spec(child(template, "spec"));
    }
}

fn default_downward_items(downward: &mut Map<String, Value>) {
    for item in items_mut(downward, "items") {
        if let Some(field_ref) = child_opt(item, "fieldRef") {
            set_empty(field_ref, "apiVersion", json!("v1"));
        }
    }
}

/// A bare Pod: the pod-spec defaults, `SetDefaults_Pod`, and on create the admission
/// plugins every cluster runs.
fn default_pod(root: &mut Map<String, Value>, ctx: &mut DefaultContext) {
    let creating = ctx.old.is_none();
    let uid_sequence = {
        ctx.allocator.sequence += 1;
        ctx.allocator.sequence
    };
    let spec = child(root, "spec");
    if creating {
        admit_pod(spec, uid_sequence);
    }
    default_pod_spec(spec);
    set_absent(spec, "enableServiceLinks", json!(true));
    // Requests default to limits, per container, for Pods only (not templates).
    for key in ["initContainers", "containers"] {
        for container in items_mut(spec, key) {
            let resources = child(container, "resources");
            let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
                continue;
            };
            let requests = child(resources, "requests");
            for (resource, quantity) in limits {
                requests.entry(resource).or_insert(quantity);
            }
        }
    }
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for key in ["initContainers", "containers"] {
            for container in items_mut(spec, key) {
                for port in items_mut(container, "ports") {
                    if is_empty(port, "hostPort")
                        && let Some(container_port) = port.get("containerPort").cloned()
                    {
                        port.insert("hostPort".into(), container_port);
                    }
                }
            }
        }
    }
}

/// The `ServiceAccount`, `DefaultTolerationSeconds` and `Priority` admission plugins.
fn admit_pod(spec: &mut Map<String, Value>, sequence: u64) {
    if is_empty(spec, "serviceAccountName") && is_empty(spec, "serviceAccount") {
        spec.insert("serviceAccountName".into(), json!("default"));
    }
    mount_service_account_token(spec, sequence);
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !tolerations.is_array() {
        *tolerations = json!([]);
    }
    if let Some(tolerations) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let tolerated = tolerations.iter().any(|toleration| {
                let field = |name: &str| toleration.get(name).and_then(Value::as_str).unwrap_or("");
                let effect_matches = matches!(field("effect"), "" | "NoExecute");
                let key_matches = field("key") == key
                    || (field("key").is_empty() && field("operator") == "Exists");
                effect_matches && key_matches
            });
            if !tolerated {
                tolerations.push(json!({
                    "effect": "NoExecute",
                    "key": key,
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                }));
            }
        }
    }
    let priority = match spec.get("priorityClassName").and_then(Value::as_str) {
        Some("system-node-critical") => 2_000_001_000,
        Some("system-cluster-critical") => 2_000_000_000,
        _ => 0,
    };
    set_absent(spec, "priority", json!(priority));
    set_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
}

/// What the `ServiceAccount` admission plugin adds unless automounting is off: the
/// projected `kube-api-access-xxxxx` volume and its read-only mount in every container.
fn mount_service_account_token(spec: &mut Map<String, Value>, sequence: u64) {
    const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    if spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        == Some(false)
    {
        return;
    }
    let already_mounted = ["initContainers", "containers"].iter().any(|key| {
        spec.get(*key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("volumeMounts").and_then(Value::as_array))
            .flatten()
            .any(|mount| mount.get("mountPath").and_then(Value::as_str) == Some(MOUNT_PATH))
    });
    if already_mounted {
        return;
    }
    let name = format!("kube-api-access-{}", clock::name_suffix(sequence));
    let volume = json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
            ],
        },
    });
    if let Some(volumes) = spec
        .entry("volumes")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        volumes.push(volume);
    }
    for key in ["initContainers", "containers"] {
        for container in items_mut(spec, key) {
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            if let Some(mounts) = mounts.as_array_mut() {
                mounts.push(json!({"mountPath": MOUNT_PATH, "name": name, "readOnly": true}));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Services.
// ---------------------------------------------------------------------------------------

fn service_type(spec: &Map<String, Value>) -> &str {
    spec.get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// `SetDefaults_Service` plus what the Service REST storage does on create and update:
/// keep allocated values the client omitted, then allocate what is still missing.
fn default_service(root: &mut Map<String, Value>, ctx: &mut DefaultContext) {
    let has_selector = root
        .get("spec")
        .and_then(|s| s.get("selector"))
        .and_then(Value::as_object)
        .is_some_and(|selector| !selector.is_empty());
    let spec = child(root, "spec");
    set_empty(spec, "sessionAffinity", json!("None"));
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("None") {
        spec.remove("sessionAffinityConfig");
    } else if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        let config = child(spec, "sessionAffinityConfig");
        let client_ip = child(config, "clientIP");
        set_absent(client_ip, "timeoutSeconds", json!(10800));
    }
    set_empty(spec, "type", json!("ClusterIP"));
    let kind = service_type(spec).to_owned();
    for port in items_mut(spec, "ports") {
        set_empty(port, "protocol", json!("TCP"));
        if is_empty(port, "targetPort")
            && let Some(number) = port.get("port").cloned()
        {
            port.insert("targetPort".into(), number);
        }
    }
    let externally_accessible = kind == "NodePort"
        || kind == "LoadBalancer"
        || (kind == "ClusterIP"
            && spec
                .get("externalIPs")
                .and_then(Value::as_array)
                .is_some_and(|ips| !ips.is_empty()));
    if externally_accessible {
        set_empty(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind != "ExternalName" {
        set_absent(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        set_absent(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(old_spec) = ctx
        .old
        .and_then(|old| old.get("spec"))
        .and_then(Value::as_object)
    {
        carry_allocated(spec, old_spec);
    }
    if kind == "ExternalName" {
        return;
    }
    // Normalise the two IP fields into one another, as the REST storage does.
    let cluster_ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let first_of_many = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .and_then(|ips| ips.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (cluster_ip.is_empty(), first_of_many) {
        (true, Some(first)) => {
            spec.insert("clusterIP".into(), first.into());
        }
        (false, None) => {
            spec.insert("clusterIPs".into(), json!([cluster_ip]));
        }
        (true, None) => {
            if let Some(ip) = ctx.allocator.allocate_ip() {
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        }
        (false, Some(first)) => {
            // The client changed only `clusterIP`: it wins over the stale list, and
            // validation then reports the change against `clusterIPs[0]`.
            if first != cluster_ip
                && ctx
                    .old
                    .and_then(|o| o.pointer("/spec/clusterIPs/0"))
                    .and_then(Value::as_str)
                    == Some(first.as_str())
                && let Some(ips) = spec.get_mut("clusterIPs").and_then(Value::as_array_mut)
                && let Some(slot) = ips.first_mut()
            {
                *slot = json!(cluster_ip);
            }
        }
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    set_absent(spec, "ipFamilies", json!(["IPv4"]));
    // Headless Services without a selector default to RequireDualStack (their endpoints
    // may be of either family); on this single-stack cluster the families stay [IPv4].
    let policy = if headless && !has_selector {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    set_absent(spec, "ipFamilyPolicy", json!(policy));
    let wants_node_ports = kind == "NodePort"
        || (kind == "LoadBalancer"
            && spec
                .get("allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false));
    let reserved = Value::Object(spec.clone());
    ctx.allocator.reserve(&json!({"spec": reserved}));
    if wants_node_ports {
        for port in items_mut(spec, "ports") {
            if is_empty(port, "nodePort")
                && let Some(allocated) = ctx.allocator.allocate_port()
            {
                port.insert("nodePort".into(), json!(allocated));
            }
        }
    }
    if kind == "LoadBalancer"
        && spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
        && is_empty(spec, "healthCheckNodePort")
        && let Some(allocated) = ctx.allocator.allocate_port()
    {
        spec.insert("healthCheckNodePort".into(), json!(allocated));
    }
}

/// `patchAllocatedValues`: an update that omits the allocated cluster IPs or node ports
/// keeps the stored ones while the type still needs them.
fn carry_allocated(spec: &mut Map<String, Value>, old_spec: &Map<String, Value>) {
    let old_kind = service_type(old_spec);
    let new_kind = service_type(spec).to_owned();
    let needs_ip = |kind: &str| kind != "ExternalName";
    if needs_ip(old_kind) && needs_ip(&new_kind) {
        if is_empty(spec, "clusterIP")
            && let Some(ip) = old_spec.get("clusterIP")
        {
            spec.insert("clusterIP".into(), ip.clone());
        }
        let list_missing = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if list_missing
            && spec.get("clusterIP") == old_spec.get("clusterIP")
            && let Some(ips) = old_spec.get("clusterIPs")
        {
            spec.insert("clusterIPs".into(), ips.clone());
        }
        for family_field in ["ipFamilies", "ipFamilyPolicy"] {
            if is_absent(spec, family_field)
                && let Some(value) = old_spec.get(family_field)
            {
                spec.insert(family_field.into(), value.clone());
            }
        }
    }
    let needs_ports = |kind: &str| kind == "NodePort" || kind == "LoadBalancer";
    if needs_ports(old_kind) && needs_ports(&new_kind) {
        let old_ports: Vec<&Value> = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        for port in items_mut(spec, "ports") {
            if !is_empty(port, "nodePort") {
                continue;
            }
            // Upstream matches by port number and protocol.
            let found = old_ports.iter().find(|old| {
                old.get("port") == port.get("port") && old.get("protocol") == port.get("protocol")
            });
            if let Some(node_port) = found.and_then(|old| old.get("nodePort")) {
                port.insert("nodePort".into(), node_port.clone());
            }
        }
        if is_empty(spec, "healthCheckNodePort")
            && let Some(port) = old_spec.get("healthCheckNodePort")
        {
            spec.insert("healthCheckNodePort".into(), port.clone());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Config, autoscaling.
// ---------------------------------------------------------------------------------------

/// `type: Opaque`, and `stringData` merged into `data` (base64, winning over `data`) and
/// dropped: a real server never stores `stringData`.
fn default_secret(root: &mut Map<String, Value>) {
    set_empty(root, "type", json!("Opaque"));
    let Some(string_data) = root.remove("stringData") else {
        return;
    };
    let Some(string_data) = string_data.as_object() else {
        return;
    };
    if string_data.is_empty() {
        return;
    }
    let data = child(root, "data");
    for (key, value) in string_data {
        if let Some(text) = value.as_str() {
            data.insert(key.clone(), json!(base64(text.as_bytes())));
        }
    }
}

/// Standard base64 with padding, as Go's `[]byte` JSON encoding writes it.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler` as of 1.32 (no
/// `selectionStrategy` yet).
fn default_hpa(root: &mut Map<String, Value>) {
    let spec = child(root, "spec");
    set_absent(spec, "minReplicas", json!(1));
    let no_metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_metrics {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(behavior) = child_opt(spec, "behavior") {
        let scale_up = json!({
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        });
        let scale_down = json!({
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        });
        for (key, defaults) in [("scaleUp", scale_up), ("scaleDown", scale_down)] {
            let rules = child(behavior, key);
            if let Some(defaults) = defaults.as_object() {
                for (field, value) in defaults {
                    set_absent(rules, field, value.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(group: &str, kind: &str, mut object: Value) -> Value {
        let mut allocator = Allocator::new();
        apply_defaults(
            group,
            kind,
            &mut object,
            &mut DefaultContext::create(&mut allocator),
        );
        object
    }

    fn web_template() -> Value {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    }

    #[test]
    fn deployment_gets_the_real_defaults() {
        let object = defaulted(
            "apps",
            "Deployment",
            json!({"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": web_template()}}),
        );
        let spec = &object["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        );
        let template = &spec["template"];
        assert_eq!(template["metadata"]["creationTimestamp"], Value::Null);
        assert!(
            template["metadata"]
                .as_object()
                .unwrap()
                .contains_key("creationTimestamp")
        );
        assert_eq!(
            template["spec"],
            json!({
                "containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                                "resources": {}, "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File"}],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "securityContext": {}, "terminationGracePeriodSeconds": 30,
            })
        );
    }

    #[test]
    fn defaults_never_overwrite() {
        let object = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}, "revisionHistoryLimit": 2,
                   "template": {"spec": {"restartPolicy": "Never", "dnsPolicy": "Default",
                   "containers": [{"name": "a", "image": "a", "imagePullPolicy": "Never"}]}}}}),
        );
        let spec = &object["spec"];
        assert_eq!(spec["replicas"], 0);
        assert_eq!(spec["strategy"], json!({"type": "Recreate"}));
        assert_eq!(spec["revisionHistoryLimit"], 2);
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
        assert_eq!(spec["template"]["spec"]["dnsPolicy"], "Default");
        assert_eq!(
            spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Never"
        );
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        for (image, policy) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("registry:5000/team/app", "Always"),
            ("registry:5000/team/app:v1", "IfNotPresent"),
            ("nginx@sha256:abc", "IfNotPresent"),
            ("nginx:latest@sha256:abc", "Always"),
        ] {
            let mut container = json!({"name": "c", "image": image});
            default_container(container.as_object_mut().unwrap());
            assert_eq!(container["imagePullPolicy"], policy, "{image}");
        }
    }

    #[test]
    fn containers_ports_probes_env_and_volumes() {
        let object = defaulted(
            "apps",
            "DaemonSet",
            json!({"spec": {"template": {"spec": {
                "initContainers": [{"name": "init", "image": "busybox:1"}],
                "containers": [{"name": "c", "image": "app:1",
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
                    "env": [{"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}],
                "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "cm"}},
                            {"name": "c", "secret": {"secretName": "s", "defaultMode": 256}},
                            {"name": "d", "hostPath": {"path": "/x"}}]}}}}),
        );
        let spec = &object["spec"];
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["initContainers"][0]["terminationMessagePolicy"], "File");
        let container = &pod["containers"][0];
        assert_eq!(container["ports"][0]["protocol"], "TCP");
        assert_eq!(container["ports"][1]["protocol"], "UDP");
        assert_eq!(
            container["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(container["readinessProbe"]["periodSeconds"], 5);
        assert_eq!(container["readinessProbe"]["grpc"]["service"], "");
        assert_eq!(
            container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(pod["volumes"][0], json!({"name": "a", "emptyDir": {}}));
        assert_eq!(pod["volumes"][1]["configMap"]["defaultMode"], 420);
        assert_eq!(pod["volumes"][2]["secret"]["defaultMode"], 256);
        assert_eq!(pod["volumes"][3]["hostPath"]["type"], "");
    }

    #[test]
    fn replicaset_and_statefulset() {
        let replicaset = defaulted(
            "apps",
            "ReplicaSet",
            json!({"spec": {"template": web_template()}}),
        );
        assert_eq!(replicaset["spec"]["replicas"], 1);
        let statefulset = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"serviceName": "db", "template": web_template(),
                   "volumeClaimTemplates": [{"metadata": {"name": "data"},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        );
        let spec = &statefulset["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["volumeClaimTemplates"][0],
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "data", "creationTimestamp": null},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                            "volumeMode": "Filesystem"},
                   "status": {"phase": "Pending"}})
        );
        let on_delete = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }

    #[test]
    fn job_generates_its_selector_on_create_only() {
        let job = json!({"metadata": {"name": "migrate", "uid": "u-1"},
                         "spec": {"template": {"spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "m", "image": "m:1"}]}}}});
        let created = defaulted("batch", "Job", job.clone());
        let spec = &created["spec"];
        for (field, value) in [
            ("parallelism", json!(1)),
            ("completions", json!(1)),
            ("backoffLimit", json!(6)),
            ("completionMode", json!("NonIndexed")),
            ("suspend", json!(false)),
            ("podReplacementPolicy", json!("TerminatingOrFailed")),
            ("manualSelector", json!(false)),
        ] {
            assert_eq!(spec[field], value, "{field}");
        }
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "migrate",
                            "controller-uid": "u-1", "job-name": "migrate"});
        assert_eq!(spec["template"]["metadata"]["labels"], labels);
        assert_eq!(created["metadata"]["labels"], labels);
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");

        let mut allocator = Allocator::new();
        let mut updated = job;
        apply_defaults(
            "batch",
            "Job",
            &mut updated,
            &mut DefaultContext::update(&mut allocator, &created),
        );
        assert!(updated["spec"].get("selector").is_none());

        let with_labels = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"name": "j", "uid": "u"}, "spec": {"parallelism": 3,
                   "template": {"metadata": {"labels": {"app": "j"}}, "spec": {}}}}),
        );
        assert_eq!(with_labels["metadata"]["labels"], json!({"app": "j"}));
        assert!(with_labels["spec"].get("completions").is_none());
        assert_eq!(with_labels["spec"]["parallelism"], 3);
    }

    #[test]
    fn manual_selector_is_left_alone() {
        let job = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"name": "j", "uid": "u"}, "spec": {"manualSelector": true,
                   "selector": {"matchLabels": {"app": "j"}}, "podFailurePolicy": {"rules": [
                       {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
                   "template": {"metadata": {"labels": {"app": "j"}}, "spec": {}}}}),
        );
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"app": "j"}})
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"],
            json!({"app": "j"})
        );
        assert_eq!(job["spec"]["podReplacementPolicy"], "Failed");
        assert_eq!(
            job["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
            "True"
        );
    }

    #[test]
    fn cronjob_defaults_its_pod_template_only() {
        let cronjob = defaulted(
            "batch",
            "CronJob",
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "c"}]}}}}}}),
        );
        let spec = &cronjob["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Allow");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["successfulJobsHistoryLimit"], 3);
        assert_eq!(spec["failedJobsHistoryLimit"], 1);
        assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
        let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "OnFailure");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["schedulerName"], "default-scheduler");
    }

    #[test]
    fn bare_pods_get_admission_defaults() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "c:1",
                   "resources": {"limits": {"cpu": "1"}}}]}}),
        );
        let spec = &pod["spec"];
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(
            spec["tolerations"][0],
            json!({"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300})
        );
        assert_eq!(
            spec["containers"][0]["resources"]["requests"],
            json!({"cpu": "1"})
        );
        let volume_name = spec["volumes"][0]["name"].as_str().unwrap();
        assert!(volume_name.starts_with("kube-api-access-"));
        assert_eq!(
            spec["containers"][0]["volumeMounts"][0],
            json!({"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": volume_name, "readOnly": true})
        );
        let opted_out = defaulted(
            "",
            "Pod",
            json!({"spec": {"automountServiceAccountToken": false, "serviceAccountName": "robot",
                   "tolerations": [{"operator": "Exists"}], "containers": [{"name": "c", "image": "c"}]}}),
        );
        assert!(opted_out["spec"].get("volumes").is_none());
        assert_eq!(opted_out["spec"]["serviceAccount"], "robot");
        assert_eq!(
            opted_out["spec"]["tolerations"],
            json!([{"operator": "Exists"}])
        );
    }

    #[test]
    fn services_get_ips_ports_and_policies() {
        let mut allocator = Allocator::new();
        let mut first = json!({"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
        apply_defaults(
            "",
            "Service",
            &mut first,
            &mut DefaultContext::create(&mut allocator),
        );
        assert_eq!(
            first["spec"],
            json!({"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                   "type": "ClusterIP", "sessionAffinity": "None", "clusterIP": "10.96.0.2",
                   "clusterIPs": ["10.96.0.2"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                   "internalTrafficPolicy": "Cluster"})
        );
        let mut node_port = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.3",
                                   "ports": [{"port": 443, "targetPort": "https"}, {"port": 80, "nodePort": 30000}]}});
        apply_defaults(
            "",
            "Service",
            &mut node_port,
            &mut DefaultContext::create(&mut allocator),
        );
        let spec = &node_port["spec"];
        assert_eq!(spec["clusterIPs"], json!(["10.96.0.3"]));
        assert_eq!(
            spec["ports"][0]["nodePort"], 30001,
            "30000 was taken by the client"
        );
        assert_eq!(spec["ports"][0]["targetPort"], "https");
        assert_eq!(spec["externalTrafficPolicy"], "Cluster");
        assert_eq!(spec["allocateLoadBalancerNodePorts"], true);

        let mut headless = json!({"spec": {"clusterIP": "None", "ports": [{"port": 5432}]}});
        apply_defaults(
            "",
            "Service",
            &mut headless,
            &mut DefaultContext::create(&mut allocator),
        );
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");

        let mut external =
            json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        apply_defaults(
            "",
            "Service",
            &mut external,
            &mut DefaultContext::create(&mut allocator),
        );
        assert_eq!(
            external["spec"],
            json!({"type": "ExternalName", "externalName": "db.example.com", "sessionAffinity": "None"})
        );

        // A PUT of the manifest keeps what was allocated.
        let mut replaced = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}, {"port": 80}]}});
        apply_defaults(
            "",
            "Service",
            &mut replaced,
            &mut DefaultContext::update(&mut allocator, &node_port),
        );
        assert_eq!(replaced["spec"]["clusterIP"], "10.96.0.3");
        assert_eq!(replaced["spec"]["ports"][0]["nodePort"], 30001);
        assert_eq!(replaced["spec"]["ports"][1]["nodePort"], 30000);

        allocator.release(&first);
        let mut reused = json!({"spec": {"ports": [{"port": 1}]}});
        apply_defaults(
            "",
            "Service",
            &mut reused,
            &mut DefaultContext::create(&mut allocator),
        );
        assert_eq!(reused["spec"]["clusterIP"], "10.96.0.2");
    }

    #[test]
    fn pvc_secret_and_hpa() {
        let pvc = defaulted(
            "",
            "PersistentVolumeClaim",
            json!({"spec": {"accessModes": ["ReadWriteOnce"]}}),
        );
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");

        let secret = defaulted(
            "",
            "Secret",
            json!({"data": {"a": "b2xk", "b": "eA=="}, "stringData": {"a": "new", "c": "hello!"}}),
        );
        assert_eq!(
            secret,
            json!({"type": "Opaque", "data": {"a": "bmV3", "b": "eA==", "c": "aGVsbG8h"}})
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");

        let hpa = defaulted(
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert_eq!(
            hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            60
        );
        assert_eq!(hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(
            hpa["spec"]["behavior"]["scaleUp"]["policies"][0]["value"],
            4
        );

        let untouched = json!({"data": {"a": "b"}});
        assert_eq!(defaulted("", "ConfigMap", untouched.clone()), untouched);
        assert_eq!(
            defaulted("policy", "PodDisruptionBudget", untouched.clone()),
            untouched
        );
    }
}
