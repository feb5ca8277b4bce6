//! The router called in-process as a tower Service: status codes, bodies and the write
//! semantics clients rely on.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use shipway_sim::Simulator;
use tower::ServiceExt;

use crate::bounded;

/// Sends one request and returns the status code and the JSON body.
async fn call(
    sim: &Simulator,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
        .unwrap();
    let response = sim.router().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn get(sim: &Simulator, path: &str) -> (u16, Value) {
    call(sim, "GET", path, "application/json", None).await
}

async fn post(sim: &Simulator, path: &str, body: Value) -> (u16, Value) {
    call(sim, "POST", path, "application/json", Some(body)).await
}

fn configmap(name: &str, labels: &Value) -> Value {
    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"labels":labels},"data":{"a":"1"}})
}

#[tokio::test]
async fn version_and_discovery() {
    bounded(10, async {
        let sim = Simulator::new();
        let (code, version) = get(&sim, "/version?timeout=5s").await;
        assert_eq!(
            (code, version["major"].as_str(), version["minor"].as_str()),
            (200, Some("1"), Some("32"))
        );
        let (_, api) = get(&sim, "/api").await;
        assert_eq!(api["versions"], json!(["v1"]));
        let (_, groups) = get(&sim, "/apis").await;
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"apps") && names.contains(&"apiextensions.k8s.io"),
            "{names:?}"
        );
        let (_, apps) = get(&sim, "/apis/apps/v1?timeout=32s").await;
        let deployments = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments")
            .unwrap();
        assert_eq!(deployments["shortNames"], json!(["deploy"]));
        assert_eq!(deployments["namespaced"], true);
        assert_eq!(
            deployments["verbs"],
            json!([
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch"
            ])
        );
        let (code, missing) = get(&sim, "/apis/nope.example/v1").await;
        assert_eq!(
            (code, missing["reason"].as_str(), missing["details"].clone()),
            (404, Some("NotFound"), json!({}))
        );
        assert_eq!(get(&sim, "/openapi/v3").await.0, 200);
        assert_eq!(get(&sim, "/openapi/v2").await.0, 404);
    })
    .await;
}

#[tokio::test]
async fn create_get_list_with_selectors() {
    bounded(10, async {
        let sim = Simulator::new();
        let (code, created) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("a", &json!({"app":"web"})),
        )
        .await;
        assert_eq!(code, 201);
        let metadata = &created["metadata"];
        assert_eq!(metadata["namespace"], "default");
        assert_eq!(metadata["uid"].as_str().unwrap().len(), 36);
        assert!(
            metadata["creationTimestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert!(
            metadata.get("generation").is_none(),
            "ConfigMaps track no generation"
        );
        post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("b", &json!({"app":"api"})),
        )
        .await;
        let (code, again) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("a", &json!({})),
        )
        .await;
        assert_eq!(code, 409);
        assert_eq!(again["reason"], "AlreadyExists");
        assert_eq!(again["message"], "configmaps \"a\" already exists");
        let (code, list) = get(
            &sim,
            "/api/v1/namespaces/default/configmaps?&labelSelector=app%3Dweb&limit=500",
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(list["kind"], "ConfigMapList");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"]["name"], "a");
        assert!(items[0].get("kind").is_none(), "list items carry no kind");
        let (_, newest) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("c", &json!({})),
        )
        .await;
        let (_, all) = get(&sim, "/api/v1/configmaps?labelSelector=app!%3Dweb").await;
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        assert_eq!(
            all["metadata"]["resourceVersion"],
            newest["metadata"]["resourceVersion"]
        );
        let (code, by_name) = get(
            &sim,
            "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Db",
        )
        .await;
        assert_eq!((code, by_name["items"].as_array().unwrap().len()), (200, 1));
        // Pods take `spec.nodeName` (kubectl describe node); config maps do not.
        let (code, on_node) = get(&sim, "/api/v1/pods?fieldSelector=spec.nodeName%3Dx").await;
        assert_eq!(
            (code, on_node["items"].as_array().map(Vec::len)),
            (200, Some(0))
        );
        let (code, bad) = get(&sim, "/api/v1/configmaps?fieldSelector=spec.nodeName%3Dx").await;
        assert_eq!((code, bad["reason"].as_str()), (400, Some("BadRequest")));
        let (code, one) = get(&sim, "/api/v1/namespaces/default/configmaps/a").await;
        assert_eq!(
            (code, one["kind"].as_str(), one["apiVersion"].as_str()),
            (200, Some("ConfigMap"), Some("v1"))
        );
        let (code, missing) = get(&sim, "/apis/apps/v1/namespaces/default/deployments/nope").await;
        assert_eq!(code, 404);
        assert_eq!(
            missing,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"deployments.apps \"nope\" not found","reason":"NotFound",
                   "details":{"name":"nope","group":"apps","kind":"deployments"},"code":404})
        );
    })
    .await;
}

