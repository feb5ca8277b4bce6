//! Tests of apps: Argo CD `Application` parsing, image overrides, manifest loading, git
//! sources against real local repositories, and kubeconfig selection against served
//! simulators.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use shipway_model::Node;
use tempfile::TempDir;

use super::argo::parse_duration;
use super::kubeconfig::Search;
use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn names(rendered: &Rendered) -> Vec<String> {
    rendered
        .objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o.str_at(&["kind"]).unwrap_or("?"),
                o.str_at(&["metadata", "name"]).unwrap_or("?")
            )
        })
        .collect()
}

fn container_image(object: &Node, list: &str, index: usize) -> String {
    let mut node = object
        .get_path(&["spec", "template", "spec", list])
        .unwrap();
    node = &node.as_seq().unwrap()[index];
    node.str_at(&["image"]).unwrap().to_string()
}

const FULL_APPLICATION: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: v1.2.0
    path: guestbook/overlays/prod
    kustomize:
      images:
        - nginx=registry.example.com/nginx:1.25
        - redis:7.2
        - api@sha256:0123abcd
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
      - PruneLast=true
      - ServerSideApply=true
      - Replace=false
      - ApplyOutOfSyncOnly=true
      - Validate=false
    retry:
      limit: 5
      backoff:
        duration: 10s
        factor: 3
        maxDuration: 2m
  ignoreDifferences:
    - group: apps
      kind: Deployment
      name: web
      jsonPointers:
        - /spec/replicas
    - kind: Secret
      namespace: guestbook
      jqPathExpressions:
        - .data.password
      managedFieldsManagers:
        - vault-injector
status:
  sync:
    status: Synced
";

#[test]
fn parses_a_full_application() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "app.yaml", FULL_APPLICATION);
    let app = App::from_path(&path, None).unwrap();
    assert_eq!(app.name, "guestbook");
    assert_eq!(
        app.source,
        Source::Git {
            url: "https://github.com/argoproj/argocd-example-apps.git".into(),
            revision: "v1.2.0".into(),
            path: "guestbook/overlays/prod".into(),
            recurse: false,
        }
    );
    assert_eq!(app.namespace.as_deref(), Some("guestbook"));
    assert_eq!(
        app.destination.server.as_deref(),
        Some("https://kubernetes.default.svc")
    );
    assert_eq!(app.destination.pos.line, 19);
    let sync = &app.sync;
    assert!(sync.automated && sync.prune && sync.self_heal && !sync.allow_empty);
    assert_eq!(
        sync.options,
        SyncOptions {
            create_namespace: true,
            prune_last: true,
            server_side_apply: true,
            replace: false,
            apply_out_of_sync_only: true,
            ..SyncOptions::default()
        }
    );
    assert_eq!(
        sync.retry,
        Some(RetryPolicy {
            limit: Some(5),
            backoff: Duration::from_secs(10),
            factor: 3,
            max_backoff: Duration::from_secs(120),
        })
    );
    assert_eq!(app.ignore_differences.len(), 2);
    assert_eq!(
        app.ignore_differences[0],
        IgnoreDifference {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: Some("web".into()),
            namespace: None,
            json_pointers: vec!["/spec/replicas".into()],
            jq_path_expressions: vec![],
            managed_fields_managers: vec![],
        }
    );
    let secret = &app.ignore_differences[1];
    assert_eq!(secret.group, "");
    assert_eq!(secret.jq_path_expressions, vec![".data.password"]);
    assert_eq!(secret.managed_fields_managers, vec!["vault-injector"]);
    let object = |api_version: &str, kind: &str, name: &str, namespace: &str| {
        serde_json::json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": namespace}})
    };
    assert!(secret.matches(&object("v1", "Secret", "db", "guestbook")));
    assert!(!secret.matches(&object("v1", "Secret", "db", "other")));
    assert!(app.ignore_differences[0].matches(&object("apps/v1", "Deployment", "web", "x")));
    assert!(!app.ignore_differences[0].matches(&object("apps/v1", "Deployment", "api", "x")));
    assert_eq!(
        app.images,
        vec![
            ImageOverride {
                name: "nginx".into(),
                new_name: Some("registry.example.com/nginx".into()),
                new_tag: Some("1.25".into()),
                digest: None,
            },
            ImageOverride {
                name: "redis".into(),
                new_name: None,
                new_tag: Some("7.2".into()),
                digest: None,
            },
            ImageOverride {
                name: "api".into(),
                new_name: None,
                new_tag: None,
                digest: Some("sha256:0123abcd".into()),
            },
        ]
    );
}

