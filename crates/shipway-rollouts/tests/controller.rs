//! The Rollout controller against the simulator: a first deploy, a canary that walks its
//! weights and pauses, a promote, and an abort back to stable — with the `ReplicaSets`,
//! Services and `Rollout.status` a real cluster would show.

use std::future::Future;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use shipway_rollouts::controller::{self, HASH_LABEL, Outcome};

mod common;
use common::{
    FakePrometheus, crds, create, get, resource, rollout, rollout_object, selector_of, set_image,
    start,
};

async fn bounded<T>(seconds: u64, body: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), body)
        .await
        .expect("the test took too long")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Reconciles until `done` holds of the outcome (or the test's bound runs out).
async fn until(client: &kube::Client, done: impl Fn(&Outcome) -> bool) -> Outcome {
    loop {
        let outcome = controller::reconcile(client, "default", "web", now())
            .await
            .unwrap();
        if done(&outcome) {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sets(client: &kube::Client) -> Vec<(String, u64)> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("apps/v1", "ReplicaSet", "replicasets"),
    );
    let mut out: Vec<(String, u64)> = api
        .list(&kube::api::ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|rs| {
            let rs = serde_json::to_value(rs).unwrap();
            (
                rs.pointer(&format!("/metadata/labels/{HASH_LABEL}"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                rs.pointer("/spec/replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

async fn patch_status(client: &kube::Client, patch: Value) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &controller::rollout_resource());
    api.patch_status("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_walks_its_steps_is_promoted_and_an_abort_returns_to_stable() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        for name in ["web-stable", "web-canary"] {
            create(
                &client,
                json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            )
            .await;
        }
        create(&client, rollout("nginx:1.27")).await;

        // The first deploy: promoted at once, no steps.
        until(&client, |o| o.phase == "Healthy").await;
        let first = rollout_object(&client).await["status"]["stableRS"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(sets(&client).await, vec![(first.clone(), 4)]);
        assert_eq!(selector_of(&client, "web-stable").await, first);
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["availableReplicas"], 4, "{status}");
        assert_eq!(status["observedGeneration"], "1", "{status}");

        // A new image: 1 canary pod of 4, a 1 s pause, then 2 of 4 and an indefinite pause.
        set_image(&client, "nginx:1.28").await;
        let at_25 = until(&client, |o| o.weight == 25 && o.step.0 == 1).await;
        assert_eq!(at_25.phase, "Paused");
        let second = rollout_object(&client).await["status"]["currentPodHash"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(first, second);
        let mut expected = vec![(first.clone(), 3), (second.clone(), 1)];
        expected.sort();
        assert_eq!(sets(&client).await, expected);
        assert_eq!(selector_of(&client, "web-canary").await, second);
        assert_eq!(selector_of(&client, "web-stable").await, first);
        let paused = until(&client, |o| o.step.0 == 3 && o.phase == "Paused").await;
        assert_eq!(paused.weight, 50);
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(
            status["pauseConditions"][0]["reason"], "CanaryPauseStep",
            "{status}"
        );
        assert_eq!(status["controllerPause"], true);
        // Still paused a while later: an indefinite pause waits for a promote.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(until(&client, |_| true).await.phase, "Paused");

        // Promote, as `kubectl argo rollouts promote` does: clear the pause conditions.
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Healthy").await;
        assert_eq!(
            rollout_object(&client).await["status"]["stableRS"],
            second.as_str()
        );
        let mut expected = vec![(first.clone(), 0), (second.clone(), 4)];
        expected.sort();
        assert_eq!(sets(&client).await, expected);
        assert_eq!(selector_of(&client, "web-stable").await, second);

        // Abort mid-rollout: everything back on the stable pods.
        set_image(&client, "nginx:1.29").await;
        until(&client, |o| o.step.0 >= 1).await;
        patch_status(&client, json!({"status": {"abort": true}})).await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(
            aborted.message.contains("RolloutAborted"),
            "{}",
            aborted.message
        );
        let third = rollout_object(&client).await["status"]["currentPodHash"]
            .as_str()
            .unwrap()
            .to_string();
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(second.clone(), 4)), "{sizes:?}");
        assert!(sizes.contains(&(third.clone(), 0)), "{sizes:?}");
        assert_eq!(
            selector_of(&client, "web-canary").await,
            second,
            "the canary Service back on stable"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_field_is_an_invalid_spec_in_the_status() {
    bounded(60, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"]["trafficRouting"] = json!({"smi": {}});
        create(&client, object).await;
        let error = controller::reconcile(&client, "default", "web", now())
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("spec.strategy.canary.trafficRouting"),
            "{error}"
        );
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["phase"], "Degraded");
        assert!(
            status["message"].as_str().unwrap().contains("InvalidSpec"),
            "{status}"
        );
    })
    .await;
}

async fn run_object(client: &kube::Client, name: &str) -> Option<Value> {
    get(
        client,
        "argoproj.io/v1alpha1",
        "AnalysisRun",
        "analysisruns",
        name,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_analysis_promotes_a_good_canary_aborts_a_bad_one_and_pauses_without_data() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        let prometheus = FakePrometheus::start().await;
        create(&client, json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "success-rate", "namespace": "default"},
            "spec": {"args": [{"name": "service"}, {"name": "hash"}],
                "metrics": [{"name": "success-rate", "successCondition": "result[0] >= 0.95",
                    "provider": {"prometheus": {"address": prometheus.address,
                        "query": "sum(rate(http_requests_total{service=\"{{args.service}}\",hash=\"{{ args.hash }}\",code!~\"5..\"}[1m]))"}}}]}})).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({"steps": [
            {"setWeight": 50},
            {"analysis": {"templates": [{"templateName": "success-rate"}],
                "args": [{"name": "service", "value": "web"},
                    {"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}},
            {"setWeight": 75}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;

        // A good canary: the analysis passes and the rollout is promoted.
        set_image(&client, "nginx:1.28").await;
        until(&client, |o| o.phase == "Healthy").await;
        let status = rollout_object(&client).await["status"].clone();
        let good = status["currentPodHash"].as_str().unwrap().to_string();
        assert_eq!(status["stableRS"], good.as_str(), "{status}");
        let run = run_object(&client, &format!("web-{good}-1")).await.expect("the step's AnalysisRun");
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        let measured = &run["status"]["metricResults"][0];
        assert_eq!(measured["measurements"][0]["value"], "[0.99]", "{run}");
        let query = measured["metadata"]["ResolvedPrometheusQuery"].as_str().unwrap();
        assert!(query.contains("service=\"web\"") && query.contains(&good), "{query}");
        assert!(prometheus.queries.lock().unwrap().iter().any(|q| q.starts_with("/api/v1/query?query=")));

        // A bad canary: the analysis fails, every pod goes back to the stable version, and
        // the message says which metric, its query and value.
        prometheus.answer(Some(0.5));
        set_image(&client, "nginx:1.29-bad").await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(aborted.message.contains("success-rate") && aborted.message.contains("[0.5]"), "{}", aborted.message);
        assert!(aborted.message.contains("http_requests_total"), "{}", aborted.message);
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(good.clone(), 4)), "{sizes:?}");

        // No data: Inconclusive, and the rollout pauses instead of aborting.
        prometheus.answer(None);
        set_image(&client, "nginx:1.30").await;
        let paused = until(&client, |o| o.phase == "Paused").await;
        assert!(paused.waiting_for_promote, "{paused:?}");
        assert!(paused.message.contains("no data"), "{}", paused.message);
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["pauseConditions"][0]["reason"], "InconclusiveAnalysisRun", "{status}");
    })
    .await;
}

async fn route_weights(client: &kube::Client) -> (Value, Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes"),
    );
    let route = serde_json::to_value(api.get("web").await.unwrap()).unwrap();
    let refs = &route["spec"]["rules"][0]["backendRefs"];
    let weight = |name: &str| {
        refs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map_or(Value::Null, |r| r["weight"].clone())
    };
    (
        json!([weight("web-canary"), weight("web-stable")]),
        route["metadata"]["labels"]["rollouts.argoproj.io/gatewayapi-canary"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_api_route_weights_follow_the_steps_and_stable_keeps_every_replica() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "httproutes.gateway.networking.k8s.io"},
            "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                "names": {"kind": "HTTPRoute", "plural": "httproutes", "singular": "httproute", "listKind": "HTTPRouteList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for name in ["web-stable", "web-canary"] {
            create(&client, json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})).await;
        }
        create(&client, json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"backendRefs": [
                {"name": "web-stable", "port": 80, "weight": 100},
                {"name": "web-canary", "port": 80, "weight": 0}]}]}})).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({"stableService": "web-stable", "canaryService": "web-canary",
            "trafficRouting": {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web"}}},
            "steps": [{"setWeight": 25}, {"pause": {}}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;
        let first = rollout_object(&client).await["status"]["stableRS"].as_str().unwrap().to_string();

        set_image(&client, "nginx:1.28").await;
        until(&client, |o| o.phase == "Paused" && o.step.0 == 1).await;
        let second = rollout_object(&client).await["status"]["currentPodHash"].as_str().unwrap().to_string();
        assert_eq!(route_weights(&client).await, (json!([25, 75]), json!("in-progress")));
        let mut expected = vec![(first.clone(), 4), (second.clone(), 1)];
        expected.sort();
        assert_eq!(sets(&client).await, expected, "stable keeps every replica");
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["canary"]["weights"]["canary"]["weight"], 25, "{status}");

        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Healthy").await;
        assert_eq!(route_weights(&client).await, (json!([0, 100]), Value::Null));
        assert_eq!(selector_of(&client, "web-stable").await, second);
    })
    .await;
}

