//! `shipway plan`, `sync` and `status` as a user runs them: the real binary against a
//! `shipway sandbox` process over HTTP, with the kubeconfig it writes, and the real
//! `kubectl` making drift behind shipway's back.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

#[path = "../common/receiver.rs"]
mod receiver;

use serde_json::Value;
use tempfile::TempDir;

/// A sandbox process; killed when dropped.
struct Sandbox {
    child: Child,
    kubeconfig: PathBuf,
}

impl Sandbox {
    fn start(dir: &Path) -> Sandbox {
        let kubeconfig = dir.join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut banner).unwrap();
        // Keep draining so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Sandbox { child, kubeconfig }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shipway(sandbox: &Sandbox, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&sandbox.kubeconfig)
        .env(
            "XDG_CACHE_HOME",
            sandbox.kubeconfig.parent().unwrap().join("cache"),
        )
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_app(dir: &Path, image: &str, with_extra: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut resources = vec!["namespace.yaml", "deployment.yaml", "service.yaml"];
    std::fs::write(
        dir.join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        ports:\n        - containerPort: 8080\n        resources:\n          requests:\n            cpu: 100m\n            memory: 64Mi\n          limits:\n            memory: 64Mi\n        securityContext:\n          allowPrivilegeEscalation: false\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n",
    )
    .unwrap();
    if with_extra {
        std::fs::write(
            dir.join("extra.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: \"1\"\n",
        )
        .unwrap();
        resources.push("extra.yaml");
    }
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n{}",
            resources.iter().map(|r| ["- ", r, "\n"].concat()).collect::<String>()
        ),
    )
    .unwrap();
}

#[test]
fn plan_sync_status_prune_and_broken_renders_over_http() {
    let dir = TempDir::new().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let app = dir.path().join("shop");
    let app_arg = app.display().to_string();
    write_app(&app, "nginx:1.27", true);

    let plan = shipway(&sandbox, &["plan", &app_arg, "-o", "json"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let actions: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["create"; 4]);

    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));

    let status = shipway(&sandbox, &["status", &app_arg, "-o", "json"]);
    assert!(status.status.success(), "{}", text(&status));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        (status["health"].as_str(), status["sync"].as_str()),
        (Some("Healthy"), Some("Synced")),
        "{status}"
    );

    // The image changes and a file is dropped: the plan says so, the sync rolls and prunes.
    write_app(&app, "nginx:1.28", false);
    std::fs::remove_file(app.join("extra.yaml")).unwrap();
    // One object of four is above the default 20% prune limit: the plan says prune is
    // refused unless confirmed.
    let refused = shipway(&sandbox, &["plan", &app_arg]);
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("prune refused"),
        "{}",
        text(&refused)
    );
    let plan = shipway(&sandbox, &["plan", &app_arg, "--confirm-prune"]);
    let plan_text = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan_text.contains("1 to update") && plan_text.contains("1 to delete"),
        "{plan_text}"
    );
    assert!(plan_text.contains("nginx:1.28"), "{plan_text}");
    let synced = shipway(
        &sandbox,
        &[
            "sync",
            &app_arg,
            "--wait",
            "--timeout",
            "60s",
            "--confirm-prune",
        ],
    );
    assert!(synced.status.success(), "{}", text(&synced));
    assert!(
        String::from_utf8_lossy(&synced.stderr).contains("pruned ConfigMap shop/extra"),
        "{}",
        text(&synced)
    );

    // A broken render deletes nothing and exits non-zero.
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let broken = shipway(&sandbox, &["sync", &app_arg]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("missing.yaml"),
        "{}",
        text(&broken)
    );
    let status = shipway(
        &sandbox,
        &[
            "status",
            &dir.path().join("shop-copy").display().to_string(),
        ],
    );
    assert!(!status.status.success());
    write_app(&app, "nginx:1.28", false);
    let plan = shipway(&sandbox, &["plan", &app_arg]);
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("nothing to do"),
        "{}",
        text(&plan)
    );

    // A saved plan is refused once the cluster moved.
    write_app(&app, "nginx:1.29", false);
    let saved = dir.path().join("plan.json");
    let planned = shipway(
        &sandbox,
        &["plan", &app_arg, "--out", &saved.display().to_string()],
    );
    assert!(planned.status.success(), "{}", text(&planned));
    let moved = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&sandbox.kubeconfig)
        .args(["annotate", "deployment", "web", "-n", "shop", "drift=yes"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(moved.status.success(), "{}", text(&moved));
    let refused = shipway(
        &sandbox,
        &["sync", &app_arg, "--plan", &saved.display().to_string()],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("changed since the plan"),
        "{}",
        text(&refused)
    );
}

fn kubectl(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&sandbox.kubeconfig)
        .args(args)
        .env("HOME", dir)
        .output()
        .unwrap()
}