#[test]
fn minimal_application_gets_argo_defaults() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\n\
         spec:\n  source: {repoURL: 'git@github.com:acme/deploy.git', path: web}\n  \
         destination: {name: in-cluster}\n  syncPolicy:\n    automated: {}\n    retry: {}\n",
    );
    let app = App::from_path(&path, Some("prod")).unwrap();
    assert_eq!(app.namespace.as_deref(), Some("prod"));
    assert!(matches!(&app.source, Source::Git { url, revision, .. }
        if url == "git@github.com:acme/deploy.git" && revision == "HEAD"));
    assert!(app.sync.automated && !app.sync.prune && !app.sync.self_heal);
    let retry = app.sync.retry.unwrap();
    assert_eq!(retry, RetryPolicy::default());
    // A `retry` block without `limit` retries without limit (bounded by the timeout).
    assert_eq!(retry.limit, None);
    assert!(retry.allows(1000));
}

/// The error for `text` (an Application written to `app.yaml`), which must name the
/// file and `line`.
fn application_error(text: &str, line: u32) -> String {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "app.yaml", text);
    let error = App::from_path(&path, None).unwrap_err().to_string();
    let want = format!("{}:{line}:", path.display());
    assert!(
        error.starts_with(&want),
        "`{error}` does not start with `{want}`"
    );
    error
}

const HEAD: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n";

