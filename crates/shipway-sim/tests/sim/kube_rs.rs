//! kube-rs (the client the sync engine is built on) against the simulator in-process: the
//! router is the client's tower service, with no socket. Each test is a scenario the
//! research notes name as one kube-rs depends on.

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use kube::runtime::watcher;
use serde_json::json;
use shipway_sim::Simulator;
use tower::ServiceExt;

use crate::bounded;

/// A kube client whose transport is the simulator's router.
fn client(sim: &Simulator) -> kube::Client {
    let service = sim
        .router()
        .map_request(|request: axum::http::Request<kube::client::Body>| {
            request.map(axum::body::Body::new)
        });
    kube::Client::new(service, "default")
}

fn deployment(replicas: i64, image: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[tokio::test]
async fn server_side_apply_conflicts_and_force() {
    bounded(20, async {
        let sim = Simulator::new();
        let deployments: Api<Deployment> = Api::namespaced(client(&sim), "default");
        let gitops = PatchParams::apply("gitops");
        let created = deployments
            .patch("web", &gitops, &Patch::Apply(deployment(2, "nginx:1.27")))
            .await
            .unwrap();
        assert_eq!(created.spec.as_ref().unwrap().replicas, Some(2));
        // Defaults are filled in, as on a real server.
        assert_eq!(
            created.spec.as_ref().unwrap().progress_deadline_seconds,
            Some(600)
        );
        // Another applier changing replicas conflicts, naming the owner and the field.
        let hpa = PatchParams::apply("hpa-like");
        let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "spec": {"replicas": 5}});
        let error = deployments
            .patch("web", &hpa, &Patch::Apply(&scale))
            .await
            .unwrap_err();
        let kube::Error::Api(status) = error else {
            panic!("expected an API error, got {error:?}")
        };
        assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
        assert_eq!(
            status.message,
            "Apply failed with 1 conflict: conflict with \"gitops\": .spec.replicas"
        );
        // Forced, the field changes hands.
        let forced = deployments
            .patch("web", &hpa.clone().force(), &Patch::Apply(&scale))
            .await
            .unwrap();
        assert_eq!(forced.spec.as_ref().unwrap().replicas, Some(5));
        let managers: Vec<String> = forced
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| entry.manager)
            .collect();
        assert_eq!(managers, vec!["gitops", "hpa-like"]);
        // gitops stops sending replicas: hpa-like still owns it, so it stays.
        let mut without_replicas = deployment(0, "nginx:1.28");
        without_replicas["spec"]
            .as_object_mut()
            .unwrap()
            .remove("replicas");
        let applied = deployments
            .patch("web", &gitops, &Patch::Apply(without_replicas))
            .await
            .unwrap();
        assert_eq!(applied.spec.as_ref().unwrap().replicas, Some(5));
        assert_eq!(applied.metadata.generation, Some(3));
        // A dry run changes nothing.
        let dry = deployments
            .patch(
                "web",
                &gitops.clone().dry_run(),
                &Patch::Apply(deployment(9, "nginx:1.29")),
            )
            .await
            .unwrap_err();
        assert!(matches!(dry, kube::Error::Api(status) if status.code == 409));
        let live = deployments.get("web").await.unwrap();
        assert_eq!(
            live.metadata.resource_version,
            applied.metadata.resource_version
        );
    })
    .await;
}

#[tokio::test]
async fn watcher_relists_after_an_expired_resource_version() {
    bounded(30, async {
        let sim = Simulator::new();
        sim.set_bookmark_interval(Duration::from_millis(50));
        let configmaps: Api<ConfigMap> = Api::namespaced(client(&sim), "default");
        let cm = |name: &str| -> ConfigMap {
            serde_json::from_value(json!({"metadata": {"name": name}, "data": {"a": "1"}})).unwrap()
        };
        configmaps
            .create(&PostParams::default(), &cm("first"))
            .await
            .unwrap();
        let mut stream = watcher(configmaps.clone(), watcher::Config::default()).boxed();
        let mut inits = 0;
        let mut seen_second = false;
        let mut relisted_with_third = false;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => inits += 1,
                Ok(watcher::Event::InitDone) if inits == 1 => {
                    configmaps
                        .create(&PostParams::default(), &cm("second"))
                        .await
                        .unwrap();
                }
                Ok(watcher::Event::Apply(object))
                    if object.metadata.name.as_deref() == Some("second") =>
                {
                    seen_second = true;
                    // Forget the history and cut the stream: the watcher resumes from a
                    // version the server no longer has, gets the in-stream 410, relists.
                    configmaps
                        .create(&PostParams::default(), &cm("third"))
                        .await
                        .unwrap();
                    sim.lock().compact_history();
                    sim.drop_watches();
                }
                Ok(watcher::Event::InitApply(object))
                    if inits == 2 && object.metadata.name.as_deref() == Some("third") =>
                {
                    relisted_with_third = true;
                }
                Ok(watcher::Event::InitDone) if inits == 2 => break,
                Err(watcher::Error::WatchError(status)) => {
                    assert_eq!(status.code, 410);
                }
                _ => {}
            }
        }
        assert!(seen_second && relisted_with_third, "inits {inits}");
    })
    .await;
}

