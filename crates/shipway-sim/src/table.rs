//! `meta.k8s.io/v1` `Table` answers: what `kubectl get` prints without `-o`.
//!
//! kubectl asks for a Table first in its `Accept` list and prints the server's columns as
//! they come, so the per-kind columns here mirror the real server's printers
//! (`pkg/printers/internalversion`): Deployment READY/UP-TO-DATE/AVAILABLE, Pod
//! READY/STATUS/RESTARTS with kubectl's status reasoning, and so on; kinds without a
//! printer here get NAME and AGE. Every cell the real server computes with `Wide` is
//! included (the server always does), marked `priority: 1` so kubectl shows it only with
//! `-o wide`. Ages are computed against a `now` the caller passes, which keeps tables
//! deterministic in tests.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// The media type of a Table answer.
pub(crate) const CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Whether an `Accept` list asks for a Table: the first entry this server can answer
/// decides (`as=Table` of `meta.k8s.io` v1 or v1beta1, or plain JSON).
pub(crate) fn wants_table(accept: &str) -> bool {
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        let mut group = None;
        let mut version = None;
        let mut kind = None;
        for parameter in parts {
            if let Some((key, value)) = parameter.split_once('=') {
                match key.trim() {
                    "g" => group = Some(value.trim()),
                    "v" => version = Some(value.trim()),
                    "as" => kind = Some(value.trim()),
                    _ => {}
                }
            }
        }
        match (kind, group, version) {
            (None, None, None) => return false,
            (Some("Table"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => return true,
            // Metadata-only answers are served by the caller, not as a Table.
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                Some("v1"),
            ) => {
                return false;
            }
            _ => {}
        }
    }
    false
}

/// What each row's `object` carries (the `includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum IncludeObject {
    /// No object: `null`.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; an absent or unknown value is the default, `Metadata`.
    pub(crate) fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// One column: (name, type, format, priority, description).
type Column = (&'static str, &'static str, &'static str, u8, &'static str);

