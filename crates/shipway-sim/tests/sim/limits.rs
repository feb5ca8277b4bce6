//! Limits and validation under load and abuse: watch memory bounded by bytes, slow watchers
//! dropped, shutdown whatever the clients do, request and object size limits, YAML alias
//! bombs, Secret base64, `fieldValidation` on every write verb, and watch timeouts too
//! large for a clock. Servers listen on 127.0.0.1 only and stop when their test ends.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use serde_json::{Value, json};
use shipway_sim::Simulator;
use shipway_sim::store::{PatchType, Store, Subresource, WriteOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::bounded;

/// One request through the router: status, headers and the JSON body.
async fn send(
    sim: &Simulator,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (u16, HeaderMap, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap();
    let response = sim.router().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

fn warnings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("warning")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

/// Serves `sim` on a loopback port until the returned sender fires (or is dropped).
async fn serve(
    sim: &Simulator,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(shipway_sim::serve(listener, sim.clone(), async {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

/// A client socket with a small receive buffer, so that a client that does not read
/// backs the server up after a few hundred kilobytes rather than many megabytes.
async fn small_client(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    socket.connect(address).await.unwrap()
}

fn big_configmap(name: &str, size: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": {"blob": "x".repeat(size)}})
}

/// Regression: 400 applies of a 2.9 MB `ConfigMap` grew the watch history to 2.6 GiB. The
/// history is bounded by bytes now, compacting its oldest events.
#[test]
fn watch_history_stays_within_its_byte_budget() {
    let mut store = Store::new();
    let configmaps = shipway_sim::resources::find("", "v1", "configmaps").unwrap();
    let options = WriteOptions::manager("test");
    let start = store.resource_version();
    store
        .create(
            configmaps,
            Some("default"),
            big_configmap("big", 10),
            &options,
        )
        .unwrap();
    // Each update's event holds the object before and after: about 1.4 MB. Sixty of
    // them are 84 MB against the default budget of 64 MiB.
    for round in 0..60 {
        let patch = json!({"data": {"blob": format!("{round}{}", "x".repeat(700_000))}});
        store
            .patch(
                configmaps,
                Some("default"),
                "big",
                PatchType::Merge,
                &patch,
                Subresource::Main,
                &options,
            )
            .unwrap();
        assert!(
            store.history_bytes() <= 64 * 1024 * 1024,
            "{} bytes after {round} writes",
            store.history_bytes()
        );
    }
    assert!(
        store.history_bytes() > 32 * 1024 * 1024,
        "recent events stay"
    );
    assert!(
        store.events_after(start).is_none(),
        "the oldest events were compacted: resuming there is 410"
    );
    store.set_history_byte_limit(1024 * 1024);
    assert!(store.history_bytes() <= 1024 * 1024);
}

/// Regression: five unread watches buffered 3.4 GiB. A watcher that falls behind is
/// dropped; its client sees the stream end (and would re-watch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_watch_is_dropped_when_it_falls_behind() {
    bounded(120, async {
        let sim = Simulator::new();
        sim.set_watch_buffer(256 * 1024, 64);
        let (address, _stop, _server) = serve(&sim).await;
        let version = sim.lock().resource_version();
        let mut client = small_client(address).await;
        let request = format!(
            "GET {CONFIGMAPS}?watch=true&resourceVersion={version} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        client.write_all(request.as_bytes()).await.unwrap();
        // The response has started, so the watch is open before anything is written.
        let mut status_line = [0_u8; 15];
        client.read_exact(&mut status_line).await.unwrap();
        assert_eq!(&status_line, b"HTTP/1.1 200 OK");
        assert_eq!(sim.open_watches(), 1);
        // 24 MB of events, far more than the client's socket, the server's socket and the
        // watcher's 256 KiB buffer hold together.
        for index in 0..48 {
            let (code, _, _) = send(
                &sim,
                "POST",
                CONFIGMAPS,
                "application/json",
                big_configmap(&format!("cm-{index}"), 512 * 1024).to_string(),
            )
            .await;
            assert_eq!(code, 201);
        }
        // The watch has no timeout of its own (30 minutes): the response ends only
        // because the watcher was dropped.
        // Nothing reads, so the watcher falls behind and is dropped (after its grace).
        while sim.open_watches() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        let text = String::from_utf8_lossy(&received);
        assert!(text.ends_with("0\r\n\r\n"), "the chunked body ends cleanly");
        let delivered = text.matches("\"type\":\"ADDED\"").count();
        assert!(delivered < 48, "dropped before the end: {delivered} events");
    })
    .await;
}

/// Regression: an unread watch or a half-sent request header kept shutdown waiting for
/// ever (and the sandbox from saving its state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_despite_unread_watches_and_half_sent_headers() {
    bounded(60, async {
        let sim = Simulator::new();
        for index in 0..8 {
            let object = big_configmap(&format!("cm-{index}"), 512 * 1024);
            let (code, _, _) = send(
                &sim,
                "POST",
                CONFIGMAPS,
                "application/json",
                object.to_string(),
            )
            .await;
            assert_eq!(code, 201);
        }
        let (address, stop, server) = serve(&sim).await;
        // Reads nothing of a 4 MB initial list.
        let mut watcher = small_client(address).await;
        watcher
            .write_all(
                format!("GET {CONFIGMAPS}?watch=true HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut half = tokio::net::TcpStream::connect(address).await.unwrap();
        half.write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAcc")
            .await
            .unwrap();
        // Both requests reached the server before it is asked to stop.
        let mut first = [0_u8; 12];
        watcher.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        drop((watcher, half));
    })
    .await;
}

#[tokio::test]
async fn request_bodies_over_three_mebibytes_are_413() {
    bounded(30, async {
        let sim = Simulator::new();
        let body = "x".repeat(3 * 1024 * 1024 + 1);
        let (code, _, status) = send(&sim, "POST", CONFIGMAPS, "application/json", body).await;
        assert_eq!(code, 413);
        assert_eq!(status["reason"], "RequestEntityTooLarge");
        assert_eq!(
            status["message"],
            "Request entity too large: limit is 3145728"
        );
        // An apply body is a PATCH body: the same limit.
        let body = format!("data: {{a: {}}}", "x".repeat(3 * 1024 * 1024));
        let (code, _, _) = send(
            &sim,
            "PATCH",
            &format!("{CONFIGMAPS}/big?fieldManager=test"),
            "application/apply-patch+yaml",
            body,
        )
        .await;
        assert_eq!(code, 413);
    })
    .await;
}

/// Regression: a 1 MiB scalar aliased 3,000 times is a 1 MiB apply body that expands to
/// 3 GiB. It is refused with 400 before anything is expanded.
#[tokio::test]
async fn yaml_alias_bombs_are_refused() {
    bounded(30, async {
        let sim = Simulator::new();
        let mut body = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n    a: &a {}\ndata:\n",
            "x".repeat(1024 * 1024)
        );
        for index in 0..3000 {
            writeln!(body, "  k{index}: *a").unwrap();
        }
        assert!(body.len() < 3 * 1024 * 1024);
        let (code, _, status) = send(
            &sim,
            "PATCH",
            &format!("{CONFIGMAPS}/bomb?fieldManager=test"),
            "application/apply-patch+yaml",
            body,
        )
        .await;
        assert_eq!(code, 400, "{status}");
        assert_eq!(status["reason"], "BadRequest");
        let message = status["message"].as_str().unwrap();
        assert!(
            message.starts_with("error decoding YAML:") && message.contains("aliases expand"),
            "{message}"
        );
        // Anchors used modestly are fine.
        let modest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: modest\n  labels: &l {app: web}\n  annotations: *l\ndata: {a: b}\n";
        let (code, _, object) = send(
            &sim,
            "PATCH",
            &format!("{CONFIGMAPS}/modest?fieldManager=test"),
            "application/apply-patch+yaml",
            modest,
        )
        .await;
        assert_eq!(code, 201, "{object}");
        assert_eq!(object["metadata"]["annotations"], json!({"app": "web"}));
    })
    .await;
}

#[tokio::test]
async fn objects_over_the_storage_limits_are_refused() {
    bounded(30, async {
        let sim = Simulator::new();
        // ConfigMap data is limited to 1 MiB by validation.
        let (code, _, status) = send(
            &sim,
            "POST",
            CONFIGMAPS,
            "application/json",
            big_configmap("big", 1024 * 1024 + 1).to_string(),
        )
        .await;
        assert_eq!(code, 422, "{status}");
        assert_eq!(
            status["message"],
            "ConfigMap \"big\" is invalid: : Too long: may not be more than 1048576 bytes"
        );
        assert_eq!(
            status["details"]["causes"][0]["reason"],
            "FieldValueTooLong"
        );
        // Any other object over etcd's 1.5 MiB request limit is refused at storage.
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "huge"},
            "spec": {"selector": {"matchLabels": {"app": "huge"}},
                "template": {"metadata": {"labels": {"app": "huge"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx",
                        "env": [{"name": "BLOB", "value": "x".repeat(1600 * 1024)}]}]}}}});
        let deployments = "/apis/apps/v1/namespaces/default/deployments";
        let (code, _, status) = send(
            &sim,
            "POST",
            deployments,
            "application/json",
            deployment.to_string(),
        )
        .await;
        assert_eq!(code, 500);
        assert_eq!(status["message"], "etcdserver: request is too large");
        assert!(status.get("reason").is_none(), "{status}");
        let (code, _, _) = send(&sim, "GET", &format!("{deployments}/huge"), "", "").await;
        assert_eq!(code, 404, "nothing was stored");
        // A dry run never reaches storage.
        let (code, _, _) = send(
            &sim,
            "POST",
            &format!("{deployments}?dryRun=All"),
            "application/json",
            deployment.to_string(),
        )
        .await;
        assert_eq!(code, 201);
    })
    .await;
}

#[tokio::test]
async fn secret_data_must_be_base64_and_int32_fields_fit() {
    bounded(30, async {
        let sim = Simulator::new();
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "not base64"}});
        let (code, _, status) = send(
            &sim,
            "POST",
            "/api/v1/namespaces/default/secrets",
            "application/json",
            secret.to_string(),
        )
        .await;
        assert_eq!(code, 400);
        assert_eq!(status["reason"], "BadRequest");
        assert_eq!(
            status["message"],
            "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 3"
        );
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"progressDeadlineSeconds": 9_999_999_999_999_i64,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}});
        let (code, _, status) = send(
            &sim,
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            "application/json",
            deployment.to_string(),
        )
        .await;
        assert_eq!(code, 400, "{status}");
        assert!(
            status["message"]
                .as_str()
                .unwrap()
                .ends_with("json: cannot unmarshal number 9999999999999 into Go struct field DeploymentSpec.spec.progressDeadlineSeconds of type int32"),
            "{status}"
        );
    })
    .await;
}