#[test]
fn application_errors_name_file_and_line() {
    let source = "spec:\n  destination: {server: 'https://kubernetes.default.svc'}\n  source:\n    repoURL: https://example.com/r.git\n";
    let error = application_error(&format!("{HEAD}{source}    helm: {{}}\n"), 9);
    assert!(
        error.contains("`spec.source.helm` is an Argo CD field shipway does not support"),
        "{error}"
    );
    let error = application_error(&format!("{HEAD}{source}    pathh: x\n"), 9);
    assert!(
        error.contains("unknown field `spec.source.pathh`"),
        "{error}"
    );
    let error = application_error(&format!("{HEAD}{source}    targetRevision: 1.5\n"), 9);
    assert!(error.contains("must be a string, found"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}    kustomize:\n      images: [nginx]\n"),
        10,
    );
    assert!(
        error.contains("image override `nginx` sets nothing"),
        "{error}"
    );
    let error = application_error(
        &format!("{HEAD}{source}    kustomize:\n      namePrefix: x-\n"),
        10,
    );
    assert!(error.contains("kustomize.namePrefix"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    syncOptions: [CreateNamespace]\n"),
        10,
    );
    assert!(error.contains("must be written `Name=value`"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    syncOptions: [PruneLast=yes]\n"),
        10,
    );
    assert!(error.contains("takes true or false"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    syncOptions: [RespectIgnoreDifference=true]\n"),
        10,
    );
    assert!(error.contains("does not support it"), "{error}");
    assert!(
        error.contains("RespectIgnoreDifferences"),
        "the supported ones are listed: {error}"
    );
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    syncOptions: [ServerSideApply=false]\n"),
        10,
    );
    assert!(error.contains("always applies server-side"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    syncOptions: [PrunePropagationPolicy=later]\n"),
        10,
    );
    assert!(
        error.contains("foreground, background or orphan"),
        "{error}"
    );
    let error = application_error(
        &format!(
            "{HEAD}{source}  syncPolicy:\n    retry:\n      backoff:\n        duration: 5 minutes\n"
        ),
        12,
    );
    assert!(error.contains("invalid duration `5 minutes`"), "{error}");
    let error = application_error(
        &format!("{HEAD}{source}  syncPolicy:\n    automated:\n      prune: yes\n"),
        11,
    );
    assert!(
        error.contains("must be true or false, found string"),
        "{error}"
    );
    let error = application_error(
        &format!(
            "{HEAD}{source}  ignoreDifferences:\n  - kind: Deployment\n    jsonPointers: [spec/replicas]\n"
        ),
        11,
    );
    assert!(error.contains("must start with `/`"), "{error}");
    let error = application_error(
        &format!(
            "{HEAD}spec:\n  destination: {{server: a, name: b}}\n  source: {{repoURL: 'https://x/y'}}\n"
        ),
        6,
    );
    assert!(error.contains("both `server` and `name`"), "{error}");
    let error = application_error(
        &format!("{HEAD}spec:\n  destination: {{}}\n  sources: []\n"),
        7,
    );
    assert!(error.contains("spec.sources"), "{error}");
    let error = application_error(
        &format!("{HEAD}spec:\n  destination: {{}}\n  source: {{repoURL: ./missing}}\n"),
        7,
    );
    assert!(error.contains("./missing"), "{error}");
    let error = application_error(
        &format!(
            "{HEAD}spec:\n  destination: {{}}\n  source: {{repoURL: 'https://x/y', path: ../up}}\n"
        ),
        7,
    );
    assert!(error.contains("must be relative"), "{error}");
    let error = application_error(
        "apiVersion: argoproj.io/v1beta1\nkind: Application\nmetadata: {name: web}\nspec: {}\n",
        1,
    );
    assert!(error.contains("apiVersion"), "{error}");
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "app.yaml",
        &format!("{HEAD}spec:\n  source: {{repoURL: [\n"),
    );
    let error = App::from_path(&path, None).unwrap_err();
    assert!(
        matches!(&error, AppError::Yaml { location, .. } if location.path == path && location.line >= 6),
        "{error}"
    );
}

#[test]
fn application_namespace_must_agree_with_the_flag() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "app.yaml", FULL_APPLICATION);
    let error = App::from_path(&path, Some("other"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`guestbook`") && error.contains("`other`"),
        "{error}"
    );
    assert!(App::from_path(&path, Some("guestbook")).is_ok());
}

#[test]
fn durations_parse_like_go() {
    let ok = |text: &str, want: Duration| assert_eq!(parse_duration(text), Ok(want), "{text}");
    ok("5s", Duration::from_secs(5));
    ok("3m", Duration::from_secs(180));
    ok("1h30m", Duration::from_secs(5400));
    ok("500ms", Duration::from_millis(500));
    ok("1.5s", Duration::from_millis(1500));
    ok("2m30s", Duration::from_secs(150));
    ok("10", Duration::from_secs(10));
    ok("0", Duration::ZERO);
    for bad in ["", "s", "5x", "-1s", "5 s", "1..2s", "5sm"] {
        assert!(parse_duration(bad).is_err(), "`{bad}` parsed");
    }
}

#[test]
fn retry_delays_double_up_to_the_cap() {
    let retry = RetryPolicy {
        limit: Some(5),
        ..RetryPolicy::default()
    };
    let delays: Vec<u64> = (0..8).map(|n| retry.delay(n).as_secs()).collect();
    assert_eq!(delays, vec![5, 10, 20, 40, 80, 160, 180, 180]);
    assert!(retry.allows(4) && !retry.allows(5));
    let unlimited = RetryPolicy {
        limit: None,
        ..RetryPolicy::default()
    };
    assert!(unlimited.allows(u32::MAX - 1));
    assert_eq!(unlimited.delay(u32::MAX), Duration::from_secs(180));
}

#[test]
fn image_overrides_parse_argo_strings() {
    let parse = |t: &str| ImageOverride::parse(t).unwrap();
    let port = parse("localhost:5000/app:1.2");
    assert_eq!(port.name, "localhost:5000/app");
    assert_eq!(port.new_tag.as_deref(), Some("1.2"));
    let rename = parse("app=ghcr.io/acme/app");
    assert_eq!(rename.new_name.as_deref(), Some("ghcr.io/acme/app"));
    assert_eq!(rename.new_tag, None);
    let both = parse("app=ghcr.io/acme/app:2@sha256:ff");
    assert_eq!(both.new_tag.as_deref(), Some("2"));
    assert_eq!(both.digest.as_deref(), Some("sha256:ff"));
    for bad in [
        "", "nginx", "=x:1", "nginx:", "a=b=c:1", "a=", "nginx@", "a b:1",
    ] {
        assert!(ImageOverride::parse(bad).is_err(), "`{bad}` parsed");
    }
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: api:1.0@sha256:old
      containers:
        - name: web
          image: nginx:1.19
        - name: sidecar
          image: localhost:5000/proxy
        - name: other
          image: nginx-exporter:1
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: nginx
";

#[test]
fn image_overrides_rewrite_containers_like_kustomize() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "deploy.yaml", DEPLOYMENT);
    let mut rendered = load_manifests(dir.path()).unwrap();
    let images = [
        "nginx=registry.example.com/nginx:1.25",
        "api:2.0",
        "localhost:5000/proxy@sha256:abc",
    ]
    .map(|t| ImageOverride::parse(t).unwrap());
    apply_images(&mut rendered.objects, &images);
    let deployment = &rendered.objects[0];
    assert_eq!(
        container_image(deployment, "containers", 0),
        "registry.example.com/nginx:1.25"
    );
    assert_eq!(
        container_image(deployment, "containers", 1),
        "localhost:5000/proxy@sha256:abc"
    );
    // Only the exact name matches: `nginx-exporter` is another image.
    assert_eq!(
        container_image(deployment, "containers", 2),
        "nginx-exporter:1"
    );
    // A new tag drops the old digest, as kustomize does.
    assert_eq!(container_image(deployment, "initContainers", 0), "api:2.0");
    let cron = rendered.objects[1]
        .get_path(&[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "containers",
        ])
        .unwrap();
    assert_eq!(
        cron.as_seq().unwrap()[0].str_at(&["image"]),
        Some("registry.example.com/nginx:1.25")
    );
    // The rewritten value keeps its source line for findings.
    let image = deployment
        .get_path(&["spec", "template", "spec", "containers"])
        .unwrap()
        .as_seq()
        .unwrap()[0]
        .get("image")
        .unwrap();
    assert_eq!(image.pos.line, 13);
}

