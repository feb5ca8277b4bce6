//! Events the simulated controllers, scheduler and kubelet write, so `kubectl get events`,
//! `kubectl events` and `kubectl describe` show what happened, as on a real cluster.
//!
//! Each event is written twice, as a `v1` `Event` and as an `events.k8s.io/v1` `Event`
//! with the same name (a real server stores one object and serves both versions; the
//! simulator has no conversion, so an event a client writes through one API is not seen
//! through the other). Repeats of the same event (same object, reason, message and
//! component) update the first one's `count` and `lastTimestamp` (`series` in the new API),
//! as client-go's event correlator does.
//!
//! Events are bounded as a real server's are by its one-hour `--event-ttl`: events last
//! seen more than [`TTL_SECONDS`] ago on the simulator's clock are deleted, and beyond
//! [`MAX_EVENTS`] the oldest go first, so a long sandbox run does not grow without limit.

use serde_json::{Value, json};

use super::{Ctx, int_at, name, namespace, resource, str_at, uid};
use crate::clock;

/// Seconds an event lives after it was last seen (the API server's default `--event-ttl`).
pub(crate) const TTL_SECONDS: u64 = 3600;

/// The most events kept (per API) across all namespaces.
pub(crate) const MAX_EVENTS: usize = 2000;

/// Records an event about `object`: `kind` is `Normal` or `Warning`, `component` the
/// reporting component (`kubelet`, `default-scheduler`, `deployment-controller`, …).
pub(crate) fn record(
    ctx: &mut Ctx<'_>,
    object: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let (Some(core), Some(new_api)) = (resource("", "events"), resource("events.k8s.io", "events"))
    else {
        return;
    };
    // Events about cluster-scoped objects (nodes) live in `default`, as the recorder puts them.
    let ns = match namespace(object) {
        "" => "default".to_owned(),
        ns => ns.to_owned(),
    };
    let now = ctx.now_rfc3339();
    // The correlator's key; the index saves scanning every event of the namespace.
    let key = format!("{}\0{reason}\0{message}\0{component}", uid(object));
    let same = ctx
        .state
        .event_index
        .get(&key)
        .and_then(|event_name| ctx.store.get(core, Some(&ns), event_name).ok());
    if let Some(mut event) = same {
        let count = int_at(&event, "/count", 1) + 1;
        event["count"] = json!(count);
        event["lastTimestamp"] = json!(now);
        let event_name = name(&event).to_owned();
        ctx.update(core, event, component);
        if let Ok(mut series) = ctx.store.get(new_api, Some(&ns), &event_name) {
            series["series"] = json!({"count": count, "lastObservedTime": micro_time(ctx.now)});
            series["deprecatedLastTimestamp"] = json!(now);
            series["deprecatedCount"] = json!(count);
            ctx.update(new_api, series, component);
        }
        return;
    }
    ctx.state.event_sequence += 1;
    // The recorder's name: the object's name and the time in hexadecimal nanoseconds (a
    // sequence number keeps two events of one second apart).
    let nanos = u128::from(ctx.now) * 1_000_000_000 + u128::from(ctx.state.event_sequence);
    let event_name = format!("{}.{nanos:x}", name(object));
    let mut reference = json!({
        "kind": str_at(object, "/kind"),
        "namespace": namespace(object),
        "name": name(object),
        "uid": uid(object),
        "apiVersion": str_at(object, "/apiVersion"),
        "resourceVersion": str_at(object, "/metadata/resourceVersion"),
    });
    if namespace(object).is_empty()
        && let Some(map) = reference.as_object_mut()
    {
        map.remove("namespace");
    }
    let host = str_at(object, "/spec/nodeName");
    let mut source = json!({"component": component});
    if component == super::KUBELET && !host.is_empty() {
        source["host"] = json!(host);
    }
    let instance = if component == super::KUBELET {
        host.to_owned()
    } else {
        format!("{component}-sim")
    };
    let v1 = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "involvedObject": reference,
        "reason": reason, "message": message, "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": kind,
        "eventTime": null, "reportingComponent": component, "reportingInstance": instance,
    });
    let v1_api = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "eventTime": micro_time(ctx.now),
        "reportingController": component, "reportingInstance": instance,
        "action": reason, "reason": reason, "regarding": reference, "note": message,
        "type": kind, "deprecatedSource": source, "deprecatedFirstTimestamp": now,
        "deprecatedLastTimestamp": now, "deprecatedCount": 1,
    });
    if ctx.create(core, &ns, v1, component).is_ok() {
        ctx.state.event_index.insert(key, event_name);
    }
    let _ = ctx.create(new_api, &ns, v1_api, component);
}

/// The kubelet's `Killing` events for a running pod that is being deleted.
pub(crate) fn killing(ctx: &mut Ctx<'_>, pod: &Value) {
    if str_at(pod, "/status/phase") != "Running" {
        return;
    }
    for container in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let message = format!("Stopping container {}", str_at(&container, "/name"));
        record(ctx, pod, "Normal", "Killing", &message, super::KUBELET);
    }
}

/// A `MicroTime` (`2026-01-02T03:04:05.000000Z`) at `seconds`.
fn micro_time(seconds: u64) -> String {
    let text = clock::format_rfc3339(seconds);
    match text.strip_suffix('Z') {
        Some(base) => format!("{base}.000000Z"),
        None => text,
    }
}

