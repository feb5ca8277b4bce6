//! `/openapi/v3` and aggregated discovery, proven with the real `kubectl`: `create` and
//! client-side `apply` validate against the documents (no `--validate=false`), apply
//! computes its strategic merge patch from the served schemas without falling back to
//! `/openapi/v2`, `explain` reads them, and `api-resources` needs no per-group-version
//! request. Plus in-process checks of the negotiated discovery shapes.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use shipway_sim::Simulator;
use tower::ServiceExt;

use crate::bounded;
use crate::kubectl::{Cluster as Served, Output};

/// The `Accept` kubectl 1.32 and kube-rs send for discovery.
const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// The harness of `kubectl.rs`, with an `ok` that keeps stderr (these tests read the
/// request log) and a look at the stored objects.
struct Cluster(Served);

impl Cluster {
    async fn start() -> Self {
        Self(Served::start().await)
    }

    /// Runs kubectl and requires success.
    async fn ok(&self, args: &[&str]) -> Output {
        let output = self.0.kubectl(args).await;
        assert!(output.success, "kubectl {args:?} failed: {output:?}");
        output
    }

    fn write(&self, name: &str, text: &str) -> String {
        self.0.write(name, text)
    }

    /// The live object as the store holds it.
    fn live(&self, group: &str, plural: &str, namespace: &str, name: &str) -> Value {
        let resource = shipway_sim::resources::find(group, "v1", plural).unwrap();
        self.0
            .simulator
            .lock()
            .get(resource, Some(namespace), name)
            .unwrap()
    }
}

