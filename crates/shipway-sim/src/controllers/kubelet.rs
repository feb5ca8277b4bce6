//! The simulated nodes, the scheduler and the kubelet: what turns a stored pod into a
//! Running, Ready one (or a failing one, when its template scripts a fault).
//!
//! - **Nodes**: `sim-node-1` … `sim-node-N` (`SimulationConfig::nodes`), Ready, with an
//!   `InternalIP` of 172.18.0.(n+1), capacity and `nodeInfo` as a kind node reports them.
//! - **Scheduler** (`kube-scheduler`): binds each unscheduled pod to the least loaded Ready
//!   node that satisfies its `nodeSelector` and `metadata.name` node affinity (how
//!   `DaemonSet` pods name their node), `scheduling_delay` after its creation, and sets
//!   `PodScheduled`; with no fitting node it reports `Unschedulable`.
//! - **Kubelet** (`kubelet`): the pod status is a pure function of the pod and the clock:
//!   `startTime` at scheduling, containers `ContainerCreating` until `container_start_delay`
//!   has passed, then Running (`podIP` from 10.244.0.0/16, `containerID`, `imageID`,
//!   `state.running.startedAt`) and Ready after `readiness_delay`, honouring
//!   `readinessGates`; Job pods exit after `job_run_seconds`. The faults listed in the
//!   [module docs](super) change that timeline. Because every timestamp derives from the
//!   previous stage's, a status is rewritten only when the stage changes.
//!
//! The API server here removes a deleted pod at once (grace period 0, as after the kubelet
//! confirms a graceful deletion), so the kubelet never has to finish a deletion; pods held
//! by finalizers keep their status, and their HTTP listeners close as soon as the
//! `deletionTimestamp` appears.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::events;
use super::pod_http::Profile;
use super::{
    Ctx, FAULT_ANNOTATION, KUBELET, SCHEDULER, annotation, condition, controller_kind, is_deleting,
    name, namespace, pod_terminal, resource, set_path, str_at, uid, with_status,
};
use crate::clock;

/// How long a crash-looping container runs before it exits again.
const CRASH_RUN_SECONDS: u64 = 1;
/// The kubelet's maximum restart back-off.
const MAX_BACKOFF: u64 = 300;
/// Annotation on a pod carrying its HTTP listener's address.
pub(crate) const ENDPOINT_ANNOTATION: &str = "sim.shipway.dev/endpoint";

/// Creates the configured nodes and keeps their status Ready.
pub(crate) fn sync_nodes(ctx: &mut Ctx<'_>) {
    let Some(nodes) = resource("", "nodes") else {
        return;
    };
    for index in 1..=ctx.state.config.nodes {
        let node_name = format!("sim-node-{index}");
        let existing = ctx.store.get(nodes, None, &node_name).ok();
        let node = if let Some(node) = existing {
            node
        } else {
            let node = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node_name, "labels": {
                    "beta.kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": node_name,
                    "kubernetes.io/os": "linux",
                }},
                "spec": {"podCIDR": format!("10.244.{}.0/24", index - 1),
                         "podCIDRs": [format!("10.244.{}.0/24", index - 1)]},
            });
            match ctx.create(nodes, "", node, KUBELET) {
                Ok(node) => node,
                Err(_) => continue,
            }
        };
        if is_deleting(&node) {
            continue;
        }
        let since = str_at(&node, "/metadata/creationTimestamp").to_owned();
        let pressure = |kind: &str, reason: &str, message: &str| {
            json!({"type": kind, "status": "False", "lastHeartbeatTime": since,
                   "lastTransitionTime": since, "reason": reason, "message": message})
        };
        let status = json!({
            "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", index + 1)},
                          {"type": "Hostname", "address": node_name}],
            "allocatable": {"cpu": "4", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"},
            "capacity": {"cpu": "4", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"},
            "conditions": [
                pressure("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                {"type": "Ready", "status": "True", "lastHeartbeatTime": since,
                 "lastTransitionTime": since, "reason": "KubeletReady",
                 "message": "kubelet is posting ready status"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": uid(&node), "containerRuntimeVersion": "containerd://1.7.24",
                "kernelVersion": "6.8.0", "kubeProxyVersion": "v1.32.0", "kubeletVersion": "v1.32.0",
                "machineID": uid(&node), "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": uid(&node),
            },
        });
        ctx.update_status(nodes, with_status(&node, status), KUBELET);
    }
}