async fn deadline_of(client: &kube::Client, hash: &str) -> Option<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("apps/v1", "ReplicaSet", "replicasets"),
    );
    let rs = serde_json::to_value(api.get(&format!("web-{hash}")).await.unwrap()).unwrap();
    rs.pointer("/metadata/annotations/scale-down-deadline")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_previews_waits_for_promote_switches_rolls_back_and_aborts_on_analysis() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        let prometheus = FakePrometheus::start().await;
        for name in ["web-active", "web-preview"] {
            create(
                &client,
                json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            )
            .await;
        }
        create(
            &client,
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "smoke", "namespace": "default"},
            "spec": {"args": [{"name": "hash"}],
                "metrics": [{"name": "preview-success", "successCondition": "result[0] >= 0.95",
                    "provider": {"prometheus": {"address": prometheus.address,
                        "query": "preview_success{hash=\"{{args.hash}}\"}"}}}]}}),
        )
        .await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["replicas"] = 2.into();
        object["spec"]["strategy"] = json!({"blueGreen": {
            "activeService": "web-active", "previewService": "web-preview",
            "autoPromotionEnabled": false, "scaleDownDelaySeconds": 3,
            "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}],
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}});
        create(&client, object).await;

        // The first deploy is active at once, without pause or analysis.
        let first_outcome = until(&client, |o| o.phase == "Healthy").await;
        assert!(first_outcome.blue_green);
        let first = first_outcome.current.clone();
        assert_eq!(selector_of(&client, "web-active").await, first);
        assert_eq!(selector_of(&client, "web-preview").await, first);
        assert!(
            run_object(&client, &format!("web-{first}-pre"))
                .await
                .is_none()
        );

        // A new image: the preview Service shows it at full size beside the active one, the
        // pre-promotion analysis passes, and it waits for a promote.
        set_image(&client, "nginx:1.28").await;
        let paused = until(&client, |o| o.phase == "Paused").await;
        let second = paused.current.clone();
        assert!(paused.waiting_for_promote, "{paused:?}");
        assert_eq!(paused.message, "BlueGreenPause");
        assert_eq!(selector_of(&client, "web-active").await, first);
        assert_eq!(selector_of(&client, "web-preview").await, second);
        let mut both = vec![(first.clone(), 2), (second.clone(), 2)];
        both.sort();
        assert_eq!(sets(&client).await, both);
        let run = run_object(&client, &format!("web-{second}-pre"))
            .await
            .expect("the pre-promotion AnalysisRun");
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        assert_eq!(
            run["metadata"]["labels"]["rollout-type"], "PrePromotion",
            "{run}"
        );
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(
            status["blueGreen"]["activeSelector"],
            first.as_str(),
            "{status}"
        );
        assert_eq!(
            status["blueGreen"]["previewSelector"],
            second.as_str(),
            "{status}"
        );
        assert_eq!(
            status["pauseConditions"][0]["reason"], "BlueGreenPause",
            "{status}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(until(&client, |_| true).await.phase, "Paused");

        // Promote: the active Service switches; the old pods stay for scaleDownDelaySeconds.
        controller::act(&client, "default", "web", controller::Verb::Promote(false))
            .await
            .unwrap();
        let promoted = until(&client, |o| o.phase == "Healthy").await;
        assert_eq!(promoted.current, second);
        assert_eq!(selector_of(&client, "web-active").await, second);
        assert_eq!(
            rollout_object(&client).await["status"]["stableRS"],
            second.as_str()
        );
        assert_eq!(sets(&client).await, both, "the old pods wait out the delay");
        assert!(deadline_of(&client, &first).await.is_some());

        // Back to the old template within its delay: a selector switch, no pause, no
        // analysis (Argo Rollouts' fast rollback).
        set_image(&client, "nginx:1.27").await;
        let back = until(&client, |o| o.current == first && o.phase == "Healthy").await;
        assert!(!back.waiting_for_promote);
        assert_eq!(selector_of(&client, "web-active").await, first);
        assert!(
            run_object(&client, &format!("web-{first}-pre"))
                .await
                .is_none()
        );
        assert!(
            deadline_of(&client, &first).await.is_none(),
            "serving again"
        );
        // …and the abandoned one goes to 0 once its deadline passes.
        let start = std::time::Instant::now();
        loop {
            until(&client, |_| true).await;
            if sets(&client).await.contains(&(second.clone(), 0)) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{:?}",
                sets(&client).await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "scaled down before its delay"
        );

        // A bad image: the pre-promotion analysis fails, the active Service never leaves
        // the stable pods, and the message names the metric and value.
        prometheus.answer(Some(0.5));
        set_image(&client, "nginx:1.29-bad").await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(aborted.aborted);
        assert!(
            aborted.message.contains("pre-promotion analysis failed")
                && aborted.message.contains("preview-success")
                && aborted.message.contains("[0.5]"),
            "{}",
            aborted.message
        );
        assert_eq!(selector_of(&client, "web-active").await, first);
        assert_eq!(selector_of(&client, "web-preview").await, aborted.current);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_completes_only_when_the_new_pods_pass_their_smoke_checks() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        let mut object = rollout("nginx:1.27");
        object["metadata"]["annotations"] =
            json!({"shipway.dev/smoke-checks": "- path: /health\n- path: /metrics\n  metrics: true\n"});
        object["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 8080}]);
        object["spec"]["strategy"]["canary"] =
            json!({"steps": [{"setWeight": 50}, {"pause": {"duration": 1}}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;

        // A good image passes the checks at each step and is promoted. (A merge patch
        // replaces the container list, ports included.)
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &controller::rollout_resource());
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 8080}]}]}}}});
        api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        let promoted = until(&client, |o| o.phase == "Healthy" || o.aborted).await;
        assert_eq!(promoted.phase, "Healthy", "{promoted:?}");
        let good = promoted.current.clone();

        // Pods that are Ready but answer 503 on /health: the first step aborts, naming
        // the pod and the answer, and every pod goes back to stable.
        let patch = json!({"spec": {"template": {"metadata": {"annotations": {"sim.shipway.dev/fault": "unhealthy"}}}}});
        api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(aborted.aborted);
        assert!(
            aborted.message.contains("smoke checks failed at step 0")
                && aborted.message.contains("GET /health: 503 (expected 200): not ready"),
            "{}",
            aborted.message
        );
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(good.clone(), 4)), "{sizes:?}");
    })
    .await;
}

