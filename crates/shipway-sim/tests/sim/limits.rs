//! Limits under load and abuse: watch memory bounded by bytes, slow watchers dropped,
//! shutdown whatever the clients do, and watch timeouts too large for a clock. Servers
//! listen on 127.0.0.1 only and stop when their test ends.

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