#[test]
fn no_prune_succeeds_huge_timeouts_work_and_saved_plans_apply_what_was_reviewed() {
    let dir = TempDir::new().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let app = dir.path().join("shop");
    let app_arg = app.display().to_string();
    write_app(&app, "nginx:1.27", true);
    let synced = shipway(&sandbox, &["sync", &app_arg, "--timeout", "99999999999h"]);
    assert!(synced.status.success(), "{}", text(&synced));

    // A prune over the limit with --no-prune: the apply succeeded, so the sync did.
    write_app(&app, "nginx:1.27", false);
    std::fs::remove_file(app.join("extra.yaml")).unwrap();
    let kept = shipway(&sandbox, &["sync", &app_arg, "--no-prune"]);
    assert_eq!(kept.status.code(), Some(0), "{}", text(&kept));
    let extra = kubectl(
        &sandbox,
        dir.path(),
        &["get", "configmap", "extra", "-n", "shop"],
    );
    assert!(extra.status.success(), "{}", text(&extra));
    let refused = shipway(&sandbox, &["sync", &app_arg]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));

    // The reviewed plan is applied, not what the files say later; its prune too.
    write_app(&app, "nginx:1.28", false);
    let saved = dir.path().join("plan.json");
    let planned = shipway(
        &sandbox,
        &[
            "plan",
            &app_arg,
            "--confirm-prune",
            "--out",
            &saved.display().to_string(),
        ],
    );
    assert!(planned.status.success(), "{}", text(&planned));
    write_app(&app, "nginx:1.29", false);
    let applied = shipway(
        &sandbox,
        &[
            "sync",
            &app_arg,
            "--confirm-prune",
            "--plan",
            &saved.display().to_string(),
        ],
    );
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        String::from_utf8_lossy(&applied.stderr).contains("pruned ConfigMap shop/extra"),
        "{}",
        text(&applied)
    );
    let image = kubectl(
        &sandbox,
        dir.path(),
        &[
            "get",
            "deployment",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&image.stdout),
        "nginx:1.28",
        "{}",
        text(&image)
    );
    let tracking = kubectl(
        &sandbox,
        dir.path(),
        &[
            "get",
            "deployment",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.metadata.annotations.shipway\\.dev/tracking-id}",
        ],
    );
    let tracking = String::from_utf8_lossy(&tracking.stdout).into_owned();
    assert!(
        tracking.starts_with("dir:")
            && tracking.ends_with("/shop@default:apps/Deployment:shop/web"),
        "{tracking}"
    );
}

