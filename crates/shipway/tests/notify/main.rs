//! `shipway sync --notify`, `shipway notify test` as a user runs them: the real binary, its
//! in-process sandbox cluster (`--sandbox`), and local HTTP receivers standing in for Teams
//! and a generic webhook (nothing reaches the internet).

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

#[path = "../common/receiver.rs"]
mod receiver;
use receiver::Receiver;

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn shipway(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// An app whose Deployment never becomes healthy (its image never pulls) or does.
fn write_app(dir: &Path, image: &str, annotations: &str) {
    let app = dir.join("shop");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        resources:\n          requests:\n            cpu: 100m\n            memory: 64Mi\n          limits:\n            memory: 64Mi\n        securityContext:\n          allowPrivilegeEscalation: false\n"
        ),
    )
    .unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources:\n- deployment.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("application.yaml"),
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop\n  namespace: argocd\n  annotations:\n{annotations}spec:\n  project: default\n  source:\n    repoURL: ./shop\n    path: .\n    targetRevision: HEAD\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n  syncPolicy:\n    syncOptions: [CreateNamespace=true]\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_failing_sync_sends_one_message_per_subscribed_recipient() {
    let dir = TempDir::new().unwrap();
    let teams = Receiver::start(202);
    let hook = Receiver::start(200);
    write_app(
        dir.path(),
        "registry.example/web:does-not-exist",
        "    notifications.argoproj.io/subscribe.on-sync-failed.teams: ops;dev\n    notifications.argoproj.io/subscribe.on-sync-succeeded.teams: ops\n    notifications.argoproj.io/subscribe.on-sync-running.hook: \"\"\n",
    );
    std::fs::write(
        dir.path().join("notify.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-notifications-cm\ndata:\n  service.teams: |\n    recipientUrls:\n      ops: {}\n      dev: {}\n  service.webhook.hook: |\n    url: {}\n    secret: $hook-secret\n  context: |\n    argocdUrl: https://cd.example\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: argocd-notifications-secret\nstringData:\n  hook-secret: s3cret-value\n",
            teams.url("/ops"),
            teams.url("/dev"),
            hook.url("/hook")
        ),
    )
    .unwrap();
    let output = shipway(
        dir.path(),
        &[
            "sync",
            "application.yaml",
            "--sandbox",
            "--timeout",
            "5s",
            "--notify",
            "notify.yaml",
        ],
    );
    // The sync's failure decides the exit status.
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sent 3 notification(s)"),
        "{}",
        text(&output)
    );
    assert!(!stderr.contains("s3cret-value"));
    let mut paths: Vec<String> = teams.requests().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/dev", "/ops"],
        "one per recipient, no success message"
    );
    let card = &teams.requests()[0].body["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], "Sync of shop failed");
    let message = card["body"][1]["text"].as_str().unwrap();
    assert!(message.contains("- Deployment/web: "), "{message}");
    assert_eq!(
        card["actions"][0]["url"],
        "https://cd.example/applications/shop"
    );
    let hooked = hook.requests();
    assert_eq!(hooked.len(), 1, "{hooked:?}");
    assert_eq!(hooked[0].body["trigger"], "on-sync-running");
    assert_eq!(hooked[0].body["event"]["phase"], "Running");
}

#[test]
fn a_failed_notification_is_reported_and_leaves_the_exit_status() {
    let dir = TempDir::new().unwrap();
    let refusing = Receiver::start(400);
    write_app(
        dir.path(),
        "registry.example/web:1.0",
        "    notifications.argoproj.io/subscribe.on-deployed.hook: \"\"\n",
    );
    std::fs::write(
        dir.path().join("notify.yaml"),
        format!(
            "service.webhook.hook:\n  url: {}\n",
            refusing.url("/hook/hook-secret-path")
        ),
    )
    .unwrap();
    let output = shipway(
        dir.path(),
        &[
            "sync",
            "application.yaml",
            "--sandbox",
            "--timeout",
            "60s",
            "--notify",
            "notify.yaml",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: notification to `hook` failed: HTTP 400"),
        "{}",
        text(&output)
    );
    assert!(!stderr.contains("hook-secret-path"), "{}", text(&output));
    assert_eq!(refusing.requests().len(), 1);
    assert_eq!(refusing.requests()[0].body["trigger"], "on-deployed");
}

#[test]
fn notify_test_sends_a_sample_and_reports_bad_configurations() {
    let dir = TempDir::new().unwrap();
    let hook = Receiver::start(200);
    std::fs::write(
        dir.path().join("notifications.yaml"),
        format!("service.webhook.ci: |\n  url: {}\n", hook.url("/ci")),
    )
    .unwrap();
    let output = shipway(
        dir.path(),
        &["notify", "test", "ci", "--trigger", "on-sync-failed"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["app"], "sample-app");
    assert_eq!(requests[0].body["trigger"], "on-sync-failed");
    assert!(
        requests[0].body["message"]
            .as_str()
            .unwrap()
            .contains("- Deployment/web: ImagePullBackOff")
    );

    let output = shipway(dir.path(), &["notify", "test", "slack"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("error: `notifications.yaml` has no service `slack` (it has: ci)"),
        "{}",
        text(&output)
    );

    std::fs::write(
        dir.path().join("bad.yaml"),
        "template.app-deployed: |\n  message: \"{{call .time.Now}}\"\n",
    )
    .unwrap();
    let output = shipway(
        dir.path(),
        &["notify", "test", "ci", "--config", "bad.yaml"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("error: bad.yaml: template `app-deployed.message`: `call` is not supported"),
        "{}",
        text(&output)
    );
}
