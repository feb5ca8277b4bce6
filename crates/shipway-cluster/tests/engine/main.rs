//! The sync engine end to end against the API simulator, in process (the simulator's router
//! is the kube client's transport) with its controllers and kubelet running in real time:
//! the scenarios of issue 6.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use shipway_cluster::cluster::{Cluster, Key};
use shipway_cluster::health::Health;
use shipway_cluster::identity::AppId;
use shipway_cluster::inventory::PruneOptions;
use shipway_cluster::plan::{self, Action, PlanOptions};
use shipway_cluster::sync::{self, Backoff, Ledger, Progress, SyncError, SyncOptions};
use shipway_sim::{Fault, SimulationConfig, Simulator};
use tower::ServiceExt as _;

mod safety;

/// The identity of a test app named `name`.
fn app(name: &str) -> AppId {
    AppId::new(name, format!("test:{name}"))
}

/// Runs a test body under a time limit.
async fn bounded<T>(seconds: u64, body: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), Box::pin(body))
        .await
        .expect("test exceeded its time limit")
}

/// A simulator with fast pods, its controllers running, and a cluster client for it.
fn start() -> (Simulator, Cluster, tokio::task::JoinHandle<()>) {
    let simulator = Simulator::with_config(SimulationConfig {
        container_start_delay: 0,
        load_balancer_delay: 0,
        job_run_seconds: 0,
        ..SimulationConfig::default()
    });
    let controllers = simulator.run_controllers(Duration::from_millis(100));
    let service =
        simulator
            .router()
            .map_request(|request: axum::http::Request<kube::client::Body>| {
                request.map(axum::body::Body::new)
            });
    let client = kube::Client::new(service, "default");
    let backoff = Backoff {
        limit: Some(8),
        duration: Duration::from_millis(20),
        factor: 2,
        max_duration: Duration::from_millis(200),
    };
    (
        simulator,
        Cluster::new(client, "default").with_backoff(backoff),
        controllers,
    )
}

/// Collects progress lines.
#[derive(Default)]
struct Lines(Vec<String>);

impl Progress for Lines {
    fn line(&mut self, text: &str) {
        self.0.push(text.to_owned());
    }
}

fn options() -> SyncOptions {
    SyncOptions {
        plan: PlanOptions {
            prune: PruneOptions {
                render_ok: true,
                ..PruneOptions::default()
            },
            ..PlanOptions::default()
        },
        wait: true,
        timeout: Duration::from_secs(30),
        // The one retry policy (per call): six injected faults on one path need eight.
        backoff: Backoff {
            limit: Some(8),
            duration: Duration::from_millis(20),
            factor: 2,
            max_duration: Duration::from_millis(200),
        },
        poll: Duration::from_millis(200),
        ..SyncOptions::default()
    }
}

fn deployment(name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}}}})
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"},
        "data": {"greeting": "hello"}})
}

async fn run(
    cluster: &Cluster,
    objects: &[Value],
    options: &SyncOptions,
) -> Result<sync::SyncReport, SyncError> {
    let (objects, hooks) = sync::split_hooks(objects.to_vec()).unwrap();
    sync::sync(
        cluster,
        &app("shop"),
        "shop",
        &objects,
        &hooks,
        options,
        &mut Ledger::default(),
        &mut Lines::default(),
    )
    .await
}