#[test]
fn sync_goes_on_past_a_broken_app_and_status_exits_by_health() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let good = dir.path().join("shop");
    write_app(&good, "nginx:1.27", false);
    let (broken_arg, good_arg) = (broken.display().to_string(), good.display().to_string());

    // The broken app is reported, the good one after it is still synced.
    let synced = shipway(
        &sandbox,
        &["sync", &broken_arg, &good_arg, "--wait", "--timeout", "60s"],
    );
    assert_eq!(synced.status.code(), Some(1), "{}", text(&synced));
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(stderr.contains("missing.yaml"), "{}", text(&synced));
    assert!(stderr.contains("synced app shop"), "{}", text(&synced));
    let status = shipway(&sandbox, &["status", &good_arg]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));

    // Degraded: `status` says so in its exit code (3), not only in its text.
    write_app(&good, "registry.example/does-not-exist:1", false);
    // Not a terminal: a plain waiting line every few seconds, the error once, at the end.
    let synced = shipway(&sandbox, &["sync", &good_arg, "--wait", "--timeout", "12s"]);
    assert_eq!(synced.status.code(), Some(1), "{}", text(&synced));
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(
        stderr.matches("waiting for").count() >= 2,
        "progress while waiting: {}",
        text(&synced)
    );
    assert_eq!(
        stderr.matches("error: sync of app shop failed").count(),
        1,
        "{}",
        text(&synced)
    );
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .is_some_and(|l| !l.starts_with("waiting for")),
        "the outcome is printed last: {}",
        text(&synced)
    );
    let mut code = None;
    for _ in 0..100 {
        let status = shipway(&sandbox, &["status", &good_arg, "-o", "json"]);
        code = status.status.code();
        let json: Value = serde_json::from_slice(&status.stdout).unwrap_or(Value::Null);
        if json["health"] != "Healthy" {
            assert_eq!(code, Some(3), "{}", text(&status));
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the app never became unhealthy (last exit {code:?})");
}

#[test]
fn environments_of_shipway_yaml_are_apps_and_name_renames_one() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let repo = dir.path().join("repo");
    write_app(&repo.join("overlays/dev"), "nginx:1.27", false);
    std::fs::write(
        repo.join("shipway.yaml"),
        "environments:\n- name: dev\n  path: overlays/dev\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(args)
            .arg("--kubeconfig")
            .arg(&sandbox.kubeconfig)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .current_dir(&repo)
            .output()
            .unwrap()
    };
    let plan = run(&["plan", "dev"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("Plan for app dev "),
        "{}",
        text(&plan)
    );
    let synced = run(&[
        "sync",
        "dev",
        "--name",
        "shop-dev",
        "--wait",
        "--timeout",
        "60s",
        "-o",
        "json",
    ]);
    assert!(synced.status.success(), "{}", text(&synced));
    let result: Value = serde_json::from_slice(&synced.stdout).unwrap();
    assert_eq!(result["apps"][0]["app"], "shop-dev", "{result}");
    assert_eq!(result["apps"][0]["result"], "synced", "{result}");
    assert!(
        result["apps"][0]["applied"]
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o["kind"] == "Deployment")),
        "{result}"
    );
    assert!(
        String::from_utf8_lossy(&synced.stderr).contains("synced app shop-dev:"),
        "{}",
        text(&synced)
    );
    let status = run(&["status", "dev", "--name", "shop-dev"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("app shop-dev: Healthy, Synced"));

    let unknown = run(&["plan", "qa"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("nor an environment of")
            && String::from_utf8_lossy(&unknown.stderr).contains("(environments: dev)"),
        "{}",
        text(&unknown)
    );
    let bad = run(&["plan", "dev", "--name", "Shop_Dev"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
}

/// The Rollout `shop/web` as `kubectl get -o json` shows it.
fn rollout_json(sandbox: &Sandbox, dir: &Path) -> Value {
    let rollout = kubectl(
        sandbox,
        dir,
        &["-n", "shop", "get", "rollout", "web", "-o", "json"],
    );
    serde_json::from_slice(&rollout.stdout).unwrap()
}

fn write_rollout(dir: &Path, image: &str, steps: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("rollout.yaml"),
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
        resources:
          requests: {{cpu: 10m, memory: 16Mi}}
          limits: {{memory: 64Mi}}
  strategy:
    canary:
      stableService: web-stable
      canaryService: web-canary
      steps: {steps}
---
apiVersion: v1
kind: Service
metadata:
  name: web-stable
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-canary
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "namespace: shop\nresources: [rollout.yaml]\n",
    )
    .unwrap();
}

#[test]
fn sync_wait_runs_a_canary_rollout_to_its_end_and_stops_at_a_pause_for_promote() {
    let dir = TempDir::new().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cluster/argo-rollouts-crds.yaml");
    let applied = kubectl(
        &sandbox,
        dir.path(),
        &["apply", "--server-side", "-f", crds.to_str().unwrap()],
    );
    assert!(applied.status.success(), "{}", text(&applied));
    let created = kubectl(&sandbox, dir.path(), &["create", "namespace", "shop"]);
    assert!(created.status.success(), "{}", text(&created));
    let app = dir.path().join("web");
    let app_arg = app.display().to_string();
    let steps = "[{setWeight: 50}, {pause: {duration: 1}}]";
    write_rollout(&app, "nginx:1.27", steps);
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));

    // A new image walks the steps (the timed pause included) and is promoted.
    write_rollout(&app, "nginx:1.28", steps);
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));
    let rollout = rollout_json(&sandbox, dir.path());
    assert_eq!(rollout["status"]["phase"], "Healthy", "{rollout}");
    assert_eq!(
        rollout["status"]["stableRS"], rollout["status"]["currentPodHash"],
        "{rollout}"
    );
    let table = kubectl(
        &sandbox,
        dir.path(),
        &["-n", "shop", "get", "rollout", "web"],
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("UP-TO-DATE") && table.contains("AVAILABLE"),
        "{table}"
    );

    // An indefinite pause ends the wait, saying what it waits for.
    write_rollout(&app, "nginx:1.29", "[{setWeight: 50}, {pause: {}}]");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));
    assert!(
        String::from_utf8_lossy(&synced.stderr)
            .contains("paused at step 1 of 2 (weight 50%), waiting for promote"),
        "{}",
        text(&synced)
    );
    let status = shipway(&sandbox, &["rollout", "status", &app_arg, "-o", "json"]);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));
    let described: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(described["rollouts"][0]["phase"], "Paused", "{described}");
    assert_eq!(described["rollouts"][0]["weight"], 50, "{described}");

    // `rollout promote`, then the next sync --wait finishes the rollout.
    let promoted = shipway(&sandbox, &["rollout", "promote", &app_arg]);
    assert!(promoted.status.success(), "{}", text(&promoted));
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));
    let status = shipway(&sandbox, &["rollout", "status", &app_arg, "web"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .starts_with("Rollout shop/web: Healthy, step 2 of 2, weight 100%"),
        "{}",
        text(&status)
    );

    // `rollout abort` mid-rollout: sync --wait fails at once, naming the abort.
    write_rollout(&app, "nginx:1.30", "[{setWeight: 50}, {pause: {}}]");
    let synced = shipway(&sandbox, &["sync", &app_arg]);
    assert!(synced.status.success(), "{}", text(&synced));
    let hook = receiver::Receiver::start(200);
    let config = dir.path().join("notify.yaml");
    std::fs::write(
        &config,
        format!(
            "service.webhook.hook: |\n  url: {}\nsubscriptions: |\n  - recipients: [hook]\n    triggers: [on-rollout-aborted]\n",
            hook.url("/hook")
        ),
    )
    .unwrap();
    let aborted = shipway(
        &sandbox,
        &[
            "rollout",
            "abort",
            &app_arg,
            "web",
            "--notify",
            config.to_str().unwrap(),
        ],
    );
    assert!(aborted.status.success(), "{}", text(&aborted));
    let sent = hook.requests();
    assert_eq!(
        sent.len(),
        1,
        "one on-rollout-aborted message: {}",
        text(&aborted)
    );
    assert_eq!(sent[0].path, "/hook");
    assert_eq!(
        sent[0].body["event"]["kind"], "rollout-aborted",
        "{}",
        sent[0].body
    );
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert_eq!(synced.status.code(), Some(1), "{}", text(&synced));
    assert!(
        String::from_utf8_lossy(&synced.stderr).contains("RolloutAborted"),
        "{}",
        text(&synced)
    );
    let missing = shipway(&sandbox, &["rollout", "promote", &app_arg, "nope"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));

    // A field shipway's Rollout controller does not act on is refused at its line, before
    // anything is applied.
    write_rollout(&app, "nginx:1.30", "[{setWeight: 50}]");
    let text_of = std::fs::read_to_string(app.join("rollout.yaml")).unwrap();
    std::fs::write(
        app.join("rollout.yaml"),
        text_of.replace(
            "    canary:\n",
            "    canary:\n      scaleDownDelaySeconds: 30\n",
        ),
    )
    .unwrap();
    let refused = shipway(&sandbox, &["plan", &app_arg]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let line = text_of.lines().position(|l| l == "    canary:").unwrap() + 2;
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!(
            "rollout.yaml:{line}: error[rollouts/unsupported]: Rollout web: `spec.strategy.canary.scaleDownDelaySeconds`"
        )),
        "{}",
        text(&refused)
    );
}

