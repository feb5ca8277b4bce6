//! `shipway serve` end to end, as a user runs it: the real binary against a `shipway
//! sandbox` process, a real git origin (a bare repository on disk that the test pushes
//! to), the real `kubectl` for drift and Applications, and `curl` for the API and webhooks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

#[path = "../common/receiver.rs"]
mod receiver;

/// A sandbox cluster and a git origin holding one app directory, `app/`.
struct World {
    dir: TempDir,
    sandbox: Child,
    kubeconfig: PathBuf,
    origin: PathBuf,
    work: PathBuf,
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27.0
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {memory: 64Mi}
";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let sandbox = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let origin = dir.path().join("origin.git");
        let work = dir.path().join("work");
        std::fs::create_dir_all(work.join("app")).unwrap();
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml]\n",
        )
        .unwrap();
        std::fs::write(work.join("app/deployment.yaml"), DEPLOYMENT).unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&work, &["push", "-q", "origin", "main"]);
        let world = World {
            dir,
            sandbox,
            kubeconfig,
            origin,
            work,
        };
        wait_for(30, "the sandbox to serve", || {
            world.kubeconfig.exists() && world.try_kubectl(&["get", "ns"]).is_some()
        });
        world
    }

    /// Edits the work tree with `change`, commits and pushes; returns the commit.
    fn commit(&self, message: &str, change: impl FnOnce(&Path)) -> String {
        change(&self.work);
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", message]);
        git(&self.work, &["push", "-q", "origin", "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    fn set_image(&self, tag: &str) -> String {
        self.commit(&format!("web {tag}"), |work| {
            let text = DEPLOYMENT.replace("nginx:1.27.0", &format!("nginx:{tag}"));
            std::fs::write(work.join("app/deployment.yaml"), text).unwrap();
        })
    }

    fn try_kubectl(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn image(&self, namespace: &str) -> Option<String> {
        self.try_kubectl(&[
            "-n",
            namespace,
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
    }

    /// An Application file for `app/` of the origin, into `apps/`.
    fn application(&self, name: &str, namespace: &str, sync_policy: &str) -> PathBuf {
        let apps = self.dir.path().join("apps");
        std::fs::create_dir_all(&apps).unwrap();
        let file = apps.join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            application_yaml(name, &self.origin, namespace, sync_policy),
        )
        .unwrap();
        apps
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.sandbox.kill();
        let _ = self.sandbox.wait();
    }
}

fn application_yaml(name: &str, origin: &Path, namespace: &str, sync_policy: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {}
    targetRevision: main
    path: app
  destination:
    server: https://kubernetes.default.svc
    namespace: {namespace}
  syncPolicy:
{sync_policy}
    syncOptions: [CreateNamespace=true]
",
        origin.display()
    )
}

const AUTOMATED_HEAL: &str = "    automated: {prune: true, selfHeal: true}";
const AUTOMATED: &str = "    automated: {prune: true}";
const MANUAL: &str = "    retry: {limit: 2}";

/// Polls `check` every 100 ms until it holds, failing after `seconds`.
fn wait_for(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running `shipway serve`.
struct Serve {
    child: Child,
    address: String,
    token: String,
    log: PathBuf,
}

const SECRET: &str = "webhook-secret-for-tests";

impl Serve {
    fn start(world: &World, apps: &Path, state: &Path, extra: &[&str]) -> Serve {
        let log = state.with_extension("log");
        let secret = world.dir.path().join("webhook-secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .arg("serve")
            .arg("--kubeconfig")
            .arg(&world.kubeconfig)
            .arg("--apps")
            .arg(apps)
            .arg("--state")
            .arg(state)
            .args(["--listen", "127.0.0.1:0", "--webhook-secret-file"])
            .arg(&secret)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut address = String::new();
        wait_for(30, "serve to listen", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("metrics on http://").nth(1) {
                address = rest.split_whitespace().next().unwrap().to_string();
            }
            !address.is_empty()
        });
        let token = std::fs::read_to_string(state.join("admin-token"))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        Serve {
            child,
            address,
            token,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An API call with `curl`: (status, JSON body).
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut command = Command::new("curl");
        command
            .args(["-s", "-m", "60", "-X", method, "-w", "\n%{http_code}"])
            .arg(format!("http://{}{path}", self.address));
        if let Some(token) = token {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        if let Some(body) = body {
            command.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ]);
        }
        let output = command.output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    fn app(&self, name: &str) -> Value {
        self.call(
            "GET",
            &format!("/api/v1/apps/{name}"),
            Some(&self.token),
            None,
        )
        .1
    }

    fn status_of(&self, name: &str) -> (String, String) {
        let app = self.app(name);
        (
            app["sync"]["status"].as_str().unwrap_or("").to_string(),
            app["health"]["status"].as_str().unwrap_or("").to_string(),
        )
    }

    /// A GitHub push delivery for the origin's `main`, signed with `secret` (or not).
    fn push_webhook(&self, origin: &Path, secret: Option<&str>) -> u16 {
        let body = format!(
            r#"{{"ref":"refs/heads/main","repository":{{"clone_url":"{}"}}}}"#,
            origin.display()
        );
        let mut command = Command::new("curl");
        command
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", "X-GitHub-Event: push", "--data-binary", &body])
            .arg(format!("http://{}/api/webhook", self.address));
        if let Some(secret) = secret {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
            let tag = ring::hmac::sign(&key, body.as_bytes());
            let hex = tag.as_ref().iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            command.args(["-H", &format!("X-Hub-Signature-256: sha256={hex}")]);
        }
        let output = command.output().unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- shipway serve log ---\n{}", self.log());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_signed_webhook_applies_a_new_commit_and_an_unsigned_one_does_nothing() {
    let world = World::new();
    let apps = world.application("web", "shop", AUTOMATED_HEAL);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    wait_for(60, "the first sync", || {
        serve.status_of("web") == ("Synced".into(), "Healthy".into())
    });
    assert_eq!(world.image("shop").as_deref(), Some("nginx:1.27.0"));

    let commit = world.set_image("1.27.1");
    assert_eq!(serve.push_webhook(&world.origin, None), 401);
    assert_eq!(serve.push_webhook(&world.origin, Some("wrong-secret")), 401);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        world.image("shop").as_deref(),
        Some("nginx:1.27.0"),
        "an unsigned webhook must change nothing"
    );

    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    wait_for(30, "the webhook's commit to be applied", || {
        world.image("shop").as_deref() == Some("nginx:1.27.1")
    });
    wait_for(30, "the app to report the commit's sync", || {
        let app = serve.app("web");
        app["operation"]["revision"].as_str() == Some(commit.as_str())
            && app["operation"]["phase"] == "Succeeded"
    });
    let history = serve
        .call("GET", "/api/v1/apps/web/history", Some(&serve.token), None)
        .1;
    let triggers: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["webhook", "startup"], "{history}");
    let metrics = Command::new("curl")
        .args(["-s", &format!("http://{}/metrics", serve.address)])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        metrics.contains(
            r#"shipway_webhook_deliveries_total{provider="github",result="unauthorized"} 2"#
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"shipway_webhook_deliveries_total{provider="github",result="accepted"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"shipway_app_sync_total{name="web",phase="Succeeded"} 2"#),
        "{metrics}"
    );
}

#[test]
fn a_poll_applies_a_new_commit_and_a_file_removed_in_git_is_pruned() {
    let world = World::new();
    world.commit("a config map", |work| {
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml, config.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            work.join("app/config.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
        )
        .unwrap();
    });
    let apps = world.application("web", "shop", AUTOMATED);
    // Pruning 1 of 2 objects is over the default 20 % limit.
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "2s", "--max-prune", "50"],
    );
    wait_for(60, "the first sync", || {
        serve.status_of("web").0 == "Synced"
    });
    assert!(
        world
            .try_kubectl(&["-n", "shop", "get", "configmap", "settings"])
            .is_some()
    );

    world.commit("drop the config map, new image", |work| {
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml]\n",
        )
        .unwrap();
        std::fs::remove_file(work.join("app/config.yaml")).unwrap();
        let text = DEPLOYMENT.replace("nginx:1.27.0", "nginx:1.28.0");
        std::fs::write(work.join("app/deployment.yaml"), text).unwrap();
    });
    wait_for(30, "the poll to apply the commit", || {
        world.image("shop").as_deref() == Some("nginx:1.28.0")
    });
    wait_for(30, "the removed file's object to be pruned", || {
        world
            .try_kubectl(&["-n", "shop", "get", "configmap", "settings"])
            .is_none()
    });
    let history = serve
        .call("GET", "/api/v1/apps/web/history", Some(&serve.token), None)
        .1;
    assert_eq!(history["history"][0]["trigger"], "poll", "{history}");
    assert_eq!(history["history"][0]["pruned"], 1, "{history}");
}

