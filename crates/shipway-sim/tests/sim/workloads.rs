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

/// Issue 17: what a new user runs against the sandbox works as against a cluster:
/// `kubectl get hpa|nodes|endpointslices|events`, `describe node|pod|deployment` with their
/// pods and events, `logs`, health endpoints, and a clear refusal of `exec` and
/// `port-forward`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_logs_events_and_autoscaling() {
    bounded(240, async {
        let cluster = Cluster::start().await;
        let controllers = cluster
            .simulator
            .run_controllers(Duration::from_millis(100));
        let resources = "        resources:\n          requests:\n            cpu: 100m\n";
        let manifest = format!(
            "{}{resources}---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n\
             metadata:\n  name: web\n  namespace: default\nspec:\n  scaleTargetRef:\n\
             \x20   apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  minReplicas: 2\n\
             \x20 maxReplicas: 5\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n\
             \x20     target:\n        type: Utilization\n        averageUtilization: 70\n---\n\
             apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\n\
             spec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n",
            deployment("web", "nginx:1.27", 1, "")
        );
        let path = cluster.write("web.yaml", &manifest);
        cluster.ok(&["apply", "-f", &path]).await;
        // The autoscaler raises the Deployment to its minimum.
        let mut hpa = String::new();
        for _ in 0..100 {
            hpa = cluster.ok(&["get", "hpa", "web"]).await;
            if hpa.contains("cpu: 50%/70%") && pods_of(&cluster, "web").len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let row: Vec<&str> = hpa.lines().nth(1).unwrap_or_default().split_whitespace().collect();
        assert_eq!(
            row[..7],
            ["web", "Deployment/web", "cpu:", "50%/70%", "2", "5", "2"],
            "{hpa}"
        );
        cluster
            .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
            .await;

        let nodes = cluster.ok(&["get", "nodes"]).await;
        assert!(
            nodes.lines().nth(1).is_some_and(|line| {
                let cells: Vec<&str> = line.split_whitespace().collect();
                cells[..3] == ["sim-node-1", "Ready", "<none>"] && cells[4] == "v1.32.0"
            }),
            "{nodes}"
        );
        let node = cluster.ok(&["describe", "node", "sim-node-1"]).await;
        assert!(node.contains("Non-terminated Pods:          (2 in total)"), "{node}");
        let slices = cluster.ok(&["get", "endpointslices"]).await;
        assert!(
            slices.lines().any(|l| l.starts_with("web-") && l.contains("IPv4") && l.contains("8080")),
            "{slices}"
        );

        let events = cluster.ok(&["get", "events"]).await;
        for reason in ["Scheduled", "Pulled", "Started", "ScalingReplicaSet", "SuccessfulCreate", "SuccessfulRescale"] {
            assert!(events.contains(reason), "{reason} missing:\n{events}");
        }
        let new_api = cluster.ok(&["get", "events.events.k8s.io", "-o", "name"]).await;
        assert!(new_api.lines().count() >= 8, "{new_api}");
        let described = cluster.ok(&["describe", "deployment", "web"]).await;
        assert!(
            described.contains("ScalingReplicaSet") && described.contains("deployment-controller"),
            "{described}"
        );
        let pod = pods_of(&cluster, "web")[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let described = cluster.ok(&["describe", "pod", &pod]).await;
        assert!(
            described.contains("Successfully assigned default/") && described.contains("Started container app"),
            "{described}"
        );

        let logs = cluster.ok(&["logs", &pod]).await;
        assert_eq!(
            logs,
            "shipway sandbox: simulated container \"app\" started from image \"nginx:1.27\"\nlistening on 0.0.0.0:8080/tcp\nready\n"
        );
        assert_eq!(cluster.ok(&["logs", "deploy/web", "--tail=1"]).await, "ready\n");
        assert_eq!(cluster.ok(&["logs", "-f", &pod, "--tail=1"]).await, "ready\n");
        for args in [
            vec!["exec", pod.as_str(), "--", "true"],
            vec!["port-forward", pod.as_str(), "18080:8080"],
        ] {
            let refused = cluster.kubectl(&args).await;
            assert!(!refused.success, "{refused:?}");
            assert!(
                refused.stderr.contains("is not supported by the shipway sandbox"),
                "{args:?}: {refused:?}"
            );
        }
        // The proxy subresources reach the pods' own listeners, as on a real cluster.
        let health = format!("/api/v1/namespaces/default/pods/{pod}:8080/proxy/health");
        assert_eq!(cluster.ok(&["get", "--raw", &health]).await, "ok\n");
        let metrics = cluster
            .ok(&["get", "--raw", "/api/v1/namespaces/default/services/web:80/proxy/metrics"])
            .await;
        assert!(metrics.contains("http_requests_total{code=\"200\""), "{metrics}");
        let missing = cluster
            .kubectl(&["get", "--raw", "/api/v1/namespaces/default/services/nothing/proxy/health"])
            .await;
        assert!(!missing.success && missing.stderr.contains("NotFound"), "{missing:?}");
        for check in ["/healthz", "/livez", "/readyz"] {
            assert_eq!(cluster.ok(&["get", "--raw", check]).await, "ok");
        }
        let verbose = cluster.ok(&["get", "--raw", "/readyz?verbose"]).await;
        assert!(
            verbose.contains("[+]etcd ok") && verbose.ends_with("readyz check passed\n"),
            "{verbose}"
        );
        controllers.abort();
    })
    .await;
}

/// A GET over HTTP/1.0 (so Go servers answer without chunking); returns the body.
async fn http_body(address: String, path: String) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
    })
    .await
    .ok()
    .flatten()
}