/// Every write verb honours `fieldValidation`: Strict refuses naming the field, Warn
/// answers a `Warning` naming it, Ignore says nothing; both drop the field.
#[tokio::test]
async fn field_validation_applies_to_every_write_verb() {
    bounded(60, async {
        let sim = Simulator::new();
        let base = || {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
            "data": {"a": "1"}, "bogus": "x"})
        };
        // (verb, method, content type, path after the collection, body)
        let verbs: Vec<(&str, &str, &str, &str, String)> = vec![
            ("create", "POST", "application/json", "", base().to_string()),
            (
                "update",
                "PUT",
                "application/json",
                "/cm",
                base().to_string(),
            ),
            (
                "merge",
                "PATCH",
                "application/merge-patch+json",
                "/cm",
                json!({"bogus": "x"}).to_string(),
            ),
            (
                "json",
                "PATCH",
                "application/json-patch+json",
                "/cm",
                json!([{"op": "add", "path": "/bogus", "value": "x"}]).to_string(),
            ),
            (
                "strategic",
                "PATCH",
                "application/strategic-merge-patch+json",
                "/cm",
                json!({"bogus": "x"}).to_string(),
            ),
            (
                "apply",
                "PATCH",
                "application/apply-patch+yaml",
                "/cm",
                base().to_string(),
            ),
        ];
        for (verb, method, content_type, suffix, body) in verbs {
            for mode in ["Strict", "Warn", "Ignore"] {
                // A fresh object for every case (the create case makes its own).
                let _ = send(&sim, "DELETE", &format!("{CONFIGMAPS}/cm"), "", "").await;
                if verb != "create" {
                    let mut clean = base();
                    clean.as_object_mut().unwrap().remove("bogus");
                    let (code, _, _) = send(
                        &sim,
                        "POST",
                        CONFIGMAPS,
                        "application/json",
                        clean.to_string(),
                    )
                    .await;
                    assert_eq!(code, 201);
                }
                let path = format!("{CONFIGMAPS}{suffix}?fieldValidation={mode}&fieldManager=test");
                let (code, headers, answer) =
                    send(&sim, method, &path, content_type, body.clone()).await;
                let case = format!("{verb} {mode}: {code} {answer} {headers:?}");
                if mode == "Strict" {
                    assert_eq!(code, 400, "{case}");
                    let message = answer["message"].as_str().unwrap();
                    assert!(message.contains("bogus"), "{case}");
                    continue;
                }
                assert!(code == 200 || code == 201, "{case}");
                assert!(answer.get("bogus").is_none(), "dropped: {case}");
                let warned = warnings(&headers);
                if mode == "Warn" {
                    assert_eq!(warned.len(), 1, "{case}");
                    assert!(warned[0].contains("unknown field \\\"bogus\\\""), "{case}");
                } else {
                    assert!(warned.is_empty(), "{case}");
                }
            }
        }
    })
    .await;
}