const NAME: Column = (
    "Name",
    "string",
    "name",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Column = (
    "Age",
    "string",
    "",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
const CONTAINERS: Column = (
    "Containers",
    "string",
    "",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = (
    "Images",
    "string",
    "",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = (
    "Selector",
    "string",
    "",
    1,
    "A label query over pods that should match the replica count.",
);

/// The columns the real server prints for a kind.
fn columns(resource: &ResourceType) -> Vec<Column> {
    if let Some(columns) = cluster_columns(resource) {
        return columns;
    }
    let builtin = |group: &str| resource.group == group;
    match resource.kind {
        "Deployment" if builtin("apps") => vec![
            NAME,
            (
                "Ready",
                "string",
                "",
                0,
                "Number of the pod with ready state",
            ),
            (
                "Up-to-date",
                "string",
                "",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            (
                "Available",
                "string",
                "",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        "ReplicaSet" if builtin("apps") => vec![
            NAME,
            (
                "Desired",
                "integer",
                "",
                0,
                "Replicas is the number of desired replicas.",
            ),
            (
                "Current",
                "integer",
                "",
                0,
                "Replicas is the most recently observed number of replicas.",
            ),
            (
                "Ready",
                "integer",
                "",
                0,
                "The number of ready replicas for this replica set.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        "StatefulSet" if builtin("apps") => vec![
            NAME,
            (
                "Ready",
                "string",
                "",
                0,
                "Number of the pod with ready state",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
        ],
        "DaemonSet" if builtin("apps") => vec![
            NAME,
            (
                "Desired",
                "integer",
                "",
                0,
                "The total number of nodes that should be running the daemon pod.",
            ),
            (
                "Current",
                "integer",
                "",
                0,
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
            ),
            (
                "Ready",
                "integer",
                "",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            (
                "Up-to-date",
                "integer",
                "",
                0,
                "The total number of nodes that are running updated daemon pod.",
            ),
            (
                "Available",
                "integer",
                "",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
            ),
            (
                "Node Selector",
                "string",
                "",
                0,
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        "Pod" if builtin("") => vec![
            NAME,
            (
                "Ready",
                "string",
                "",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            (
                "Status",
                "string",
                "",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            (
                "Restarts",
                "string",
                "",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            (
                "IP",
                "string",
                "",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            (
                "Node",
                "string",
                "",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            (
                "Nominated Node",
                "string",
                "",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            (
                "Readiness Gates",
                "string",
                "",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        "Service" if builtin("") => vec![
            NAME,
            (
                "Type",
                "string",
                "",
                0,
                "type determines how the Service is exposed.",
            ),
            (
                "Cluster-IP",
                "string",
                "",
                0,
                "clusterIP is the IP address of the service.",
            ),
            (
                "External-IP",
                "string",
                "",
                0,
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            (
                "Port(s)",
                "string",
                "",
                0,
                "The list of ports that are exposed by this service.",
            ),
            AGE,
            (
                "Selector",
                "string",
                "",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        "Job" if builtin("batch") => vec![
            NAME,
            ("Status", "string", "", 0, "Status of the job."),
            (
                "Completions",
                "string",
                "",
                0,
                "The completion status of the job.",
            ),
            (
                "Duration",
                "string",
                "",
                0,
                "Time required to complete the job.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        "Namespace" if builtin("") => vec![
            NAME,
            ("Status", "string", "", 0, "The status of the namespace"),
            AGE,
        ],
        "ConfigMap" if builtin("") => vec![
            NAME,
            (
                "Data",
                "integer",
                "",
                0,
                "Data contains the configuration data.",
            ),
            AGE,
        ],
        "Secret" if builtin("") => vec![
            NAME,
            (
                "Type",
                "string",
                "",
                0,
                "Used to facilitate programmatic handling of secret data.",
            ),
            ("Data", "integer", "", 0, "Data contains the secret data."),
            AGE,
        ],
        "PersistentVolumeClaim" if builtin("") => vec![
            NAME,
            (
                "Status",
                "string",
                "",
                0,
                "Phase represents the current phase of PersistentVolumeClaim.",
            ),
            (
                "Volume",
                "string",
                "",
                0,
                "VolumeName is the binding reference to the PersistentVolume backing this claim.",
            ),
            (
                "Capacity",
                "string",
                "",
                0,
                "Capacity represents the actual resources of the underlying volume.",
            ),
            (
                "Access Modes",
                "string",
                "",
                0,
                "AccessModes contains the actual access modes the volume backing the PVC has.",
            ),
            (
                "StorageClass",
                "string",
                "",
                0,
                "StorageClassName is the name of the StorageClass required by the claim.",
            ),
            (
                "VolumeAttributesClass",
                "string",
                "",
                0,
                "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.",
            ),
            AGE,
            (
                "VolumeMode",
                "string",
                "",
                1,
                "volumeMode defines what type of volume is required by the claim.",
            ),
        ],
        _ => vec![NAME, AGE],
    }
}

/// A Table of `objects` of one resource type: the kind's columns, one row per object, each
/// row's `object` as `include_object` says. `list_metadata` becomes the Table's `metadata`
/// (the list's `resourceVersion` and `continue`); `now` is seconds since the Unix epoch.
pub(crate) fn table(
    resource: &ResourceType,
    objects: &[Value],
    include_object: IncludeObject,
    list_metadata: Value,
    now: u64,
) -> Value {
    if let Some(printer) = resource.printer_columns.and_then(Value::as_array) {
        return custom_table(printer, objects, include_object, list_metadata, now);
    }
    let definitions: Vec<Value> = columns(resource)
        .into_iter()
        .map(|(name, ty, format, priority, description)| {
            json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let embedded = embedded(object, include_object);
            json!({"cells": cells(resource, object, now), "object": embedded})
        })
        .collect();
    let metadata = if list_metadata.is_object() {
        list_metadata
    } else {
        json!({})
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// A row's `object`, as `includeObject` asks for it.
fn embedded(object: &Value, include_object: IncludeObject) -> Value {
    match include_object {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => object.clone(),
    }
}

/// A custom resource's Table: NAME, its `additionalPrinterColumns` (each a simple
/// `.a.b.c` `JSONPath`, as nearly every definition's are), then AGE, as the real server's
/// CRD handler builds it.
fn custom_table(
    printer: &[Value],
    objects: &[Value],
    include_object: IncludeObject,
    list_metadata: Value,
    now: u64,
) -> Value {
    let field = |c: &Value, key: &str| c.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let mut definitions = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME.4, "priority": 0}),
    ];
    for column in printer {
        definitions.push(json!({
            "name": field(column, "name"),
            "type": field(column, "type"),
            "format": field(column, "format"),
            "description": field(column, "description"),
            "priority": column.get("priority").and_then(Value::as_i64).unwrap_or(0),
        }));
    }
    definitions.push(
        json!({"name": "Age", "type": "date", "format": "", "description": AGE.4, "priority": 0}),
    );
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![json!(text(object, "/metadata/name"))];
            for column in printer {
                let path = field(column, "jsonPath");
                let pointer = path.trim_start_matches('.').replace('.', "/");
                let cell = object
                    .pointer(&format!("/{pointer}"))
                    .cloned()
                    .unwrap_or(Value::Null);
                cells.push(match cell {
                    Value::Null => json!(""),
                    other => other,
                });
            }
            cells.push(json!(age(object, "/metadata/creationTimestamp", now)));
            let embedded = embedded(object, include_object);
            json!({"cells": cells, "object": embedded})
        })
        .collect();
    let metadata = if list_metadata.is_object() {
        list_metadata
    } else {
        json!({})
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// The string at a JSON pointer, or `""`.
fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The integer at a JSON pointer, or 0 (absent counters are zero on the real types).
fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The array at a JSON pointer, or an empty slice.
fn array<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn or_none(text: &str) -> String {
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text.to_owned()
    }
}

/// One row's cells, in the order of [`columns`].
fn cells(resource: &ResourceType, object: &Value, now: u64) -> Vec<Value> {
    if let Some(cells) = cluster_cells(resource, object, now) {
        return cells;
    }
    let name = json!(text(object, "/metadata/name"));
    let age = json!(age(object, "/metadata/creationTimestamp", now));
    let template = |object: &Value| -> [Value; 2] {
        let containers = array(object, "/spec/template/spec/containers");
        let joined = |field: &str| {
            containers
                .iter()
                .map(|c| c.get(field).and_then(Value::as_str).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        };
        [json!(joined("name")), json!(joined("image"))]
    };
    let selector = || json!(label_selector(object.pointer("/spec/selector")));
    let builtin = |group: &str| resource.group == group;
    match resource.kind {
        "Deployment" if builtin("apps") => {
            let [containers, images] = template(object);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(object, "/status/readyReplicas"),
                    desired_replicas(object)
                )),
                json!(int(object, "/status/updatedReplicas")),
                json!(int(object, "/status/availableReplicas")),
                age,
                containers,
                images,
                selector(),
            ]
        }
        "ReplicaSet" if builtin("apps") => {
            let [containers, images] = template(object);
            vec![
                name,
                json!(desired_replicas(object)),
                json!(int(object, "/status/replicas")),
                json!(int(object, "/status/readyReplicas")),
                age,
                containers,
                images,
                selector(),
            ]
        }
        "StatefulSet" if builtin("apps") => {
            let [containers, images] = template(object);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(object, "/status/readyReplicas"),
                    desired_replicas(object)
                )),
                age,
                containers,
                images,
            ]
        }
        "DaemonSet" if builtin("apps") => {
            let [containers, images] = template(object);
            vec![
                name,
                json!(int(object, "/status/desiredNumberScheduled")),
                json!(int(object, "/status/currentNumberScheduled")),
                json!(int(object, "/status/numberReady")),
                json!(int(object, "/status/updatedNumberScheduled")),
                json!(int(object, "/status/numberAvailable")),
                json!(format_labels(
                    object.pointer("/spec/template/spec/nodeSelector")
                )),
                age,
                containers,
                images,
                selector(),
            ]
        }
        "Pod" if builtin("") => pod_cells(object, name, age, now),
        "Service" if builtin("") => {
            let ty = match text(object, "/spec/type") {
                "" => "ClusterIP",
                other => other,
            };
            vec![
                name,
                json!(ty),
                json!(or_none(text(object, "/spec/clusterIP"))),
                json!(service_external_ip(object, ty)),
                json!(service_ports(object)),
                age,
                json!(format_labels(object.pointer("/spec/selector"))),
            ]
        }
        "Job" if builtin("batch") => {
            let [containers, images] = template(object);
            let mut row = job_cells(object, name, now);
            row.extend([age, containers, images, selector()]);
            row
        }
        "Namespace" if builtin("") => vec![name, json!(text(object, "/status/phase")), age],
        "ConfigMap" if builtin("") => {
            let count = |field: &str| {
                object
                    .get(field)
                    .and_then(Value::as_object)
                    .map_or(0, Map::len)
            };
            vec![name, json!(count("data") + count("binaryData")), age]
        }
        "Secret" if builtin("") => {
            let data = object
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, Map::len);
            vec![name, json!(text(object, "/type")), json!(data), age]
        }
        "PersistentVolumeClaim" if builtin("") => pvc_cells(object, name, age),
        _ => vec![name, age],
    }
}

/// `spec.replicas`, which defaults to 1 on the real types.
fn desired_replicas(object: &Value) -> i64 {
    object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
        .collect();
    if pairs.is_empty() {
        return "<none>".to_owned();
    }
    pairs.sort();
    pairs.join(",")
}

/// A `LabelSelector` as `metav1.LabelSelectorAsSelector(...).String()` prints it:
/// requirements sorted by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
fn label_selector(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return String::new();
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            requirements.push((
                key.clone(),
                format!("{key}={}", value.as_str().unwrap_or_default()),
            ));
        }
    }
    for expression in array(selector, "/matchExpressions") {
        let key = text(expression, "/key");
        let mut values: Vec<&str> = array(expression, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let printed = match text(expression, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        requirements.push((key.to_owned(), printed));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    requirements
        .into_iter()
        .map(|(_, printed)| printed)
        .collect::<Vec<_>>()
        .join(",")
}

/// The Pod row: READY, STATUS and RESTARTS as kubectl's `printPod` computes them.
fn pod_cells(pod: &Value, name: Value, age: Value, now: u64) -> Vec<Value> {
    let init_specs = array(pod, "/spec/initContainers");
    let restartable = |container_name: &str| {
        init_specs.iter().any(|c| {
            c.get("name").and_then(Value::as_str) == Some(container_name)
                && c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
        })
    };
    let total = array(pod, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<i64> = None;
    let mut last_sidecar_restart: Option<i64> = None;
    let phase = text(pod, "/status/phase");
    let mut reason = match text(pod, "/status/reason") {
        "" => phase.to_owned(),
        other => other.to_owned(),
    };
    for condition in array(pod, "/status/conditions") {
        if text(condition, "/type") == "PodScheduled"
            && text(condition, "/reason") == "SchedulingGated"
        {
            "SchedulingGated".clone_into(&mut reason);
        }
    }
    let terminated_at = |status: &Value| {
        status
            .pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(crate::clock::parse_rfc3339_signed)
    };
    let later = |current: Option<i64>, candidate: Option<i64>| match (current, candidate) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let mut initializing = false;
    let init_statuses = array(pod, "/status/initContainerStatuses");
    for (index, status) in init_statuses.iter().enumerate() {
        restarts += int(status, "/restartCount");
        last_restart = later(last_restart, terminated_at(status));
        let sidecar = restartable(text(status, "/name"));
        if sidecar {
            sidecar_restarts += int(status, "/restartCount");
            last_sidecar_restart = later(last_sidecar_restart, terminated_at(status));
        }
        let terminated = status.pointer("/state/terminated");
        let waiting_reason = text(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| int(t, "/exitCode") == 0) {
            continue;
        }
        if sidecar && status.get("started").and_then(Value::as_bool) == Some(true) {
            if status.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(terminated) = terminated {
            reason = match text(terminated, "/reason") {
                "" if int(terminated, "/signal") != 0 => {
                    format!("Init:Signal:{}", int(terminated, "/signal"))
                }
                "" => format!("Init:ExitCode:{}", int(terminated, "/exitCode")),
                other => format!("Init:{other}"),
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{index}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = array(pod, "/status/conditions")
        .iter()
        .any(|c| text(c, "/type") == "Initialized" && text(c, "/status") == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in array(pod, "/status/containerStatuses").iter().rev() {
            restarts += int(status, "/restartCount");
            last_restart = later(last_restart, terminated_at(status));
            let waiting = text(status, "/state/waiting/reason");
            let terminated = status.pointer("/state/terminated");
            if !waiting.is_empty() {
                waiting.clone_into(&mut reason);
            } else if let Some(terminated) = terminated {
                reason = match text(terminated, "/reason") {
                    "" if int(terminated, "/signal") != 0 => {
                        format!("Signal:{}", int(terminated, "/signal"))
                    }
                    "" => format!("ExitCode:{}", int(terminated, "/exitCode")),
                    other => other.to_owned(),
                };
            } else if status.get("ready").and_then(Value::as_bool) == Some(true)
                && status.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = array(pod, "/status/conditions")
                .iter()
                .any(|c| text(c, "/type") == "Ready" && text(c, "/status") == "True");
            if pod_ready { "Running" } else { "NotReady" }.clone_into(&mut reason);
        }
    }
    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    if deleting && text(pod, "/status/reason") == "NodeLost" {
        "Unknown".clone_into(&mut reason);
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        "Terminating".clone_into(&mut reason);
    }
    let restarts_text = match last_restart {
        Some(at) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(now as i64 - at))
        }
        _ => restarts.to_string(),
    };
    let pod_ip = array(pod, "/status/podIPs")
        .first()
        .map_or("", |ip| text(ip, "/ip"));
    let gates = array(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|gate| {
                let wanted = text(gate, "/conditionType");
                array(pod, "/status/conditions")
                    .iter()
                    .any(|c| text(c, "/type") == wanted && text(c, "/status") == "True")
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_text),
        age,
        json!(or_none(pod_ip)),
        json!(or_none(text(pod, "/spec/nodeName"))),
        json!(or_none(text(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

/// `getServiceExternalIP` with `wide`.
fn service_external_ip(service: &Value, ty: &str) -> String {
    let external: Vec<&str> = array(service, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match ty {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_owned()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let mut addresses: Vec<&str> = array(service, "/status/loadBalancer/ingress")
                .iter()
                .map(|ingress| match text(ingress, "/ip") {
                    "" => text(ingress, "/hostname"),
                    ip => ip,
                })
                .filter(|address| !address.is_empty())
                .collect();
            addresses.extend(external);
            if addresses.is_empty() {
                "<pending>".to_owned()
            } else {
                addresses.join(",")
            }
        }
        "ExternalName" => text(service, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// `makePortString`: `80/TCP`, `80:30080/TCP`, comma-separated.
fn service_ports(service: &Value) -> String {
    array(service, "/spec/ports")
        .iter()
        .map(|port| {
            let protocol = match text(port, "/protocol") {
                "" => "TCP",
                other => other,
            };
            let node_port = int(port, "/nodePort");
            if node_port > 0 {
                format!("{}:{node_port}/{protocol}", int(port, "/port"))
            } else {
                format!("{}/{protocol}", int(port, "/port"))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The Job row's NAME, STATUS, COMPLETIONS and DURATION cells.
fn job_cells(job: &Value, name: Value, now: u64) -> Vec<Value> {
    let succeeded = int(job, "/status/succeeded");
    let completions = match job.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match int(job, "/spec/parallelism") {
            parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = job
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_rfc3339_signed);
    let end = job
        .pointer("/status/completionTime")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_rfc3339_signed);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now as i64 - start),
        (Some(start), Some(end)) => human_duration(end - start),
    };
    let condition = |ty: &str| {
        array(job, "/status/conditions")
            .iter()
            .any(|c| text(c, "/type") == ty && text(c, "/status") == "True")
    };
    let deleting = job
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    let status = if condition("Complete") {
        "Complete"
    } else if condition("Failed") {
        "Failed"
    } else if deleting {
        "Terminating"
    } else if condition("Suspended") {
        "Suspended"
    } else if condition("FailureTarget") {
        "FailureTarget"
    } else if condition("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    vec![name, json!(status), json!(completions), json!(duration)]
}

/// The `PersistentVolumeClaim` row, as `printPersistentVolumeClaim` fills it.
fn pvc_cells(pvc: &Value, name: Value, age: Value) -> Vec<Value> {
    let deleting = pvc
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    let phase = if deleting {
        "Terminating"
    } else {
        text(pvc, "/status/phase")
    };
    let volume = text(pvc, "/spec/volumeName");
    let (capacity, access_modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        let modes: Vec<&str> = array(pvc, "/status/accessModes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let short: Vec<&str> = [
            ("ReadWriteOnce", "RWO"),
            ("ReadOnlyMany", "ROX"),
            ("ReadWriteMany", "RWX"),
            ("ReadWriteOncePod", "RWOP"),
        ]
        .into_iter()
        .filter(|(mode, _)| modes.contains(mode))
        .map(|(_, short)| short)
        .collect();
        (
            text(pvc, "/status/capacity/storage").to_owned(),
            short.join(","),
        )
    };
    // The beta annotation still wins over the field, as the real helper reads it.
    let class = match pvc
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str)
    {
        Some(class) => class,
        None => text(pvc, "/spec/storageClassName"),
    };
    let attributes_class = match text(pvc, "/spec/volumeAttributesClassName") {
        "" => "<unset>",
        other => other,
    };
    let volume_mode = match text(pvc, "/spec/volumeMode") {
        "" => "<unset>",
        other => other,
    };
    vec![
        name,
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(access_modes),
        json!(class),
        json!(attributes_class),
        age,
        json!(volume_mode),
    ]
}

/// The AGE of a timestamp field: `<unknown>` when absent, as `translateTimestampSince`.
fn age(object: &Value, pointer: &str, now: u64) -> String {
    match object
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_rfc3339_signed)
    {
        Some(at) => human_duration(now as i64 - at),
        None => "<unknown>".to_owned(),
    }
}

/// `duration.HumanDuration` of apimachinery, for a number of seconds.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let rest = seconds % 60;
        return if rest == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rest}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let rest = minutes % 60;
        return if rest == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rest}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let rest = hours % 24;
        return if rest == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{rest}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The columns of nodes, autoscalers, `EndpointSlices` and events (`printers.go`), or
/// `None` for other kinds.
fn cluster_columns(resource: &ResourceType) -> Option<Vec<Column>> {
    let plain = |name: &'static str, priority: u8, description: &'static str| -> Column {
        (name, "string", "", priority, description)
    };
    let columns = match (resource.group, resource.kind) {
        ("", "Node") => vec![
            NAME,
            plain("Status", 0, "The status of the node"),
            plain("Roles", 0, "The roles of the node"),
            AGE,
            plain("Version", 0, "Kubelet Version reported by the node."),
            plain("Internal-IP", 1, "List of addresses reachable to the node."),
            plain("External-IP", 1, "List of addresses reachable to the node."),
            plain(
                "OS-Image",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            plain(
                "Kernel-Version",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            plain(
                "Container-Runtime",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            NAME,
            plain(
                "Reference",
                0,
                "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
            ),
            plain(
                "Targets",
                0,
                "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).",
            ),
            plain(
                "MinPods",
                0,
                "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
            ),
            plain(
                "MaxPods",
                0,
                "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.",
            ),
            plain(
                "Replicas",
                0,
                "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
            ),
            AGE,
        ],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            NAME,
            plain(
                "AddressType",
                0,
                "addressType specifies the type of address carried by this EndpointSlice.",
            ),
            plain(
                "Ports",
                0,
                "ports specifies the list of network ports exposed by each endpoint in this slice.",
            ),
            plain(
                "Endpoints",
                0,
                "endpoints is a list of unique endpoints in this slice.",
            ),
            AGE,
        ],
        ("" | "events.k8s.io", "Event") => vec![
            plain(
                "Last Seen",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            plain(
                "Type",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future",
            ),
            plain(
                "Reason",
                0,
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            plain("Object", 0, "The object that this event is about."),
            plain(
                "Subobject",
                1,
                "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
            ),
            plain(
                "Source",
                1,
                "The component reporting this event. Should be a short machine understandable string.",
            ),
            plain(
                "Message",
                0,
                "A human-readable description of the status of this operation.",
            ),
            plain(
                "First Seen",
                1,
                "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            ),
            plain("Count", 1, "The number of times this event has occurred."),
            (
                "Name",
                "string",
                "name",
                1,
                "Name must be unique within a namespace.",
            ),
        ],
        _ => return None,
    };
    Some(columns)
}

/// The cells of [`cluster_columns`]' kinds.
fn cluster_cells(resource: &ResourceType, object: &Value, now: u64) -> Option<Vec<Value>> {
    let name = json!(text(object, "/metadata/name"));
    let age = json!(age(object, "/metadata/creationTimestamp", now));
    let cells = match (resource.group, resource.kind) {
        ("", "Node") => node_cells(object, name, age),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let reference = format!(
                "{}/{}",
                text(object, "/spec/scaleTargetRef/kind"),
                text(object, "/spec/scaleTargetRef/name")
            );
            let min = object
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or_else(|| "<unset>".to_owned(), |n| n.to_string());
            vec![
                name,
                json!(reference),
                json!(hpa_targets(object)),
                json!(min),
                json!(int(object, "/spec/maxReplicas")),
                json!(int(object, "/status/currentReplicas")),
                age,
            ]
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = array(object, "/ports")
                .iter()
                .map(|p| {
                    p.get("port")
                        .and_then(Value::as_i64)
                        .map_or_else(|| "<unset>".to_owned(), |n| n.to_string())
                })
                .collect();
            let addresses: Vec<String> = array(object, "/endpoints")
                .iter()
                .flat_map(|e| array(e, "/addresses").iter())
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            vec![
                name,
                json!(text(object, "/addressType")),
                json!(short_list(&ports, usize::MAX)),
                json!(short_list(&addresses, 3)),
                age,
            ]
        }
        ("", "Event") => event_cells(object, now, false),
        ("events.k8s.io", "Event") => event_cells(object, now, true),
        _ => return None,
    };
    Some(cells)
}

/// `formatDiscoveryList`: up to `max` items joined by commas, `+ N more...` after, and
/// `<unset>` for none.
fn short_list(items: &[String], max: usize) -> String {
    if items.is_empty() {
        return "<unset>".to_owned();
    }
    let shown = items.len().min(max);
    let joined = items[..shown].join(",");
    if items.len() > shown {
        format!("{joined} + {} more...", items.len() - shown)
    } else {
        joined
    }
}

fn node_cells(node: &Value, name: Value, age: Value) -> Vec<Value> {
    let ready = array(node, "/status/conditions")
        .iter()
        .find(|c| text(c, "/type") == "Ready");
    let mut status = match ready.map(|c| text(c, "/status")) {
        Some("True") => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, _)| key.strip_prefix("node-role.kubernetes.io/"))
        .filter(|role| !role.is_empty())
        .collect();
    roles.sort_unstable();
    let address = |kind: &str| {
        array(node, "/status/addresses")
            .iter()
            .find(|a| text(a, "/type") == kind)
            .map_or_else(|| "<none>".to_owned(), |a| text(a, "/address").to_owned())
    };
    vec![
        name,
        json!(status),
        json!(if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles.join(",")
        }),
        age,
        json!(text(node, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_none(text(node, "/status/nodeInfo/osImage"))),
        json!(or_none(text(node, "/status/nodeInfo/kernelVersion"))),
        json!(or_none(text(
            node,
            "/status/nodeInfo/containerRuntimeVersion"
        ))),
    ]
}

/// `formatHPAMetrics` of 1.32: `cpu: 50%/70%`, `memory: 48Mi/64Mi`, `<unknown>` before
/// the controller measured, two metrics at most then `+ N more...`.
fn hpa_targets(hpa: &Value) -> String {
    let specs = array(hpa, "/spec/metrics");
    if specs.is_empty() {
        return "<none>".to_owned();
    }
    let current = array(hpa, "/status/currentMetrics");
    let mut list = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let kind = text(spec, "/type");
        let (source, status_key) = match kind {
            "Resource" => ("resource", "resource"),
            "ContainerResource" => ("containerResource", "containerResource"),
            "Pods" => ("pods", "pods"),
            "Object" => ("object", "object"),
            "External" => ("external", "external"),
            _ => {
                list.push("<unknown type>".to_owned());
                continue;
            }
        };
        let measured = current
            .get(index)
            .filter(|m| text(m, "/type") == kind)
            .and_then(|m| m.get(status_key))
            .and_then(|m| m.get("current"));
        let target = spec.pointer(&format!("/{source}/target"));
        let name = match kind {
            "Resource" | "ContainerResource" => spec
                .pointer(&format!("/{source}/name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => spec
                .pointer(&format!("/{source}/metric/name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        let utilization = target
            .and_then(|t| t.get("averageUtilization"))
            .and_then(Value::as_i64);
        let (now_text, target_text) = if let Some(wanted) = utilization {
            let seen = measured
                .and_then(|m| m.get("averageUtilization"))
                .and_then(Value::as_i64)
                .map_or_else(|| "<unknown>".to_owned(), |n| format!("{n}%"));
            (seen, format!("{wanted}%"))
        } else {
            let field = if target.and_then(|t| t.get("averageValue")).is_some() {
                "averageValue"
            } else {
                "value"
            };
            let wanted = target
                .and_then(|t| t.get(field))
                .map(quantity_text)
                .unwrap_or_default();
            let seen = measured
                .and_then(|m| m.get(field))
                .map_or_else(|| "<unknown>".to_owned(), quantity_text);
            let wanted =
                if field == "averageValue" && kind != "Resource" && kind != "ContainerResource" {
                    format!("{wanted} (avg)")
                } else {
                    wanted
                };
            (seen, wanted)
        };
        list.push(format!("{name}: {now_text}/{target_text}"));
    }
    if list.len() > 2 {
        format!("{} + {} more...", list[..2].join(", "), list.len() - 2)
    } else {
        list.join(", ")
    }
}

fn quantity_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// `printEvent`: the wide cells, for either API (`events.k8s.io/v1` reads its deprecated
/// fields, as the server converts it to the core event first).
fn event_cells(event: &Value, now: u64, new_api: bool) -> Vec<Value> {
    let field = |core: &str, new: &str| {
        if new_api {
            new.to_owned()
        } else {
            core.to_owned()
        }
    };
    let first_seen = match age(
        event,
        &field("/firstTimestamp", "/deprecatedFirstTimestamp"),
        now,
    ) {
        unknown if unknown == "<unknown>" => micro_age(text(event, "/eventTime"), now),
        seen => seen,
    };
    let series_count = event.pointer("/series/count").and_then(Value::as_i64);
    let last_seen = if let Some(observed) = event.pointer("/series/lastObservedTime") {
        micro_age(observed.as_str().unwrap_or_default(), now)
    } else {
        match age(
            event,
            &field("/lastTimestamp", "/deprecatedLastTimestamp"),
            now,
        ) {
            unknown if unknown == "<unknown>" => first_seen.clone(),
            seen => seen,
        }
    };
    let count = series_count
        .or_else(|| {
            event
                .pointer(&field("/count", "/deprecatedCount"))
                .and_then(Value::as_i64)
        })
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let regarding = field("/involvedObject", "/regarding");
    let kind = text(event, &format!("{regarding}/kind")).to_ascii_lowercase();
    let target = match text(event, &format!("{regarding}/name")) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = field("/source", "/deprecatedSource");
    let component = text(event, &format!("{source}/component"));
    let host = text(event, &format!("{source}/host"));
    let source_text = match (component, host) {
        ("", _) => {
            let controller = text(event, &field("/reportingComponent", "/reportingController"));
            match text(event, "/reportingInstance") {
                "" => controller.to_owned(),
                instance => format!("{controller}, {instance}"),
            }
        }
        (component, "") => component.to_owned(),
        (component, host) => format!("{component}, {host}"),
    };
    vec![
        json!(last_seen),
        json!(text(event, "/type")),
        json!(text(event, "/reason")),
        json!(target),
        json!(text(event, &format!("{regarding}/fieldPath"))),
        json!(source_text),
        json!(text(event, &field("/message", "/note")).trim()),
        json!(first_seen),
        json!(count),
        json!(text(event, "/metadata/name")),
    ]
}

/// The age of a `MicroTime` (fractional seconds dropped), `<unknown>` when absent.
fn micro_age(value: &str, now: u64) -> String {
    let whole = value.split('.').next().unwrap_or_default();
    let whole = if whole.ends_with('Z') || whole.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}Z")
    };
    match crate::clock::parse_rfc3339_signed(&whole) {
        Some(at) => human_duration(now as i64 - at),
        None => "<unknown>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    const NOW: u64 = 1_795_966_071; // 2026-11-29T15:27:51Z

    fn resource(group: &str, plural: &str) -> &'static ResourceType {
        let version = if group == "autoscaling" { "v2" } else { "v1" };
        resources::find(group, version, plural).unwrap()
    }

    fn row_cells(table: &Value) -> Vec<Value> {
        table["rows"][0]["cells"].as_array().unwrap().clone()
    }

    fn names(table: &Value) -> Vec<&str> {
        table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn accept_negotiation_honours_order() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(wants_table(
            "application/json; as=Table; v=v1beta1; g=meta.k8s.io"
        ));
        assert!(!wants_table("application/json, */*"));
        assert!(!wants_table(""));
        assert!(!wants_table(
            "application/json,application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
        // An unsupported first entry is skipped.
        assert!(wants_table(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
        assert!(!wants_table(
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
    }

    #[test]
    fn human_duration_matches_apimachinery() {
        for (seconds, expected) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 65 * 60, "4h5m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (2 * 86_400, "2d"),
            (2 * 86_400 + 3 * 3600, "2d3h"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (731 * 86_400, "2y1d"),
            (3000 * 86_400, "8y"),
        ] {
            assert_eq!(human_duration(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn rfc3339_parses_what_the_clock_writes() {
        assert_eq!(
            crate::clock::parse_rfc3339_signed("1970-01-01T00:00:00Z"),
            Some(0)
        );
        assert_eq!(
            crate::clock::parse_rfc3339_signed("2000-02-29T00:00:00Z"),
            Some(951_782_400)
        );
        assert_eq!(
            crate::clock::parse_rfc3339_signed(&crate::clock::format_rfc3339(NOW)),
            Some(NOW as i64)
        );
        assert_eq!(
            crate::clock::parse_rfc3339_signed("2026-11-29T16:27:51.123+01:00"),
            Some(NOW as i64)
        );
        assert_eq!(
            crate::clock::parse_rfc3339_signed("2026-11-29 15:27:51Z"),
            None
        );
        assert_eq!(
            crate::clock::parse_rfc3339_signed("2026-13-29T15:27:51Z"),
            None
        );
        assert_eq!(crate::clock::parse_rfc3339_signed("yesterday"), None);
        assert_eq!(
            crate::clock::parse_rfc3339_signed("2026-11-29T15:27:51"),
            None
        );
    }

    #[test]
    fn deployment_rows_print_ready_up_to_date_available_and_age() {
        let deployment = json!({
            "metadata": {"name": "web", "namespace": "x", "creationTimestamp": "2026-11-29T15:24:49Z", "uid": "u"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}, {"key": "canary", "operator": "DoesNotExist"}]},
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "envoy:1"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        });
        let table = table(
            resource("apps", "deployments"),
            &[deployment],
            IncludeObject::default(),
            json!({"resourceVersion": "7"}),
            NOW,
        );
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["metadata"]["resourceVersion"], "7");
        assert_eq!(
            names(&table),
            ["Name", "Ready", "Up-to-date", "Available", "Age"]
        );
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "web",
                "2/3",
                3,
                2,
                "3m2s",
                "web,side",
                "nginx:1.27,envoy:1",
                "app=web,!canary,tier in (a,b)"
            ])
        );
        assert_eq!(
            table["rows"][0]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "web", "namespace": "x", "creationTimestamp": "2026-11-29T15:24:49Z", "uid": "u"}})
        );
    }

    #[test]
    fn include_object_controls_the_row_object() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
        let configmaps = resource("", "configmaps");
        let full = table(
            configmaps,
            std::slice::from_ref(&cm),
            IncludeObject::from_query(Some("Object")),
            Value::Null,
            NOW,
        );
        assert_eq!(full["rows"][0]["object"], cm);
        assert_eq!(full["rows"][0]["cells"], json!(["c", 2, "<unknown>"]));
        assert_eq!(full["metadata"], json!({}));
        let none = table(
            configmaps,
            &[cm],
            IncludeObject::from_query(Some("None")),
            json!({}),
            NOW,
        );
        assert!(none["rows"][0]["object"].is_null());
        assert_eq!(IncludeObject::from_query(None), IncludeObject::Metadata);
    }

    #[test]
    fn pod_status_follows_kubectl() {
        let created = "2026-11-29T15:27:46Z";
        let pods = resource("", "pods");
        let row = |status: Value, extra_meta: Value| {
            let mut metadata = json!({"name": "p", "creationTimestamp": created});
            if let (Some(m), Some(extra)) = (metadata.as_object_mut(), extra_meta.as_object()) {
                m.extend(extra.clone());
            }
            let pod = json!({"metadata": metadata,
                "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
                "status": status});
            row_cells(&table(pods, &[pod], IncludeObject::None, json!({}), NOW))
        };
        assert_eq!(
            row(
                json!({"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}], "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
                json!({})
            ),
            [
                "p", "2/2", "Running", "0", "5s", "10.0.0.5", "node-1", "<none>", "<none>"
            ]
        );
        assert_eq!(
            row(
                json!({"phase": "Pending", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}},
                {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
                json!({})
            )[1..3],
            [json!("1/2"), json!("ImagePullBackOff")]
        );
        assert_eq!(
            row(
                json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-29T15:26:51Z"}}}]}),
                json!({})
            )[2..4],
            [json!("CrashLoopBackOff"), json!("4 (60s ago)")]
        );
        assert_eq!(
            row(
                json!({"phase": "Running"}),
                json!({"deletionTimestamp": "2026-11-29T15:27:50Z"})
            )[2],
            "Terminating"
        );
        assert_eq!(
            row(
                json!({"phase": "Succeeded"}),
                json!({"deletionTimestamp": "2026-11-29T15:27:50Z"})
            )[2],
            "Succeeded"
        );
        assert_eq!(
            row(
                json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 137}}}]}),
                json!({})
            )[2],
            "ExitCode:137"
        );
    }

    #[test]
    fn other_kinds_print_their_real_columns() {
        let svc = json!({"metadata": {"name": "s", "creationTimestamp": "2026-11-27T15:27:51Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"b": "2", "a": "1"},
                     "ports": [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}});
        let services = table(
            resource("", "services"),
            &[svc],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&services),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age"
            ]
        );
        assert_eq!(
            services["rows"][0]["cells"],
            json!([
                "s",
                "NodePort",
                "10.96.0.10",
                "<none>",
                "80:30080/TCP,53/UDP",
                "2d",
                "a=1,b=2"
            ])
        );
        let job = json!({"metadata": {"name": "j"}, "spec": {"completions": 3},
            "status": {"succeeded": 3, "startTime": "2026-11-29T15:00:00Z", "completionTime": "2026-11-29T15:01:30Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}});
        let jobs = table(
            resource("batch", "jobs"),
            &[job],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&jobs),
            ["Name", "Status", "Completions", "Duration", "Age"]
        );
        assert_eq!(
            row_cells(&jobs)[..4],
            [json!("j"), json!("Complete"), json!("3/3"), json!("90s")]
        );
        let ds = json!({"metadata": {"name": "d"}, "spec": {"template": {"spec": {"nodeSelector": {"os": "linux"}}}},
            "status": {"desiredNumberScheduled": 2, "numberReady": 1}});
        let daemonsets = table(
            resource("apps", "daemonsets"),
            &[ds],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&daemonsets),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age"
            ]
        );
        assert_eq!(
            row_cells(&daemonsets)[..7],
            [
                json!("d"),
                json!(2),
                json!(0),
                json!(1),
                json!(0),
                json!(0),
                json!("os=linux")
            ]
        );
        let sts = json!({"metadata": {"name": "s"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}});
        let statefulsets = table(
            resource("apps", "statefulsets"),
            &[sts],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(names(&statefulsets), ["Name", "Ready", "Age"]);
        assert_eq!(statefulsets["rows"][0]["cells"][1], "1/2");
        let rs = json!({"metadata": {"name": "r"}, "spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 1}});
        let replicasets = table(
            resource("apps", "replicasets"),
            &[rs],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&replicasets),
            ["Name", "Desired", "Current", "Ready", "Age"]
        );
        assert_eq!(
            row_cells(&replicasets)[..4],
            [json!("r"), json!(2), json!(2), json!(1)]
        );
        let ns = json!({"metadata": {"name": "n"}, "status": {"phase": "Active"}});
        let namespaces = table(
            resource("", "namespaces"),
            &[ns],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(row_cells(&namespaces)[..2], [json!("n"), json!("Active")]);
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "YQ=="}});
        let secrets = table(
            resource("", "secrets"),
            &[secret],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(names(&secrets), ["Name", "Type", "Data", "Age"]);
        assert_eq!(
            row_cells(&secrets)[..3],
            [json!("s"), json!("Opaque"), json!(1)]
        );
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
        let claims = table(
            resource("", "persistentvolumeclaims"),
            &[pvc],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&claims),
            [
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age"
            ]
        );
        assert_eq!(
            claims["rows"][0]["cells"],
            json!([
                "data",
                "Bound",
                "pv-1",
                "1Gi",
                "RWO,RWX",
                "standard",
                "<unset>",
                "<unknown>",
                "<unset>"
            ])
        );
        let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-11-29T15:27:51Z"}});
        let crds = table(
            resource("apiextensions.k8s.io", "customresourcedefinitions"),
            &[crd],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(names(&crds), ["Name", "Age"]);
        assert_eq!(
            crds["rows"][0]["cells"],
            json!(["widgets.example.com", "0s"])
        );
    }

    /// Issue 17: `kubectl get nodes`, `hpa`, `endpointslices` and `events` print the real
    /// server's columns.
    #[test]
    fn nodes_autoscalers_slices_and_events_have_their_columns() {
        let at = "2026-11-29T15:26:51Z";
        let node = json!({"metadata": {"name": "sim-node-1", "creationTimestamp": at,
                "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://1.7.24"}}});
        let nodes = table(
            resource("", "nodes"),
            &[node],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(names(&nodes), ["Name", "Status", "Roles", "Age", "Version"]);
        assert_eq!(
            row_cells(&nodes),
            [
                json!("sim-node-1"),
                json!("Ready"),
                json!("control-plane"),
                json!("60s"),
                json!("v1.32.0"),
                json!("172.18.0.2"),
                json!("<none>"),
                json!("Debian GNU/Linux 12 (bookworm)"),
                json!("6.8.0"),
                json!("containerd://1.7.24")
            ]
        );

        let hpa = json!({"metadata": {"name": "web", "creationTimestamp": at},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "minReplicas": 3, "maxReplicas": 10, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "64Mi"}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu",
                    "current": {"averageUtilization": 50, "averageValue": "50m"}}}]}});
        let hpas = table(
            resource("autoscaling", "horizontalpodautoscalers"),
            &[hpa],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&hpas),
            [
                "Name",
                "Reference",
                "Targets",
                "MinPods",
                "MaxPods",
                "Replicas",
                "Age"
            ]
        );
        assert_eq!(
            row_cells(&hpas),
            [
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 50%/70%, memory: <unknown>/64Mi"),
                json!("3"),
                json!(10),
                json!(3),
                json!("60s")
            ]
        );

        let slice = json!({"metadata": {"name": "web-abc12", "creationTimestamp": at},
            "addressType": "IPv4", "ports": [{"port": 8080}],
            "endpoints": [{"addresses": ["10.244.0.1"]}, {"addresses": ["10.244.0.2"]},
                {"addresses": ["10.244.0.3"]}, {"addresses": ["10.244.0.4"]}]});
        let slices = table(
            resource("discovery.k8s.io", "endpointslices"),
            &[slice],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            row_cells(&slices),
            [
                json!("web-abc12"),
                json!("IPv4"),
                json!("8080"),
                json!("10.244.0.1,10.244.0.2,10.244.0.3 + 1 more..."),
                json!("60s")
            ]
        );

        let event = json!({"metadata": {"name": "web.1"}, "type": "Normal",
            "reason": "Started", "message": "Started container main",
            "involvedObject": {"kind": "Pod", "name": "web"},
            "source": {"component": "kubelet", "host": "sim-node-1"},
            "firstTimestamp": "2026-11-29T15:26:51Z", "lastTimestamp": "2026-11-29T15:27:41Z",
            "count": 2});
        let events = table(
            resource("", "events"),
            &[event],
            IncludeObject::None,
            json!({}),
            NOW,
        );
        assert_eq!(
            names(&events),
            ["Last Seen", "Type", "Reason", "Object", "Message"]
        );
        assert_eq!(
            row_cells(&events),
            [
                json!("10s"),
                json!("Normal"),
                json!("Started"),
                json!("pod/web"),
                json!(""),
                json!("kubelet, sim-node-1"),
                json!("Started container main"),
                json!("60s"),
                json!(2),
                json!("web.1")
            ]
        );
    }
}
