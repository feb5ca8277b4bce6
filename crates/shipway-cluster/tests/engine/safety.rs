//! The safety scenarios of issue 10 against the simulator: prune never deletes what the app
//! did not apply (hand-edited inventories, saved plans naming other objects), app
//! identities never collide, a lost inventory is rebuilt, and a saved plan is applied
//! exactly or refused. Every test that prunes asserts what is still there afterwards.

use serde_json::{Value, json};
use shipway_cluster::cluster::{Cluster, Key};
use shipway_cluster::identity::{AppId, TRACKING_ANNOTATION};
use shipway_cluster::inventory::Inventory;
use shipway_cluster::plan::{self, Action, Plan, PlanError};
use shipway_cluster::sync::{self, Ledger, SyncError};

use super::{Lines, app, bounded, configmap, deployment, key, namespace, options, run, start};

fn secret(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "shop"},
        "data": {"password": value}})
}

async fn exists(cluster: &Cluster, key: &Key) -> bool {
    cluster.get(key).await.unwrap().is_some()
}

/// Syncs `objects` as the app `id`.
async fn sync_as(
    cluster: &Cluster,
    id: &AppId,
    objects: &[Value],
) -> Result<sync::SyncReport, SyncError> {
    sync::sync(
        cluster,
        id,
        "shop",
        objects,
        &[],
        &options(),
        &mut Ledger::default(),
        &mut Lines::default(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_inventory_never_prunes_objects_the_app_did_not_apply() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let objects = vec![namespace("shop"), configmap("settings")];
        run(&cluster, &objects, &options()).await.unwrap();
        // Objects shipway never applied for this app: ten kube-system Secrets and a
        // Deployment in another namespace.
        let mut foreign = Vec::new();
        cluster
            .apply(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}),
                false,
                false,
            )
            .await
            .unwrap();
        for i in 0..10 {
            let secret = json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("token-{i}"), "namespace": "kube-system"},
                "data": {"token": "c2VjcmV0"}});
            foreign.push(cluster.apply(&secret, false, false).await.unwrap());
        }
        let mut api = deployment("api", "nginx:1.27");
        api["metadata"]["namespace"] = "payments".into();
        foreign.push(cluster.apply(&api, false, false).await.unwrap());
        // The inventory edited by hand: every foreign object with its real uid, and sixty
        // entries for objects that do not exist to pad the share.
        let inventory_key = plan::inventory_key(&app("shop"), "shop");
        let mut configmap = cluster.get(&inventory_key).await.unwrap().unwrap();
        let mut entries: Vec<Value> =
            serde_json::from_str(configmap["data"]["objects"].as_str().unwrap()).unwrap();
        for object in &foreign {
            let k = Key::of(object);
            entries.push(
                json!({"group": k.group, "version": k.version, "kind": k.kind,
                "namespace": k.namespace, "name": k.name, "hash": "",
                "uid": object["metadata"]["uid"]}),
            );
        }
        for i in 0..60 {
            entries.push(json!({"group": "", "version": "v1", "kind": "ConfigMap",
                "namespace": "shop", "name": format!("ghost-{i}"), "hash": "", "uid": "x"}));
        }
        configmap["data"]["objects"] = serde_json::to_string(&entries).unwrap().into();
        configmap["metadata"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "name" || k == "namespace");
        cluster.apply(&configmap, true, false).await.unwrap();

        let report = run(&cluster, &objects, &options()).await.unwrap();
        assert!(report.pruned.is_empty(), "{:?}", report.pruned);
        assert!(report.prune_refused.is_none(), "{:?}", report.prune_refused);
        let not_pruned: Vec<&(Key, String)> = report
            .kept
            .iter()
            .filter(|(_, why)| why.starts_with("not pruned: not applied by app `shop`"))
            .collect();
        assert_eq!(not_pruned.len(), 11, "{:?}", report.kept);
        for object in &foreign {
            assert!(
                exists(&cluster, &Key::of(object)).await,
                "{}",
                Key::of(object)
            );
        }
        assert!(exists(&cluster, &key("ConfigMap", "settings")).await);
        // The foreign entries are dropped from the inventory, the ghosts with them.
        let inventory = Inventory::from_configmap(
            &cluster.get(&inventory_key).await.unwrap().unwrap(),
            &app("shop"),
        )
        .unwrap();
        assert_eq!(inventory.entries.len(), 2, "{:?}", inventory.entries);
        assert!(inventory.entries.iter().all(|e| !e.uid.is_empty()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_with_the_same_base_name_never_share_an_inventory_or_an_object() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let team_a = AppId::new("web", "dir:teamA/web@shop");
        let team_b = AppId::new("web", "dir:teamB/web@shop");
        sync_as(&cluster, &team_a, &[namespace("shop"), configmap("a")])
            .await
            .unwrap();
        sync_as(&cluster, &team_b, &[configmap("b")]).await.unwrap();
        // B again: A's objects are not B's to prune.
        let report = sync_as(&cluster, &team_b, &[configmap("b")]).await.unwrap();
        assert!(report.pruned.is_empty(), "{:?}", report.pruned);
        assert!(exists(&cluster, &key("ConfigMap", "a")).await);
        assert!(exists(&cluster, &key("Namespace", "shop")).await);
        assert_ne!(
            plan::inventory_key(&team_a, "shop"),
            plan::inventory_key(&team_b, "shop")
        );
        // B rendering A's object is a conflict naming both apps; nothing is applied.
        let mut changed = configmap("a");
        changed["data"]["greeting"] = "taken over".into();
        let error = sync_as(&cluster, &team_b, &[configmap("b"), changed])
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, SyncError::Plan(PlanError::Shared { .. })),
            "{message}"
        );
        assert!(
            message.contains("dir:teamA/web@shop") && message.contains("dir:teamB/web@shop"),
            "{message}"
        );
        let live = cluster.get(&key("ConfigMap", "a")).await.unwrap().unwrap();
        assert_eq!(live["data"]["greeting"], "hello");
        assert_eq!(
            live["metadata"]["annotations"][TRACKING_ANNOTATION],
            "dir:teamA/web@shop:/ConfigMap:shop/a"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_inventory_is_rebuilt_from_the_objects_carrying_the_app() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        run(
            &cluster,
            &[namespace("shop"), configmap("keep"), configmap("old")],
            &options(),
        )
        .await
        .unwrap();
        // An object of another app with the same label value cannot be claimed: the
        // tracking annotation names its app.
        let other = AppId::new("shop", "test:other");
        sync_as(&cluster, &other, &[configmap("theirs")])
            .await
            .unwrap();
        let inventory_key = plan::inventory_key(&app("shop"), "shop");
        cluster.delete(&inventory_key, false, None).await.unwrap();
        let next = [namespace("shop"), configmap("keep")];
        let mut confirmed = options();
        confirmed.plan.prune.confirm = true;
        let plan = plan::plan(&cluster, &app("shop"), "shop", &next, &confirmed.plan)
            .await
            .unwrap();
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(
            plan.notes[0].contains("rebuilt from 3 live object(s)"),
            "{:?}",
            plan.notes
        );
        let deletes: Vec<&str> = plan
            .items
            .iter()
            .filter(|i| i.action == Action::Delete)
            .map(|i| i.key.name.as_str())
            .collect();
        assert_eq!(deletes, ["old"]);
        let report = run(&cluster, &next, &confirmed).await.unwrap();
        assert_eq!(report.pruned, [key("ConfigMap", "old")]);
        assert!(exists(&cluster, &key("ConfigMap", "keep")).await);
        assert!(exists(&cluster, &key("ConfigMap", "theirs")).await);
        assert!(exists(&cluster, &inventory_key).await, "written again");
        // A corrupt inventory stays an error, and nothing is applied.
        let mut corrupt = cluster.get(&inventory_key).await.unwrap().unwrap();
        corrupt["data"]["objects"] = "[{".into();
        corrupt["metadata"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "name" || k == "namespace");
        cluster.apply(&corrupt, true, false).await.unwrap();
        let error = run(&cluster, &next, &options()).await.unwrap_err();
        assert!(error.to_string().contains("corrupted"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_exactly_or_refused() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let first = vec![namespace("shop"), configmap("settings"), secret("db", "b25l")];
        run(&cluster, &first, &options()).await.unwrap();
        let mut reviewed = first.clone();
        reviewed[1]["data"]["greeting"] = "reviewed".into();
        let planned = plan::plan(&cluster, &app("shop"), "shop", &reviewed, &options().plan)
            .await
            .unwrap();
        let digest_key = plan::digest_key(&cluster, "shop", true)
            .await
            .unwrap()
            .unwrap();
        let saved = planned.to_json(Some(&digest_key));
        let text = saved.to_string();
        assert!(!text.contains("b25l"), "no Secret value in a plan file");
        let saved = Plan::from_json(&serde_json::from_str(&text).unwrap()).unwrap();

        let apply = |rendered: Vec<Value>, plan: Plan| {
            let cluster = &cluster;
            async move {
                sync::sync_plan(
                    cluster,
                    &app("shop"),
                    &plan,
                    &rendered,
                    &[],
                    &options(),
                    &mut Ledger::default(),
                    &mut Lines::default(),
                )
                .await
            }
        };
        // The Secret changed after the review: refused, nothing applied.
        let mut moved = reviewed.clone();
        moved[2] = secret("db", "dHdv");
        let error = apply(moved, saved.clone()).await.unwrap_err();
        assert!(
            matches!(error, SyncError::PlanOutdated(_)) && error.to_string().contains("Secret shop/db"),
            "{error}"
        );
        let live = cluster.get(&key("ConfigMap", "settings")).await.unwrap().unwrap();
        assert_eq!(live["data"]["greeting"], "hello", "nothing applied");
        // The ConfigMap changed after the review: the reviewed value is what is applied.
        let mut later = reviewed.clone();
        later[1]["data"]["greeting"] = "not reviewed".into();
        apply(later, saved.clone()).await.unwrap();
        let live = cluster.get(&key("ConfigMap", "settings")).await.unwrap().unwrap();
        assert_eq!(live["data"]["greeting"], "reviewed");
        let live = cluster.get(&key("Secret", "db")).await.unwrap().unwrap();
        assert_eq!(live["data"]["password"], "b25l");

        // A plan file edited to delete an object the app did not apply: left alone.
        let bank = cluster
            .apply(&json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "bank", "namespace": "shop"}, "data": {"k": "dg=="}}), false, false)
            .await
            .unwrap();
        let fresh = plan::plan(&cluster, &app("shop"), "shop", &reviewed, &options().plan)
            .await
            .unwrap();
        let mut hostile = fresh.to_json(Some(&digest_key));
        hostile["changes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"object": {"apiVersion": "v1", "kind": "Secret", "namespace": "shop", "name": "bank"},
                "action": "delete", "diff": [],
                "resourceVersion": bank["metadata"]["resourceVersion"]}));
        let hostile = Plan::from_json(&hostile).unwrap();
        let report = apply(reviewed.clone(), hostile).await.unwrap();
        assert!(report.pruned.is_empty());
        assert_eq!(report.not_pruned.len(), 1, "{:?}", report.not_pruned);
        assert!(exists(&cluster, &key("Secret", "bank")).await);
        // Another app's plan is refused.
        let mut foreign = fresh.to_json(Some(&digest_key));
        foreign["appId"] = "dir:elsewhere@shop".into();
        let error = apply(reviewed.clone(), Plan::from_json(&foreign).unwrap())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("dir:elsewhere@shop"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_survives_status_writes_but_not_other_changes() {
    bounded(90, async {
        let (_simulator, cluster, _controllers) = start();
        let first = vec![namespace("shop"), deployment("web", "nginx:1.27")];
        run(&cluster, &first, &options()).await.unwrap();
        let reviewed = vec![namespace("shop"), deployment("web", "nginx:1.28")];
        let digest_key = plan::digest_key(&cluster, "shop", true)
            .await
            .unwrap()
            .unwrap();
        let saved = plan::plan(&cluster, &app("shop"), "shop", &reviewed, &options().plan)
            .await
            .unwrap()
            .to_json(Some(&digest_key));
        let saved = Plan::from_json(&serde_json::from_str(&saved.to_string()).unwrap()).unwrap();
        let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
            kube::Api::namespaced(cluster.client().clone(), "shop");
        let apply = |plan: Plan| {
            let cluster = &cluster;
            let reviewed = &reviewed;
            async move {
                sync::sync_plan(
                    cluster,
                    &app("shop"),
                    &plan,
                    reviewed,
                    &[],
                    &options(),
                    &mut Ledger::default(),
                    &mut Lines::default(),
                )
                .await
            }
        };
        // Another writer changes the object itself after the review: refused.
        deployments
            .patch(
                "web",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"labels": {"team": "other"}}})),
            )
            .await
            .unwrap();
        let error = apply(saved.clone()).await.unwrap_err();
        assert!(matches!(error, SyncError::PlanOutdated(_)), "{error}");

        // A new plan, then only the status moves (a controller at work): applied.
        let saved = plan::plan(&cluster, &app("shop"), "shop", &reviewed, &options().plan)
            .await
            .unwrap()
            .to_json(Some(&digest_key));
        let saved = Plan::from_json(&serde_json::from_str(&saved.to_string()).unwrap()).unwrap();
        deployments
            .patch_status(
                "web",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"status": {"observedGeneration": 99}})),
            )
            .await
            .unwrap();
        apply(saved).await.unwrap();
        let live = cluster
            .get(&key("Deployment", "web"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.28"
        );
    })
    .await;
}
