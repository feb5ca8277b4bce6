//! The workload controllers against the real `kubectl`: a rollout `kubectl rollout status`
//! accepts, one it reports as past its progress deadline, `kubectl scale`, a cascading
//! `kubectl delete`, and a pod's simulated `/metrics` endpoint.

use std::time::Duration;

use serde_json::Value;

use crate::bounded;
use crate::kubectl::Cluster;

/// A Deployment manifest named `name` running `image`, with `extra` appended to its spec.
fn deployment(name: &str, image: &str, replicas: u32, extra: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\n\
         spec:\n  replicas: {replicas}\n{extra}  selector:\n    matchLabels:\n      app: {name}\n  template:\n\
         \x20   metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n\
         \x20     - name: app\n        image: {image}\n        ports:\n        - containerPort: 8080\n"
    )
}

/// Pods of the `app` label value in `default`, as the simulator stores them.
fn pods_of(cluster: &Cluster, app: &str) -> Vec<Value> {
    let pods = shipway_sim::resources::find("", "v1", "pods").unwrap();
    cluster
        .simulator
        .lock()
        .objects_of(pods, Some("default"))
        .filter(|pod| pod["metadata"]["labels"]["app"] == app)
        .cloned()
        .collect()
}

/// A plain HTTP/1.1 GET on a blocking socket (on its own thread: the pod's server runs on
/// this test's runtime).
async fn http_get(address: String, path: &'static str) -> String {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollouts_scale_delete_and_pod_metrics() {
    bounded(240, async {
        let cluster = Cluster::start().await;
        let controllers = cluster
            .simulator
            .run_controllers(Duration::from_millis(100));

        // A healthy rollout completes.
        let web = cluster.write("web.yaml", &deployment("web", "nginx:1.27", 3, ""));
        cluster.ok(&["apply", "--validate=false", "-f", &web]).await;
        let status = cluster
            .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
            .await;
        assert!(
            status.contains("deployment \"web\" successfully rolled out"),
            "{status}"
        );
        let live: Value =
            serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await)
                .unwrap();
        assert_eq!(live["status"]["availableReplicas"], 3, "{live}");
        assert_eq!(
            live["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );

        // An image that never pulls exceeds its progress deadline.
        let broken = cluster.write(
            "broken.yaml",
            &deployment(
                "broken",
                "nginx:does-not-exist",
                1,
                "  progressDeadlineSeconds: 2\n",
            ),
        );
        cluster
            .ok(&["apply", "--validate=false", "-f", &broken])
            .await;
        let failed = cluster
            .kubectl(&["rollout", "status", "deploy/broken", "--timeout=60s"])
            .await;
        assert!(!failed.success, "{failed:?}");
        assert!(
            failed.stderr.contains("exceeded its progress deadline"),
            "{failed:?}"
        );

        // A serving pod's metrics endpoint answers Prometheus text.
        let mut endpoint = None;
        for _ in 0..100 {
            endpoint = pods_of(&cluster, "web").iter().find_map(|pod| {
                pod["metadata"]["annotations"]["sim.shipway.dev/endpoint"]
                    .as_str()
                    .map(str::to_owned)
            });
            if endpoint.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let endpoint = endpoint.expect("a web pod records its endpoint");
        let metrics = http_get(endpoint.clone(), "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(
            metrics.contains("# TYPE http_requests_total counter")
                && metrics.contains("http_request_duration_seconds_bucket{le=\"+Inf\"}"),
            "{metrics}"
        );
        let health = http_get(endpoint, "/health").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");

        // kubectl scale goes through the scale subresource; the ReplicaSet follows.
        cluster.ok(&["scale", "deploy/web", "--replicas=1"]).await;
        cluster
            .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
            .await;
        let mut count = usize::MAX;
        for _ in 0..100 {
            count = pods_of(&cluster, "web").len();
            if count == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(count, 1);

        // Deleting the Deployment cascades to its ReplicaSet and pods.
        cluster.ok(&["delete", "deploy", "web"]).await;
        let replica_sets = cluster
            .ok(&["get", "rs", "-l", "app=web", "-o", "name"])
            .await;
        assert_eq!(replica_sets.trim(), "");
        assert!(pods_of(&cluster, "web").is_empty());

        // Dropping the watches (what `serve` does on shutdown) stops the controller loop.
        cluster.simulator.drop_watches();
        tokio::time::timeout(Duration::from_secs(5), controllers)
            .await
            .expect("the controller loop stops")
            .unwrap();
    })
    .await;
}
