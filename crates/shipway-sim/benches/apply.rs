//! The simulator's throughput under the load the sync engine puts on it: 1,000 server-side
//! applies of typical objects through kube-rs, in-process (the router as the client's tower
//! service) and over loopback HTTP (what `shipway sandbox` serves). Issue 4's target is at
//! most 1 s for the 1,000 applies.
//!
//! Run with `cargo bench -p shipway-sim --bench apply`. Each sample starts from a fresh
//! simulator, so every apply creates its object (the most expensive path: defaulting,
//! validation, field sets for the whole object); the `reapply` bench applies the same
//! objects again, unchanged, which is what a sync of an up-to-date app costs.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use shipway_sim::Simulator;
use tower::ServiceExt;

fn main() {
    divan::main();
}

/// How many objects one sample applies.
const OBJECTS: usize = 1000;

/// A typical app's objects: a Deployment, a Service and a `ConfigMap` per service, in ten
/// namespaces, 1,000 objects in all.
fn objects() -> Vec<(ApiResource, String, Value)> {
    let deployment = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment"),
        "deployments",
    );
    let service = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("", "v1", "Service"),
        "services",
    );
    let configmap = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("", "v1", "ConfigMap"),
        "configmaps",
    );
    let mut objects = Vec::with_capacity(OBJECTS);
    let mut index = 0;
    while objects.len() < OBJECTS {
        let namespace = format!("team-{}", index % 10);
        let name = format!("svc-{index}");
        let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bench"});
        objects.push((
            deployment.clone(),
            namespace.clone(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                    "template": {"metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "app", "image": format!("registry.example/{name}:1.{index}"),
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"}},
                            "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}}}]}}}}),
        ));
        objects.push((
            service.clone(),
            namespace.clone(),
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"selector": {"app.kubernetes.io/name": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        ));
        if objects.len() < OBJECTS {
            objects.push((
                configmap.clone(),
                namespace.clone(),
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("{name}-config"), "namespace": namespace, "labels": labels},
                    "data": {"settings.yaml": format!("replicas: 2\nname: {name}\n"), "LOG_LEVEL": "info"}}),
            ));
        }
        index += 1;
    }
    objects
}

/// A simulator with the benchmark's namespaces.
fn simulator() -> Simulator {
    let simulator = Simulator::new();
    let namespaces = shipway_sim::resources::namespaces();
    for index in 0..10 {
        let namespace = json!({"metadata": {"name": format!("team-{index}")}});
        simulator
            .lock()
            .create(
                namespaces,
                None,
                namespace,
                &shipway_sim::store::WriteOptions::manager("bench"),
            )
            .expect("namespace");
    }
    simulator
}

fn in_process_client(simulator: &Simulator) -> kube::Client {
    let service =
        simulator
            .router()
            .map_request(|request: axum::http::Request<kube::client::Body>| {
                request.map(axum::body::Body::new)
            });
    kube::Client::new(service, "default")
}

async fn apply_all(client: &kube::Client, objects: &[(ApiResource, String, Value)]) {
    let params = PatchParams::apply("shipway").force();
    for (resource, namespace, object) in objects {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .expect("apply");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn apply_1000_in_process(bencher: divan::Bencher) {
    let runtime = runtime();
    let objects = objects();
    bencher
        .with_inputs(simulator)
        .bench_local_values(|simulator| {
            runtime.block_on(async {
                let client = in_process_client(&simulator);
                apply_all(&client, &objects).await;
            });
            simulator
        });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn apply_1000_over_http(bencher: divan::Bencher) {
    let runtime = runtime();
    let objects = objects();
    bencher
        .with_inputs(|| {
            let simulator = simulator();
            let (address, shutdown) = runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("listener");
                let address = listener.local_addr().expect("address");
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                tokio::spawn(shipway_sim::serve(listener, simulator.clone(), async {
                    let _ = stopped.await;
                }));
                (address, stop)
            });
            (simulator, address, shutdown)
        })
        .bench_local_values(|(simulator, address, shutdown)| {
            runtime.block_on(async {
                let url = format!("http://{address}").parse().expect("url");
                let config = kube::Config::new(url);
                let client = kube::Client::try_from(config).expect("client");
                apply_all(&client, &objects).await;
            });
            let _ = shutdown.send(());
            simulator
        });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn reapply_1000_unchanged_in_process(bencher: divan::Bencher) {
    let runtime = runtime();
    let objects = objects();
    bencher
        .with_inputs(|| {
            let simulator = simulator();
            runtime.block_on(async { apply_all(&in_process_client(&simulator), &objects).await });
            simulator
        })
        .bench_local_values(|simulator| {
            runtime.block_on(async { apply_all(&in_process_client(&simulator), &objects).await });
            simulator
        });
}
