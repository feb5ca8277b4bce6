//! Namespace capacity: what the workloads of each namespace request and limit, multiplied
//! by their replicas — at `spec.replicas`, at their HorizontalPodAutoscaler's
//! `maxReplicas`, and during a rolling update's surge — next to the namespace's
//! ResourceQuotas. The capacity rules and `shipway check --capacity` share this.
//!
//! A pod's usage is what the quota admission plugin charges: the larger of the sum of its
//! containers and the largest init container, per resource, with LimitRange defaults
//! filled in for containers that set nothing (and requests defaulting to limits).
//! DaemonSets are left out (their pod count depends on nodes the input does not
//! describe), and so are quotas with `scopes` or a `scopeSelector`.

#![expect(
    clippy::doc_markdown,
    reason = "the documentation names Kubernetes kinds (ResourceQuota, LimitRange) as prose"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use shipway_model::{Node, Value};

use crate::context::{effective_namespace, name_of, namespace_of};
use crate::rules::schema::quantity::parse_quantity;
use crate::workload::pod_template;

/// The resources quotas usually limit.
pub const RESOURCES: [&str; 5] = [
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
    "pods",
];

/// Amounts per resource (in the order of [`RESOURCES`]), in base units.
pub type Amounts = [f64; 5];

/// One workload's share.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// The object.
    pub object: &'a Node,
    /// One pod's usage.
    pub per_pod: Amounts,
    /// Pods at `spec.replicas` (or parallelism).
    pub replicas: f64,
    /// Pods at the autoscaler's maximum, when one targets the workload.
    pub hpa_max: Option<f64>,
    /// Extra pods during a rolling update.
    pub surge: f64,
}

/// One quota.
#[derive(Debug, Clone)]
pub struct Quota<'a> {
    /// The ResourceQuota.
    pub object: &'a Node,
    /// Hard limits, by resource index into [`RESOURCES`].
    pub hard: Vec<(usize, f64)>,
}

/// One namespace.
#[derive(Debug, Clone, Default)]
pub struct Namespace<'a> {
    /// Its workloads.
    pub workloads: Vec<Workload<'a>>,
    /// Its quotas.
    pub quotas: Vec<Quota<'a>>,
}

impl Namespace<'_> {
    /// Total usage at replicas, at autoscaler maximum, and during a surge.
    pub fn totals(&self) -> (Amounts, Amounts, Amounts) {
        let mut at_replicas = [0.0; 5];
        let mut at_max = [0.0; 5];
        let mut at_surge = [0.0; 5];
        for w in &self.workloads {
            for (i, per) in w.per_pod.iter().enumerate() {
                at_replicas[i] += per * w.replicas;
                at_max[i] += per * w.hpa_max.unwrap_or(w.replicas).max(w.replicas);
                at_surge[i] += per * (w.replicas + w.surge);
            }
        }
        (at_replicas, at_max, at_surge)
    }
}

/// Capacity of every namespace that has a workload or a quota, by namespace name.
pub fn namespaces(objects: &[Node]) -> BTreeMap<String, Namespace<'_>> {
    let mut out: BTreeMap<String, Namespace<'_>> = BTreeMap::new();
    let mut limit_ranges: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
    let mut hpas: Vec<&Node> = Vec::new();
    for object in objects {
        let namespace = effective_namespace(namespace_of(object)).to_string();
        match object.str_at(&["kind"]) {
            Some("LimitRange") => limit_ranges.entry(namespace).or_default().push(object),
            Some("HorizontalPodAutoscaler") => hpas.push(object),
            Some("ResourceQuota") => {
                let scoped = object.get_path(&["spec", "scopes"]).is_some()
                    || object.get_path(&["spec", "scopeSelector"]).is_some();
                if scoped {
                    continue;
                }
                let hard = object
                    .get_path(&["spec", "hard"])
                    .and_then(Node::as_map)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(key, value)| {
                                let index = match key {
                                    "requests.cpu" | "cpu" => 0,
                                    "requests.memory" | "memory" => 1,
                                    "limits.cpu" => 2,
                                    "limits.memory" => 3,
                                    "pods" | "count/pods" => 4,
                                    _ => return None,
                                };
                                Some((index, amount(value)?))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.entry(namespace)
                    .or_default()
                    .quotas
                    .push(Quota { object, hard });
            }
            _ => {}
        }
    }
    // Autoscaler maximum by (namespace, target kind, target name): looking it up per
    // workload keeps this linear in the number of objects.
    let mut hpa_max: std::collections::HashMap<(String, &str, &str), f64> =
        std::collections::HashMap::new();
    for h in &hpas {
        let target_kind = h.str_at(&["spec", "scaleTargetRef", "kind"]).unwrap_or("");
        let target_name = h.str_at(&["spec", "scaleTargetRef", "name"]).unwrap_or("");
        if let Some(Value::Int(max)) = h.get_path(&["spec", "maxReplicas"]).map(|n| &n.value) {
            hpa_max.insert(
                (
                    effective_namespace(namespace_of(h)).to_string(),
                    target_kind,
                    target_name,
                ),
                *max as f64,
            );
        }
    }
    for object in objects {
        let Some(pod) = pod_template(object) else {
            continue;
        };
        let kind = object.str_at(&["kind"]).unwrap_or("");
        if kind == "DaemonSet" {
            continue;
        }
        let namespace = effective_namespace(namespace_of(object)).to_string();
        let ranges = limit_ranges.get(&namespace).map_or(&[][..], Vec::as_slice);
        let replicas = pods_of(object);
        let hpa_max = hpa_max
            .get(&(namespace.clone(), kind, name_of(object)))
            .copied();
        let surge = if kind == "Deployment" {
            deployment_surge(object, replicas)
        } else {
            0.0
        };
        out.entry(namespace).or_default().workloads.push(Workload {
            object,
            per_pod: pod_usage(pod.spec, ranges),
            replicas,
            hpa_max,
            surge,
        });
    }
    out
}

