//! Benchmarks of the renderer's hot paths: reading a large YAML stream, printing objects the
//! way kustomize does, and rendering the `examples/platform` production overlay end to end.
//!
//! Run with `cargo bench -p shipway-render --bench render`. The YAML input is generated in
//! memory so the numbers do not depend on a checkout's files beyond the example overlay.

use std::fmt::Write as _;
use std::path::PathBuf;

use shipway_model::yaml::{Limits, parse_stream, to_kustomize_yaml};
use shipway_model::{FileId, Node};

fn main() {
    divan::main();
}

/// About 1 MB of `Deployment` and `ConfigMap` objects, the mix a large overlay reads.
fn large_stream() -> String {
    let mut text = String::with_capacity(1 << 20);
    let mut i = 0;
    while text.len() < 1 << 20 {
        if i > 0 {
            text.push_str("---\n");
        }
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: service-{i}
  namespace: team-{team}
  labels:
    app.kubernetes.io/name: service-{i}
    app.kubernetes.io/part-of: platform
  annotations:
    description: \"Service number {i}: handles requests, retries and timeouts\"
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: service-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: service-{i}
    spec:
      containers:
      - name: app
        image: registry.example.invalid/service-{i}:1.{i}.0
        args: [--port=8080, --log-level=info]
        ports:
        - containerPort: 8080
          name: http
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
          requests: {{cpu: 100m, memory: 128Mi}}
        env:
        - name: RATIO
          value: \"0.{i}\"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: service-{i}-config
data:
  config.yaml: |
    listen: 0.0.0.0:8080
    upstream: http://backend-{i}:9000
    timeout: 30s
  flag: \"true\"
",
            team = i % 7,
            replicas = i % 5 + 1,
        );
        i += 1;
    }
    text
}

/// Reading the whole stream into position-carrying trees.
#[divan::bench]
fn parse_stream_1mb(bencher: divan::Bencher<'_, '_>) {
    let text = large_stream();
    bencher
        .counter(divan::counter::BytesCount::of_str(&text))
        .bench(|| parse_stream(divan::black_box(&text), FileId(0), &Limits::default()));
}

/// Printing the same documents with kustomize's quoting, ordering and folding rules.
#[divan::bench]
fn emit_1mb(bencher: divan::Bencher<'_, '_>) {
    let text = large_stream();
    let docs: Vec<Node> = parse_stream(&text, FileId(0), &Limits::default()).unwrap_or_default();
    assert!(!docs.is_empty(), "the generated stream must parse");
    bencher.bench(|| {
        let mut bytes = 0;
        for doc in divan::black_box(&docs) {
            bytes += to_kustomize_yaml(doc).map_or(0, |s| s.len());
        }
        bytes
    });
}

/// `kubectl kustomize examples/platform/overlays/prod`, minus process start-up.
#[divan::bench]
fn render_platform_prod(bencher: divan::Bencher<'_, '_>) {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/platform/overlays/prod");
    let options = shipway_render::Options::default();
    assert!(
        shipway_render::render(&dir, &options).is_ok(),
        "the example overlay must render"
    );
    bencher.bench(|| shipway_render::render(divan::black_box(&dir), &options));
}
