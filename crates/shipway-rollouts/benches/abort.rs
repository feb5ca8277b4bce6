//! How fast a bad canary is rolled back, against the in-process simulator with the
//! sandbox's default timings (containers start 1 s after scheduling) and the controller
//! reconciling once a second, as `shipway serve` does:
//!
//! - **measure → decision**: from the step analysis' first failing Prometheus answer (a
//!   stand-in Prometheus on loopback records when it answered) to the reconcile that
//!   returned the abort;
//! - **decision → stable**: from that reconcile to the canary Service selecting the stable
//!   pods again and no Ready pod of the bad template left;
//! - **release → healthy**: from the bad template's apply to the previous version
//!   serving on every replica (stable fully available, no canary pod).
//!
//! `cargo bench -p shipway-rollouts --bench abort` prints the median and the worst of
//! `RUNS` runs. It measures elapsed time of a whole scenario, so it is a plain binary, not
//! a divan function benchmark; nothing here asserts a timing.

use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use shipway_rollouts::controller::{self, HASH_LABEL};

#[path = "../tests/common/mod.rs"]
mod common;

const RUNS: usize = 5;

/// The analysis interval of the bench's template.
const INTERVAL: u64 = 2;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn one_run() -> (Duration, Duration, Duration) {
    let (_simulator, client, _controllers) =
        common::start_with(shipway_sim::SimulationConfig::default());
    common::crds(&client).await;
    let prometheus = common::FakePrometheus::start().await;
    for name in ["web-stable", "web-canary"] {
        common::create(
            &client,
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        )
        .await;
    }
    common::create(
        &client,
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "error-rate", "namespace": "default"},
        "spec": {"metrics": [{"name": "error-rate", "interval": format!("{INTERVAL}s"), "count": 5,
            "successCondition": "result[0] <= 0.05",
            "provider": {"prometheus": {"address": prometheus.address, "query": "error_rate"}}}]}}),
    )
    .await;
    let mut rollout = common::rollout("web:1.0");
    rollout["spec"]["strategy"]["canary"] = json!({"stableService": "web-stable", "canaryService": "web-canary",
        "steps": [{"setWeight": 50}, {"analysis": {"templates": [{"templateName": "error-rate"}]}}]});
    common::create(&client, rollout).await;
    let reconcile = || async {
        controller::reconcile(&client, "default", "web", now())
            .await
            .unwrap()
    };
    loop {
        if reconcile().await.phase == "Healthy" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let stable = common::rollout_object(&client).await["status"]["stableRS"]
        .as_str()
        .unwrap()
        .to_string();

    // The bad release.
    prometheus.answer(Some(0.5));
    prometheus.first_answer.lock().unwrap().take();
    let released = Instant::now();
    common::set_image(&client, "web:2.0-bad").await;
    let decided = loop {
        let outcome = reconcile().await;
        if outcome.aborted {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let measured = prometheus
        .first_answer
        .lock()
        .unwrap()
        .expect("the analysis asked Prometheus");
    // The controller keeps reconciling once a second; watch the cluster every 50 ms.
    let mut on_stable = None;
    let mut last = Instant::now();
    let healthy = loop {
        if last.elapsed() >= Duration::from_secs(1) {
            reconcile().await;
            last = Instant::now();
        }
        let (stable_available, bad_ready) = pods(&client, &stable).await;
        if on_stable.is_none()
            && bad_ready == 0
            && common::selector_of(&client, "web-canary").await == stable
        {
            on_stable = Some(Instant::now());
        }
        if on_stable.is_some() && stable_available == 4 {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let on_stable = on_stable.expect("set before healthy");
    (
        decided.saturating_duration_since(measured),
        on_stable.saturating_duration_since(decided),
        healthy.saturating_duration_since(released),
    )
}

/// Ready pods of the stable template, and Ready pods of any other.
async fn pods(client: &kube::Client, stable: &str) -> (usize, usize) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &common::resource("v1", "Pod", "pods"),
    );
    let listed = api.list(&ListParams::default()).await.unwrap();
    let mut counts = (0, 0);
    for pod in listed.items {
        let pod = serde_json::to_value(pod).unwrap();
        if !shipway_rollouts::smoke::is_ready(&pod) {
            continue;
        }
        if pod
            .pointer(&format!("/metadata/labels/{HASH_LABEL}"))
            .and_then(Value::as_str)
            == Some(stable)
        {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    counts
}

fn summary(name: &str, mut values: Vec<Duration>) {
    values.sort();
    println!(
        "{name:<22} median {:>7.3} s   max {:>7.3} s",
        values[values.len() / 2].as_secs_f64(),
        values[values.len() - 1].as_secs_f64()
    );
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less arguments; measure only when
    // benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        println!("abort: run with `cargo bench -p shipway-rollouts --bench abort`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut decision = Vec::new();
    let mut stable = Vec::new();
    let mut healthy = Vec::new();
    for _ in 0..RUNS {
        let (d, s, h) = runtime.block_on(one_run());
        decision.push(d);
        stable.push(s);
        healthy.push(h);
    }
    println!(
        "bad canary rolled back: {RUNS} runs, 4 replicas, setWeight 50 then a step analysis every {INTERVAL}s, reconcile every 1s, containers start after 1s"
    );
    summary("measure -> decision", decision);
    summary("decision -> stable", stable);
    summary("release -> healthy", healthy);
}
