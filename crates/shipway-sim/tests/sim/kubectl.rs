//! The real `kubectl` on PATH against a served simulator. The machine's `kubectl` is a
//! dispatcher that reads `/version` and runs the matching `kubectl.1.<minor>`, so these
//! tests also prove the dispatch. Each test gets its own server, kubeconfig, HOME and
//! discovery cache, so a reused port can never serve stale discovery.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use shipway_sim::Simulator;
use tempfile::TempDir;

use crate::bounded;

/// A served simulator and a kubeconfig pointing at it (shared with the workload tests).
pub(crate) struct Cluster {
    pub(crate) simulator: Simulator,
    dir: TempDir,
    kubeconfig: PathBuf,
    address: std::net::SocketAddr,
}

/// What one kubectl run printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        let simulator = Simulator::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // Runs until the test's runtime shuts down.
        tokio::spawn(shipway_sim::serve(
            listener,
            simulator.clone(),
            std::future::pending(),
        ));
        let dir = TempDir::new().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: http://{address}\n\
             users:\n- name: sim\n  user: {{}}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n\
             current-context: sim\n"
        );
        tokio::fs::write(&kubeconfig, config).await.unwrap();
        Self {
            simulator,
            dir,
            kubeconfig,
            address,
        }
    }

    /// The served simulator's `host:port`.
    pub(crate) fn server_address(&self) -> String {
        self.address.to_string()
    }

    pub(crate) async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as("kubectl", args).await
    }

    /// Runs a specific kubectl binary (`kubectl.1.29` sits next to the dispatcher).
    pub(crate) async fn kubectl_as(&self, binary: &str, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(beside_kubectl(binary));
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=20s")
            .args(args)
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .unwrap();
        Output {
            code: output.status.code(),
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs kubectl and requires success.
    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args).await;
        assert!(output.success, "kubectl {args:?} failed: {output:?}");
        output.stdout
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// The versioned kubectl binaries sit next to the dispatcher's real file (PATH holds a
/// symlink to it), not on PATH themselves.
fn beside_kubectl(binary: &str) -> PathBuf {
    if binary == "kubectl" {
        return PathBuf::from(binary);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .and_then(|dispatcher| std::fs::canonicalize(dispatcher).ok())
        .and_then(|real| real.parent().map(|dir| dir.join(binary)))
        .filter(|versioned| versioned.is_file())
        .unwrap_or_else(|| panic!("{binary} not found next to the kubectl on PATH"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_version_and_api_resources() {
    bounded(120, async {
        let cluster = Cluster::start().await;
        let version: Value =
            serde_json::from_str(&cluster.ok(&["version", "-o", "json"]).await).unwrap();
        assert_eq!(version["serverVersion"]["minor"], "32");
        // The dispatcher picked the kubectl matching the server.
        assert!(
            version["clientVersion"]["gitVersion"]
                .as_str()
                .unwrap()
                .starts_with("v1.32."),
            "{version}"
        );
        let resources = cluster.ok(&["api-resources"]).await;
        let deployments = resources
            .lines()
            .find(|line| line.starts_with("deployments "))
            .unwrap();
        let columns: Vec<&str> = deployments.split_whitespace().collect();
        assert_eq!(
            columns,
            ["deployments", "deploy", "apps/v1", "true", "Deployment"]
        );
        for expected in [
            "configmaps",
            "customresourcedefinitions",
            "horizontalpodautoscalers",
            "leases",
            "endpointslices",
        ] {
            assert!(
                resources.lines().any(|line| line.starts_with(expected)),
                "{expected} missing:\n{resources}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_namespace_configmap_label_delete() {
    bounded(180, async {
        let cluster = Cluster::start().await;
        assert_eq!(
            cluster.ok(&["create", "namespace", "demo"]).await.trim(),
            "namespace/demo created"
        );
        assert_eq!(
            cluster
                .ok(&[
                    "create",
                    "configmap",
                    "cfg",
                    "-n",
                    "demo",
                    "--from-literal=a=1"
                ])
                .await
                .trim(),
            "configmap/cfg created"
        );
        let list: Value =
            serde_json::from_str(&cluster.ok(&["get", "cm", "-n", "demo", "-o", "json"]).await)
                .unwrap();
        assert_eq!(list["items"][0]["kind"], "ConfigMap");
        assert_eq!(list["items"][0]["metadata"]["name"], "cfg");
        assert_eq!(list["items"][0]["data"]["a"], "1");
        assert_eq!(
            cluster
                .ok(&["label", "cm", "cfg", "-n", "demo", "tier=web"])
                .await
                .trim(),
            "configmap/cfg labeled"
        );
        assert_eq!(
            cluster
                .ok(&["get", "cm", "-n", "demo", "-l", "tier=web", "-o", "name"])
                .await
                .trim(),
            "configmap/cfg"
        );
        assert_eq!(
            cluster
                .ok(&["get", "cm", "-n", "demo", "-l", "tier!=web", "-o", "name"])
                .await
                .trim(),
            ""
        );
        let missing = cluster.kubectl(&["get", "cm", "nope", "-n", "demo"]).await;
        assert!(!missing.success);
        assert!(
            missing.stderr.contains("(NotFound)")
                && missing.stderr.contains("configmaps \"nope\" not found"),
            "{missing:?}"
        );
        let twice = cluster.kubectl(&["create", "namespace", "demo"]).await;
        assert!(twice.stderr.contains("(AlreadyExists)"), "{twice:?}");
        assert_eq!(
            cluster
                .ok(&["delete", "cm", "cfg", "-n", "demo"])
                .await
                .trim(),
            "configmap \"cfg\" deleted"
        );
        cluster
            .ok(&["create", "configmap", "other", "-n", "demo"])
            .await;
        assert_eq!(
            cluster.ok(&["delete", "namespace", "demo"]).await.trim(),
            "namespace \"demo\" deleted"
        );
        let left = cluster.simulator.lock().list(
            shipway_sim::resources::find("", "v1", "configmaps").unwrap(),
            None,
            &shipway_sim::store::ListOptions::default(),
        );
        assert_eq!(left.unwrap()["items"], serde_json::json!([]));
    })
    .await;
}

/// `kubectl create deployment` sends a protobuf body (client-go's typed client) and does
/// not retry as JSON, so the simulator must decode Deployments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_deployment_sends_protobuf() {
    bounded(180, async {
        let cluster = Cluster::start().await;
        assert_eq!(
            cluster
                .ok(&["create", "deployment", "web", "--image=nginx"])
                .await
                .trim(),
            "deployment.apps/web created"
        );
        let web: Value =
            serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await)
                .unwrap();
        assert_eq!(web["metadata"]["labels"], serde_json::json!({"app": "web"}));
        assert_eq!(web["spec"]["replicas"], 1);
        assert_eq!(web["spec"]["strategy"]["type"], "RollingUpdate");
        let container = &web["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            (container["name"].as_str(), container["image"].as_str()),
            (Some("nginx"), Some("nginx"))
        );
        assert_eq!(
            container["imagePullPolicy"], "Always",
            "defaulted for an untagged image"
        );
        cluster
            .ok(&[
                "create",
                "deployment",
                "idle",
                "--image=busybox:1.36",
                "--replicas=0",
                "--port=8080",
                "--",
                "sleep",
                "3600",
            ])
            .await;
        let idle: Value =
            serde_json::from_str(&cluster.ok(&["get", "deploy", "idle", "-o", "json"]).await)
                .unwrap();
        assert_eq!(idle["spec"]["replicas"], 0, "an explicit zero is kept");
        let container = &idle["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["command"], serde_json::json!(["sleep", "3600"]));
        assert_eq!(
            container["ports"],
            serde_json::json!([{"containerPort": 8080, "protocol": "TCP"}])
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_client_side_apply_creates_updates_and_prunes() {
    bounded(180, async {
        let cluster = Cluster::start().await;
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n\
            spec:\n  replicas: REPLICAS\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n\
            \x20     labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";
        let first = cluster.write("deploy.yaml", &deployment.replace("REPLICAS", "2"));
        assert_eq!(
            cluster.ok(&["apply", "--validate=false", "-f", &first]).await.trim(),
            "deployment.apps/web created"
        );
        let live: Value = serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await).unwrap();
        assert_eq!(live["spec"]["replicas"], 2);
        assert_eq!(live["metadata"]["generation"], 1);
        assert!(live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());
        // Unchanged: kubectl computes an empty patch and sends nothing.
        assert_eq!(
            cluster.ok(&["apply", "--validate=false", "-f", &first]).await.trim(),
            "deployment.apps/web unchanged"
        );
        // A change goes through a strategic merge patch computed by kubectl.
        let second = cluster.write(
            "deploy-v2.yaml",
            &deployment
                .replace("REPLICAS", "3")
                .replace("nginx:1.27\n", "nginx:1.28\n      - name: sidecar\n        image: envoy:1\n"),
        );
        assert_eq!(
            cluster.ok(&["apply", "--validate=false", "-f", &second]).await.trim(),
            "deployment.apps/web configured"
        );
        let live: Value = serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await).unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
        assert_eq!(live["metadata"]["generation"], 2);
        let containers = &live["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:1.28");
        assert_eq!(containers[1]["name"], "sidecar");
        // Dropping the sidecar from the file removes it from the live object.
        assert_eq!(
            cluster.ok(&["apply", "--validate=false", "-f", &first]).await.trim(),
            "deployment.apps/web configured"
        );
        let live: Value = serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await).unwrap();
        assert_eq!(live["spec"]["replicas"], 2);
        let containers = live["spec"]["template"]["spec"]["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0]["image"], "nginx:1.27");
    })
    .await;
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: REPLICAS
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: IMAGE
        ports:
        - containerPort: 80
";

fn deployment(replicas: u32, image: &str) -> String {
    DEPLOYMENT
        .replace("REPLICAS", &replicas.to_string())
        .replace("IMAGE", image)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_conflicts_diff_and_managed_fields() {
    bounded(240, async {
        let cluster = Cluster::start().await;
        let first = cluster.write("first.yaml", &deployment(2, "nginx:1.27"));
        assert_eq!(
            cluster
                .ok(&[
                    "apply",
                    "--server-side",
                    "--field-manager=gitops",
                    "-f",
                    &first
                ])
                .await
                .trim(),
            "deployment.apps/web serverside-applied"
        );
        // Another manager changing replicas conflicts; equal fields are shared silently.
        let scaled = cluster.write("scaled.yaml", &deployment(5, "nginx:1.27"));
        let conflict = cluster
            .kubectl(&[
                "apply",
                "--server-side",
                "--field-manager=other",
                "-f",
                &scaled,
            ])
            .await;
        assert!(!conflict.success);
        assert!(
            conflict
                .stderr
                .contains("Apply failed with 1 conflict: conflict with \"gitops\": .spec.replicas"),
            "{conflict:?}"
        );
        cluster
            .ok(&[
                "apply",
                "--server-side",
                "--field-manager=other",
                "--force-conflicts",
                "-f",
                &scaled,
            ])
            .await;
        let yaml = cluster
            .ok(&[
                "get",
                "deploy",
                "web",
                "-o",
                "yaml",
                "--show-managed-fields",
            ])
            .await;
        assert!(
            yaml.contains("manager: gitops") && yaml.contains("manager: other"),
            "{yaml}"
        );
        assert!(yaml.contains("operation: Apply"), "{yaml}");
        // diff: exit 0 when the file matches, 1 when it differs.
        let same = cluster
            .kubectl(&[
                "diff",
                "--server-side",
                "--field-manager=other",
                "-f",
                &scaled,
            ])
            .await;
        assert_eq!(same.code, Some(0), "{same:?}");
        let changed = cluster.write("changed.yaml", &deployment(5, "nginx:1.28"));
        let differs = cluster
            .kubectl(&[
                "diff",
                "--server-side",
                "--field-manager=other",
                "--force-conflicts",
                "-f",
                &changed,
            ])
            .await;
        assert_eq!(differs.code, Some(1), "{differs:?}");
        assert!(
            differs.stdout.contains("+      - image: nginx:1.28"),
            "{differs:?}"
        );
        // Nothing was written by the diffs.
        let live: Value =
            serde_json::from_str(&cluster.ok(&["get", "deploy", "web", "-o", "json"]).await)
                .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.27"
        );
        assert_eq!(live["spec"]["replicas"], 5);
        // Server-side dry run of a create leaves nothing behind.
        let other = cluster.write(
            "other.yaml",
            &deployment(1, "nginx:1.27")
                .replace("name: web\n  namespace", "name: api\n  namespace"),
        );
        cluster
            .ok(&["apply", "--server-side", "--dry-run=server", "-f", &other])
            .await;
        let missing = cluster.kubectl(&["get", "deploy", "api"]).await;
        assert!(
            !missing.success && missing.stderr.contains("NotFound"),
            "{missing:?}"
        );
        // Strict field validation: an unknown field is refused.
        let typo = cluster.write(
            "typo.yaml",
            &deployment(1, "nginx").replace("  replicas:", "  replicaz: 1\n  replicas:"),
        );
        let refused = cluster
            .kubectl(&["apply", "--server-side", "-f", &typo])
            .await;
        assert!(
            !refused.success && refused.stderr.contains("replicaz"),
            "{refused:?}"
        );
        // kubectl get prints the server's table columns.
        let table = cluster.ok(&["get", "deploy", "web"]).await;
        assert!(
            table.starts_with("NAME") && table.contains("UP-TO-DATE"),
            "{table}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_watch_prints_new_objects() {
    bounded(120, async {
        let cluster = Cluster::start().await;
        let mut command = tokio::process::Command::new("kubectl");
        command
            .args(["--kubeconfig"])
            .arg(&cluster.kubeconfig)
            .arg("--cache-dir")
            .arg(cluster.dir.path().join("cache"))
            .args(["get", "configmaps", "-n", "default", "-w", "-o", "name"])
            .env("HOME", cluster.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster
            .ok(&["create", "configmap", "watched", "-n", "default"])
            .await;
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("kubectl get -w printed nothing")
            .unwrap();
        assert_eq!(line.as_deref(), Some("configmap/watched"));
        child.kill().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_versions_1_29_to_1_33_apply_get_and_diff() {
    bounded(600, async {
        let cluster = Cluster::start().await;
        for minor in 29..=33 {
            let binary = format!("kubectl.1.{minor}");
            let name = format!("cfg-{minor}");
            let file = cluster.write(
                &format!("{name}.yaml"),
                &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  a: \"1\"\n"),
            );
            let applied = cluster
                .kubectl_as(&binary, &["apply", "--server-side", "-f", &file])
                .await;
            assert!(applied.success, "{binary}: {applied:?}");
            let client_side = cluster.kubectl_as(&binary, &["apply", "-f", &file]).await;
            assert!(client_side.success, "{binary}: {client_side:?}");
            let got = cluster
                .kubectl_as(&binary, &["get", "configmap", &name, "-o", "jsonpath={.data.a}"])
                .await;
            assert_eq!(got.stdout, "1", "{binary}: {got:?}");
            let changed = cluster.write(
                &format!("{name}-changed.yaml"),
                &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  a: \"2\"\n"),
            );
            let diff = cluster.kubectl_as(&binary, &["diff", "-f", &changed]).await;
            assert_eq!(diff.code, Some(1), "{binary}: {diff:?}");
            let deleted = cluster
                .kubectl_as(&binary, &["delete", "-f", &file])
                .await;
            assert!(deleted.success, "{binary}: {deleted:?}");
        }
    })
    .await;
}