/// Ready nodes: (name, labels, `InternalIP`).
fn ready_nodes(ctx: &Ctx<'_>) -> Vec<(String, Value, String)> {
    let Some(nodes) = resource("", "nodes") else {
        return Vec::new();
    };
    ctx.store
        .objects_of(nodes, None)
        .filter(|node| super::condition_true(node, "Ready") && !is_deleting(node))
        .map(|node| {
            let ip = node
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|addresses| {
                    addresses
                        .iter()
                        .find(|a| str_at(a, "/type") == "InternalIP")
                })
                .map_or("172.18.0.2", |a| str_at(a, "/address"))
                .to_owned();
            (
                name(node).to_owned(),
                node.pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(Value::Null),
                ip,
            )
        })
        .collect()
}

/// The node names a pod's required node affinity allows by `metadata.name`, if it names any.
pub(crate) fn affinity_node_names(pod: &Value) -> Option<Vec<String>> {
    let terms = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")?
        .as_array()?;
    let mut names = Vec::new();
    for term in terms {
        for field in term
            .get("matchFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if str_at(field, "/key") == "metadata.name" && str_at(field, "/operator") == "In" {
                names.extend(
                    field
                        .get("values")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned),
                );
            }
        }
    }
    Some(names)
}

/// Binds unscheduled pods to nodes.
pub(crate) fn schedule(ctx: &mut Ctx<'_>) {
    let Some(pods) = resource("", "pods") else {
        return;
    };
    let nodes = ready_nodes(ctx);
    let all = ctx.list(pods);
    let mut load: Vec<usize> = nodes
        .iter()
        .map(|(node, _, _)| {
            all.iter()
                .filter(|pod| str_at(pod, "/spec/nodeName") == node && !pod_terminal(pod))
                .count()
        })
        .collect();
    for pod in all {
        if !str_at(&pod, "/spec/nodeName").is_empty() || is_deleting(&pod) || pod_terminal(&pod) {
            continue;
        }
        let created =
            clock::parse_rfc3339(str_at(&pod, "/metadata/creationTimestamp")).unwrap_or(ctx.now);
        let at = created + ctx.state.config.scheduling_delay;
        if ctx.now < at {
            continue;
        }
        let named = affinity_node_names(&pod);
        let selector = pod.pointer("/spec/nodeSelector").and_then(Value::as_object);
        let fits = |(node, labels, _): &(String, Value, String)| {
            named.as_ref().is_none_or(|names| names.contains(node))
                && selector.is_none_or(|selector| {
                    selector
                        .iter()
                        .all(|(key, value)| labels.get(key) == Some(value))
                })
        };
        let choice = nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| fits(node))
            .min_by_key(|(index, _)| load[*index])
            .map(|(index, _)| index);
        let timestamp = clock::format_rfc3339(at);
        let Some(index) = choice else {
            let message = format!(
                "0/{} nodes are available: {} node(s) didn't match Pod's node affinity/selector. preemption: 0/{} nodes are available: {} Preemption is not helpful for scheduling.",
                nodes.len(),
                nodes.len(),
                nodes.len(),
                nodes.len()
            );
            let mut next = pod.clone();
            set_path(&mut next, &["status", "phase"], "Pending".into());
            set_path(
                &mut next,
                &["status", "conditions"],
                json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                        "lastTransitionTime": timestamp, "reason": "Unschedulable",
                        "message": message}]),
            );
            if condition(&pod, "PodScheduled").is_none() {
                ctx.update_status(pods, next, SCHEDULER);
                events::record(
                    ctx,
                    &pod,
                    "Warning",
                    "FailedScheduling",
                    &message,
                    SCHEDULER_COMPONENT,
                );
            }
            continue;
        };
        load[index] += 1;
        let mut bound = pod.clone();
        set_path(
            &mut bound,
            &["spec", "nodeName"],
            nodes[index].0.clone().into(),
        );
        let Some(bound) = ctx.update(pods, bound, SCHEDULER) else {
            continue;
        };
        let message = format!(
            "Successfully assigned {}/{} to {}",
            namespace(&bound),
            name(&bound),
            nodes[index].0
        );
        events::record(
            ctx,
            &bound,
            "Normal",
            "Scheduled",
            &message,
            SCHEDULER_COMPONENT,
        );
        let mut next = bound.clone();
        set_path(&mut next, &["status", "phase"], "Pending".into());
        set_path(
            &mut next,
            &["status", "conditions"],
            json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": timestamp}]),
        );
        ctx.update_status(pods, next, SCHEDULER);
    }
}