#[test]
fn drift_is_healed_with_self_heal_and_only_reported_without_it() {
    let world = World::new();
    world.application("heal", "heal", AUTOMATED_HEAL);
    let apps = world.application("report", "report", AUTOMATED);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    wait_for(60, "both apps to sync", || {
        serve.status_of("heal").0 == "Synced" && serve.status_of("report").0 == "Synced"
    });
    for namespace in ["heal", "report"] {
        world.kubectl(&[
            "-n",
            namespace,
            "scale",
            "deployment",
            "web",
            "--replicas=3",
        ]);
    }
    world.kubectl(&[
        "-n",
        "heal",
        "set",
        "image",
        "deployment/web",
        "web=nginx:edited",
    ]);
    let replicas = |namespace: &str| {
        world
            .try_kubectl(&[
                "-n",
                namespace,
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.spec.replicas}",
            ])
            .unwrap_or_default()
    };
    wait_for(
        30,
        "self-heal to undo kubectl scale and kubectl set image",
        || replicas("heal") == "1" && world.image("heal").as_deref() == Some("nginx:1.27.0"),
    );
    wait_for(30, "the app without selfHeal to show OutOfSync", || {
        serve.status_of("report").0 == "OutOfSync"
    });
    assert_eq!(replicas("report"), "3", "without selfHeal the drift stays");
    let history = serve
        .call("GET", "/api/v1/apps/heal/history", Some(&serve.token), None)
        .1;
    let triggers: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["trigger"].as_str().unwrap())
        .collect();
    // The first heal is immediate (a watch event); a second drift within the backoff
    // window is healed by the deferred `heal` request.
    assert!(triggers.contains(&"watch"), "{history}");
}

