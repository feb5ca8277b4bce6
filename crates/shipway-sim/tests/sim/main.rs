//! Integration tests of the simulator: requests through the router in-process, and the
//! real `kubectl` against a served simulator. One binary, every test under a timeout.

mod in_process;
mod kube_rs;
mod kubectl;
mod limits;
mod openapi;
mod workloads;

use std::future::Future;
use std::time::Duration;

/// Runs a test body, failing it if it takes longer than `seconds` instead of hanging.
async fn bounded<T>(seconds: u64, body: impl Future<Output = T>) -> T {
    // Boxed: kube-rs futures are large, and a test body holds several.
    tokio::time::timeout(Duration::from_secs(seconds), Box::pin(body))
        .await
        .expect("test exceeded its time limit")
}