async fn canary_ingress(client: &kube::Client) -> Value {
    get(
        client,
        "networking.k8s.io/v1",
        "Ingress",
        "ingresses",
        "web-edge-canary",
    )
    .await
    .expect("the canary Ingress")
}

fn canary_weight(ingress: &Value) -> Value {
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"].clone()
}

async fn services(client: &kube::Client) {
    for name in ["web-stable", "web-canary"] {
        create(
            client,
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        )
        .await;
    }
}

fn stable_ingress(service: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "edge", "namespace": "default",
            "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {"rules": [{"host": "shop.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_canary_ingress_weight_follows_the_steps_and_set_canary_scale_sizes_the_canary() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        services(&client).await;
        create(&client, stable_ingress("web-stable")).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({"stableService": "web-stable", "canaryService": "web-canary",
            "trafficRouting": {"nginx": {"stableIngress": "edge",
                "additionalIngressAnnotations": {"canary-by-header": "X-Canary"}}},
            "steps": [{"setCanaryScale": {"replicas": 2}}, {"setWeight": 25}, {"pause": {}},
                {"setCanaryScale": {"matchTrafficWeight": true}}, {"pause": {}}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;
        let first = rollout_object(&client).await["status"]["stableRS"].as_str().unwrap().to_string();
        // The canary Ingress exists from the first deploy on, with no traffic.
        let ingress = canary_ingress(&client).await;
        assert_eq!(canary_weight(&ingress), "0", "{ingress}");
        let uid = rollout_object(&client).await["metadata"]["uid"].clone();
        assert_eq!(ingress["metadata"]["ownerReferences"][0]["uid"], uid, "{ingress}");
        assert_eq!(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary"], "true");
        assert_eq!(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-header"], "X-Canary");
        assert_eq!(ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"], "nginx");
        assert_eq!(
            ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
            "web-canary"
        );

        // setCanaryScale {replicas: 2}, then 25 % of the traffic: two canary pods (not one),
        // stable keeps all four.
        set_image(&client, "nginx:1.28").await;
        until(&client, |o| o.phase == "Paused" && o.step.0 == 2).await;
        let second = rollout_object(&client).await["status"]["currentPodHash"].as_str().unwrap().to_string();
        let mut expected = vec![(first.clone(), 4), (second.clone(), 2)];
        expected.sort();
        assert_eq!(sets(&client).await, expected);
        let ingress = canary_ingress(&client).await;
        assert_eq!(canary_weight(&ingress), "25");
        // At the same weight a reconcile leaves the canary Ingress alone.
        until(&client, |_| true).await;
        assert_eq!(
            canary_ingress(&client).await["metadata"]["resourceVersion"],
            ingress["metadata"]["resourceVersion"]
        );
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["canary"]["weights"]["canary"]["weight"], 25, "{status}");
        assert_eq!(status["canary"]["weights"]["stable"]["weight"], 75, "{status}");
        assert_eq!(status["canary"]["weights"]["canary"]["podTemplateHash"], second.as_str(), "{status}");

        // matchTrafficWeight: back to ceil(25 % of 4) = 1 canary pod, the weight unchanged.
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Paused" && o.step.0 == 4).await;
        let mut expected = vec![(first.clone(), 4), (second.clone(), 1)];
        expected.sort();
        assert_eq!(sets(&client).await, expected);
        assert_eq!(canary_weight(&canary_ingress(&client).await), "25");

        // Promoted: the weight back to 0 and every pod on the new version.
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Healthy").await;
        assert_eq!(canary_weight(&canary_ingress(&client).await), "0");
        assert_eq!(selector_of(&client, "web-stable").await, second);
        let mut expected = vec![(first.clone(), 0), (second.clone(), 4)];
        expected.sort();
        assert_eq!(sets(&client).await, expected);

        // An abort mid-canary: the weight back to 0 at once.
        set_image(&client, "nginx:1.29").await;
        until(&client, |o| o.phase == "Paused" && o.step.0 == 2).await;
        assert_eq!(canary_weight(&canary_ingress(&client).await), "25");
        patch_status(&client, json!({"status": {"abort": true}})).await;
        until(&client, |o| o.phase == "Degraded").await;
        assert_eq!(canary_weight(&canary_ingress(&client).await), "0");
        assert!(sets(&client).await.contains(&(second.clone(), 4)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stable_ingress_or_one_without_the_stable_service_is_an_invalid_spec() {
    bounded(60, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        services(&client).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({"stableService": "web-stable", "canaryService": "web-canary",
            "trafficRouting": {"nginx": {"stableIngress": "edge"}}, "steps": [{"setWeight": 25}]});
        create(&client, object).await;
        let error = controller::reconcile(&client, "default", "web", now()).await.unwrap_err();
        assert!(error.to_string().contains("stable Ingress `default/edge` not found"), "{error}");
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["phase"], "Degraded", "{status}");
        assert!(status["message"].as_str().unwrap().starts_with("InvalidSpec: "), "{status}");
        assert!(status["message"].as_str().unwrap().contains("`default/edge`"), "{status}");
        assert!(sets(&client).await.is_empty(), "nothing is created before the spec is valid");

        create(&client, stable_ingress("elsewhere")).await;
        let error = controller::reconcile(&client, "default", "web", now()).await.unwrap_err();
        assert!(
            error.to_string().contains("no rule with a backend on the stable Service `web-stable`"),
            "{error}"
        );
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["conditions"][0]["type"], "InvalidSpec", "{status}");
    })
    .await;
}

fn deployment(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

async fn set_deployment_image(client: &kube::Client, image: &str) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("apps/v1", "Deployment", "deployments"),
    );
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}});
    api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

async fn rollout_images(client: &kube::Client) -> Vec<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("apps/v1", "ReplicaSet", "replicasets"),
    );
    let mut images: Vec<String> = api
        .list(&kube::api::ListParams::default().labels(HASH_LABEL))
        .await
        .unwrap()
        .items
        .iter()
        .map(|rs| {
            let rs = serde_json::to_value(rs).unwrap();
            rs.pointer("/spec/template/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    images.sort();
    images
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_ref_takes_the_deployments_template_and_scales_it_down_on_success() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        services(&client).await;
        let mut object = rollout("unused");
        let spec = object["spec"].as_object_mut().unwrap();
        spec.remove("template");
        spec.remove("selector");
        spec.insert(
            "workloadRef".into(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "name": "web", "scaleDown": "onsuccess"}),
        );
        object["spec"]["strategy"]["canary"]["steps"] = json!([{"setWeight": 25}, {"pause": {}}]);
        create(&client, object).await;

        // No Deployment yet: an InvalidSpec naming it.
        let error = controller::reconcile(&client, "default", "web", now())
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Deployment `default/web` not found"),
            "{error}"
        );
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["phase"], "Degraded", "{status}");
        assert!(
            status["message"]
                .as_str()
                .unwrap()
                .contains("`default/web`"),
            "{status}"
        );

        // The Deployment's template and selector: the first revision, then the Deployment to 0.
        create(&client, deployment("nginx:1.27")).await;
        until(&client, |o| o.phase == "Healthy").await;
        assert_eq!(rollout_images(&client).await, ["nginx:1.27"]);
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(status["workloadObservedGeneration"], "1", "{status}");
        assert_eq!(status["selector"], "app=web", "{status}");
        assert_eq!(status["phase"], "Healthy", "{status}");
        assert!(
            !status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "InvalidSpec"),
            "the InvalidSpec condition goes once the Deployment is there: {status}"
        );
        let first = status["stableRS"].as_str().unwrap().to_string();
        let replicas = |d: Option<Value>| d.unwrap()["spec"]["replicas"].clone();
        let scaled = until(&client, |_| true).await;
        assert_eq!(scaled.phase, "Healthy");
        assert_eq!(
            replicas(get(&client, "apps/v1", "Deployment", "deployments", "web").await),
            0,
            "scaleDown: onsuccess"
        );

        // A new template in the Deployment is a new canary.
        set_deployment_image(&client, "nginx:1.28").await;
        until(&client, |o| o.phase == "Paused" && o.step.0 == 1).await;
        let status = rollout_object(&client).await["status"].clone();
        let second = status["currentPodHash"].as_str().unwrap().to_string();
        assert_ne!(first, second);
        let generation = get(&client, "apps/v1", "Deployment", "deployments", "web")
            .await
            .unwrap()["metadata"]["generation"]
            .to_string();
        assert_eq!(
            status["workloadObservedGeneration"],
            generation.as_str(),
            "{status}"
        );
        let mut expected = vec![(first.clone(), 3), (second.clone(), 1)];
        expected.sort();
        let ours: Vec<(String, u64)> = sets(&client)
            .await
            .into_iter()
            .filter(|(h, _)| !h.is_empty())
            .collect();
        assert_eq!(ours, expected);
        assert_eq!(rollout_images(&client).await, ["nginx:1.27", "nginx:1.28"]);
        assert_eq!(
            replicas(get(&client, "apps/v1", "Deployment", "deployments", "web").await),
            0
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_ref_with_progressive_scale_down_hands_the_pods_over_to_the_rollout() {
    bounded(60, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, deployment("nginx:1.27")).await;
        let mut object = rollout("unused");
        let spec = object["spec"].as_object_mut().unwrap();
        spec.remove("template");
        spec.insert(
            "workloadRef".into(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "name": "web", "scaleDown": "progressively"}),
        );
        object["spec"]["strategy"]["canary"] = json!({"steps": [{"setWeight": 25}]});
        create(&client, object).await;
        let deployment_replicas = || async {
            get(&client, "apps/v1", "Deployment", "deployments", "web")
                .await
                .unwrap()["spec"]["replicas"]
                .as_u64()
                .unwrap()
        };
        // Nothing of the Rollout is ready yet: the Deployment keeps its pods.
        let first = controller::reconcile(&client, "default", "web", now())
            .await
            .unwrap();
        assert_ne!(first.phase, "Healthy");
        assert_eq!(deployment_replicas().await, 4);
        // Then it shrinks as the Rollout's pods become ready (never growing), and is 0 once
        // the Rollout is Healthy.
        let mut seen = vec![4];
        loop {
            let outcome = controller::reconcile(&client, "default", "web", now())
                .await
                .unwrap();
            seen.push(deployment_replicas().await);
            if outcome.phase == "Healthy" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(seen.windows(2).all(|w| w[1] <= w[0]), "{seen:?}");
        assert_eq!(seen.last(), Some(&0), "{seen:?}");
    })
    .await;
}