#[tokio::test]
async fn create_refuses_missing_namespace_and_bad_names() {
    bounded(10, async {
        let sim = Simulator::new();
        let (code, body) = post(
            &sim,
            "/api/v1/namespaces/ghost/configmaps",
            configmap("a", &json!({})),
        )
        .await;
        assert_eq!(
            (code, body["message"].as_str()),
            (404, Some("namespaces \"ghost\" not found"))
        );
        assert_eq!(body["details"], json!({"name":"ghost","kind":"namespaces"}));
        let (code, body) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("Bad_Name", &json!({})),
        )
        .await;
        assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
        assert_eq!(body["details"]["kind"], "ConfigMap");
        assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");
        let (code, body) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            json!({"kind":"ConfigMap","metadata":{}}),
        )
        .await;
        assert_eq!(
            (code, body["details"]["causes"][0]["reason"].as_str()),
            (422, Some("FieldValueRequired"))
        );
        let (code, body) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            json!({"kind":"Secret","metadata":{"name":"x"}}),
        )
        .await;
        assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
        let (code, generated) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata":{"generateName":"gen-"}}),
        )
        .await;
        assert_eq!(code, 201);
        assert_eq!(
            generated["metadata"]["name"].as_str().unwrap().len(),
            "gen-".len() + 5
        );
        let (code, body) = call(
            &sim,
            "PUT",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (405, Some("MethodNotAllowed"))
        );
    })
    .await;
}

#[tokio::test]
async fn update_checks_resource_version_and_bumps_generation() {
    bounded(10, async {
        let sim = Simulator::new();
        let deployment = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,
            "selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
            "spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}});
        let (_, created) = post(&sim, "/apis/apps/v1/namespaces/default/deployments", deployment).await;
        assert_eq!(created["metadata"]["generation"], 1);
        let path = "/apis/apps/v1/namespaces/default/deployments/web";
        let mut changed = created.clone();
        changed["spec"]["replicas"] = 2.into();
        let (code, updated) = call(&sim, "PUT", path, "application/json", Some(changed.clone())).await;
        assert_eq!(code, 200);
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
        assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
        // `changed` still carries the old resourceVersion: a stale write.
        changed["spec"]["replicas"] = 5.into();
        let (code, conflict) = call(&sim, "PUT", path, "application/json", Some(changed)).await;
        assert_eq!(code, 409);
        assert_eq!(conflict["reason"], "Conflict");
        assert_eq!(
            conflict["message"],
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
        );
        // Labels are metadata: no generation bump.
        let (_, labelled) = call(&sim, "PATCH", path, "application/merge-patch+json", Some(json!({"metadata":{"labels":{"a":"b"}}}))).await;
        assert_eq!(labelled["metadata"]["generation"], 2);
        // A no-op patch keeps the resourceVersion.
        let (_, same) = call(&sim, "PATCH", path, "application/merge-patch+json", Some(json!({"metadata":{"labels":{"a":"b"}}}))).await;
        assert_eq!(same["metadata"]["resourceVersion"], labelled["metadata"]["resourceVersion"]);
        let (code, renamed) = call(&sim, "PUT", path, "application/json", Some(json!({"metadata":{"name":"other"}}))).await;
        assert_eq!((code, renamed["reason"].as_str()), (400, Some("BadRequest")));
    })
    .await;
}