#[test]
fn a_manual_app_waits_for_an_api_sync_and_writes_need_a_deployer_token() {
    let world = World::new();
    let tokens = world.dir.path().join("tokens");
    std::fs::write(
        &tokens,
        "viewer-token-0123456789 viewer ci\ndeployer-token-0123456789 deployer alice\n",
    )
    .unwrap();
    let apps = world.application("web", "shop", MANUAL);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h", "--token-file", tokens.to_str().unwrap()],
    );
    let viewer = Some("viewer-token-0123456789");
    let deployer = Some("deployer-token-0123456789");
    wait_for(60, "the app to be compared", || {
        serve.call("GET", "/api/v1/apps/web", viewer, None).1["sync"]["status"] == "OutOfSync"
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        world.image("shop").is_none(),
        "a manual app is not synced by itself"
    );

    assert_eq!(
        serve.call("POST", "/api/v1/apps/web/sync", None, None).0,
        401
    );
    assert_eq!(
        serve
            .call(
                "POST",
                "/api/v1/apps/web/sync",
                Some("not-a-token-at-all"),
                None
            )
            .0,
        401
    );
    assert_eq!(
        serve.call("POST", "/api/v1/apps/web/sync", viewer, None).0,
        403
    );
    assert_eq!(serve.call("GET", "/api/v1/apps", None, None).0, 401);
    let (code, list) = serve.call("GET", "/api/v1/apps?limit=1", viewer, None);
    assert_eq!(code, 200);
    assert_eq!(list["apps"][0]["name"], "web");
    assert_eq!(list["apps"][0]["source"]["path"], "app");

    let (code, diff) = serve.call("GET", "/api/v1/apps/web/diff", viewer, None);
    assert_eq!(code, 200, "{diff}");
    assert_eq!(diff["changes"][0]["action"], "create", "{diff}");

    assert_eq!(
        serve
            .call("POST", "/api/v1/apps/web/sync", deployer, None)
            .0,
        202
    );
    wait_for(60, "the API sync", || {
        serve.call("GET", "/api/v1/apps/web", viewer, None).1["sync"]["status"] == "Synced"
    });
    let history = serve
        .call("GET", "/api/v1/apps/web/history", viewer, None)
        .1;
    assert_eq!(history["history"][0]["who"], "alice", "{history}");
    assert_eq!(history["history"][0]["trigger"], "api", "{history}");
}

#[test]
fn a_rollback_through_the_api_is_a_git_commit_the_cluster_follows() {
    let world = World::new();
    let apps = world.application("web", "shop", AUTOMATED);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    wait_for(60, "the first sync", || {
        serve.status_of("web").0 == "Synced"
    });
    let bad = world.set_image("9.9.9");
    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    wait_for(30, "the bad release", || {
        world.image("shop").as_deref() == Some("nginx:9.9.9")
    });

    assert_eq!(
        serve
            .call(
                "POST",
                "/api/v1/apps/web/rollback",
                Some(&serve.token),
                Some("{}")
            )
            .0,
        400
    );
    let (code, done) = serve.call(
        "POST",
        "/api/v1/apps/web/rollback",
        Some(&serve.token),
        Some(r#"{"steps": 1}"#),
    );
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["abandoned"], bad.as_str());
    wait_for(60, "the cluster to follow the rollback", || {
        world.image("shop").as_deref() == Some("nginx:1.27.0")
    });
    let head = git(&world.origin, &["log", "-1", "--format=%B", "main"]);
    assert!(head.contains("Shipway-Kind: rollback"), "{head}");
    assert!(
        head.contains(&bad),
        "the rollback names the abandoned commit: {head}"
    );
    assert_eq!(
        done["commit"].as_str(),
        Some(git(&world.origin, &["rev-parse", "main"]).as_str())
    );
}

#[test]
fn kill_9_mid_sync_then_restart_converges_without_running_a_completed_hook_again() {
    let world = World::new();
    world.commit("a PreSync hook and a slow PostSync hook", |work| {
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml, migrate.yaml, smoke.yaml]\n",
        )
        .unwrap();
        let job = |name: &str, phase: &str, seconds: u32| {
            format!(
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {phase}\nspec:\n  template:\n    metadata:\n      annotations:\n        sim.shipway.dev/run-seconds: \"{seconds}\"\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: {name}\n        image: busybox:1.36\n        resources:\n          requests: {{cpu: 10m, memory: 16Mi}}\n          limits: {{memory: 32Mi}}\n"
            )
        };
        std::fs::write(work.join("app/migrate.yaml"), job("migrate", "PreSync", 1)).unwrap();
        std::fs::write(work.join("app/smoke.yaml"), job("smoke", "PostSync", 5)).unwrap();
    });
    let apps = world.application("web", "shop", AUTOMATED);
    let state = world.dir.path().join("state");
    let serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    wait_for(60, "the PreSync hook to complete", || {
        serve
            .log()
            .contains("PreSync hook Job shop/migrate succeeded")
    });
    let log = serve.log();
    serve.kill9();
    assert!(
        !log.contains("sync finished"),
        "the kill was meant to land mid-sync:\n{log}"
    );

    let serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    wait_for(90, "the restarted controller to converge", || {
        serve.status_of("web") == ("Synced".into(), "Healthy".into())
    });
    let history = serve
        .call("GET", "/api/v1/apps/web/history", Some(&serve.token), None)
        .1;
    let phases: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["phase"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"Interrupted") && phases[0] == "Succeeded",
        "{history}"
    );
    assert!(
        !serve.log().contains("started PreSync hook"),
        "the completed PreSync hook ran again:\n{}",
        serve.log()
    );
    let jobs = world.kubectl(&["-n", "shop", "get", "jobs", "-o", "name"]);
    assert_eq!(jobs.matches("migrate").count(), 1, "{jobs}");
}