async fn patch_template(client: &kube::Client, name: &str, patch: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource(
            "argoproj.io/v1alpha1",
            "AnalysisTemplate",
            "analysistemplates",
        ),
    );
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

async fn job_object(client: &kube::Client, name: &str) -> Option<Value> {
    get(client, "batch/v1", "Job", "jobs", name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_metric_passes_when_its_job_completes_and_fails_when_it_fails() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "smoke", "namespace": "default"},
            "spec": {"args": [{"name": "hash"}],
                "metrics": [{"name": "smoke", "provider": {"job": {
                    "metadata": {"labels": {"team": "web"}, "annotations": {"hash": "{{args.hash}}"}},
                    "spec": {"backoffLimit": 0, "template": {
                        "metadata": {"annotations": {}},
                        "spec": {"restartPolicy": "Never",
                            "containers": [{"name": "smoke", "image": "curl:8", "command": ["curl", "web-canary"]}]}}}}}}]}})).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({"steps": [
            {"setWeight": 50},
            {"analysis": {"templates": [{"templateName": "smoke"}],
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;

        // A Job that completes: the measurement runs while the Job does, then passes.
        set_image(&client, "nginx:1.28").await;
        until(&client, |o| o.step.0 >= 1).await;
        let good = rollout_object(&client).await["status"]["currentPodHash"].as_str().unwrap().to_string();
        let mut saw_running = false;
        let outcome = loop {
            let outcome = until(&client, |_| true).await;
            if let Some(run) = run_object(&client, &format!("web-{good}-1")).await {
                saw_running |= run["status"]["metricResults"][0]["measurements"][0]["phase"] == "Running";
            }
            if outcome.phase == "Healthy" || outcome.phase == "Degraded" {
                break outcome;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(outcome.phase, "Healthy", "{outcome:?}");
        assert!(saw_running, "the measurement is Running while its Job runs");
        assert_eq!(rollout_object(&client).await["status"]["stableRS"], good.as_str());
        let run_name = format!("web-{good}-1");
        let run = run_object(&client, &run_name).await.expect("the step's AnalysisRun");
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        let measurements = run["status"]["metricResults"][0]["measurements"].as_array().unwrap().clone();
        assert_eq!(measurements.len(), 1, "resumed, not measured again: {run}");
        assert_eq!(measurements[0]["phase"], "Successful", "{run}");
        let job_name = format!("{run_name}-smoke-1");
        assert_eq!(measurements[0]["metadata"]["job-name"], job_name.as_str(), "{run}");
        let job = job_object(&client, &job_name).await.expect("the measurement's Job");
        assert_eq!(job["metadata"]["labels"]["analysisrun.argoproj.io/uid"], run["metadata"]["uid"]);
        assert_eq!(job["metadata"]["labels"]["team"], "web");
        assert_eq!(job["metadata"]["annotations"]["analysisrun.argoproj.io/name"], run_name.as_str());
        assert_eq!(job["metadata"]["annotations"]["analysisrun.argoproj.io/metric-name"], "smoke");
        assert_eq!(job["metadata"]["annotations"]["hash"], good.as_str(), "args are substituted");
        assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "AnalysisRun");
        assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], run["metadata"]["uid"]);

        // A Job whose pod fails: the metric fails and the rollout aborts to stable.
        patch_template(&client, "smoke", json!({"spec": {"metrics": [{"name": "smoke", "provider": {"job": {
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"annotations": {"sim.shipway.dev/fault": "fail"}},
                "spec": {"restartPolicy": "Never",
                    "containers": [{"name": "smoke", "image": "curl:8", "command": ["curl", "web-canary"]}]}}}}}}]}})).await;
        set_image(&client, "nginx:1.29").await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(aborted.message.contains("smoke") && aborted.message.contains("failed"), "{}", aborted.message);
        let bad = rollout_object(&client).await["status"]["currentPodHash"].as_str().unwrap().to_string();
        let run = run_object(&client, &format!("web-{bad}-1")).await.unwrap();
        assert_eq!(run["status"]["phase"], "Failed", "{run}");
        assert!(run["status"]["metricResults"][0]["measurements"][0]["message"].as_str().unwrap().contains("BackoffLimitExceeded"), "{run}");
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(good.clone(), 4)), "{sizes:?}");
    })
    .await;
}