/// Deletes events past their time to live, then the oldest beyond [`MAX_EVENTS`].
pub(crate) fn expire(ctx: &mut Ctx<'_>) {
    for (group, last_seen) in [
        ("", "/lastTimestamp"),
        ("events.k8s.io", "/deprecatedLastTimestamp"),
    ] {
        let Some(events) = resource(group, "events") else {
            continue;
        };
        // Read without cloning: this runs on every pass.
        let mut all: Vec<(u64, &Value)> = ctx
            .store
            .objects_of(events, None)
            .map(|event| {
                let seen = clock::parse_rfc3339(str_at(event, last_seen))
                    .or_else(|| clock::parse_rfc3339(str_at(event, "/metadata/creationTimestamp")))
                    .unwrap_or(0);
                (seen, event)
            })
            .collect();
        let surplus = all.len().saturating_sub(MAX_EVENTS);
        let now = ctx.now;
        if surplus == 0
            && all
                .iter()
                .all(|(at, _)| at.saturating_add(TTL_SECONDS) > now)
        {
            continue;
        }
        all.sort_by_key(|(at, _)| *at);
        let doomed: Vec<Value> = all
            .iter()
            .enumerate()
            .filter(|(index, (at, _))| *index < surplus || at.saturating_add(TTL_SECONDS) <= now)
            .map(|(_, (_, event))| (*event).clone())
            .collect();
        for event in &doomed {
            ctx.delete(events, event);
        }
    }
    // The index only saves lookups: past the cap it is rebuilt as events are recorded.
    if ctx.state.event_index.len() > 2 * MAX_EVENTS {
        ctx.state.event_index.clear();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::SimulationConfig;
    use super::super::testing::{Harness, template};
    use super::{MAX_EVENTS, TTL_SECONDS};

    fn reasons(sim: &Harness, kind: &str) -> Vec<String> {
        let mut found: Vec<String> = sim
            .list("", "events")
            .iter()
            .filter(|e| e["involvedObject"]["kind"] == kind)
            .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn a_rollout_leaves_the_events_of_every_stage() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "apps",
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": template("web", "nginx:1.27")}}),
        );
        sim.advance(5);
        assert_eq!(reasons(&sim, "Deployment"), ["ScalingReplicaSet"]);
        assert_eq!(reasons(&sim, "ReplicaSet"), ["SuccessfulCreate"]);
        assert_eq!(
            reasons(&sim, "Pod"),
            ["Created", "Pulled", "Pulling", "Scheduled", "Started"]
        );
        let events = sim.list("", "events");
        let scaled = events
            .iter()
            .find(|e| e["reason"] == "ScalingReplicaSet")
            .unwrap();
        let message = scaled["message"].as_str().unwrap();
        assert!(
            message.starts_with("Scaled up replica set web-") && message.ends_with(" from 0 to 2"),
            "{message}"
        );
        assert_eq!(scaled["source"]["component"], "deployment-controller");
        let scheduled = events.iter().find(|e| e["reason"] == "Scheduled").unwrap();
        assert!(
            scheduled["message"]
                .as_str()
                .unwrap()
                .ends_with(" to sim-node-1")
        );
        // The same events through events.k8s.io/v1.
        let new_api = sim.list("events.k8s.io", "events");
        assert_eq!(new_api.len(), events.len());
        assert!(new_api.iter().any(|e| e["reason"] == "Started"
            && e["regarding"]["kind"] == "Pod"
            && e["reportingController"] == "kubelet"));

        // Scaling down: the ReplicaSet deletes a pod and the kubelet stops it.
        sim.patch(
            "apps",
            "deployments",
            "web",
            &json!({"spec": {"replicas": 1}}),
        );
        sim.advance(2);
        assert!(reasons(&sim, "ReplicaSet").contains(&"SuccessfulDelete".to_owned()));
        assert!(reasons(&sim, "Pod").contains(&"Killing".to_owned()));

        // An hour later they are gone.
        sim.advance(1);
        sim.store.advance_clock(TTL_SECONDS);
        sim.settle();
        assert!(sim.list("", "events").is_empty());
        assert!(sim.list("events.k8s.io", "events").is_empty());
    }

    #[test]
    fn faults_leave_warnings_and_repeats_count() {
        let mut sim = Harness::new(SimulationConfig::default());
        let mut crashing = template("crash", "nginx:1.27");
        crashing["metadata"]["annotations"] = json!({"sim.shipway.dev/fault": "crash-loop"});
        sim.create(
            "apps",
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "crash"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "crash"}},
                    "template": crashing}}),
        );
        let mut missing = template("gone", "registry.example.com/does-not-exist:1");
        missing["metadata"]["name"] = json!("gone");
        sim.create(
            "",
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gone",
                "labels": {"app": "gone"}}, "spec": missing["spec"]}),
        );
        sim.advance(40);
        let events = sim.list("", "events");
        let warning = |reason: &str| {
            events
                .iter()
                .find(|e| e["reason"] == reason && e["type"] == "Warning")
                .cloned()
        };
        let back_off = warning("BackOff").expect("BackOff");
        assert!(
            back_off["message"]
                .as_str()
                .unwrap()
                .starts_with("Back-off restarting failed container main in pod crash-"),
            "{back_off}"
        );
        let failed = warning("Failed").expect("Failed");
        assert_eq!(failed["involvedObject"]["name"], "gone");
        let started = events
            .iter()
            .find(|e| e["reason"] == "Started" && e["involvedObject"]["name"] != "gone")
            .unwrap();
        assert!(started["count"].as_i64().unwrap() >= 2, "{started}");
    }

    #[test]
    fn events_are_capped() {
        let mut sim = Harness::new(SimulationConfig::default());
        for index in 0..=MAX_EVENTS {
            sim.create(
                "",
                "events",
                json!({"apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": format!("e{index}")},
                    "involvedObject": {"kind": "Pod", "name": "x"},
                    "reason": "Test", "message": "m", "type": "Normal"}),
            );
        }
        sim.settle();
        assert_eq!(sim.list("", "events").len(), MAX_EVENTS);
    }
}
