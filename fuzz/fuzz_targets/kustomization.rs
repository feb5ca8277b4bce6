//! Fuzz target for the kustomization loader and the whole render pipeline.
//!
//! The input becomes `kustomization.yaml` in a fresh temporary directory next to a small
//! Deployment, a ConfigMap source file and a patch, so that fields naming those files
//! (`resources`, `patches`, `configMapGenerator`, ...) reach real code paths. `render` must
//! return `Ok` or `Err` for every input; a panic is a bug.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// A resource the fuzzed kustomization can list, so transformers have an object to act on.
const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
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
        image: nginx:1.27
        ports:
        - containerPort: 80
        envFrom:
        - configMapRef:
            name: settings
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
";

/// A strategic-merge patch for `patches:`/`patchesStrategicMerge:`.
const PATCH: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
";

/// An env file for `configMapGenerator`/`secretGenerator`.
const ENV: &str = "LOG_LEVEL=debug\nFEATURE=on\n";

fn write(dir: &Path, name: &str, contents: &[u8]) -> bool {
    std::fs::write(dir.join(name), contents).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let root = dir.path();
    if !(write(root, "kustomization.yaml", data)
        && write(root, "deployment.yaml", DEPLOYMENT.as_bytes())
        && write(root, "patch.yaml", PATCH.as_bytes())
        && write(root, "app.env", ENV.as_bytes()))
    {
        return;
    }
    let _ = shipway_render::render(root, &shipway_render::Options::default());
});