/// The `shipway.dev/pod-metrics` template of the tests: the canary pods' share of 500s.
fn error_rate_template(extra: &Value) -> Value {
    let mut metric = json!({"name": "error-rate", "initialDelay": "2s", "successCondition": "result < 0.05",
        "provider": {"plugin": {"shipway.dev/pod-metrics": {
            "selector": {"app": "web", "rollouts-pod-template-hash": "{{args.hash}}"},
            "metric": "http_requests_total", "labels": {"code": "500"}, "over": {}, "aggregate": "max"}}}});
    for (key, value) in extra.as_object().unwrap() {
        metric[key] = value.clone();
    }
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "error-rate", "namespace": "default"},
        "spec": {"args": [{"name": "hash"}], "metrics": [metric]}})
}

/// A Rollout whose pods serve `/metrics` (a container port), with `canary` as its strategy.
fn serving_rollout(canary: Value) -> Value {
    let mut object = rollout("nginx:1.27");
    object["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 8080}]);
    object["spec"]["strategy"]["canary"] = canary;
    object
}

fn set_serving_image(image: &str) -> Value {
    json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 8080}]}]}}}})
}

async fn patch_rollout(client: &kube::Client, patch: Value) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &controller::rollout_resource());
    api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_metrics_pass_a_good_canary_and_fail_a_bad_ones_error_rate() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, error_rate_template(&json!({}))).await;
        create(
            &client,
            serving_rollout(json!({"steps": [
            {"setWeight": 50},
            {"analysis": {"templates": [{"templateName": "error-rate"}],
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}]})),
        )
        .await;
        until(&client, |o| o.phase == "Healthy").await;

        patch_rollout(&client, set_serving_image("nginx:1.28")).await;
        let outcome = until(&client, |o| o.phase == "Healthy" || o.phase == "Degraded").await;
        assert_eq!(outcome.phase, "Healthy", "{outcome:?}");
        let good = rollout_object(&client).await["status"]["stableRS"]
            .as_str()
            .unwrap()
            .to_string();
        let run = run_object(&client, &format!("web-{good}-1")).await.unwrap();
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        let measured = &run["status"]["metricResults"][0];
        assert_eq!(measured["measurements"][0]["value"], "0", "{run}");
        let query = measured["metadata"]["ResolvedPrometheusQuery"]
            .as_str()
            .unwrap();
        assert!(
            query.contains(&good) && query.contains("over 2 pods"),
            "{query}"
        );

        // `-bad`: the simulator answers half of the canary pods' requests with 500.
        patch_rollout(&client, set_serving_image("nginx:1.29-bad")).await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(
            aborted.message.contains("error-rate") && aborted.message.contains("returned 0.5"),
            "{}",
            aborted.message
        );
        assert!(
            aborted
                .message
                .contains("http_requests_total{code=\"500\"}"),
            "{}",
            aborted.message
        );
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(good.clone(), 4)), "{sizes:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_analysis_runs_through_the_steps_ends_at_promotion_and_aborts_a_bad_canary() {
    bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, error_rate_template(&json!({"interval": "1s"}))).await;
        create(
            &client,
            serving_rollout(json!({
            "analysis": {"templates": [{"templateName": "error-rate"}], "startingStep": 1,
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]},
            "steps": [{"setWeight": 25}, {"setWeight": 50}, {"pause": {}}]})),
        )
        .await;
        until(&client, |o| o.phase == "Healthy").await;
        let first = rollout_object(&client).await["status"]["stableRS"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            run_object(&client, &format!("web-{first}")).await.is_none(),
            "none at the first deploy"
        );

        // A good canary: the run starts at step 1, keeps measuring through the pause, and
        // is terminated (Successful) by the promote.
        patch_rollout(&client, set_serving_image("nginx:1.28")).await;
        until(&client, |o| o.step.0 >= 1).await;
        let good = rollout_object(&client).await["status"]["currentPodHash"]
            .as_str()
            .unwrap()
            .to_string();
        let paused = until(&client, |o| o.phase == "Paused" && o.step.0 == 2).await;
        assert!(paused.waiting_for_promote, "{paused:?}");
        let name = format!("web-{good}");
        let run = loop {
            let run = run_object(&client, &name)
                .await
                .expect("the background run");
            if run["status"]["metricResults"][0]["count"]
                .as_u64()
                .unwrap_or(0)
                >= 2
            {
                break run;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            until(&client, |_| true).await;
        };
        assert_eq!(
            run["metadata"]["labels"]["rollout-type"], "Background",
            "{run}"
        );
        assert!(
            run["metadata"]["labels"].get("step-index").is_none(),
            "{run}"
        );
        assert_eq!(run["status"]["phase"], "Running", "{run}");
        until(&client, |_| true).await;
        let status = rollout_object(&client).await["status"].clone();
        assert_eq!(
            status["canary"]["currentBackgroundAnalysisRunStatus"],
            json!({"name": name, "status": "Running", "message": ""}),
            "{status}"
        );
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Healthy").await;
        let run = run_object(&client, &name).await.unwrap();
        assert_eq!(run["spec"]["terminate"], true, "{run}");
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        assert_eq!(run["status"]["message"], "Run Terminated", "{run}");

        // A user's abort terminates the run of the canary it abandons.
        patch_rollout(&client, set_serving_image("nginx:1.285")).await;
        let at_step = until(&client, |o| o.step.0 >= 1).await;
        let abandoned = format!("web-{}", at_step.current);
        while run_object(&client, &abandoned).await.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            until(&client, |_| true).await;
        }
        patch_status(&client, json!({"status": {"abort": true}})).await;
        until(&client, |o| o.phase == "Degraded").await;
        let run = run_object(&client, &abandoned).await.unwrap();
        assert_eq!(run["spec"]["terminate"], true, "{run}");
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        assert_eq!(run["status"]["message"], "Run Terminated", "{run}");

        // A bad canary: the background run fails and the rollout aborts, naming it.
        patch_rollout(&client, set_serving_image("nginx:1.29-bad")).await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(
            aborted.message.contains("RolloutAborted")
                && aborted.message.contains("background analysis"),
            "{}",
            aborted.message
        );
        assert!(
            aborted.message.contains("error-rate") && aborted.message.contains("returned 0.5"),
            "{}",
            aborted.message
        );
        let bad = rollout_object(&client).await["status"]["currentPodHash"]
            .as_str()
            .unwrap()
            .to_string();
        let run = run_object(&client, &format!("web-{bad}")).await.unwrap();
        assert_eq!(run["status"]["phase"], "Failed", "{run}");
        let sizes = sets(&client).await;
        assert!(sizes.contains(&(good.clone(), 4)), "{sizes:?}");
        assert!(sizes.contains(&(bad.clone(), 0)), "{sizes:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inconclusive_background_analysis_pauses_and_a_promote_or_retry_measures_again() {
    Box::pin(bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        // Half the requests failing is neither a success (< 1%) nor a failure (> 90%).
        let mut template = error_rate_template(&json!({"interval": "1s", "count": 1,
            "initialDelay": "1s", "failureCondition": "result > 0.9", "successCondition": "result < 0.01"}));
        create(&client, template.clone()).await;
        create(&client, serving_rollout(json!({
            "analysis": {"templates": [{"templateName": "error-rate"}],
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]},
            // Long pauses, so each promote below moves one pause on and never to the end.
            "steps": [{"setWeight": 25}, {"pause": {"duration": 600}}, {"setWeight": 50},
                {"pause": {"duration": 600}}, {"setWeight": 75}, {"pause": {"duration": 600}}]}))).await;
        until(&client, |o| o.phase == "Healthy").await;

        patch_rollout(&client, set_serving_image("nginx:1.28-bad")).await;
        let inconclusive =
            |o: &Outcome| o.phase == "Paused" && o.message.contains("InconclusiveAnalysisRun");
        let paused = until(&client, inconclusive).await;
        assert!(paused.waiting_for_promote, "{paused:?}");
        assert!(paused.message.contains("InconclusiveAnalysisRun") && paused.message.contains("background analysis"), "{}", paused.message);
        let hash = paused.current.clone();
        let status = rollout_object(&client).await["status"].clone();
        let reasons: Vec<&Value> = status["pauseConditions"].as_array().unwrap().iter().map(|p| &p["reason"]).collect();
        assert!(reasons.contains(&&json!("InconclusiveAnalysisRun")), "{status}");
        // Held where it stands: a later reconcile does not move on.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let held = until(&client, |_| true).await;
        assert_eq!((held.phase.as_str(), held.step), ("Paused", paused.step));
        let name = format!("web-{hash}");
        let first = run_object(&client, &name).await.unwrap();
        assert_eq!(first["status"]["phase"], "Inconclusive", "{first}");

        // A promote: a new run measures again (and pauses again, the pods being the same).
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        let again = loop {
            until(&client, |_| true).await;
            if let Some(run) = run_object(&client, &name).await
                && run["metadata"]["uid"] != first["metadata"]["uid"]
            {
                break run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(again["metadata"]["labels"]["rollout-type"], "Background", "{again}");
        let paused_again = until(&client, inconclusive).await;
        assert_eq!(paused_again.step.0, 3, "the promote moved one pause on: {paused_again:?}");

        // Now a failure: the rollout aborts; a retry measures again in a new run.
        template["spec"]["metrics"][0]["failureCondition"] = "result > 0.4".into();
        patch_template(&client, "error-rate", json!({"spec": template["spec"].clone()})).await;
        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        let aborted = until(&client, |o| o.phase == "Degraded").await;
        assert!(aborted.message.contains("background analysis"), "{}", aborted.message);
        let failed = run_object(&client, &name).await.unwrap();
        assert_eq!(failed["status"]["phase"], "Failed", "{failed}");
        patch_status(&client, json!({"status": {"abort": false}})).await;
        loop {
            until(&client, |_| true).await;
            if let Some(run) = run_object(&client, &name).await
                && run["metadata"]["uid"] != failed["metadata"]["uid"]
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        until(&client, |o| o.phase == "Degraded").await;
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_job_still_running_is_deleted_when_the_rollout_is_promoted() {
    Box::pin(bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        create(&client, json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "soak", "namespace": "default"},
            "spec": {"metrics": [{"name": "soak", "provider": {"job": {"spec": {"backoffLimit": 0, "template": {
                "metadata": {"annotations": {"sim.shipway.dev/run-seconds": "600"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "soak", "image": "k6:1"}]}}}}}}]}})).await;
        let mut object = rollout("nginx:1.27");
        object["spec"]["strategy"]["canary"] = json!({
            "analysis": {"templates": [{"templateName": "soak"}]},
            "steps": [{"setWeight": 50}, {"pause": {}}]});
        create(&client, object).await;
        until(&client, |o| o.phase == "Healthy").await;

        set_image(&client, "nginx:1.28").await;
        let paused = until(&client, |o| o.phase == "Paused").await;
        let name = format!("web-{}", paused.current);
        let job = loop {
            until(&client, |_| true).await;
            let run = run_object(&client, &name).await;
            let measurement = run.as_ref().map(|r| r["status"]["metricResults"][0]["measurements"][0].clone());
            if let Some(m) = measurement.filter(|m| m["phase"] == "Running") {
                break m["metadata"]["job-name"].as_str().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(job_object(&client, &job).await.is_some());

        patch_status(&client, json!({"status": {"pauseConditions": null}})).await;
        until(&client, |o| o.phase == "Healthy").await;
        let run = run_object(&client, &name).await.unwrap();
        assert_eq!(run["status"]["phase"], "Successful", "{run}");
        assert_eq!(run["status"]["message"], "Run Terminated", "{run}");
        let measurement = &run["status"]["metricResults"][0]["measurements"][0];
        assert_eq!(measurement["phase"], "Successful", "{run}");
        assert!(measurement["finishedAt"].is_string(), "{run}");
        let gone = job_object(&client, &job)
            .await
            .is_none_or(|j| j["metadata"]["deletionTimestamp"].is_string());
        assert!(gone, "the Job of the measurement in flight is deleted");
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_metric_keeps_only_its_newest_jobs() {
    Box::pin(bounded(120, async {
        let (_simulator, client, _controllers) = start();
        crds(&client).await;
        // A run of its own, advanced directly: 11 measurements, a second apart.
        create(&client, json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
            "metadata": {"name": "checks", "namespace": "default"},
            "spec": {"metrics": [{"name": "probe", "count": 11, "interval": "1s", "provider": {"job": {"spec": {
                "backoffLimit": 0, "template": {"metadata": {"annotations": {"sim.shipway.dev/run-seconds": "0"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "probe", "image": "curl:8"}]}}}}}}]}})).await;
        let http = shipway_rollouts::providers::Http::new();
        let state = loop {
            let state = shipway_rollouts::runs::advance(&client, &http, "default", "checks", now())
                .await
                .unwrap();
            if state.phase != shipway_rollouts::analysis::Phase::Running
                && state.phase != shipway_rollouts::analysis::Phase::Pending
            {
                break state;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(state.phase, shipway_rollouts::analysis::Phase::Successful, "{state:?}");
        let run = run_object(&client, "checks").await.unwrap();
        assert_eq!(run["status"]["metricResults"][0]["count"], 11, "{run}");
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &resource("batch/v1", "Job", "jobs"));
        let mut kept: Vec<String> = api
            .list(&kube::api::ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .filter_map(|j| j.metadata.name)
            .collect();
        kept.sort_by_key(|n| n.rsplit('-').next().unwrap().parse::<u32>().unwrap());
        let expected: Vec<String> = (2..=11).map(|n| format!("checks-probe-{n}")).collect();
        assert_eq!(kept, expected, "the oldest Job is deleted, ten are kept");
    }))
    .await;
}