/// Regression: `timeoutSeconds` too large to add to a clock panicked the watch task, so
/// the stream ended at once.
#[tokio::test]
async fn huge_watch_timeouts_do_not_overflow() {
    use http_body_util::BodyExt;
    bounded(30, async {
        let sim = Simulator::new();
        for timeout in ["18446744073709551615", "9999999999999"] {
            let version = sim.lock().resource_version();
            let request = Request::builder()
                .uri(format!(
                    "{CONFIGMAPS}?watch=true&resourceVersion={version}&timeoutSeconds={timeout}"
                ))
                .body(Body::empty())
                .unwrap();
            let response = sim.router().oneshot(request).await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let name = format!("t{}", timeout.len());
            let (code, _, _) = send(
                &sim,
                "POST",
                CONFIGMAPS,
                "application/json",
                big_configmap(&name, 1).to_string(),
            )
            .await;
            assert_eq!(code, 201);
            let frame = response.into_body().frame().await;
            let data = frame
                .expect("the watch is still open")
                .unwrap()
                .into_data()
                .unwrap();
            let event: Value = serde_json::from_slice(&data).unwrap();
            assert_eq!(
                (
                    event["type"].as_str(),
                    event["object"]["metadata"]["name"].as_str()
                ),
                (Some("ADDED"), Some(name.as_str()))
            );
        }
    })
    .await;
}