#[test]
fn an_application_applied_with_kubectl_is_picked_up_and_shows_its_status_columns() {
    let world = World::new();
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds/application.yaml");
    world.kubectl(&["apply", "-f", crd.to_str().unwrap()]);
    world.kubectl(&["create", "namespace", "argocd"]);
    let empty = world.dir.path().join("no-apps");
    std::fs::create_dir_all(&empty).unwrap();
    let serve = Serve::start(
        &world,
        &empty,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    let file = world.dir.path().join("app.yaml");
    std::fs::write(
        &file,
        application_yaml("shop-web", &world.origin, "shop", AUTOMATED),
    )
    .unwrap();
    world.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    wait_for(60, "the Application's status columns", || {
        let table = world
            .try_kubectl(&["-n", "argocd", "get", "applications"])
            .unwrap_or_default();
        table.contains("SYNC STATUS") && table.contains("Synced") && table.contains("Healthy")
    });
    assert_eq!(world.image("shop").as_deref(), Some("nginx:1.27.0"));
    let status = world.kubectl(&[
        "-n",
        "argocd",
        "get",
        "application",
        "shop-web",
        "-o",
        "json",
    ]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        status["status"]["operationState"]["phase"], "Succeeded",
        "{status}"
    );
    assert_eq!(
        status["status"]["history"][0]["revision"]
            .as_str()
            .map(str::len),
        Some(40)
    );
    let events = world.kubectl(&["-n", "argocd", "get", "events", "-o", "json"]);
    assert!(events.contains("OperationCompleted"), "{events}");
    drop(serve);
}

#[test]
fn a_flux_kustomization_with_post_build_substitution_syncs() {
    let world = World::new();
    world.commit("variables", |work| {
        let text = DEPLOYMENT
            .replace(
                "name: web\nspec:\n  replicas: 1",
                "name: web\nspec:\n  replicas: ${replicas:=1}",
            )
            .replace("nginx:1.27.0", "nginx:${tag}");
        std::fs::write(work.join("app/deployment.yaml"), text).unwrap();
    });
    let apps = world.dir.path().join("flux");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("web.yaml"),
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: shop, namespace: flux-system}}
spec:
  url: {}
  interval: 1m
  ref: {{branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: web, namespace: flux-system}}
spec:
  interval: 1h
  path: ./app
  prune: true
  targetNamespace: default
  sourceRef: {{kind: GitRepository, name: shop}}
  postBuild:
    substitute: {{tag: \"1.26.3\", replicas: \"2\"}}
",
            world.origin.display()
        ),
    )
    .unwrap();
    let serve = Serve::start(&world, &apps, &world.dir.path().join("state"), &[]);
    wait_for(60, "the Flux app to sync", || {
        world.image("default").as_deref() == Some("nginx:1.26.3")
    });
    let replicas = world.kubectl(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2");
    assert_eq!(serve.app("web")["origin"], "flux");
}

/// Minimal Flux CRDs (served, with a status subresource), as a cluster with Flux has them.
fn flux_crds() -> String {
    let mut text = String::new();
    for (group, kind, plural) in [
        (
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
        ),
        (
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "kustomizations",
        ),
    ] {
        let _ = write!(
            text,
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, listKind: {kind}List}}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
---
",
            singular = kind.to_lowercase()
        );
    }
    text
}

#[test]
fn a_flux_kustomization_in_the_cluster_gets_ready_status_and_events() {
    let world = World::new();
    let crds = world.dir.path().join("flux-crds.yaml");
    std::fs::write(&crds, flux_crds()).unwrap();
    world.kubectl(&["apply", "-f", crds.to_str().unwrap()]);
    world.kubectl(&["create", "namespace", "flux-system"]);
    let empty = world.dir.path().join("no-apps");
    std::fs::create_dir_all(&empty).unwrap();
    let serve = Serve::start(
        &world,
        &empty,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    let objects = world.dir.path().join("flux.yaml");
    std::fs::write(
        &objects,
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: shop, namespace: flux-system}}
spec: {{url: {}, interval: 1m, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: web, namespace: flux-system}}
spec:
  interval: 1h
  path: ./app
  prune: true
  targetNamespace: shop
  sourceRef: {{kind: GitRepository, name: shop}}
",
            world.origin.display()
        ),
    )
    .unwrap();
    world.kubectl(&["create", "namespace", "shop"]);
    world.kubectl(&["apply", "-f", objects.to_str().unwrap()]);
    let head = git(&world.origin, &["rev-parse", "main"]);
    wait_for(60, "the Kustomization to be Ready", || {
        let text = world
            .try_kubectl(&[
                "-n",
                "flux-system",
                "get",
                "kustomization",
                "web",
                "-o",
                "json",
            ])
            .unwrap_or_default();
        let object: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        object["status"]["conditions"][0]["status"] == "True"
            && object["status"]["lastAppliedRevision"]
                .as_str()
                .is_some_and(|r| r.contains(&head))
    });
    assert_eq!(world.image("shop").as_deref(), Some("nginx:1.27.0"));
    assert_eq!(serve.app("web")["origin"], "flux");
    let events = world.kubectl(&["-n", "flux-system", "get", "events", "-o", "json"]);
    let events: Value = serde_json::from_str(&events).unwrap();
    let on_web: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["involvedObject"]["kind"] == "Kustomization" && e["involvedObject"]["name"] == "web"
        })
        .collect();
    assert!(
        on_web.iter().any(|e| e["reason"] == "OperationCompleted"),
        "{events}"
    );
}

#[test]
fn an_app_of_apps_runs_the_applications_its_path_holds() {
    let world = World::new();
    let child = application_yaml("child", &world.origin, "kids", AUTOMATED);
    world.commit("a child Application", |work| {
        std::fs::create_dir_all(work.join("children")).unwrap();
        std::fs::write(work.join("children/child.yaml"), &child).unwrap();
    });
    let apps = world.dir.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let parent = application_yaml("parent", &world.origin, "default", AUTOMATED)
        .replace("path: app", "path: children");
    std::fs::write(apps.join("parent.yaml"), parent).unwrap();
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    wait_for(60, "the child app to sync", || {
        world.image("kids").as_deref() == Some("nginx:1.27.0")
    });
    assert_eq!(serve.app("child")["origin"], "child");
    wait_for(30, "the parent to be in sync", || {
        serve.status_of("parent").0 == "Synced"
    });
}