/// The request lines `kubectl -v=6` logged (`GET http://…/path?query 200 OK …`).
fn requests(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains("round_trippers") && line.contains(" http://"))
        .collect()
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: NAME\n  namespace: default\n\
    spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: NAME\n  template:\n    metadata:\n\
    \x20     labels:\n        app: NAME\n    spec:\n      containers:\n      - name: web\n        image: IMAGE\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_and_apply_validate_against_openapi_v3() {
    bounded(240, async {
        let cluster = Cluster::start().await;
        // `create -f` checks fieldValidation support in /openapi/v3 first.
        let created = cluster.write(
            "created.yaml",
            &DEPLOYMENT
                .replace("NAME", "made")
                .replace("IMAGE", "nginx:1.27"),
        );
        let output = cluster.ok(&["create", "-f", &created, "-v=6"]).await;
        assert_eq!(output.stdout.trim(), "deployment.apps/made created");
        let log = requests(&output.stderr);
        assert!(
            log.iter().any(|l| l.contains("/openapi/v3/apis/apps/v1?hash=")),
            "{log:#?}"
        );
        assert!(
            log.iter().any(|l| l.contains("fieldValidation=Strict")),
            "{log:#?}"
        );

        // Client-side apply: create, then an image change as a strategic merge patch.
        let first = cluster.write(
            "web.yaml",
            &DEPLOYMENT
                .replace("NAME", "web")
                .replace("IMAGE", "nginx:1.27"),
        );
        assert_eq!(
            cluster.ok(&["apply", "-f", &first]).await.stdout.trim(),
            "deployment.apps/web created"
        );
        // A container added outside the file: a strategic merge keeps it (containers
        // merge by name); a JSON merge patch computed without the schema would drop it.
        cluster
            .ok(&[
                "patch",
                "deployment",
                "web",
                "--type=strategic",
                "-p",
                r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy:1"}]}}}}"#,
            ])
            .await;
        let second = cluster.write(
            "web-v2.yaml",
            &DEPLOYMENT
                .replace("NAME", "web")
                .replace("IMAGE", "nginx:1.28"),
        );
        let output = cluster.ok(&["apply", "-f", &second, "-v=6"]).await;
        assert_eq!(output.stdout.trim(), "deployment.apps/web configured");
        assert!(
            !output.stderr.contains("error calculating patch from openapi v3"),
            "{}",
            output.stderr
        );
        let log = requests(&output.stderr);
        // The patch came from the served v3 schemas, not the v2 fallback.
        assert!(
            !log.iter().any(|l| l.contains("/openapi/v2")),
            "{log:#?}"
        );
        assert!(
            log.iter().any(|l| l.contains("PATCH ")
                && l.contains("/deployments/web?fieldManager=kubectl-client-side-apply&fieldValidation=Strict")),
            "{log:#?}"
        );
        let live = cluster.live("apps", "deployments", "default", "web");
        let containers = &live["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            containers.as_array().unwrap().len(),
            2,
            "{containers}"
        );
        assert_eq!(containers[0]["name"], "web");
        assert_eq!(containers[0]["image"], "nginx:1.28");
        assert_eq!(containers[1]["name"], "sidecar");

        // A ConfigMap through client-side apply, core group document.
        let cm = cluster.write(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: default\ndata:\n  a: \"1\"\n",
        );
        assert_eq!(
            cluster.ok(&["apply", "-f", &cm]).await.stdout.trim(),
            "configmap/cfg created"
        );
        assert_eq!(cluster.live("", "configmaps", "default", "cfg")["data"], json!({"a": "1"}));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_and_aggregated_api_resources() {
    bounded(180, async {
        let cluster = Cluster::start().await;
        let explained = cluster
            .ok(&["explain", "deployment.spec.replicas"])
            .await
            .stdout;
        assert!(
            explained.contains("KIND:       Deployment")
                && explained.contains("FIELD: replicas <integer>"),
            "{explained}"
        );
        let containers = cluster
            .ok(&["explain", "deployment.spec.template.spec.containers"])
            .await
            .stdout;
        assert!(
            containers.contains("FIELD: containers <[]Container>"),
            "{containers}"
        );

        let output = cluster.ok(&["api-resources", "-v=6"]).await;
        let deployments = output
            .stdout
            .lines()
            .find(|line| line.starts_with("deployments "))
            .unwrap();
        assert_eq!(
            deployments.split_whitespace().collect::<Vec<_>>(),
            ["deployments", "deploy", "apps/v1", "true", "Deployment"]
        );
        // Subresources never show up as resources of their own.
        assert!(!output.stdout.contains("deployments/"), "{}", output.stdout);
        // Aggregated discovery answered: no per-group-version fallback requests.
        let log = requests(&output.stderr);
        assert!(log.iter().any(|l| l.contains("/apis?")), "{log:#?}");
        assert!(
            !log.iter()
                .any(|l| l.contains("/apis/apps/v1?") || l.contains("/api/v1?")),
            "{log:#?}"
        );
    })
    .await;
}

/// Sends a GET with an `Accept` header; returns the status, Content-Type and JSON body.
async fn get(sim: &Simulator, path: &str, accept: &str) -> (u16, String, Value) {
    let request = Request::builder()
        .uri(path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let response = sim.router().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

#[tokio::test]
async fn aggregated_discovery_is_negotiated() {
    bounded(20, async {
        let sim = Simulator::new();
        let (code, content_type, list) = get(&sim, "/apis?timeout=32s", AGGREGATED).await;
        assert_eq!(code, 200);
        assert_eq!(
            content_type,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        assert_eq!(list["kind"], "APIGroupDiscoveryList");
        assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2");
        let apps = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|group| group["metadata"]["name"] == "apps")
            .unwrap();
        let version = &apps["versions"][0];
        assert_eq!(version["version"], "v1");
        assert_eq!(version["freshness"], "Current");
        let deployments = version["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(deployments["scope"], "Namespaced");
        assert_eq!(deployments["singularResource"], "deployment");
        assert_eq!(deployments["responseKind"]["kind"], "Deployment");
        assert_eq!(deployments["shortNames"], json!(["deploy"]));
        let subresources: Vec<(&str, &str)> = deployments["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["subresource"].as_str().unwrap(),
                    s["responseKind"]["kind"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(subresources, [("status", "Deployment"), ("scale", "Scale")]);

        let (_, content_type, core) = get(&sim, "/api", AGGREGATED).await;
        assert!(content_type.contains("as=APIGroupDiscoveryList"));
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        assert!(
            core["items"][0]["versions"][0]["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["resource"] == "configmaps" && r["shortNames"] == json!(["cm"]))
        );

        // Without the aggregated Accept: the legacy documents, plain JSON.
        let (_, content_type, legacy) = get(&sim, "/apis", "application/json, */*").await;
        assert_eq!(content_type, "application/json");
        assert_eq!(legacy["kind"], "APIGroupList");

        // The openapi index points at documents that exist and carry the kinds.
        let (code, _, index) = get(&sim, "/openapi/v3?timeout=32s", "application/json").await;
        assert_eq!(code, 200);
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        let (code, _, document) = get(&sim, url, "application/json").await;
        assert_eq!(code, 200);
        assert_eq!(document["openapi"], "3.0.0");
        assert!(document["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());
        let (code, _, missing) = get(&sim, "/openapi/v3/apis/nope/v1", "application/json").await;
        assert_eq!((code, missing["reason"].as_str()), (404, Some("NotFound")));
    })
    .await;
}