fn key(kind: &str, name: &str) -> Key {
    let (group, version) = match kind {
        "Deployment" | "ReplicaSet" => ("apps", "v1"),
        "Job" => ("batch", "v1"),
        _ => ("", "v1"),
    };
    Key {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        namespace: if kind == "Namespace" {
            String::new()
        } else {
            "shop".into()
        },
        name: name.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_staging_overlay_syncs_to_healthy() {
    bounded(120, async {
        let (_simulator, cluster, _controllers) = start();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let crds = std::fs::read_to_string(root.join("examples/cluster/crds.yaml")).unwrap();
        let crds: Vec<Value> = shipway_model::yaml::parse_stream(
            &crds,
            shipway_model::FileId(0),
            &shipway_model::yaml::Limits::default(),
        )
        .unwrap()
        .iter()
        .map(shipway_model::Node::to_json)
        .filter(|o| !o.is_null())
        .collect();
        let (crds, _) = sync::split_hooks(crds).unwrap();
        let report = sync::sync(
            &cluster,
            &app("cluster"),
            "default",
            &crds,
            &[],
            &options(),
            &mut Ledger::default(),
            &mut Lines::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.applied.len(), 6);
        let rendered = shipway_render::render(
            &root.join("examples/platform/overlays/staging"),
            &shipway_render::Options::default(),
        )
        .unwrap();
        let mut objects: Vec<Value> = rendered
            .objects
            .iter()
            .map(shipway_model::Node::to_json)
            .collect();
        plan::assign_namespaces(&cluster, &mut objects, "platform-staging")
            .await
            .unwrap();
        let (objects, hooks) = sync::split_hooks(objects).unwrap();
        let report = sync::sync(
            &cluster,
            &app("staging"),
            "platform-staging",
            &objects,
            &hooks,
            &options(),
            &mut Ledger::default(),
            &mut Lines::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.applied.len(), objects.len());
        let keys: Vec<Key> = objects.iter().map(Key::of).collect();
        let states = sync::health_of(&cluster, &keys).await.unwrap();
        let unhealthy: Vec<_> = states
            .iter()
            .filter(|(_, h, _)| *h != Health::Healthy)
            .collect();
        assert!(unhealthy.is_empty(), "{unhealthy:?}");
        // A second plan finds nothing to do.
        let options = options();
        let again = plan::plan(
            &cluster,
            &app("staging"),
            "platform-staging",
            &objects,
            &options.plan,
        )
        .await
        .unwrap();
        let changed: Vec<_> = again
            .items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .map(|i| (&i.key, i.action, &i.changes))
            .collect();
        assert!(changed.is_empty(), "{changed:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_change_rolls_removed_objects_are_pruned_and_drift_is_corrected() {
    bounded(120, async {
        let (simulator, cluster, _controllers) = start();
        let first = vec![
            namespace("shop"),
            deployment("web", "nginx:1.27"),
            configmap("settings"),
            configmap("old"),
        ];
        run(&cluster, &first, &options()).await.unwrap();
        // Change the image, drop a ConfigMap.
        let second = vec![
            namespace("shop"),
            deployment("web", "nginx:1.28"),
            configmap("settings"),
        ];
        // One of four objects is 25%: above the default 20% prune limit.
        let mut wider = options();
        wider.plan.prune.max_prune_percent = 50;
        let plan = plan::plan(&cluster, &app("shop"), "shop", &second, &wider.plan)
            .await
            .unwrap();
        let actions: Vec<(String, Action)> = plan
            .items
            .iter()
            .map(|i| (i.key.name.clone(), i.action))
            .collect();
        assert!(
            actions.contains(&("web".into(), Action::Update)),
            "{actions:?}"
        );
        assert!(
            actions.contains(&("old".into(), Action::Delete)),
            "{actions:?}"
        );
        let web = plan.items.iter().find(|i| i.key.name == "web").unwrap();
        let text = shipway_cluster::diff::render_text(&web.changes);
        assert!(text.contains("nginx:1.28"), "{text}");
        let report = run(&cluster, &second, &wider).await.unwrap();
        assert_eq!(report.pruned, vec![key("ConfigMap", "old")]);
        assert!(
            cluster
                .get(&key("ConfigMap", "old"))
                .await
                .unwrap()
                .is_none()
        );
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.28"
        );
        assert_eq!(live["status"]["updatedReplicas"], 2);
        // Drift made behind shipway's back shows in the plan and is corrected by a sync.
        {
            let deployments = shipway_sim::resources::find("apps", "v1", "deployments").unwrap();
            simulator
                .lock()
                .patch(
                    deployments,
                    Some("shop"),
                    "web",
                    shipway_sim::store::PatchType::Merge,
                    &json!({"spec": {"replicas": 5}}),
                    shipway_sim::store::Subresource::Main,
                    &shipway_sim::store::WriteOptions::manager("kubectl-edit"),
                )
                .unwrap();
        }
        let drift = plan::plan(&cluster, &app("shop"), "shop", &second, &options().plan)
            .await
            .unwrap();
        let web = drift.items.iter().find(|i| i.key.name == "web").unwrap();
        assert_eq!(web.action, Action::Update);
        assert!(shipway_cluster::diff::render_text(&web.changes).contains("replicas"));
        let mut force = options();
        force.plan.force_conflicts = true;
        run(&cluster, &second, &force).await.unwrap();
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live["spec"]["replicas"], 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_or_failed_renders_prune_nothing() {
    bounded(60, async {
        let (_simulator, cluster, _controllers) = start();
        run(
            &cluster,
            &[namespace("shop"), configmap("a"), configmap("b")],
            &options(),
        )
        .await
        .unwrap();
        let mut failed = options();
        failed.plan.prune.render_ok = false;
        let report = run(&cluster, &[namespace("shop")], &failed).await.unwrap();
        assert!(report.prune_refused.is_some());
        assert!(report.pruned.is_empty());
        let report = run(&cluster, &[], &options()).await.unwrap();
        assert!(
            report.prune_refused.is_some(),
            "an empty render never prunes"
        );
        assert!(cluster.get(&key("ConfigMap", "a")).await.unwrap().is_some());
        // Pruning most of the inventory needs confirmation.
        let report = run(&cluster, &[namespace("shop")], &options())
            .await
            .unwrap();
        assert!(report.prune_refused.is_some(), "{report:?}");
        let mut confirmed = options();
        confirmed.plan.prune.confirm = true;
        let report = run(&cluster, &[namespace("shop")], &confirmed)
            .await
            .unwrap();
        assert_eq!(report.pruned.len(), 2, "{report:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_selector_is_replace_required_and_stops_the_sync() {
    bounded(60, async {
        let (_simulator, cluster, _controllers) = start();
        run(
            &cluster,
            &[namespace("shop"), deployment("web", "nginx:1.27")],
            &options(),
        )
        .await
        .unwrap();
        let mut changed = deployment("web", "nginx:1.28");
        changed["spec"]["selector"]["matchLabels"]["tier"] = "front".into();
        changed["spec"]["template"]["metadata"]["labels"]["tier"] = "front".into();
        let objects = vec![namespace("shop"), changed.clone()];
        let plan = plan::plan(&cluster, &app("shop"), "shop", &objects, &options().plan)
            .await
            .unwrap();
        let web = plan.items.iter().find(|i| i.key.name == "web").unwrap();
        assert_eq!(web.action, Action::ReplaceRequired);
        assert!(web.note.as_deref().unwrap().contains("field is immutable"));
        let error = run(&cluster, &objects, &options()).await.unwrap_err();
        assert!(matches!(error, SyncError::ReplaceRequired(_)), "{error}");
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27",
            "nothing applied"
        );
        // Opting in deletes and recreates it.
        changed["metadata"]["annotations"] =
            json!({"argocd.argoproj.io/sync-options": "Replace=true"});
        run(&cluster, &[namespace("shop"), changed], &options())
            .await
            .unwrap();
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live["spec"]["selector"]["matchLabels"]["tier"], "front");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_fails_the_wait_naming_the_pod_and_reason() {
    bounded(60, async {
        let (_simulator, cluster, _controllers) = start();
        let mut broken = deployment("web", "registry.example/does-not-exist:1");
        broken["spec"]["progressDeadlineSeconds"] = 2.into();
        let mut options = options();
        options.timeout = Duration::from_secs(20);
        let error = run(&cluster, &[namespace("shop"), broken], &options)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("Deployment shop/web"), "{text}");
        assert!(
            text.contains("Pod shop/web-") && text.contains("ImagePullBackOff"),
            "{text}"
        );
    })
    .await;
}

fn job(name: &str, phase: &str, fault: Option<&str>) -> Value {
    let mut annotations = json!({});
    if let Some(fault) = fault {
        annotations["sim.shipway.dev/fault"] = fault.into();
    }
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "shop", "annotations": {
            "argocd.argoproj.io/hook": phase, "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "migrate:1"}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presync_runs_first_and_a_failing_one_runs_syncfail_and_stops() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        run(
            &cluster,
            &[namespace("shop"), deployment("web", "nginx:1.27")],
            &options(),
        )
        .await
        .unwrap();
        // A passing migration runs before the Deployment changes.
        let objects = vec![
            namespace("shop"),
            deployment("web", "nginx:1.28"),
            job("migrate", "PreSync", None),
        ];
        let report = run(&cluster, &objects, &options()).await.unwrap();
        assert_eq!(report.hooks.len(), 1);
        let migrated = cluster.get(&key("Job", "migrate")).await.unwrap().unwrap();
        let web = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        let job_done = migrated["status"]["completionTime"]
            .as_str()
            .unwrap()
            .to_owned();
        let rolled = web["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["manager"] == "shipway")
            .filter_map(|f| f["time"].as_str())
            .max()
            .unwrap()
            .to_owned();
        assert!(
            job_done <= rolled,
            "the migration finished ({job_done}) before the Deployment changed ({rolled})"
        );
        // A failing migration stops the sync and runs the SyncFail hook.
        let objects = vec![
            namespace("shop"),
            deployment("web", "nginx:1.29"),
            job("migrate", "PreSync", Some("fail")),
            job("notify", "SyncFail", None),
        ];
        let error = run(&cluster, &objects, &options()).await.unwrap_err();
        assert!(matches!(error, SyncError::Hook { .. }), "{error}");
        assert!(
            cluster.get(&key("Job", "notify")).await.unwrap().is_some(),
            "SyncFail ran"
        );
        let web = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            web["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.28",
            "not changed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_still_converge_and_hooks_run_once() {
    bounded(90, async {
        let (simulator, cluster, _controllers) = start();
        for (code, reason, retry_after) in [
            (503, "ServiceUnavailable", None),
            (429, "TooManyRequests", Some(1)),
            (500, "InternalError", None),
        ] {
            simulator.inject_fault(Fault {
                method: "PATCH".into(),
                path_contains: "/deployments/".into(),
                count: if code == 409 { 1 } else { 2 },
                code,
                reason,
                retry_after,
            });
        }
        simulator.inject_fault(Fault {
            method: "POST".into(),
            path_contains: "/jobs".into(),
            count: 1,
            code: 503,
            reason: "ServiceUnavailable",
            retry_after: None,
        });
        let objects = vec![
            namespace("shop"),
            deployment("web", "nginx:1.27"),
            job("migrate", "PreSync", None),
        ];
        let report = run(&cluster, &objects, &options()).await.unwrap();
        assert_eq!(report.hooks.len(), 1, "the hook ran once");
        let jobs = cluster.list(&key("Job", ""), "").await.unwrap();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live["status"]["readyReplicas"], 2);
        simulator.drop_watches();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_holding_only_a_sync_hook_runs_before_the_later_waves() {
    // Argo CD's `sync-waves` example: the wave-1 maintenance-page Job must finish before
    // the wave-2 frontend is applied.
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let mut maint = job("maint-page-up", "Sync", None);
        maint["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "1".into();
        let mut frontend = deployment("frontend", "nginx:1.27");
        frontend["metadata"]["annotations"] = json!({"argocd.argoproj.io/sync-wave": "2"});
        let objects = vec![namespace("shop"), configmap("settings"), frontend, maint];
        let (objects, hooks) = sync::split_hooks(objects).unwrap();
        let mut lines = Lines::default();
        sync::sync(
            &cluster,
            &app("shop"),
            "shop",
            &objects,
            &hooks,
            &options(),
            &mut Ledger::default(),
            &mut lines,
        )
        .await
        .unwrap();
        let position = |needle: &str| {
            lines
                .0
                .iter()
                .position(|line| line.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle}: {:#?}", lines.0))
        };
        let hook_done = position("hook Job shop/maint-page-up succeeded");
        assert!(
            position("ConfigMap shop/settings") < hook_done,
            "wave 0 first: {:#?}",
            lines.0
        );
        assert!(
            hook_done < position("Deployment shop/frontend"),
            "the wave-1 hook ran before wave 2: {:#?}",
            lines.0
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respect_ignore_differences_keeps_live_replicas_and_orphan_prune_keeps_dependents() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let mut options = options();
        options.plan.ignore = vec![shipway_cluster::diff::IgnoreRule {
            json_pointers: vec!["/spec/replicas".into()],
            ..shipway_cluster::diff::IgnoreRule::new("apps", "Deployment")
        }];
        options.plan.respect_ignore_differences = true;
        let objects = [namespace("shop"), deployment("web", "nginx:1.27")];
        run(&cluster, &objects, &options).await.unwrap();
        // An autoscaler (another client) scales the Deployment.
        let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
            kube::Api::namespaced(cluster.client().clone(), "shop");
        deployments
            .patch(
                "web",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})),
            )
            .await
            .unwrap();
        let objects = [namespace("shop"), deployment("web", "nginx:1.28")];
        run(&cluster, &objects, &options).await.unwrap();
        let web = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(web["spec"]["replicas"], 5, "the live replicas are kept");
        assert_eq!(
            web["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.28"
        );

        // PrunePropagationPolicy=orphan: the Deployment goes, its ReplicaSets stay.
        options.prune_propagation = shipway_cluster::app::Propagation::Orphan;
        options.plan.prune.confirm = true;
        run(
            &cluster,
            &[namespace("shop"), configmap("settings")],
            &options,
        )
        .await
        .unwrap();
        assert!(
            cluster
                .get(&key("Deployment", "web"))
                .await
                .unwrap()
                .is_none()
        );
        let sets: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
            kube::Api::namespaced(cluster.client().clone(), "shop");
        let left = sets.list(&kube::api::ListParams::default()).await.unwrap();
        assert!(
            !left.items.is_empty(),
            "the ReplicaSets were orphaned, not deleted"
        );
        assert!(
            left.items.iter().all(|rs| rs
                .metadata
                .owner_references
                .as_ref()
                .is_none_or(Vec::is_empty)),
            "orphans have no owner"
        );
    })
    .await;
}