#[test]
fn flux_depends_on_holds_an_app_until_its_dependency_is_ready() {
    let world = World::new();
    let apps = world.dir.path().join("flux");
    std::fs::create_dir_all(&apps).unwrap();
    let kustomization = |name: &str, namespace: &str, depends: &str| {
        format!(
            "---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: 1h
  retryInterval: 1s
  path: ./app
  prune: true
  targetNamespace: {namespace}
  sourceRef: {{kind: GitRepository, name: shop}}
  dependsOn: [{depends}]
"
        )
    };
    std::fs::write(
        apps.join("apps.yaml"),
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: shop, namespace: flux-system}}
spec: {{url: {}, interval: 1m, ref: {{branch: main}}}}
{}{}{}",
            world.origin.display(),
            kustomization("base", "base", ""),
            kustomization("after", "after", "{name: base}"),
            kustomization("orphan", "orphan", "{name: missing}"),
        ),
    )
    .unwrap();
    // Flux does not create a targetNamespace: it must exist.
    for namespace in ["base", "after", "orphan"] {
        world.kubectl(&["create", "namespace", namespace]);
    }
    let serve = Serve::start(&world, &apps, &world.dir.path().join("state"), &[]);
    wait_for(60, "the dependent app to sync after its dependency", || {
        world.image("after").as_deref() == Some("nginx:1.27.0")
    });
    assert_eq!(world.image("base").as_deref(), Some("nginx:1.27.0"));
    let orphan = serve.app("orphan");
    assert!(
        orphan["condition"]
            .as_str()
            .is_some_and(|c| c.contains("dependency `flux-system/missing` is not ready")),
        "{orphan}"
    );
    assert!(
        world.image("orphan").is_none(),
        "an app whose dependency is missing is not applied"
    );
}

#[test]
fn sigterm_abandons_a_long_sync_cleanly_and_the_next_start_finishes_it() {
    let world = World::new();
    world.commit("a slow PostSync hook", |work| {
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml, smoke.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            work.join("app/smoke.yaml"),
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: smoke\n  annotations:\n    argocd.argoproj.io/hook: PostSync\nspec:\n  template:\n    metadata:\n      annotations:\n        sim.shipway.dev/run-seconds: \"60\"\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: smoke\n        image: busybox:1.36\n        resources:\n          requests: {cpu: 10m, memory: 16Mi}\n          limits: {memory: 32Mi}\n",
        )
        .unwrap();
    });
    let apps = world.application("web", "shop", AUTOMATED);
    let state = world.dir.path().join("state");
    let mut serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    wait_for(60, "the PostSync hook to start", || {
        serve.log().contains("started PostSync hook")
    });
    let sent = Instant::now();
    Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    // The issue's bound is 10 s; the margin is for a loaded CI machine.
    wait_for(20, "serve to exit after SIGTERM", || {
        matches!(serve.child.try_wait(), Ok(Some(_)))
    });
    eprintln!("serve exited {:?} after SIGTERM", sent.elapsed());
    assert!(
        serve.log().contains("abandoning syncs still running"),
        "{}",
        serve.log()
    );
    drop(serve);

    let serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    wait_for(30, "the restart to resume the interrupted revision", || {
        serve.log().contains("started PostSync hook")
    });
    let history = serve
        .call("GET", "/api/v1/apps/web/history", Some(&serve.token), None)
        .1;
    assert_eq!(history["history"][1]["phase"], "Interrupted", "{history}");
}

/// `shipway sync|status|rollback --server URL`: the real CLI against a running serve.
fn cli(args: &[&str], token: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipway"));
    command.args(args).env_remove("SHIPWAY_TOKEN");
    if let Some(token) = token {
        command.env("SHIPWAY_TOKEN", token);
    }
    // No generated admin token of a default state directory is found by accident.
    command.env("XDG_DATA_HOME", "/nonexistent-shipway-test");
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_cli_syncs_reads_status_and_rolls_back_through_a_running_serve() {
    let world = World::new();
    let tokens = world.dir.path().join("tokens");
    std::fs::write(
        &tokens,
        "viewer-token-0123456789 viewer ci\ndeployer-token-0123456789 deployer alice\n",
    )
    .unwrap();
    let viewer_file = world.dir.path().join("viewer-token");
    std::fs::write(&viewer_file, "viewer-token-0123456789\n").unwrap();
    let apps = world.application("web", "shop", MANUAL);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h", "--token-file", tokens.to_str().unwrap()],
    );
    let url = format!("http://{}", serve.address);
    let deployer = Some("deployer-token-0123456789");
    let viewer = viewer_file.to_str().unwrap();

    wait_for(60, "the app to be compared", || {
        let (code, out, _) = cli(
            &["status", "--server", &url, "--token-file", viewer, "web"],
            None,
        );
        code == 3 && out.contains("OutOfSync")
    });
    let (code, out, _) = cli(&["status", "--server", &url, "web", "-o", "json"], deployer);
    assert_eq!(code, 3, "{out}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["sync"], "OutOfSync", "{status}");
    assert_eq!(status["objects"][0]["kind"], "Deployment", "{status}");

    let (code, _, err) = cli(
        &["sync", "--server", &url, "--token-file", viewer, "web"],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 403"), "a viewer may not sync: {err}");
    let (code, _, err) = cli(&["sync", "--server", &url, "web"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("needs an API token"), "{err}");
    assert!(world.image("shop").is_none(), "nothing was synced yet");

    let (code, _, err) = cli(&["sync", "--server", &url, "web", "nope"], deployer);
    assert_eq!(code, 1, "one app is unknown: {err}");
    assert!(err.contains("synced app web at revision"), "{err}");
    assert!(err.contains("no app `nope`"), "{err}");
    assert_eq!(world.image("shop").as_deref(), Some("nginx:1.27.0"));
    wait_for(60, "status to exit 0", || {
        cli(&["status", "--server", &url, "web"], deployer).0 == 0
    });

    let bad = world.set_image("9.9.9");
    let (code, _, err) = cli(&["sync", "--server", &url, "web"], deployer);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&bad[..12]), "the new commit is synced: {err}");
    assert_eq!(world.image("shop").as_deref(), Some("nginx:9.9.9"));

    let (code, out, err) = cli(
        &["rollback", "--server", &url, "web", "--steps", "1"],
        deployer,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("abandoned {}", &bad[..12])), "{out}");
    assert_eq!(world.image("shop").as_deref(), Some("nginx:1.27.0"));
    let head = git(&world.origin, &["log", "-1", "--format=%B", "main"]);
    assert!(head.contains("Shipway-Kind: rollback"), "{head}");

    let (code, _, err) = cli(
        &["status", "--server", "http://127.0.0.1:9", "web"],
        deployer,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot reach shipway serve at http://127.0.0.1:9"),
        "{err}"
    );
}