#[tokio::test]
async fn patches_merge_json_and_refused_types() {
    bounded(10, async {
        let sim = Simulator::new();
        post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("cfg", &json!({"app":"web"})),
        )
        .await;
        let path = "/api/v1/namespaces/default/configmaps/cfg";
        let (code, merged) = call(
            &sim,
            "PATCH",
            path,
            "application/merge-patch+json",
            Some(json!({"data":{"a":null,"b":"2"}})),
        )
        .await;
        assert_eq!((code, merged["data"].clone()), (200, json!({"b":"2"})));
        let version = merged["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, patched) = call(
            &sim,
            "PATCH",
            path,
            "application/json-patch+json",
            Some(
                json!([{"op":"test","path":"/metadata/resourceVersion","value":version},
                        {"op":"add","path":"/data/c","value":"3"}]),
            ),
        )
        .await;
        assert_eq!(
            (code, patched["data"].clone()),
            (200, json!({"b":"2","c":"3"}))
        );
        let (code, failed) = call(
            &sim,
            "PATCH",
            path,
            "application/json-patch+json",
            Some(json!([{"op":"remove","path":"/data/zzz"}])),
        )
        .await;
        assert_eq!((code, failed["reason"].as_str()), (422, Some("Invalid")));
        // A stale resourceVersion inside a merge patch is a precondition.
        let (code, stale) = call(
            &sim,
            "PATCH",
            path,
            "application/merge-patch+json",
            Some(json!({"metadata":{"resourceVersion":version}})),
        )
        .await;
        assert_eq!((code, stale["reason"].as_str()), (409, Some("Conflict")));
        for refused in ["text/plain"] {
            let (code, body) = call(&sim, "PATCH", path, refused, Some(json!({}))).await;
            assert_eq!(
                (code, body["reason"].as_str()),
                (415, Some("UnsupportedMediaType")),
                "{refused}"
            );
        }
        let (code, missing) = call(
            &sim,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/nope",
            "application/merge-patch+json",
            Some(json!({})),
        )
        .await;
        assert_eq!(code, 404, "{missing}");
    })
    .await;
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    bounded(10, async {
        let sim = Simulator::new();
        let deployment = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
            "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
            "spec":{"containers":[{"name":"web","image":"nginx:1.26"},{"name":"log","image":"fluent:1"}]}}}});
        post(&sim, "/apis/apps/v1/namespaces/default/deployments", deployment).await;
        let (code, patched) = call(
            &sim,
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=kubectl-patch",
            "application/strategic-merge-patch+json",
            Some(json!({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}})),
        )
        .await;
        assert_eq!(code, 200);
        let containers: Vec<(&str, &str)> = patched["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["image"].as_str().unwrap()))
            .collect();
        assert_eq!(containers, vec![("web", "nginx:1.27"), ("log", "fluent:1")]);
        assert_eq!(patched["metadata"]["generation"], 2);
    })
    .await;
}