#[test]
fn loads_plain_directories_recursively_in_order() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n---\n",
    );
    write(
        dir.path(),
        "a.yml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a1}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a2}\n",
    );
    write(
        dir.path(),
        "sub/c.json",
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c"}}"#,
    );
    write(dir.path(), "README.md", "not: [manifests");
    let rendered = load_manifests(dir.path()).unwrap();
    assert_eq!(
        names(&rendered),
        ["ConfigMap/a1", "ConfigMap/a2", "ConfigMap/b", "Secret/c"]
    );
    // Positions name the file and line each object came from.
    let second = &rendered.objects[1];
    assert_eq!(
        rendered.sources.describe(second.pos).unwrap(),
        format!("{}:7", dir.path().join("a.yml").display())
    );
    assert_eq!(rendered.revision, None);

    let mut top_only = Rendered::default();
    top_only.add_path_with(dir.path(), false).unwrap();
    assert_eq!(
        names(&top_only),
        ["ConfigMap/a1", "ConfigMap/a2", "ConfigMap/b"]
    );

    let single = load_manifests(&dir.path().join("b.yaml")).unwrap();
    assert_eq!(names(&single), ["ConfigMap/b"]);
}

#[test]
fn loads_kustomizations_with_sources() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "kustomization.yaml",
        "namePrefix: prod-\nresources: [cm.yaml]\n",
    );
    let cm = write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
    );
    let rendered = load_manifests(dir.path()).unwrap();
    assert_eq!(names(&rendered), ["ConfigMap/prod-settings"]);
    let path = rendered.sources.path(rendered.objects[0].pos.file).unwrap();
    assert_eq!(
        std::fs::canonicalize(path).unwrap(),
        std::fs::canonicalize(cm).unwrap()
    );

    write(
        dir.path(),
        "kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    let error = load_manifests(dir.path()).unwrap_err().to_string();
    assert!(error.contains("kustomization.yaml"), "{error}");
}