/// Issue 17: the example platform's prod overlay, with its `HorizontalPodAutoscalers`,
/// becomes Healthy in a `--sandbox` sync (the sandbox's HPA controller scales the targets
/// and writes the conditions health reads), and the sync says the sandbox is gone.
#[test]
fn prod_overlay_with_autoscalers_is_healthy_in_a_sandbox_sync() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let output = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["sync", "--sandbox", "--wait", "--timeout", "240s"])
        .arg(examples.join("cluster"))
        .arg(examples.join("platform/overlays/prod"))
        .env("NO_COLOR", "1")
        // The example's Secrets are SOPS-encrypted for the demo key beside them.
        .env(
            "SOPS_AGE_KEY_FILE",
            examples.join("platform/demo-age-key.txt"),
        )
        .output()
        .unwrap();
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let autoscalers: Vec<&str> = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("HorizontalPodAutoscaler "))
        .collect();
    assert_eq!(autoscalers.len(), 8, "{report}");
    assert!(
        autoscalers.iter().all(|line| line.contains("Healthy")),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("note: the sandbox cluster stopped with this command")
            && stderr.contains("hint: to keep one, run `shipway sandbox` in another terminal"),
        "{report}"
    );
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The sandbox's API address, from the kubeconfig it wrote.
fn sandbox_address(sandbox: &Sandbox) -> String {
    let text = std::fs::read_to_string(&sandbox.kubeconfig).unwrap();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("server: http://"))
        .expect("a server line")
        .trim_matches('"')
        .to_string()
}