#[tokio::test]
async fn delete_answers_status_and_namespace_delete_removes_contents() {
    bounded(10, async {
        let sim = Simulator::new();
        let (code, _) = post(
            &sim,
            "/api/v1/namespaces",
            json!({"metadata":{"name":"doomed"}}),
        )
        .await;
        assert_eq!(code, 201);
        let (_, namespace) = get(&sim, "/api/v1/namespaces/doomed").await;
        assert_eq!(namespace["status"]["phase"], "Active");
        assert_eq!(
            namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "doomed"
        );
        post(
            &sim,
            "/api/v1/namespaces/doomed/configmaps",
            configmap("a", &json!({})),
        )
        .await;
        post(
            &sim,
            "/api/v1/namespaces/doomed/configmaps",
            configmap("b", &json!({})),
        )
        .await;
        let (_, created) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps",
            configmap("keep", &json!({})),
        )
        .await;
        let (code, stale) = call(
            &sim,
            "DELETE",
            "/api/v1/namespaces/default/configmaps/keep",
            "application/json",
            Some(json!({"preconditions":{"uid":"not-the-uid"}})),
        )
        .await;
        assert_eq!((code, stale["reason"].as_str()), (409, Some("Conflict")));
        let (code, status) = call(
            &sim,
            "DELETE",
            "/api/v1/namespaces/doomed/configmaps/a",
            "application/json",
            Some(json!({"propagationPolicy":"Background"})),
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(status["status"], "Success");
        assert_eq!(status["details"]["kind"], "configmaps");
        let (code, _) = call(
            &sim,
            "DELETE",
            "/api/v1/namespaces/doomed/configmaps/a",
            "application/json",
            None,
        )
        .await;
        assert_eq!(code, 404);
        let (code, deleted) = call(
            &sim,
            "DELETE",
            "/api/v1/namespaces/doomed",
            "application/json",
            None,
        )
        .await;
        assert_eq!(
            (code, deleted["status"]["phase"].as_str()),
            (200, Some("Terminating"))
        );
        assert!(deleted["metadata"]["deletionTimestamp"].is_string());
        let (_, everywhere) = get(&sim, "/api/v1/configmaps").await;
        let names: Vec<&Value> = everywhere["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["metadata"]["name"])
            .collect();
        assert_eq!(names, vec![&created["metadata"]["name"]]);
        let (code, forbidden) = call(
            &sim,
            "DELETE",
            "/api/v1/namespaces/default",
            "application/json",
            None,
        )
        .await;
        assert_eq!(
            (code, forbidden["reason"].as_str()),
            (403, Some("Forbidden"))
        );
    })
    .await;
}

/// Reads watch events (one JSON object per line) until `count` arrived.
async fn watch_events(sim: &Simulator, path: &str, count: usize) -> Vec<Value> {
    use http_body_util::BodyExt;
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = sim.router().oneshot(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.into_body();
    let mut buffer = Vec::new();
    let mut events = Vec::new();
    while events.len() < count {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame.unwrap().into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            events.push(serde_json::from_slice(&line).unwrap());
        }
    }
    events
}

#[tokio::test]
async fn watch_replays_resumes_and_expires() {
    bounded(20, async {
        let sim = Simulator::new();
        let path = "/api/v1/namespaces/default/configmaps";
        post(&sim, path, configmap("before", &json!({"app": "a"}))).await;
        let (_, list) = get(&sim, path).await;
        let version = list["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
        // From "now": later writes arrive in order, selectors apply per event.
        let watcher = {
            let sim = sim.clone();
            let url = format!("{path}?watch=true&labelSelector=app%3Da&resourceVersion={version}");
            tokio::spawn(async move { watch_events(&sim, &url, 3).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        post(&sim, path, configmap("other", &json!({"app": "b"}))).await;
        post(&sim, path, configmap("later", &json!({"app": "a"}))).await;
        let relabel = json!({"metadata": {"labels": {"app": "b"}}});
        call(&sim, "PATCH", &format!("{path}/before"), "application/merge-patch+json", Some(relabel)).await;
        call(&sim, "DELETE", &format!("{path}/later"), "application/json", None).await;
        let events = watcher.await.unwrap();
        let summary: Vec<(String, String)> = events
            .iter()
            .map(|e| (e["type"].as_str().unwrap().into(), e["object"]["metadata"]["name"].as_str().unwrap().into()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("ADDED".into(), "later".into()),
                ("DELETED".into(), "before".into()),
                ("DELETED".into(), "later".into())
            ]
        );
        assert_eq!(events[0]["object"]["kind"], "ConfigMap");
        // No version: the current objects first, as synthetic ADDED events.
        let initial = watch_events(&sim, &format!("{path}?watch=1"), 2).await;
        assert_eq!(initial[0]["type"], "ADDED");
        // Streaming lists end their initial part with the annotated bookmark.
        let streaming = watch_events(
            &sim,
            &format!("{path}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=0"),
            3,
        )
        .await;
        assert_eq!(streaming[2]["type"], "BOOKMARK");
        assert_eq!(
            streaming[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        // A compacted version: HTTP 200 and an in-stream 410.
        sim.lock().compact_history();
        let expired = watch_events(&sim, &format!("{path}?watch=true&resourceVersion={version}"), 1).await;
        assert_eq!(expired[0]["type"], "ERROR");
        assert_eq!(expired[0]["object"]["code"], 410);
        assert_eq!(expired[0]["object"]["reason"], "Expired");
    })
    .await;
}

#[tokio::test]
async fn dry_run_scale_and_faults() {
    bounded(10, async {
        let sim = Simulator::new();
        let (code, dry) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            configmap("a", &json!({})),
        )
        .await;
        assert_eq!(code, 201);
        assert_eq!(dry["metadata"]["resourceVersion"], "");
        assert_eq!(
            get(&sim, "/api/v1/namespaces/default/configmaps").await.1["items"],
            json!([])
        );
        let (code, _) = post(
            &sim,
            "/api/v1/namespaces/default/configmaps?dryRun=Some",
            configmap("a", &json!({})),
        )
        .await;
        assert_eq!(code, 400);
        let (code, _) = get(&sim, "/apis/apps/v1/namespaces/default/deployments/web/scale").await;
        assert_eq!(code, 404);
        let deployment = json!({"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
            "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}});
        post(&sim, "/apis/apps/v1/namespaces/default/deployments", deployment).await;
        let (code, scale) = get(&sim, "/apis/apps/v1/namespaces/default/deployments/web/scale").await;
        assert_eq!(code, 200);
        assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(2)));
        sim.inject_fault(shipway_sim::Fault {
            method: "GET".into(),
            path_contains: "/configmaps".into(),
            count: 1,
            code: 429,
            reason: "TooManyRequests",
            retry_after: Some(1),
        });
        let (code, body) = get(&sim, "/api/v1/namespaces/default/configmaps").await;
        assert_eq!((code, body["details"]["retryAfterSeconds"].as_u64()), (429, Some(1)));
        assert_eq!(get(&sim, "/api/v1/namespaces/default/configmaps").await.0, 200);
    })
    .await;
}

#[tokio::test]
async fn server_side_apply_accepts_yaml_bodies() {
    bounded(10, async {
        let sim = Simulator::new();
        let request = Request::builder()
            .method("PATCH")
            .uri("/api/v1/namespaces/default/configmaps/from-yaml?fieldManager=yaml-user")
            .header("content-type", "application/apply-patch+yaml")
            .body(Body::from(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  mode: \"0644\"\n  count: \"3\"\n",
            ))
            .unwrap();
        let response = sim.router().oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let (_, stored) = get(&sim, "/api/v1/namespaces/default/configmaps/from-yaml").await;
        assert_eq!(stored["data"], json!({"mode": "0644", "count": "3"}));
        assert_eq!(stored["metadata"]["managedFields"][0]["manager"], "yaml-user");
        assert_eq!(stored["metadata"]["managedFields"][0]["operation"], "Apply");
    })
    .await;
}