/// What the pod's annotations and images script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    CrashLoop,
    NeverReady,
    Fail,
    /// Ready, but its `/health` answers 503: the broken app a readiness probe misses.
    Unhealthy,
}

fn fault_of(pod: &Value) -> Fault {
    match annotation(pod, FAULT_ANNOTATION) {
        "crash-loop" => Fault::CrashLoop,
        "never-ready" => Fault::NeverReady,
        "fail" => Fault::Fail,
        "unhealthy" => Fault::Unhealthy,
        _ => Fault::None,
    }
}

/// Seconds from scheduling until the pod's containers start.
fn start_delay(pod: &Value, base: u64) -> u64 {
    if let Ok(seconds) = annotation(pod, "sim.shipway.dev/start-seconds").parse::<u64>() {
        return seconds;
    }
    if annotation(pod, FAULT_ANNOTATION) == "slow-start" {
        return base.max(1) * 10;
    }
    base
}

/// The image reference as the runtime reports it (`nginx` → `docker.io/library/nginx:latest`).
pub(crate) fn normalize_image(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let mut full = if first.contains('.') || first.contains(':') || first == "localhost" {
        image.to_owned()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !full.contains('@') && !last.contains(':') {
        full.push_str(":latest");
    }
    full
}

/// 64 hex digits derived from `seed` (digests and container ids).
pub(crate) fn hex64(seed: &str) -> String {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes() {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0100_0000_01b3);
    }
    let mut text = String::with_capacity(64);
    for round in 1..=4_u64 {
        let mut value = state.wrapping_add(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(round));
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let _ = write!(text, "{:016x}", value ^ (value >> 31));
    }
    text
}