/// Issue 14: a canary's step analysis against a real Prometheus (Debian's, discovering the
/// sandbox's pods through `http_sd_configs`): a good image is promoted, a `-bad` one (the
/// sandbox answers half its requests with 500) is aborted by the error-rate query and the
/// stable pods stay. Skipped visibly without `prometheus`, unless
/// `SHIPWAY_PROMETHEUS_REQUIRED=1`.
#[test]
fn a_canary_analysis_against_a_real_prometheus_promotes_good_and_aborts_bad_and_slow() {
    let Some(binary) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    }) else {
        assert!(
            std::env::var("SHIPWAY_PROMETHEUS_REQUIRED").as_deref() != Ok("1"),
            "prometheus is not on PATH and SHIPWAY_PROMETHEUS_REQUIRED=1"
        );
        eprintln!("skipped: a_canary_analysis_against_a_real_prometheus…: no `prometheus` on PATH");
        return;
    };
    let dir = TempDir::new().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
- job_name: sandbox
  http_sd_configs:
  - url: http://{}{}
    refresh_interval: 1s
  relabel_configs:
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
",
            sandbox_address(&sandbox),
            shipway_sim::HTTP_SD_PATH
        ),
    )
    .unwrap();
    let prometheus = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _prometheus = KillOnDrop(prometheus);

    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cluster/argo-rollouts-crds.yaml");
    let applied = kubectl(
        &sandbox,
        dir.path(),
        &["apply", "--server-side", "-f", crds.to_str().unwrap()],
    );
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        kubectl(&sandbox, dir.path(), &["create", "namespace", "shop"])
            .status
            .success()
    );
    let app = dir.path().join("web");
    std::fs::create_dir_all(&app).unwrap();
    let write = |image: &str| {
        std::fs::write(
            app.join("rollout.yaml"),
            format!(
                "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {image}
        ports: [{{containerPort: 8080}}]
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{memory: 64Mi}}}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates: [{{templateName: error-rate}}]
          args: [{{name: hash, valueFrom: {{podTemplateHashValue: Latest}}}}]
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: error-rate}}
spec:
  args: [{{name: hash}}]
  metrics:
  - name: error-rate
    # New pods need a discovery refresh and a scrape before they have data: one
    # measurement without data is tolerated.
    initialDelay: 5s
    interval: 2s
    count: 3
    inconclusiveLimit: 1
    successCondition: result[0] <= 0.05
    provider:
      prometheus:
        address: http://127.0.0.1:{port}
        query: (sum(http_requests_total{{rollouts_pod_template_hash=\"{{{{args.hash}}}}\",code=~\"5..\"}}) or vector(0)) / sum(http_requests_total{{rollouts_pod_template_hash=\"{{{{args.hash}}}}\"}})
  - name: latency-p95
    initialDelay: 5s
    interval: 2s
    count: 3
    inconclusiveLimit: 1
    successCondition: result[0] <= 0.5
    provider:
      prometheus:
        address: http://127.0.0.1:{port}
        query: histogram_quantile(0.95, sum by (le) (http_request_duration_seconds_bucket{{rollouts_pod_template_hash=\"{{{{args.hash}}}}\"}}))
"
            ),
        )
        .unwrap();
        std::fs::write(
            app.join("kustomization.yaml"),
            "namespace: shop\nresources: [rollout.yaml]\n",
        )
        .unwrap();
    };
    let app_arg = app.display().to_string();
    write("registry.example/web:1.0");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "90s"]);
    assert!(synced.status.success(), "{}", text(&synced));

    // A good image: the analysis passes and the canary is promoted.
    write("registry.example/web:2.0");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "90s"]);
    assert!(synced.status.success(), "{}", text(&synced));
    let rollout = rollout_json(&sandbox, dir.path());
    let good = rollout["status"]["stableRS"].as_str().unwrap().to_string();
    assert_eq!(
        rollout["status"]["currentPodHash"],
        good.as_str(),
        "{rollout}"
    );
    let runs = kubectl(
        &sandbox,
        dir.path(),
        &["-n", "shop", "get", "analysisruns", "-o", "json"],
    );
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs["items"][0]["status"]["phase"], "Successful", "{runs}");

    // A `-bad` image: half its requests fail, the analysis fails, the rollout aborts.
    write("registry.example/web:3.0-bad");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "90s"]);
    let runs = kubectl(
        &sandbox,
        dir.path(),
        &["-n", "shop", "get", "analysisruns", "-o", "yaml"],
    );
    assert_eq!(
        synced.status.code(),
        Some(1),
        "{}\n{}",
        text(&synced),
        String::from_utf8_lossy(&runs.stdout)
    );
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(
        stderr.contains("RolloutAborted")
            && stderr.contains("error-rate")
            && stderr.contains("http_requests_total"),
        "{}",
        text(&synced)
    );
    let rollout = rollout_json(&sandbox, dir.path());
    assert_eq!(
        rollout["status"]["stableRS"],
        good.as_str(),
        "the stable version stays: {rollout}"
    );
    let sets = kubectl(
        &sandbox,
        dir.path(),
        &["-n", "shop", "get", "replicasets", "-o", "json"],
    );
    let sets: Value = serde_json::from_slice(&sets.stdout).unwrap();
    let stable_size = sets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rs| rs["metadata"]["labels"]["rollouts-pod-template-hash"] == good.as_str())
        .map(|rs| rs["spec"]["replicas"].clone());
    assert_eq!(stable_size, Some(2.into()), "{sets}");

    // A `-slow` image (800 ms mean latency, no errors): the latency quantile aborts it.
    write("registry.example/web:4.0-slow");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "90s"]);
    assert_eq!(synced.status.code(), Some(1), "{}", text(&synced));
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(
        stderr.contains("RolloutAborted")
            && stderr.contains("latency-p95")
            && stderr.contains("histogram_quantile"),
        "{}",
        text(&synced)
    );
    let rollout = rollout_json(&sandbox, dir.path());
    assert_eq!(rollout["status"]["stableRS"], good.as_str(), "{rollout}");
}