#[test]
fn bad_yaml_names_file_and_line() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
    );
    let error = load_manifests(dir.path()).unwrap_err();
    let AppError::Yaml { location, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(location.path, path);
    assert!(location.line >= 4, "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:", path.display()))
    );
    let missing = load_manifests(&dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn directory_apps_are_named_after_the_directory() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("My_Web.App");
    write(
        &dir,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let app = App::from_path(&dir, Some("team")).unwrap();
    assert_eq!(app.name, "my-web-app");
    assert_eq!(app.namespace.as_deref(), Some("team"));
    assert_eq!(
        app.source,
        Source::Local {
            path: dir.clone(),
            recurse: true
        }
    );
    assert_eq!(app.sync, SyncPolicy::default());
    assert_eq!(names(&app.render(root.path()).unwrap()), ["ConfigMap/x"]);
    let file = App::from_path(&dir.join("cm.yaml"), None).unwrap();
    assert_eq!(file.name, "cm");
    assert_eq!(
        App::from_path(&dir.join(".."), None).unwrap().name,
        sanitize_name(&root.path().file_name().unwrap().to_string_lossy())
    );
    assert_eq!(sanitize_name("--"), "app");
    assert_eq!(sanitize_name(&"a".repeat(80)).len(), 63);
}

/// Runs git in `dir` with a fixed identity, failing the test on error.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A repository whose tag `v1` has image `web:1` and whose HEAD has `web:2`, with the
/// manifests under `deploy/`.
fn repository(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let deployment = |tag: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web:{tag}\n"
        )
    };
    write(
        &repo,
        "deploy/kustomization.yaml",
        "resources: [web.yaml]\n",
    );
    write(&repo, "deploy/web.yaml", &deployment("1"));
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "v1"]);
    write(&repo, "deploy/web.yaml", &deployment("2"));
    write(
        &repo,
        "deploy/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
    );
    write(
        &repo,
        "deploy/kustomization.yaml",
        "resources: [web.yaml, extra.yaml]\n",
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "two"]);
    repo
}

fn application(repo_url: &str, revision: &str, images: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  \
         source:\n    repoURL: {repo_url}\n    targetRevision: {revision}\n    path: deploy\n    \
         kustomize: {{images: [{images}]}}\n  destination: {{server: 'https://kubernetes.default.svc', namespace: web}}\n"
    )
}

