//! What the Rollout controller's tests and the abort benchmark share: an in-process
//! simulator with its controllers, the Argo Rollouts CRDs from `examples/cluster/`, object
//! helpers, and a stand-in Prometheus on loopback.
#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use shipway_rollouts::controller::{self, HASH_LABEL};
use shipway_sim::{SimulationConfig, Simulator};
use tower::ServiceExt as _;

/// A simulator with instant containers and load balancers, its controllers running.
pub(crate) fn start() -> (Simulator, kube::Client, tokio::task::JoinHandle<()>) {
    start_with(SimulationConfig {
        container_start_delay: 0,
        load_balancer_delay: 0,
        ..SimulationConfig::default()
    })
}

/// A simulator with `config`, its controllers running every 50 ms, and a client for it.
pub(crate) fn start_with(
    config: SimulationConfig,
) -> (Simulator, kube::Client, tokio::task::JoinHandle<()>) {
    let simulator = Simulator::with_config(config);
    let controllers = simulator.run_controllers(Duration::from_millis(50));
    let service =
        simulator
            .router()
            .map_request(|request: axum::http::Request<kube::client::Body>| {
                request.map(axum::body::Body::new)
            });
    (
        simulator,
        kube::Client::new(service, "default"),
        controllers,
    )
}

pub(crate) fn resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub(crate) async fn create(client: &kube::Client, object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap().to_string();
    let kind = object["kind"].as_str().unwrap().to_string();
    let plural = match kind.as_str() {
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        "Ingress" => "ingresses".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    let resource = resource(&api_version, &kind, &plural);
    let api: Api<DynamicObject> = match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).unwrap(),
    )
    .await
    .unwrap();
}

pub(crate) async fn crds(client: &kube::Client) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cluster/argo-rollouts-crds.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let nodes = shipway_model::yaml::parse_stream(
        &text,
        shipway_model::FileId(0),
        &shipway_model::yaml::Limits::default(),
    )
    .unwrap();
    for node in nodes {
        let object = node.to_json();
        if !object.is_null() {
            create(client, object).await;
        }
    }
    // Let discovery serve the new kinds.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

pub(crate) fn rollout(image: &str) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}},
            "strategy": {"canary": {"stableService": "web-stable", "canaryService": "web-canary",
                "steps": [{"setWeight": 25}, {"pause": {"duration": 1}}, {"setWeight": 50}, {"pause": {}}]}}}})
}

pub(crate) async fn selector_of(client: &kube::Client, service: &str) -> String {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("v1", "Service", "services"),
    );
    let object = serde_json::to_value(api.get(service).await.unwrap()).unwrap();
    object
        .pointer(&format!("/spec/selector/{HASH_LABEL}"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

pub(crate) async fn rollout_object(client: &kube::Client) -> Value {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &controller::rollout_resource());
    serde_json::to_value(api.get("web").await.unwrap()).unwrap()
}

pub(crate) async fn set_image(client: &kube::Client, image: &str) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &controller::rollout_resource());
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}});
    api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// A stand-in for Prometheus' HTTP API on 127.0.0.1: answers every query with the vector
/// `answer` holds (`None`: an empty result), and records the queries it was asked.
pub(crate) struct FakePrometheus {
    /// `http://127.0.0.1:PORT`.
    pub(crate) address: String,
    /// What every query is answered with (`None`: an empty vector).
    pub(crate) answer: std::sync::Arc<std::sync::Mutex<Option<f64>>>,
    /// The request targets asked for.
    pub(crate) queries: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// When the first query since this was last emptied was answered.
    pub(crate) first_answer: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl FakePrometheus {
    /// Listens on a free loopback port; answers 0.99 until told otherwise.
    pub(crate) async fn start() -> FakePrometheus {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let answer = std::sync::Arc::new(std::sync::Mutex::new(Some(0.99)));
        let queries = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let first_answer = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (a, q, f) = (answer.clone(), queries.clone(), first_answer.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut buffer = vec![0u8; 8192];
                let n = stream.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                let target = request.split_whitespace().nth(1).unwrap_or("").to_string();
                q.lock().unwrap().push(target);
                let result = match *a.lock().unwrap() {
                    Some(value) => format!(r#"[{{"metric":{{}},"value":[1700000000,"{value}"]}}]"#),
                    None => "[]".to_string(),
                };
                let body = format!(
                    r#"{{"status":"success","data":{{"resultType":"vector","result":{result}}}}}"#
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                f.lock()
                    .unwrap()
                    .get_or_insert_with(std::time::Instant::now);
            }
        });
        FakePrometheus {
            address,
            answer,
            queries,
            first_answer,
        }
    }

    /// Answers `value` from now on.
    pub(crate) fn answer(&self, value: Option<f64>) {
        *self.answer.lock().unwrap() = value;
    }
}

/// The object `name` in `default`, if it exists.
pub(crate) async fn get(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
    name: &str,
) -> Option<Value> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource(api_version, kind, plural),
    );
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}