#[test]
fn smoke_checks_run_after_a_sync_and_fail_it_naming_the_pod_and_the_answer() {
    let dir = TempDir::new().unwrap();
    let sandbox = Sandbox::start(dir.path());
    let app = dir.path().join("web");
    let app_arg = app.display().to_string();
    let write = |fault: &str| {
        write_app(&app, "nginx:1.27", false);
        // The Deployment checks its pods' /health; the Service its pods' metrics.
        let deployment = std::fs::read_to_string(app.join("deployment.yaml")).unwrap();
        let deployment = deployment
            .replacen(
                "metadata:\n  name: web\n",
                "metadata:\n  name: web\n  annotations:\n    shipway.dev/smoke-checks: |\n      - path: /health\n",
                1,
            )
            .replacen(
                "      labels:\n        app: web\n",
                &format!("      labels:\n        app: web\n      annotations:\n        sim.shipway.dev/fault: \"{fault}\"\n"),
                1,
            );
        std::fs::write(app.join("deployment.yaml"), deployment).unwrap();
        let service = std::fs::read_to_string(app.join("service.yaml")).unwrap();
        std::fs::write(
            app.join("service.yaml"),
            service.replacen(
                "metadata:\n  name: web\n",
                "metadata:\n  name: web\n  annotations:\n    shipway.dev/smoke-checks: '[{path: /metrics, metrics: true, contains: http_requests_total}]'\n",
                1,
            ),
        )
        .unwrap();
    };
    write("none");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(synced.status.success(), "{}", text(&synced));
    assert!(
        String::from_utf8_lossy(&synced.stderr).contains("smoke checks passed on 2 object(s)"),
        "{}",
        text(&synced)
    );

    // Ready pods whose /health answers 503: the sync fails, naming the pod and the answer.
    write("unhealthy");
    let synced = shipway(&sandbox, &["sync", &app_arg, "--wait", "--timeout", "60s"]);
    assert!(!synced.status.success(), "{}", text(&synced));
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(
        stderr.contains("smoke checks failed")
            && stderr.contains("GET /health: 503 (expected 200): not ready")
            && stderr.contains("Deployment"),
        "{}",
        text(&synced)
    );

    // A malformed annotation is refused before anything is applied, at its line.
    let deployment = std::fs::read_to_string(app.join("deployment.yaml"))
        .unwrap()
        .replacen("- path: /health", "- path: health", 1);
    std::fs::write(app.join("deployment.yaml"), deployment).unwrap();
    let planned = shipway(&sandbox, &["plan", &app_arg]);
    assert!(!planned.status.success(), "{}", text(&planned));
    assert!(
        String::from_utf8_lossy(&planned.stderr)
            .contains("deployment.yaml:7: error[smoke/invalid]"),
        "{}",
        text(&planned)
    );
}