fn rev_parse(repo: &Path, rev: &str) -> String {
    let out = Command::new("git")
        .args(["rev-parse", rev])
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn git_sources_render_the_target_revision() {
    let root = TempDir::new().unwrap();
    let repo = repository(root.path());
    let work = root.path().join("work");
    // A repoURL relative to the Application file.
    let v1 = write(
        root.path(),
        "apps/v1.yaml",
        &application("../repo", "v1", ""),
    );
    let app = App::from_path(&v1, None).unwrap();
    assert!(matches!(&app.source, Source::Git { url, .. } if Path::new(url).is_absolute()));
    let rendered = app.render(&work).unwrap();
    assert_eq!(names(&rendered), ["Deployment/web"]);
    assert_eq!(
        container_image(&rendered.objects[0], "containers", 0),
        "web:1"
    );
    assert_eq!(
        rendered.revision.as_deref(),
        Some(rev_parse(&repo, "v1").as_str())
    );
    // Findings can still read the files behind the positions.
    let file = rendered.sources.path(rendered.objects[0].pos.file).unwrap();
    assert!(std::fs::read_to_string(file).unwrap().contains("web:1"));

    let head = write(
        root.path(),
        "apps/head.yaml",
        &application("../repo", "HEAD", "'web=registry.example.com/web:9'"),
    );
    let rendered = App::from_path(&head, None).unwrap().render(&work).unwrap();
    assert_eq!(names(&rendered), ["ConfigMap/extra", "Deployment/web"]);
    assert_eq!(
        container_image(&rendered.objects[1], "containers", 0),
        "registry.example.com/web:9"
    );
    assert_eq!(
        rendered.revision.as_deref(),
        Some(rev_parse(&repo, "HEAD").as_str())
    );

    // A file:// URL, and a new commit fetched into the existing cache.
    write(
        &repo,
        "deploy/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra2}\n",
    );
    git(&repo, &["commit", "-q", "-am", "three"]);
    let url = format!("file://{}", repo.display());
    let by_url = write(root.path(), "apps/url.yaml", &application(&url, "main", ""));
    let app = App::from_path(&by_url, None).unwrap();
    assert!(matches!(&app.source, Source::Git { url: u, .. } if *u == url));
    let rendered = app.render(&work).unwrap();
    assert_eq!(names(&rendered), ["ConfigMap/extra2", "Deployment/web"]);
    let rendered = app.render(&work).unwrap();
    assert_eq!(
        rendered.revision.as_deref(),
        Some(rev_parse(&repo, "main").as_str())
    );
    let short = &rev_parse(&repo, "v1")[..10];
    let pinned = write(
        root.path(),
        "apps/pinned.yaml",
        &application(&url, short, ""),
    );
    let rendered = App::from_path(&pinned, None)
        .unwrap()
        .render(&work)
        .unwrap();
    assert_eq!(names(&rendered), ["Deployment/web"]);
}

#[test]
fn git_failures_are_clear_and_leave_nothing_behind() {
    let root = TempDir::new().unwrap();
    let repo = repository(root.path());
    let work = root.path().join("work");
    let missing_rev = write(root.path(), "a.yaml", &application("./repo", "v9", ""));
    let error = App::from_path(&missing_rev, None)
        .unwrap()
        .render(&work)
        .unwrap_err()
        .to_string();
    assert!(error.contains("revision `v9` not found"), "{error}");
    let canonical = std::fs::canonicalize(&repo).unwrap();
    assert!(error.contains(&canonical.display().to_string()), "{error}");

    let url = format!("file://{}", root.path().join("no-such-repo").display());
    let missing_repo = write(root.path(), "b.yaml", &application(&url, "HEAD", ""));
    let error = App::from_path(&missing_repo, None)
        .unwrap()
        .render(&work)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("git source `{url}`: git clone failed")),
        "{error}"
    );
    // No half-made mirror or tree is left to be mistaken for a good one.
    let leftovers: Vec<_> = std::fs::read_dir(work.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    let text = application("./repo", "HEAD", "").replace("path: deploy", "path: nowhere");
    let missing_path = write(root.path(), "c.yaml", &text);
    let error = App::from_path(&missing_path, None)
        .unwrap()
        .render(&work)
        .unwrap_err()
        .to_string();
    assert!(error.contains("path `nowhere` does not exist"), "{error}");

    // A plain directory has no revisions to choose from.
    write(
        root.path(),
        "plain/deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n",
    );
    let plain = write(root.path(), "d.yaml", &application("./plain", "v1", ""));
    let error = App::from_path(&plain, None).unwrap_err().to_string();
    assert!(error.contains("not a git repository"), "{error}");
    let plain = write(root.path(), "e.yaml", &application("./plain", "HEAD", ""));
    let app = App::from_path(&plain, None).unwrap();
    assert!(matches!(&app.source, Source::Local { recurse: false, .. }));
    assert_eq!(names(&app.render(&work).unwrap()), ["ConfigMap/p"]);
}