/// The pod's `QoS` class from its containers' requests and limits.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|key| pod.pointer(&format!("/spec/{key}"))?.as_array())
        .flatten()
        .collect();
    let amounts = |container: &Value, kind: &str| {
        container
            .pointer(&format!("/resources/{kind}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let any = containers
        .iter()
        .any(|c| !amounts(c, "requests").is_empty() || !amounts(c, "limits").is_empty());
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = amounts(c, "limits");
        let requests = amounts(c, "requests");
        ["cpu", "memory"].iter().all(|resource| {
            limits.get(*resource).is_some_and(|limit| {
                requests
                    .get(*resource)
                    .is_none_or(|request| request == limit)
            })
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// One container's state at `now`: (state, lastState, ready, started, restartCount, running
/// since). `start` is when its image is pulled and it first runs.
struct ContainerView {
    state: Value,
    last_state: Value,
    ready: bool,
    started: bool,
    restarts: u64,
    /// The container exited for good (Job pods): with its exit code.
    exited: Option<i64>,
    /// Whether the image never pulls.
    pull_failed: bool,
}

fn container_view(
    pod: &Value,
    container: &Value,
    start: u64,
    now: u64,
    ready_delay: u64,
    fault: Fault,
    job_run: Option<u64>,
) -> ContainerView {
    let at = clock::format_rfc3339;
    let image = str_at(container, "/image");
    let container_name = str_at(container, "/name");
    let waiting = |reason: &str, message: Option<String>| {
        let mut waiting = json!({"reason": reason});
        if let Some(message) = message {
            set_path(&mut waiting, &["message"], message.into());
        }
        json!({"waiting": waiting})
    };
    let mut view = ContainerView {
        state: waiting("ContainerCreating", None),
        last_state: json!({}),
        ready: false,
        started: false,
        restarts: 0,
        exited: None,
        pull_failed: false,
    };
    if now < start {
        return view;
    }
    if image.contains("does-not-exist") {
        view.pull_failed = true;
        let full = normalize_image(image);
        view.state = if now < start + 1 {
            waiting(
                "ErrImagePull",
                Some(format!(
                    "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
                )),
            )
        } else {
            waiting(
                "ImagePullBackOff",
                Some(format!("Back-off pulling image \"{image}\"")),
            )
        };
        return view;
    }
    view.started = true;
    if let Some(run) = job_run {
        if now >= start + run {
            let code = i64::from(fault == Fault::Fail);
            view.started = false;
            view.exited = Some(code);
            view.state = json!({"terminated": {
                "containerID": format!("containerd://{}", hex64(&format!("{}{container_name}0", uid(pod)))),
                "exitCode": code,
                "finishedAt": at(start + run),
                "reason": if code == 0 { "Completed" } else { "Error" },
                "startedAt": at(start),
            }});
            return view;
        }
        view.state = json!({"running": {"startedAt": at(start)}});
        view.ready = fault != Fault::NeverReady && now >= start + ready_delay;
        return view;
    }
    if fault == Fault::CrashLoop {
        let mut began = start;
        let mut crashes: u64 = 0;
        loop {
            let ended = began + CRASH_RUN_SECONDS;
            let terminated = json!({"terminated": {
                "containerID": format!("containerd://{}", hex64(&format!("{}{container_name}{crashes}", uid(pod)))),
                "exitCode": 1, "finishedAt": at(ended), "reason": "Error", "startedAt": at(began),
            }});
            if now < ended {
                view.state = json!({"running": {"startedAt": at(began)}});
                view.restarts = crashes;
                return view;
            }
            let backoff = (10_u64 << crashes.min(5)).min(MAX_BACKOFF);
            crashes += 1;
            view.last_state = terminated;
            if now < ended + backoff {
                view.started = false;
                view.restarts = crashes;
                view.state = waiting(
                    "CrashLoopBackOff",
                    Some(format!(
                        "back-off {backoff}s restarting failed container={container_name} pod={}_{}({})",
                        name(pod),
                        namespace(pod),
                        uid(pod)
                    )),
                );
                return view;
            }
            began = ended + backoff;
        }
    }
    view.state = json!({"running": {"startedAt": at(start)}});
    view.ready = fault != Fault::NeverReady && now >= start + ready_delay;
    view
}

/// The status the kubelet reports for `pod` at `now`, and the time it became Ready (if it
/// is). `pod_ip` is the address to report once the sandbox exists.
fn desired_status(
    ctx: &Ctx<'_>,
    pod: &Value,
    host_ip: &str,
    pod_ip: Option<&str>,
) -> (Value, Option<u64>) {
    let config = &ctx.state.config;
    let now = ctx.now;
    let scheduled = condition(pod, "PodScheduled")
        .and_then(|c| clock::parse_rfc3339(str_at(c, "/lastTransitionTime")))
        .or_else(|| clock::parse_rfc3339(str_at(pod, "/metadata/creationTimestamp")))
        .unwrap_or(now);
    let start = scheduled + start_delay(pod, config.container_start_delay);
    let fault = fault_of(pod);
    let job_run = (controller_kind(pod) == "Job").then(|| {
        annotation(pod, "sim.shipway.dev/run-seconds")
            .parse::<u64>()
            .unwrap_or(config.job_run_seconds)
    });
    let at = clock::format_rfc3339;
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut statuses = Vec::new();
    let mut all_ready = !containers.is_empty();
    let mut all_started = true;
    let mut exits: Vec<i64> = Vec::new();
    let mut unready = Vec::new();
    for container in &containers {
        let container_name = str_at(container, "/name");
        let view = container_view(
            pod,
            container,
            start,
            now,
            config.readiness_delay,
            fault,
            job_run,
        );
        all_ready &= view.ready;
        all_started &= view.started || view.exited.is_some();
        if let Some(code) = view.exited {
            exits.push(code);
        }
        if !view.ready {
            unready.push(container_name.to_owned());
        }
        let image = str_at(container, "/image");
        let mut status = json!({
            "image": normalize_image(image),
            "imageID": "",
            "lastState": view.last_state,
            "name": container_name,
            "ready": view.ready,
            "restartCount": view.restarts,
            "started": view.started,
            "state": view.state,
        });
        if now >= start && !view.pull_failed {
            let full = normalize_image(image);
            let repository = full
                .split('@')
                .next()
                .map(|r| {
                    r.rsplit_once(':')
                        .filter(|(_, tag)| !tag.contains('/'))
                        .map_or(r, |(repo, _)| repo)
                })
                .unwrap_or_default()
                .to_owned();
            set_path(
                &mut status,
                &["imageID"],
                format!("{repository}@sha256:{}", hex64(&full)).into(),
            );
            set_path(
                &mut status,
                &["containerID"],
                format!(
                    "containerd://{}",
                    hex64(&format!("{}{container_name}{}", uid(pod), view.restarts))
                )
                .into(),
            );
        }
        statuses.push(status);
    }
    let finished = job_run.is_some() && !containers.is_empty() && exits.len() == containers.len();
    let phase = if finished {
        if exits.iter().all(|code| *code == 0) {
            "Succeeded"
        } else {
            "Failed"
        }
    } else if now >= start && all_started {
        "Running"
    } else {
        "Pending"
    };
    // Readiness gates: conditions someone else owns must be True too.
    let mut gate_message = None;
    for gate in pod
        .pointer("/spec/readinessGates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = str_at(gate, "/conditionType");
        match condition(pod, kind) {
            None => {
                gate_message = Some(format!(
                    "corresponding condition of pod readiness gate \"{kind}\" does not exist."
                ));
            }
            Some(found) if str_at(found, "/status") != "True" => {
                gate_message = Some(format!(
                    "the status of pod readiness gate \"{kind}\" is not \"True\", but {}",
                    str_at(found, "/status")
                ));
            }
            Some(_) => {}
        }
        if gate_message.is_some() {
            break;
        }
    }
    let ready_at = start + config.readiness_delay;
    let containers_ready = all_ready && phase == "Running";
    let pod_ready = containers_ready && gate_message.is_none();
    let plain = |kind: &str, state: bool, since: u64| {
        json!({"type": kind, "status": if state { "True" } else { "False" },
               "lastProbeTime": null, "lastTransitionTime": at(since)})
    };
    let not_ready = |kind: &str| {
        let (reason, message) = if finished {
            ("PodCompleted".to_owned(), None)
        } else {
            (
                "ContainersNotReady".to_owned(),
                Some(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                )),
            )
        };
        let since = if finished {
            start + job_run.unwrap_or(0)
        } else {
            scheduled
        };
        let mut condition = plain(kind, false, since);
        set_path(&mut condition, &["reason"], reason.into());
        if let Some(message) = message {
            set_path(&mut condition, &["message"], message.into());
        }
        condition
    };
    let containers_condition = if containers_ready {
        plain("ContainersReady", true, ready_at)
    } else {
        not_ready("ContainersReady")
    };
    let ready_condition = if pod_ready {
        plain("Ready", true, ready_at)
    } else if containers_ready {
        let mut condition = plain("Ready", false, scheduled);
        set_path(&mut condition, &["reason"], "ReadinessGatesNotReady".into());
        set_path(
            &mut condition,
            &["message"],
            gate_message.clone().unwrap_or_default().into(),
        );
        condition
    } else {
        not_ready("Ready")
    };
    let sandbox = now >= start;
    let mut conditions = vec![
        plain(
            "PodReadyToStartContainers",
            sandbox && !finished,
            if sandbox { start } else { scheduled },
        ),
        plain("Initialized", true, scheduled),
        ready_condition,
        containers_condition,
    ];
    // PodScheduled and any condition the kubelet does not own (readiness gates) are kept.
    for existing in pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = str_at(existing, "/type");
        if !matches!(
            kind,
            "PodReadyToStartContainers" | "Initialized" | "Ready" | "ContainersReady"
        ) {
            conditions.push(existing.clone());
        }
    }
    let mut status = Map::new();
    status.insert("conditions".into(), Value::Array(conditions));
    status.insert("containerStatuses".into(), Value::Array(statuses));
    status.insert("hostIP".into(), host_ip.into());
    status.insert("hostIPs".into(), json!([{"ip": host_ip}]));
    if let Some(ip) = pod_ip.filter(|_| sandbox) {
        status.insert("podIP".into(), ip.into());
        status.insert("podIPs".into(), json!([{"ip": ip}]));
    }
    status.insert("phase".into(), phase.into());
    status.insert("qosClass".into(), qos_class(pod).into());
    status.insert("startTime".into(), at(scheduled).into());
    (Value::Object(status), pod_ready.then_some(ready_at))
}

/// The component name of the scheduler's events.
const SCHEDULER_COMPONENT: &str = "default-scheduler";

/// The kubelet's events for the container state changes between the pod's stored status
/// and `status`, worded as kubelet 1.32 words them.
fn container_events(ctx: &mut Ctx<'_>, pod: &Value, status: &Value) {
    if pod.get("status") == Some(status) {
        return;
    }
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let old_statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for (index, container) in containers.iter().enumerate() {
        let container_name = str_at(container, "/name");
        let image = str_at(container, "/image");
        let Some(new) = status.pointer(&format!("/containerStatuses/{index}")) else {
            continue;
        };
        let old = old_statuses.and_then(|list| list.get(index));
        let waiting = |s: Option<&Value>| {
            s.and_then(|s| s.pointer("/state/waiting/reason"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let running = |s: Option<&Value>| s.is_some_and(|s| s.pointer("/state/running").is_some());
        let restarts = |s: Option<&Value>| s.map_or(0, |s| super::int_at(s, "/restartCount", 0));
        let (old_waiting, new_waiting) = (waiting(old), waiting(Some(new)));
        let mut out: Vec<(&str, &str, String)> = Vec::new();
        let terminated =
            |s: Option<&Value>| s.is_some_and(|s| s.pointer("/state/terminated").is_some());
        let started = (running(Some(new)) && !running(old))
            || (terminated(Some(new)) && !running(old) && !terminated(old));
        let first_start = started && restarts(Some(new)) == 0;
        let restarted = started && restarts(Some(new)) > 0;
        if first_start {
            let size = 20_000_000 + u64::from_str_radix(&hex64(image)[..6], 16).unwrap_or(0) * 4;
            out.push(("Normal", "Pulling", format!("Pulling image \"{image}\"")));
            out.push((
                "Normal",
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in 1s (1s including waiting). Image size: {size} bytes."
                ),
            ));
        } else if restarted {
            out.push((
                "Normal",
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            ));
        }
        if first_start || restarted {
            out.push((
                "Normal",
                "Created",
                format!("Created container: {container_name}"),
            ));
            out.push((
                "Normal",
                "Started",
                format!("Started container {container_name}"),
            ));
        }
        if new_waiting != old_waiting {
            let message = new
                .pointer("/state/waiting/message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match new_waiting.as_str() {
                "ErrImagePull" => {
                    out.push(("Normal", "Pulling", format!("Pulling image \"{image}\"")));
                    out.push((
                        "Warning",
                        "Failed",
                        format!("Failed to pull image \"{image}\": {message}"),
                    ));
                    out.push(("Warning", "Failed", "Error: ErrImagePull".to_owned()));
                }
                "ImagePullBackOff" => {
                    out.push((
                        "Normal",
                        "BackOff",
                        format!("Back-off pulling image \"{image}\""),
                    ));
                    out.push(("Warning", "Failed", "Error: ImagePullBackOff".to_owned()));
                }
                "CrashLoopBackOff" => out.push((
                    "Warning",
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {container_name} in pod {}_{}({})",
                        name(pod),
                        namespace(pod),
                        uid(pod)
                    ),
                )),
                _ => {}
            }
        }
        let unready = running(Some(new)) && !new["ready"].as_bool().unwrap_or(false);
        let was_unready =
            running(old) && !old.is_some_and(|o| o["ready"].as_bool().unwrap_or(false));
        let probe = container.get("readinessProbe");
        if let Some(probe) =
            probe.filter(|_| unready && !was_unready && fault_of(pod) == Fault::NeverReady)
        {
            let detail = if probe.get("httpGet").is_some() {
                "HTTP probe failed with statuscode: 503".to_owned()
            } else if let Some(port) = probe.pointer("/tcpSocket/port") {
                let port = port
                    .as_str()
                    .map_or_else(|| port.to_string(), str::to_owned);
                format!(
                    "dial tcp {}:{port}: connect: connection refused",
                    str_at(status, "/podIP")
                )
            } else {
                "command exited with code 1".to_owned()
            };
            out.push((
                "Warning",
                "Unhealthy",
                format!("Readiness probe failed: {detail}"),
            ));
        }
        // Events name the pod as the kubelet sees it: bound, with its node.
        for (kind, reason, message) in out {
            events::record(ctx, pod, kind, reason, &message, KUBELET);
        }
    }
}

/// Brings every scheduled pod's status up to date and manages the pods' HTTP listeners.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(pods) = resource("", "pods") else {
        return;
    };
    let hosts: Vec<(String, String)> = ready_nodes(ctx)
        .into_iter()
        .map(|(node, _, ip)| (node, ip))
        .collect();
    let mut serving = Vec::new();
    for pod in ctx.list(pods) {
        let node = str_at(&pod, "/spec/nodeName");
        if node.is_empty() || is_deleting(&pod) || pod_terminal(&pod) {
            continue;
        }
        let host_ip = hosts
            .iter()
            .find(|(host, _)| host == node)
            .map_or("172.18.0.2", |(_, ip)| ip.as_str())
            .to_owned();
        let mut pod_ip = pod
            .pointer("/status/podIP")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (mut status, ready_since) = desired_status(ctx, &pod, &host_ip, pod_ip.as_deref());
        // The sandbox (and so the pod IP) exists from the moment containers start: the
        // first condition is PodReadyToStartContainers.
        let sandbox = status.pointer("/conditions/0/status") == Some(&json!("True"))
            || str_at(&status, "/phase") != "Pending";
        if pod_ip.is_none() && sandbox {
            let ip = ctx.state.allocate_pod_ip();
            pod_ip = Some(ip);
            status = desired_status(ctx, &pod, &host_ip, pod_ip.as_deref()).0;
        }
        let running = str_at(&status, "/phase") == "Running";
        container_events(ctx, &pod, &status);
        let mut current = pod.clone();
        if pod.get("status") != Some(&status)
            && let Some(written) = ctx.update_status(pods, with_status(&pod, status), KUBELET)
        {
            current = written;
        }
        let has_ports = current
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| {
                c.get("ports")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty())
            });
        if running && has_ports {
            let pod_uid = uid(&current).to_owned();
            serving.push(pod_uid.clone());
            let started = clock::parse_rfc3339(str_at(
                &current,
                "/status/containerStatuses/0/state/running/startedAt",
            ))
            .unwrap_or(ctx.now);
            let profile = Profile::of(&current, ctx.state.config.requests_per_second);
            let healthy = ready_since.is_some() && fault_of(&current) == Fault::None;
            let address = ctx
                .state
                .endpoints
                .want(&pod_uid, profile, started, healthy);
            if let Some(address) = address {
                let address = address.to_string();
                if annotation(&current, ENDPOINT_ANNOTATION) != address {
                    let mut next = current.clone();
                    set_path(
                        &mut next,
                        &["metadata", "annotations", ENDPOINT_ANNOTATION],
                        address.into(),
                    );
                    ctx.update(pods, next, KUBELET);
                }
            }
        }
    }
    ctx.state.endpoints.retain(&serving);
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::normalize_image;
    use crate::controllers::testing::Harness;
    use crate::controllers::{SimulationConfig, condition_true, str_at};

    fn pod(name: &str, annotations: &Value, image: &str) -> Value {
        json!({"metadata": {"name": name, "annotations": annotations},
               "spec": {"containers": [{"name": "app", "image": image,
                 "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}})
    }

    #[test]
    fn images_normalise_like_the_runtime() {
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalize_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(normalize_image("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
        assert_eq!(
            normalize_image("localhost:5000/x"),
            "localhost:5000/x:latest"
        );
    }

    #[test]
    fn a_pod_is_scheduled_started_and_made_ready_on_the_clock() {
        let config = SimulationConfig {
            scheduling_delay: 2,
            container_start_delay: 3,
            readiness_delay: 2,
            ..SimulationConfig::default()
        };
        let mut sim = Harness::new(config);
        sim.create("", "pods", pod("p", &json!({}), "nginx:1.27"));
        sim.settle();
        let live = sim.get("", "pods", "p");
        assert!(live["spec"].get("nodeName").is_none());
        sim.advance(2);
        let live = sim.get("", "pods", "p");
        assert_eq!(live["spec"]["nodeName"], "sim-node-1");
        assert!(condition_true(&live, "PodScheduled"));
        assert_eq!(live["status"]["phase"], "Pending");
        assert_eq!(
            live["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert_eq!(live["status"]["hostIP"], "172.18.0.2");
        assert_eq!(live["status"]["qosClass"], "Guaranteed");
        sim.advance(3);
        let live = sim.get("", "pods", "p");
        assert_eq!(live["status"]["phase"], "Running");
        assert!(str_at(&live, "/status/podIP").starts_with("10.244."));
        assert!(!condition_true(&live, "Ready"));
        let container = &live["status"]["containerStatuses"][0];
        assert_eq!(container["image"], "docker.io/library/nginx:1.27");
        assert!(str_at(container, "/containerID").starts_with("containerd://"));
        assert!(str_at(container, "/imageID").starts_with("docker.io/library/nginx@sha256:"));
        assert_eq!(container["started"], true);
        sim.advance(2);
        let live = sim.get("", "pods", "p");
        assert!(condition_true(&live, "Ready"));
        assert!(condition_true(&live, "ContainersReady"));
        assert!(condition_true(&live, "Initialized"));
        assert_eq!(live["status"]["containerStatuses"][0]["ready"], true);
        let version = sim.store.resource_version();
        sim.advance(5);
        assert_eq!(
            sim.store.resource_version(),
            version,
            "a settled pod is not rewritten"
        );
    }

    #[test]
    fn faults_script_the_container_states() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "",
            "pods",
            pod(
                "crash",
                &json!({"sim.shipway.dev/fault": "crash-loop"}),
                "app:1",
            ),
        );
        sim.create(
            "",
            "pods",
            pod(
                "lazy",
                &json!({"sim.shipway.dev/fault": "never-ready"}),
                "app:1",
            ),
        );
        sim.create(
            "",
            "pods",
            pod(
                "slow",
                &json!({"sim.shipway.dev/fault": "slow-start"}),
                "app:1",
            ),
        );
        sim.create("", "pods", pod("gone", &json!({}), "app:does-not-exist"));
        sim.advance(3);
        let crash = sim.get("", "pods", "crash");
        let container = &crash["status"]["containerStatuses"][0];
        assert_eq!(container["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(container["restartCount"], 1);
        assert_eq!(container["lastState"]["terminated"]["exitCode"], 1);
        sim.advance(40);
        let crash = sim.get("", "pods", "crash");
        assert!(
            crash["status"]["containerStatuses"][0]["restartCount"]
                .as_u64()
                .unwrap()
                >= 3
        );
        let lazy = sim.get("", "pods", "lazy");
        assert_eq!(lazy["status"]["phase"], "Running");
        assert!(!condition_true(&lazy, "Ready"));
        let slow = sim.get("", "pods", "slow");
        assert_eq!(
            slow["status"]["phase"], "Running",
            "ten seconds have passed"
        );
        let gone = sim.get("", "pods", "gone");
        assert_eq!(gone["status"]["phase"], "Pending");
        let waiting = &gone["status"]["containerStatuses"][0]["state"]["waiting"];
        assert_eq!(waiting["reason"], "ImagePullBackOff");
        assert_eq!(
            waiting["message"],
            "Back-off pulling image \"app:does-not-exist\""
        );
    }

    #[test]
    fn readiness_gates_hold_ready_until_their_condition_is_true() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut gated = pod("g", &json!({}), "app:1");
        gated["spec"]["readinessGates"] = json!([{"conditionType": "example.com/lb"}]);
        sim.create("", "pods", gated);
        sim.advance(3);
        let live = sim.get("", "pods", "g");
        assert!(condition_true(&live, "ContainersReady"));
        assert!(!condition_true(&live, "Ready"));
        let mut next = live.clone();
        next["status"]["conditions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "example.com/lb", "status": "True"}));
        let pods = crate::controllers::resource("", "pods").unwrap();
        sim.store
            .update(
                pods,
                Some("default"),
                "g",
                next,
                crate::store::Subresource::Status,
                &crate::store::WriteOptions::manager("lb"),
            )
            .unwrap();
        sim.settle();
        assert!(condition_true(&sim.get("", "pods", "g"), "Ready"));
    }

    #[test]
    fn no_nodes_leaves_pods_unschedulable() {
        let mut sim = Harness::new(SimulationConfig {
            nodes: 0,
            ..SimulationConfig::default()
        });
        sim.create("", "pods", pod("p", &json!({}), "app:1"));
        sim.advance(2);
        let live = sim.get("", "pods", "p");
        let scheduled = crate::controllers::condition(&live, "PodScheduled").unwrap();
        assert_eq!(scheduled["reason"], "Unschedulable");
        assert!(str_at(scheduled, "/message").starts_with("0/0 nodes are available"));
    }
}