#[tokio::test]
async fn discovery_legacy_and_aggregated_see_custom_resources() {
    bounded(20, async {
        let sim = Simulator::new();
        let client = client(&sim);
        let definitions: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
            Api::all(client.clone());
        let definition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}}))
        .unwrap();
        let created = definitions.create(&PostParams::default(), &definition).await.unwrap();
        let established = created
            .status
            .and_then(|status| status.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established);
        for aggregated in [false, true] {
            let discovery = Discovery::new(client.clone());
            let discovery = if aggregated {
                discovery.run_aggregated().await
            } else {
                discovery.run().await
            }
            .unwrap();
            let apps = discovery.get("apps").expect("apps group");
            let (deployments, capabilities) = apps
                .recommended_resources()
                .into_iter()
                .find(|(resource, _)| resource.kind == "Deployment")
                .expect("deployments");
            assert_eq!(deployments.plural, "deployments");
            assert_eq!(capabilities.scope, Scope::Namespaced);
            assert!(capabilities.subresources.iter().any(|(s, _)| s.plural == "deployments/scale" || s.plural == "scale"), "{aggregated}: {:?}", capabilities.subresources);
            let example = discovery.get("example.com").expect("the CRD's group");
            assert!(
                example
                    .recommended_resources()
                    .iter()
                    .any(|(resource, _)| resource.kind == "Widget"),
                "aggregated={aggregated}"
            );
        }
        // The custom kind is served, validated and pruned.
        let widgets: Api<kube::api::DynamicObject> = Api::namespaced_with(
            client.clone(),
            "default",
            &kube::api::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk("example.com", "v1", "Widget"),
                "widgets",
            ),
        );
        let widget: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 3, "colour": "red"}}))
        .unwrap();
        let stored = widgets.create(&PostParams::default(), &widget).await.unwrap();
        assert_eq!(stored.data["spec"], json!({"size": 3}));
        let mut bad = widget.clone();
        bad.metadata.name = Some("bad".into());
        bad.data["spec"]["size"] = json!("three");
        let error = widgets.create(&PostParams::default(), &bad).await.unwrap_err();
        assert!(matches!(error, kube::Error::Api(status) if status.code == 422 && status.reason == "Invalid"));
    })
    .await;
}

#[tokio::test]
async fn delete_with_propagation_answers_object_or_status() {
    bounded(20, async {
        let sim = Simulator::new();
        let client = client(&sim);
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let configmaps: Api<ConfigMap> = Api::namespaced(client, "default");
        let owner = deployments
            .patch(
                "web",
                &PatchParams::apply("gitops"),
                &Patch::Apply(deployment(1, "nginx")),
            )
            .await
            .unwrap();
        let dependent: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "web-config",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": owner.metadata.uid, "controller": true, "blockOwnerDeletion": true}]}}))
            .unwrap();
        configmaps
            .create(&PostParams::default(), &dependent)
            .await
            .unwrap();
        // Foreground: the owner is answered (still there, being deleted) and goes with its
        // dependent.
        let answer = deployments
            .delete("web", &DeleteParams::foreground())
            .await
            .unwrap();
        let either::Either::Left(marked) = answer else {
            panic!("foreground deletion answers the object")
        };
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert!(deployments.get_opt("web").await.unwrap().is_none());
        assert!(configmaps.get_opt("web-config").await.unwrap().is_none());
        // Background on an object with nothing pending: a Status.
        configmaps
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "plain"}})).unwrap(),
            )
            .await
            .unwrap();
        let answer = configmaps
            .delete("plain", &DeleteParams::background())
            .await
            .unwrap();
        assert!(matches!(answer, either::Either::Right(status) if status.is_success()));
        let gone = configmaps
            .delete("plain", &DeleteParams::default())
            .await
            .unwrap_err();
        assert!(matches!(gone, kube::Error::Api(status) if status.code == 404));
    })
    .await;
}