/// A served simulator holding one namespace named `marker`, so a test can tell which
/// server a client reached.
async fn serve(marker: &str) -> String {
    let simulator = shipway_sim::Simulator::new();
    let namespaces = shipway_sim::resources::find("", "v1", "namespaces").unwrap();
    simulator
        .lock()
        .create(
            namespaces,
            None,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": marker}}),
            &shipway_sim::store::WriteOptions::default(),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(shipway_sim::serve(
        listener,
        simulator,
        std::future::pending(),
    ));
    format!("http://{address}")
}

/// The namespace names the target's client lists.
async fn markers(target: &Target) -> Vec<String> {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
    let client = target.client().await.unwrap();
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"));
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let list = tokio::time::timeout(Duration::from_secs(20), api.list(&ListParams::default()))
        .await
        .unwrap()
        .unwrap();
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .filter(|n| n.starts_with("marker"))
        .collect();
    names.sort();
    names
}

fn kubeconfig(
    clusters: &[(&str, &str)],
    contexts: &[(&str, &str, Option<&str>)],
    current: Option<&str>,
) -> String {
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (name, server) in clusters {
        let _ = write!(text, "- name: {name}\n  cluster: {{server: '{server}'}}\n");
    }
    text.push_str("users:\n- name: u\n  user: {}\ncontexts:\n");
    for (name, cluster, namespace) in contexts {
        let ns = namespace
            .map(|n| format!(", namespace: {n}"))
            .unwrap_or_default();
        let _ = write!(
            text,
            "- name: {name}\n  context: {{cluster: {cluster}, user: u{ns}}}\n"
        );
    }
    if let Some(current) = current {
        let _ = writeln!(text, "current-context: {current}");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_selection_follows_kubectl() {
    let one = serve("marker-one").await;
    let two = serve("marker-two").await;
    let dir = TempDir::new().unwrap();
    // A: context a -> c1 -> one. B: context a -> c1, but B's c1 is two; b -> c2 -> two.
    let a = write(
        dir.path(),
        "a",
        &kubeconfig(&[("c1", &one)], &[("a", "c1", Some("team-a"))], Some("a")),
    );
    let b = write(
        dir.path(),
        "b",
        &kubeconfig(
            &[("c1", &two), ("c2", &two)],
            &[("a", "c1", None), ("b", "c2", None)],
            Some("b"),
        ),
    );
    let list = |files: &[&Path]| Some(std::env::join_paths(files).unwrap());
    let search = |env| Search {
        explicit: None,
        env,
        home: Some(dir.path().join("home")),
    };

    // The first file wins for contexts, clusters and current-context.
    let target = Target::load_with(&search(list(&[&a, &b])), None).unwrap();
    assert_eq!(
        (target.context.as_str(), target.server.as_str()),
        ("a", one.as_str())
    );
    assert_eq!(target.namespace, "team-a");
    assert_eq!(markers(&target).await, ["marker-one"]);
    let target = Target::load_with(&search(list(&[&b, &a])), None).unwrap();
    assert_eq!(target.context, "b");
    assert_eq!(markers(&target).await, ["marker-two"]);
    assert_eq!(target.namespace, "default");
    // --context picks a context defined only in the second file.
    let target = Target::load_with(&search(list(&[&a, &b])), Some("b")).unwrap();
    assert_eq!(markers(&target).await, ["marker-two"]);
    // --context a with B first: B's `a` and B's `c1`.
    let target = Target::load_with(&search(list(&[&b, &a])), Some("a")).unwrap();
    assert_eq!(target.server, two);
    // Missing files in KUBECONFIG are skipped, as kubectl does.
    let missing = dir.path().join("missing");
    let target = Target::load_with(&search(list(&[&missing, &b])), None).unwrap();
    assert_eq!(target.context, "b");
    // --kubeconfig wins over KUBECONFIG.
    let explicit = Search {
        explicit: Some(b.clone()),
        ..search(list(&[&a]))
    };
    assert_eq!(Target::load_with(&explicit, None).unwrap().context, "b");
    // Without either, ~/.kube/config.
    write(
        &dir.path().join("home/.kube"),
        "config",
        &std::fs::read_to_string(&a).unwrap(),
    );
    let target = Target::load_with(&search(None), None).unwrap();
    assert_eq!(markers(&target).await, ["marker-one"]);
    // The free functions read the process environment; an explicit path makes them
    // independent of it.
    assert_eq!(default_namespace(Some(&a), None).unwrap(), "team-a");
    let client = client(Some(&b), Some("a")).await;
    assert!(client.is_ok());
}

#[test]
fn kubeconfig_errors_are_clear() {
    let dir = TempDir::new().unwrap();
    let a = write(
        dir.path(),
        "a",
        &kubeconfig(
            &[("c1", "http://127.0.0.1:1")],
            &[("a", "c1", None), ("x", "nowhere", None)],
            None,
        ),
    );
    let missing = dir.path().join("missing");
    let error = Target::load(Some(&missing), None).unwrap_err().to_string();
    assert!(
        error.contains("missing") && error.contains("no such file"),
        "{error}"
    );
    let error = Target::load(Some(&a), None).unwrap_err().to_string();
    assert!(
        error.contains("no current-context") && error.contains("--context"),
        "{error}"
    );
    let error = Target::load(Some(&a), Some("zz")).unwrap_err().to_string();
    assert!(
        error.contains("context `zz` not found") && error.contains("a, x"),
        "{error}"
    );
    let error = Target::load(Some(&a), Some("x")).unwrap_err().to_string();
    assert!(error.contains("cluster `nowhere`"), "{error}");
    let search = Search {
        explicit: None,
        env: Some(missing.clone().into_os_string()),
        home: None,
    };
    let error = Target::load_with(&search, None).unwrap_err().to_string();
    assert!(
        error.contains("none of the KUBECONFIG files exist"),
        "{error}"
    );
    let search = Search {
        explicit: None,
        env: None,
        home: Some(dir.path().to_path_buf()),
    };
    let error = Target::load_with(&search, None).unwrap_err().to_string();
    assert!(error.contains(".kube/config"), "{error}");
    let broken = write(dir.path(), "broken", "clusters: [\n");
    let error = Target::load(Some(&broken), None).unwrap_err().to_string();
    assert!(error.contains("broken"), "{error}");
}

#[test]
fn destinations_must_be_the_kubeconfig_cluster() {
    let dir = TempDir::new().unwrap();
    let config = write(
        dir.path(),
        "config",
        &kubeconfig(
            &[("prod", "https://10.0.0.1:6443")],
            &[("admin@prod", "prod", None)],
            Some("admin@prod"),
        ),
    );
    let target = Target::load(Some(&config), None).unwrap();
    let app_with = |destination: &str| {
        let text = format!(
            "{HEAD}spec:\n  source: {{repoURL: 'https://x/y'}}\n  destination: {destination}\n"
        );
        let path = write(dir.path(), "app.yaml", &text);
        App::from_path(&path, None).unwrap()
    };
    for ok in [
        "{server: 'https://kubernetes.default.svc'}",
        "{server: 'https://10.0.0.1:6443/'}",
        "{name: in-cluster}",
        "{name: prod}",
        "{name: admin@prod}",
        "{namespace: web}",
    ] {
        app_with(ok).check_destination(&target).unwrap();
    }
    let error = app_with("{server: 'https://other:6443'}")
        .check_destination(&target)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(":7:")
            && error.contains("https://other:6443")
            && error.contains("admin@prod"),
        "{error}"
    );
    let error = app_with("{name: staging}")
        .check_destination(&target)
        .unwrap_err()
        .to_string();
    assert!(error.contains("`staging`"), "{error}");
}

#[test]
fn directory_apps_stay_inside_their_directory_and_skip_symlink_loops() {
    let dir = TempDir::new().unwrap();
    let app = dir.path().join("app");
    write(
        &app,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    // A loop back to the app's own directory is skipped with a warning, not walked.
    std::os::unix::fs::symlink(&app, app.join("again")).unwrap();
    let rendered = App::from_path(&app, None)
        .unwrap()
        .render(dir.path())
        .unwrap();
    assert_eq!(names(&rendered), ["ConfigMap/a"]);
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("skipping the loop")),
        "{:?}",
        rendered.warnings
    );
    // A link to a file outside the app (a credentials file) is refused, naming the link.
    write(
        dir.path(),
        "token.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: t}\n",
    );
    std::os::unix::fs::symlink(dir.path().join("token.yaml"), app.join("creds.yaml")).unwrap();
    let error = App::from_path(&app, None)
        .unwrap()
        .render(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("creds.yaml") && error.contains("is not in or below"),
        "{error}"
    );
}