/// Issue 17: a real Prometheus discovers the sandbox's pods through `http_sd_configs` at
/// the documented URL, scrapes their `/metrics`, and a query by pod label sees the error
/// rate the pod's annotation scripts. Skipped (visibly) without `prometheus` on PATH,
/// unless `SHIPWAY_PROMETHEUS_REQUIRED=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_discovers_and_scrapes_sandbox_pods() {
    let Some(binary) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    }) else {
        assert!(
            std::env::var("SHIPWAY_PROMETHEUS_REQUIRED").as_deref() != Ok("1"),
            "prometheus is not on PATH and SHIPWAY_PROMETHEUS_REQUIRED=1"
        );
        eprintln!(
            "skipped: prometheus_discovers_and_scrapes_sandbox_pods: no `prometheus` on PATH"
        );
        return;
    };
    bounded(180, async {
        let cluster = Cluster::start().await;
        let controllers = cluster
            .simulator
            .run_controllers(Duration::from_millis(100));
        let canary = deployment("canary", "web:2.0", 1, "").replace(
            "      labels:\n        app: canary\n    spec:",
            "      labels:\n        app: canary\n      annotations:\n        sim.shipway.dev/error-rate: \"0.25\"\n    spec:",
        );
        let path = cluster.write("canary.yaml", &canary);
        cluster.ok(&["apply", "-f", &path]).await;
        cluster
            .ok(&["rollout", "status", "deploy/canary", "--timeout=60s"])
            .await;
        let server = cluster.server_address();
        // The discovery document itself.
        let mut document = Value::Null;
        for _ in 0..100 {
            let body = http_body(server.clone(), shipway_sim::HTTP_SD_PATH.to_owned()).await;
            document = body.and_then(|b| serde_json::from_str(&b).ok()).unwrap_or_default();
            if document.as_array().is_some_and(|groups| !groups.is_empty()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            document[0]["labels"]["__meta_kubernetes_pod_label_app"], "canary",
            "{document}"
        );

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
             - job_name: sandbox\n  http_sd_configs:\n  - url: http://{server}{}\n    refresh_interval: 1s\n\
             \x20 relabel_configs:\n  - source_labels: [__meta_kubernetes_pod_label_app]\n    target_label: app\n\
             \x20 - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n",
            shipway_sim::HTTP_SD_PATH
        );
        let config_path = cluster.write("prometheus.yml", &config);
        let data = cluster.write("prometheus-data-marker", "");
        let data_dir = format!("{data}.d");
        let mut prometheus = tokio::process::Command::new(binary)
            .arg(format!("--config.file={config_path}"))
            .arg(format!("--storage.tsdb.path={data_dir}"))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let address = format!("127.0.0.1:{port}");
        let query = "/api/v1/query?query=sum%20by%20(app)%20(http_requests_total%7Bapp%3D%22canary%22%2Ccode%3D%22500%22%7D)";
        let mut answer = Value::Null;
        for _ in 0..120 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let Some(body) = http_body(address.clone(), query.to_owned()).await else {
                continue;
            };
            answer = serde_json::from_str(&body).unwrap_or_default();
            if answer["data"]["result"].as_array().is_some_and(|r| !r.is_empty()) {
                break;
            }
        }
        let result = &answer["data"]["result"][0];
        assert_eq!(result["metric"]["app"], "canary", "{answer}");
        let errors: f64 = result["value"][1].as_str().unwrap().parse().unwrap();
        assert!(errors > 0.0, "{answer}");
        let targets = http_body(address, "/api/v1/targets".to_owned()).await.unwrap();
        assert!(targets.contains("\"health\":\"up\""), "{targets}");
        prometheus.kill().await.unwrap();
        controllers.abort();
    })
    .await;
}
