//! Where the pods of an object are described: a Pod's own spec, or the pod template of a
//! workload. Every pod-level rule goes through [`pod_template`], so a new workload kind is
//! one line here.

use shipway_model::Node;

/// A pod description inside an object.
pub struct PodTemplate<'a> {
    /// Report path of the pod's `metadata` (`spec.template.metadata`, `metadata`).
    pub metadata_path: &'static str,
    /// Report path of the pod's `spec`.
    pub spec_path: &'static str,
    /// The pod's metadata (absent in a template without one).
    pub metadata: Option<&'a Node>,
    /// The pod's spec.
    pub spec: &'a Node,
}

/// The pod template of `object`, when its kind has one.
pub fn pod_template(object: &Node) -> Option<PodTemplate<'_>> {
    let (metadata_path, spec_path, base): (&'static str, &'static str, &[&str]) =
        match object.str_at(&["kind"])? {
            "Pod" => ("metadata", "spec", &[]),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController" => (
                "spec.template.metadata",
                "spec.template.spec",
                &["spec", "template"],
            ),
            "CronJob" => (
                "spec.jobTemplate.spec.template.metadata",
                "spec.jobTemplate.spec.template.spec",
                &["spec", "jobTemplate", "spec", "template"],
            ),
            _ => return None,
        };
    let holder = if base.is_empty() {
        object
    } else {
        object.get_path(base)?
    };
    Some(PodTemplate {
        metadata_path,
        spec_path,
        metadata: holder.get("metadata"),
        spec: holder.get("spec")?,
    })
}

/// The container lists of a pod spec, with their field names.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Every container of a pod spec: `(list name, index, container)`.
pub fn containers(spec: &Node) -> impl Iterator<Item = (&'static str, usize, &Node)> {
    CONTAINER_LISTS.into_iter().flat_map(move |list| {
        spec.get(list)
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, c)| (list, i, c))
    })
}

/// `spec.replicas` of a workload (1 when unset, as the API server defaults it).
pub fn replicas(object: &Node) -> Option<i64> {
    match object.str_at(&["kind"])? {
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => Some(match object
            .get_path(&["spec", "replicas"])
            .map(|n| &n.value)
        {
            Some(shipway_model::Value::Int(n)) => *n,
            _ => 1,
        }),
        _ => None,
    }
}

/// Whether `object` runs long-lived pods that serve or watch (Deployment, StatefulSet,
/// DaemonSet, Pod), as opposed to run-to-completion Jobs and CronJobs, where probes and
/// disruption budgets mean little.
pub fn is_long_running(object: &Node) -> bool {
    matches!(
        object.str_at(&["kind"]),
        Some("Deployment" | "StatefulSet" | "DaemonSet" | "Pod")
    )
}

/// The regular containers (`spec.containers`) of a pod spec: `(index, container)`.
pub fn regular_containers(spec: &Node) -> impl Iterator<Item = (usize, &Node)> {
    spec.get("containers")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
        .enumerate()
}