fn amount(node: &Node) -> Option<f64> {
    match &node.value {
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => parse_quantity(s),
        _ => None,
    }
}

/// Pods a workload runs at its declared size.
fn pods_of(object: &Node) -> f64 {
    let int_at = |path: &[&str]| match object.get_path(path).map(|n| &n.value) {
        Some(Value::Int(n)) => Some(*n as f64),
        _ => None,
    };
    match object.str_at(&["kind"]).unwrap_or("") {
        "Pod" => 1.0,
        "Job" => int_at(&["spec", "parallelism"]).unwrap_or(1.0),
        "CronJob" => int_at(&["spec", "jobTemplate", "spec", "parallelism"]).unwrap_or(1.0),
        _ => int_at(&["spec", "replicas"]).unwrap_or(1.0),
    }
}

/// Extra pods a Deployment's rolling update adds (`maxSurge`, default 25%, rounded up).
fn deployment_surge(object: &Node, replicas: f64) -> f64 {
    if object.str_at(&["spec", "strategy", "type"]) == Some("Recreate") {
        return 0.0;
    }
    match object
        .get_path(&["spec", "strategy", "rollingUpdate", "maxSurge"])
        .map(|n| &n.value)
    {
        Some(Value::Int(n)) => *n as f64,
        Some(Value::Str(s)) => s
            .strip_suffix('%')
            .and_then(|p| p.parse::<f64>().ok())
            .map_or(0.0, |p| (replicas * p / 100.0).ceil()),
        _ => (replicas * 0.25).ceil(),
    }
}

/// What one pod is charged, with LimitRange defaults.
fn pod_usage(spec: &Node, ranges: &[&Node]) -> Amounts {
    let container = |c: &Node| -> Amounts {
        let get = |section: &str, resource: &str| {
            c.get_path(&["resources", section, resource])
                .and_then(amount)
        };
        let default = |field: &str, resource: &str| {
            ranges.iter().find_map(|r| {
                r.get_path(&["spec", "limits"])
                    .and_then(Node::as_seq)
                    .into_iter()
                    .flatten()
                    .filter(|l| l.str_at(&["type"]) == Some("Container"))
                    .find_map(|l| l.get_path(&[field, resource]).and_then(amount))
            })
        };
        let limit =
            |resource: &str| get("limits", resource).or_else(|| default("default", resource));
        let request = |resource: &str| {
            get("requests", resource)
                .or_else(|| get("limits", resource))
                .or_else(|| default("defaultRequest", resource))
                .or_else(|| limit(resource))
        };
        [
            request("cpu").unwrap_or(0.0),
            request("memory").unwrap_or(0.0),
            limit("cpu").unwrap_or(0.0),
            limit("memory").unwrap_or(0.0),
            0.0,
        ]
    };
    let list = |name: &str| -> Vec<Amounts> {
        spec.get(name)
            .and_then(Node::as_seq)
            .map(|items| items.iter().map(container).collect())
            .unwrap_or_default()
    };
    let mut total = [0.0; 5];
    for c in list("containers") {
        for (t, v) in total.iter_mut().zip(c) {
            *t += v;
        }
    }
    for init in list("initContainers") {
        for (t, v) in total.iter_mut().zip(init) {
            *t = t.max(v);
        }
    }
    total[4] = 1.0;
    total
}

/// A value as people write it: cores with up to three decimals, memory in `Mi`/`Gi`.
pub fn show(resource: usize, value: f64) -> String {
    match resource {
        0 | 2 => {
            let text = format!("{value:.3}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        1 | 3 => {
            let gib = value / 1024.0_f64.powi(3);
            if gib >= 1.0 {
                format!("{gib:.2}Gi")
            } else {
                format!("{:.0}Mi", value / 1024.0_f64.powi(2))
            }
        }
        _ => format!("{value:.0}"),
    }
}

/// The `--capacity` table: per namespace and resource, usage at replicas, at autoscaler
/// maximum and during a surge, against the smallest quota.
pub fn table(objects: &[Node]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<16} {:>12} {:>12} {:>12} {:>12}",
        "NAMESPACE", "RESOURCE", "REPLICAS", "HPA MAX", "SURGE", "QUOTA"
    );
    for (namespace, ns) in namespaces(objects) {
        let (at_replicas, at_max, at_surge) = ns.totals();
        for (i, resource) in RESOURCES.iter().enumerate() {
            let quota = ns
                .quotas
                .iter()
                .filter_map(|q| q.hard.iter().find(|(r, _)| *r == i).map(|(_, v)| *v))
                .reduce(f64::min);
            if at_replicas[i] == 0.0 && quota.is_none() {
                continue;
            }
            let _ = writeln!(
                out,
                "{namespace:<24} {resource:<16} {:>12} {:>12} {:>12} {:>12}",
                show(i, at_replicas[i]),
                show(i, at_max[i]),
                show(i, at_surge[i]),
                quota.map_or_else(|| "-".to_string(), |q| show(i, q))
            );
        }
    }
    out
}