const ROLLOUT: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27.0
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {memory: 64Mi}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {duration: 1}}, {setWeight: 100}, {pause: {}}]
";

#[test]
fn serve_drives_a_rollout_through_its_steps_and_a_promote_finishes_it() {
    let world = World::new();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cluster/argo-rollouts-crds.yaml");
    world.kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    world.commit("a Rollout instead of the Deployment", |work| {
        std::fs::remove_file(work.join("app/deployment.yaml")).unwrap();
        std::fs::write(work.join("app/rollout.yaml"), ROLLOUT).unwrap();
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [rollout.yaml]\n",
        )
        .unwrap();
    });
    let apps = world.application("web", "shop", AUTOMATED);
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h"],
    );
    let phase = || {
        world
            .try_kubectl(&[
                "-n",
                "shop",
                "get",
                "rollout",
                "web",
                "-o",
                "jsonpath={.status.phase} {.status.currentStepIndex}",
            ])
            .unwrap_or_default()
    };
    wait_for(60, "the first deploy", || phase().starts_with("Healthy"));

    world.commit("web 1.28", |work| {
        std::fs::write(
            work.join("app/rollout.yaml"),
            ROLLOUT.replace("nginx:1.27.0", "nginx:1.28.0"),
        )
        .unwrap();
    });
    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    // Through the weight and the timed pause on its own, to the pause that needs a promote.
    wait_for(60, "the pause for promote", || phase() == "Paused 3");
    wait_for(30, "the app to show the pause", || {
        serve.status_of("web").1 == "Suspended"
    });

    // Through the API, as `shipway rollout … --server` calls it.
    let url = format!("http://{}", serve.address);
    let (code, out, err) = cli(
        &["rollout", "status", "--server", &url, "web", "-o", "json"],
        Some(&serve.token),
    );
    assert_eq!(code, 3, "{out}{err}");
    let described: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(described["rollouts"][0]["phase"], "Paused", "{described}");
    let (code, out, err) = cli(
        &["rollout", "promote", "--server", &url, "web", "web"],
        Some(&serve.token),
    );
    assert_eq!(code, 0, "{out}{err}");
    wait_for(60, "the promotion", || phase().starts_with("Healthy"));
    let rollout: Value = serde_json::from_str(
        &world.kubectl(&["-n", "shop", "get", "rollout", "web", "-o", "json"]),
    )
    .unwrap();
    assert_eq!(
        rollout["status"]["stableRS"], rollout["status"]["currentPodHash"],
        "{rollout}"
    );
    wait_for(30, "the app to be healthy", || {
        serve.status_of("web").1 == "Healthy"
    });
}

#[test]
fn an_aborted_rollout_is_rolled_back_in_git_and_the_bad_revision_is_not_applied_again() {
    let world = World::new();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cluster/argo-rollouts-crds.yaml");
    world.kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    let paused = ROLLOUT.replace(
        "[{setWeight: 50}, {pause: {duration: 1}}, {setWeight: 100}, {pause: {}}]",
        "[{setWeight: 50}, {pause: {}}]",
    );
    world.commit("a Rollout", |work| {
        std::fs::remove_file(work.join("app/deployment.yaml")).unwrap();
        std::fs::write(work.join("app/rollout.yaml"), &paused).unwrap();
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [rollout.yaml]\n",
        )
        .unwrap();
    });
    let hook = receiver::Receiver::start(200);
    let apps = world.dir.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let application = application_yaml("web", &world.origin, "shop", AUTOMATED).replace(
        "  namespace: argocd\n",
        "  namespace: argocd\n  annotations:\n    notifications.argoproj.io/subscribe.on-rollout-aborted.hook: \"\"\n    notifications.argoproj.io/subscribe.on-rollout-step.hook: \"\"\n",
    );
    std::fs::write(apps.join("web.yaml"), application).unwrap();
    let config = world.dir.path().join("notify.yaml");
    std::fs::write(
        &config,
        format!("service.webhook.hook: |\n  url: {}\n", hook.url("/hook")),
    )
    .unwrap();
    let serve = Serve::start(
        &world,
        &apps,
        &world.dir.path().join("state"),
        &["--poll", "1h", "--notify-config", config.to_str().unwrap()],
    );
    let status = || {
        world
            .try_kubectl(&["-n", "shop", "get", "rollout", "web", "-o", "json"])
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null)
    };
    wait_for(60, "the first deploy", || {
        status()["status"]["phase"] == "Healthy"
    });
    let good_hash = status()["status"]["stableRS"].as_str().unwrap().to_string();

    let bad = world.commit("web 9.9.9", |work| {
        std::fs::write(
            work.join("app/rollout.yaml"),
            paused.replace("nginx:1.27.0", "nginx:9.9.9"),
        )
        .unwrap();
    });
    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    wait_for(60, "the canary to pause", || {
        status()["status"]["phase"] == "Paused"
    });
    wait_for(30, "the step notification", || {
        hook.requests()
            .iter()
            .any(|r| r.body.to_string().contains("rollout-step"))
    });
    let url = format!("http://{}", serve.address);
    let (code, out, err) = cli(
        &["rollout", "abort", "--server", &url, "web", "web"],
        Some(&serve.token),
    );
    assert_eq!(code, 0, "{out}{err}");

    // The abort is written back to git, and the cluster follows the restored revision.
    wait_for(60, "the rollback commit", || {
        git(&world.origin, &["log", "-1", "--format=%B", "main"]).contains("Shipway-Kind: rollback")
    });
    let head = git(&world.origin, &["log", "-1", "--format=%B", "main"]);
    assert!(
        head.contains(&bad),
        "the rollback names the abandoned commit: {head}"
    );
    wait_for(60, "the Rollout back on the good version", || {
        let s = status();
        s["status"]["phase"] == "Healthy"
            && s["status"]["stableRS"] == good_hash.as_str()
            && s["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27.0"
    });
    // A webhook for the bad commit again does not re-apply it.
    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27.0"
    );
    assert!(
        serve
            .log()
            .contains("Rollout aborted: writing a rollback commit"),
        "{}",
        serve.log()
    );
    // One on-rollout-aborted notification, and a step notification on the way.
    wait_for(30, "the abort notification", || {
        hook.requests()
            .iter()
            .any(|r| r.body.to_string().contains("rollout-aborted"))
    });
    std::thread::sleep(Duration::from_secs(2));
    let requests = hook.requests();
    let aborted = requests
        .iter()
        .filter(|r| r.body.to_string().contains("rollout-aborted"))
        .count();
    assert_eq!(
        aborted,
        1,
        "{:#?}",
        requests.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(
        requests
            .iter()
            .any(|r| r.body.to_string().contains("rollout-step")),
        "{:#?}",
        requests.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
}

#[test]
fn a_failed_sync_notifies_each_subscribed_recipient_once_even_across_a_restart() {
    let world = World::new();
    let teams = receiver::Receiver::start(202);
    let hook = receiver::Receiver::start(200);
    let apps = world.dir.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let application = application_yaml("web", &world.origin, "shop", AUTOMATED).replace(
        "  namespace: argocd\n",
        "  namespace: argocd\n  annotations:\n    notifications.argoproj.io/subscribe.on-sync-failed.teams: ops;dev\n    notifications.argoproj.io/subscribe.on-sync-running.hook: \"\"\n    notifications.argoproj.io/subscribe.on-health-degraded.hook: \"\"\n    notifications.argoproj.io/subscribe.on-sync-status-unknown.hook: \"\"\n",
    );
    std::fs::write(apps.join("web.yaml"), application).unwrap();
    let config = world.dir.path().join("notify.yaml");
    std::fs::write(
        &config,
        format!(
            "service.teams: |\n  recipientUrls:\n    ops: {}\n    dev: {}\nservice.webhook.hook: |\n  url: {}\n",
            teams.url("/ops"),
            teams.url("/dev"),
            hook.url("/hook")
        ),
    )
    .unwrap();
    let state = world.dir.path().join("state");
    let extra = [
        "--poll",
        "1s",
        "--sync-timeout",
        "4s",
        "--notify-config",
        config.to_str().unwrap(),
    ];
    let serve = Serve::start(&world, &apps, &state, &extra);
    wait_for(60, "the first sync", || {
        serve.status_of("web") == ("Synced".into(), "Healthy".into())
    });
    // An image that never pulls, and a short progress deadline: the Deployment turns
    // Degraded (ProgressDeadlineExceeded) soon after the sync gave up waiting.
    let broken = world.commit("web does-not-exist", |work| {
        let text = DEPLOYMENT
            .replace("nginx:1.27.0", "nginx:does-not-exist")
            .replace(
                "  replicas: 1\n",
                "  replicas: 1\n  progressDeadlineSeconds: 2\n",
            );
        std::fs::write(work.join("app/deployment.yaml"), text).unwrap();
    });
    wait_for(60, "the failed sync's notifications", || {
        teams.requests().len() >= 2 && hook.requests().len() >= 3
    });
    // Polls keep comparing the app meanwhile: give a duplicate time to show up.
    std::thread::sleep(Duration::from_secs(3));
    let mut paths: Vec<String> = teams.requests().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/dev", "/ops"], "{}", serve.log());
    let body = &teams.requests()[0].body["attachments"][0]["content"];
    assert_eq!(body["body"][0]["text"], "Sync of web failed");
    assert!(
        body["body"][1]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Revision: {broken}")),
        "{body}"
    );
    let mut hooked: Vec<(String, String)> = hook
        .requests()
        .iter()
        .map(|r| {
            (
                r.body["trigger"].as_str().unwrap_or_default().to_string(),
                r.body["revision"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    hooked.sort();
    let first = hooked
        .iter()
        .find(|(_, revision)| revision != &broken)
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    let mut expected = vec![
        ("on-health-degraded".to_string(), broken.clone()),
        ("on-sync-running".to_string(), broken.clone()),
        ("on-sync-running".to_string(), first),
    ];
    expected.sort();
    assert_eq!(hooked, expected, "{}", serve.log());

    // The restarted controller finds the app Degraded again (its state starts Unknown) and
    // notifies again: the queue in the history database knows it was sent.
    drop(serve);
    let serve = Serve::start(&world, &apps, &state, &extra);
    wait_for(
        60,
        "the restarted controller to see the app Degraded",
        || serve.status_of("web").1 == "Degraded",
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(teams.requests().len(), 2, "no duplicate after a restart");
    assert_eq!(
        hook.requests().len(),
        3,
        "no duplicate after a restart: {}",
        serve.log()
    );

    // A commit that does not render: the comparison fails and the sync status turns
    // Unknown, once however many polls fail after it.
    world.commit("a missing file", |work| {
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml, missing.yaml]\n",
        )
        .unwrap();
    });
    wait_for(60, "the failed comparison's notification", || {
        hook.requests().len() >= 4
    });
    std::thread::sleep(Duration::from_secs(3));
    let requests = hook.requests();
    assert_eq!(requests.len(), 4, "{}", serve.log());
    assert_eq!(requests[3].body["trigger"], "on-sync-status-unknown");
    assert_eq!(requests[3].body["event"]["sync"], "Unknown");
    assert!(
        requests[3].body["message"]
            .as_str()
            .unwrap()
            .contains("missing.yaml"),
        "{}",
        requests[3].body
    );
}

/// Issue 15: a Flux Kustomization's SOPS-encrypted Secret is decrypted with the age key of
/// its `spec.decryption.secretRef` Secret, and the value is in no log line, API answer or
/// file of serve's state.
#[test]
fn a_flux_kustomization_decrypts_sops_secrets_with_its_secret_ref_and_never_leaks_them() {
    const CANARY: &str = "canary-serve-4c2f9e";
    let world = World::new();
    let keys = world.dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key_file = keys.join("age.agekey");
    let out = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["secret", "keygen", "-o"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let recipient = String::from_utf8_lossy(&out.stderr)
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    world.commit("an encrypted secret", |work| {
        let plain = keys.join("secret.yaml");
        std::fs::write(
            &plain,
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {CANARY}\n"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(["secret", "encrypt", "--age", &recipient])
            .arg(&plain)
            .current_dir(&keys)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_file(&plain).unwrap();
        std::fs::write(work.join("app/secret.yaml"), out.stdout).unwrap();
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [deployment.yaml, secret.yaml]\n",
        )
        .unwrap();
    });
    world.kubectl(&["create", "namespace", "flux-system"]);
    world.kubectl(&[
        "create",
        "secret",
        "generic",
        "sops-age",
        "-n",
        "flux-system",
        &format!("--from-file=age.agekey={}", key_file.display()),
    ]);
    std::fs::remove_file(&key_file).unwrap();
    let apps = world.dir.path().join("flux");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("web.yaml"),
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: shop, namespace: flux-system}}
spec:
  url: {}
  interval: 1m
  ref: {{branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: web, namespace: flux-system}}
spec:
  interval: 1h
  path: ./app
  prune: true
  targetNamespace: default
  sourceRef: {{kind: GitRepository, name: shop}}
  decryption:
    provider: sops
    secretRef: {{name: sops-age}}
",
            world.origin.display()
        ),
    )
    .unwrap();
    let state = world.dir.path().join("state");
    let serve = Serve::start(&world, &apps, &state, &[]);
    wait_for(60, "the Secret to be applied decrypted", || {
        world
            .try_kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "default",
                "-o",
                "jsonpath={.data.password}",
            ])
            .is_some_and(|b64| {
                let out = Command::new("sh")
                    .args(["-c", &format!("printf %s '{b64}' | base64 -d")])
                    .output()
                    .unwrap();
                out.stdout == CANARY.as_bytes()
            })
    });
    let mut answers = String::new();
    for path in [
        "/api/v1/apps",
        "/api/v1/apps/web",
        "/api/v1/apps/web/resources",
        "/api/v1/apps/web/diff",
        "/api/v1/apps/web/history",
    ] {
        let (code, body) = serve.call("GET", path, Some(&serve.token), None);
        assert_eq!(code, 200, "{path}: {body}");
        answers.push_str(&body.to_string());
    }
    assert!(!answers.contains(CANARY), "{answers}");
    let events = world.kubectl(&["get", "events", "-A", "-o", "json"]);
    assert!(!events.contains(CANARY));
    drop(serve);
    let log = std::fs::read_to_string(state.with_extension("log")).unwrap();
    assert!(log.contains("web"), "{log}");
    assert!(!log.contains(CANARY), "{log}");
    let mut stack = vec![state.clone(), world.dir.path().join("work")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                    "the canary is in {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_rollout_interrupted_by_kill_9_resumes_at_its_step_after_a_restart() {
    let world = World::new();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cluster/argo-rollouts-crds.yaml");
    world.kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    let timed = ROLLOUT.replace(
        "[{setWeight: 50}, {pause: {duration: 1}}, {setWeight: 100}, {pause: {}}]",
        "[{setWeight: 50}, {pause: {duration: 4}}, {setWeight: 100}]",
    );
    world.commit("a Rollout", |work| {
        std::fs::remove_file(work.join("app/deployment.yaml")).unwrap();
        std::fs::write(work.join("app/rollout.yaml"), &timed).unwrap();
        std::fs::write(
            work.join("app/kustomization.yaml"),
            "resources: [rollout.yaml]\n",
        )
        .unwrap();
    });
    let apps = world.application("web", "shop", AUTOMATED);
    let state = world.dir.path().join("state");
    let serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    let status = || {
        world
            .try_kubectl(&["-n", "shop", "get", "rollout", "web", "-o", "json"])
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null)
    };
    wait_for(60, "the first deploy", || {
        status()["status"]["phase"] == "Healthy"
    });
    world.commit("web 1.28", |work| {
        std::fs::write(
            work.join("app/rollout.yaml"),
            timed.replace("nginx:1.27.0", "nginx:1.28.0"),
        )
        .unwrap();
    });
    assert_eq!(serve.push_webhook(&world.origin, Some(SECRET)), 200);
    wait_for(60, "the timed pause", || {
        let s = status();
        s["status"]["phase"] == "Paused" && s["status"]["currentStepIndex"] == 1
    });
    serve.kill9();
    let paused = status();
    // The rollout's state lives in its status: a new process picks it up at that step.
    let _serve = Serve::start(&world, &apps, &state, &["--poll", "1h"]);
    wait_for(60, "the rollout to finish after the restart", || {
        let s = status();
        s["status"]["phase"] == "Healthy"
            && s["status"]["stableRS"] == s["status"]["currentPodHash"]
    });
    assert_eq!(
        status()["status"]["currentPodHash"],
        paused["status"]["currentPodHash"],
        "the same revision finished, not a new one"
    );
}
