//! `shipway release`, `promote`, `rollback` and `history` against real git: a bare origin in a
//! temp directory and clones of it, with the binary run as users run it. Every test runs
//! under a time limit so a hung push fails instead of blocking CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

#[path = "../common/receiver.rs"]
mod receiver;

/// Runs `f` on a thread and fails the test if it takes longer than `seconds`.
fn within<T: Send + 'static>(seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    if let Ok(value) = rx.recv_timeout(Duration::from_secs(seconds)) {
        return value;
    }
    // The thread panicked (its message is in the output) or is still running.
    drop(handle);
    panic!("test did not finish within {seconds}s");
}

/// Runs git in `dir` and returns stdout; panics with stderr on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `shipway ARGS` in `dir`: `(exit code, stdout, stderr)`.
fn shipway(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Like [`shipway`], and asserts success.
fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = shipway(dir, args);
    assert_eq!(code, 0, "shipway {args:?}:\n{stdout}{stderr}");
    stdout
}

/// The production overlay: ten images, comments on every line.
fn prod_kustomization() -> String {
    let mut text = String::from(
        "# Production. Comments here must survive every release.\napiVersion: kustomize.config.k8s.io/v1beta1 # api\nkind: Kustomization\nresources: # none needed for these tests\n- ../../base\nimages: # released by shipway\n",
    );
    for i in 0..10 {
        let _ = write!(
            text,
            "- name: img{i} # service {i}\n  newName: registry.example.com:5000/team/img{i} # moved\n  newTag: \"1.0.0\" # current\n"
        );
    }
    text
}

const ENV: &str = "# A comment.\nkind: Kustomization\nresources:\n- ../../base\nimages:\n- name: api # the API\n  newTag: \"1.0\"\n";

/// A bare origin holding an example repository, and clones of it.
struct TestContext {
    dir: tempfile::TempDir,
    origin: PathBuf,
}

impl TestContext {
    fn new() -> TestContext {
        let dir = tempfile::tempdir().unwrap();
        let origin = dir.path().join("origin.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let context = TestContext { dir, origin };
        let seed = context.clone_as("seed");
        let write = |path: &str, text: &str| {
            let path = seed.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "shipway.yaml",
            "environments:\n- {name: dev, path: overlays/dev}\n- {name: staging, path: overlays/staging}\n- {name: prod, path: overlays/prod}\n",
        );
        write("overlays/dev/kustomization.yaml", ENV);
        write("overlays/staging/kustomization.yaml", ENV);
        write("overlays/prod/kustomization.yaml", &prod_kustomization());
        write("overlays/bare/README.md", "no kustomization here\n");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", "initial"]);
        git(&seed, &["push", "-q", "origin", "main"]);
        context
    }

    /// A fresh clone with a local identity and no signing. The origin is named by a
    /// `file://` URL, so fetches and pushes go through git's transport (upload-pack and
    /// receive-pack) as they would to a server, not through the local-path shortcut.
    fn clone_as(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let url = format!("file://{}", self.origin.display());
        git(
            self.dir.path(),
            &["-c", "init.defaultBranch=main", "clone", "-q", &url, name],
        );
        for (key, value) in [
            ("user.name", name),
            ("user.email", "test@shipway.invalid"),
            ("commit.gpgsign", "false"),
        ] {
            git(&path, &["config", key, value]);
        }
        path
    }
}

fn read(clone: &Path, file: &str) -> String {
    std::fs::read_to_string(clone.join(file)).unwrap()
}

fn history(dir: &Path, target: &str) -> serde_json::Value {
    serde_json::from_str(&ok(dir, &["history", target, "-o", "json"])).unwrap()
}

/// Asserts the clone has no uncommitted changes to tracked files.
fn assert_clean(dir: &Path) {
    assert_eq!(
        git(dir, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
}

#[test]
fn ten_clones_release_ten_images_at_the_same_moment() {
    within(120, || {
        let context = Arc::new(TestContext::new());
        let clones: Vec<PathBuf> = (0..10)
            .map(|i| context.clone_as(&format!("clone{i}")))
            .collect();
        let barrier = Arc::new(Barrier::new(10));
        let threads: Vec<_> = clones
            .into_iter()
            .enumerate()
            .map(|(i, clone)| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let image = format!("img{i}=registry.example.com:5000/team/img{i}:2.0.{i}");
                    let started = std::time::Instant::now();
                    let result = shipway(&clone, &["release", "prod", "--image", &image, "--push"]);
                    (i, result, started.elapsed())
                })
            })
            .collect();
        for t in threads {
            let (i, (code, stdout, stderr), elapsed) = t.join().unwrap();
            assert_eq!(code, 0, "clone {i} after {elapsed:?}:\n{stdout}{stderr}");
            let attempts = stderr
                .lines()
                .find(|l| l.starts_with("Pushed to"))
                .unwrap_or("");
            eprintln!("clone {i}: {elapsed:?}, {attempts}");
        }
        let check = context.clone_as("check");
        let log = git(&check, &["log", "--format=%s", "origin/main"]);
        assert_eq!(
            log.lines()
                .filter(|l| l.starts_with("release prod"))
                .count(),
            10,
            "{log}"
        );
        // Every tag present and every other byte as it was.
        let mut expected = prod_kustomization();
        for i in 0..10 {
            expected = expected.replacen(
                &format!("img{i} # moved\n  newTag: \"1.0.0\""),
                &format!("img{i} # moved\n  newTag: \"2.0.{i}\""),
                1,
            );
        }
        assert_eq!(read(&check, "overlays/prod/kustomization.yaml"), expected);
        let entries = history(&check, "prod");
        assert_eq!(entries["entries"].as_array().unwrap().len(), 10);
    });
}

#[test]
fn racing_releases_of_one_image_refuse_the_later_unless_forced() {
    within(120, || {
        let context = TestContext::new();
        let alice = context.clone_as("alice");
        let bob = context.clone_as("bob");
        // Deterministic race: bob has not seen alice's push when he pushes, so his push is
        // rejected. Re-applying his edit on top would silently replace her tag: he is told
        // whose release it was and what it set, and his branch is left as it was.
        let alices = ok(&alice, &["release", "dev", "--image", "api:2.0", "--push"]);
        let alices = alices.trim();
        let before = git(&bob, &["rev-parse", "HEAD"]);
        let (code, stdout, stderr) =
            shipway(&bob, &["release", "dev", "--image", "api:3.0", "--push"]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "`api` was set to `api:2.0` by release {alices} (alice) while this release was being pushed"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("--force"), "{stderr}");
        assert_eq!(git(&bob, &["rev-parse", "HEAD"]), before);
        assert_clean(&bob);
        assert_eq!(
            git(&context.origin, &["rev-parse", "main"]).trim(),
            alices,
            "nothing of bob's was pushed"
        );
        // With `--force` his release lands on top of hers, recording her tag as the one
        // it replaces.
        let out = ok(
            &bob,
            &["release", "dev", "--image", "api:3.0", "--push", "--force"],
        );
        assert_eq!(out.trim(), git(&bob, &["rev-parse", "HEAD"]).trim());
        let found = history(&bob, "dev");
        let entries = found["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["images"][0]["from"], "api:2.0");
        assert_eq!(entries[0]["images"][0]["to"], "api:3.0");
        assert_eq!(entries[1]["images"][0]["from"], "api:1.0");
        assert_eq!(entries[0]["author"], "bob");
        git(&alice, &["pull", "-q"]);
        assert!(read(&alice, "overlays/dev/kustomization.yaml").contains("newTag: \"3.0\""));

        // A real race from two threads: exactly one lands, the other names it.
        let (carol, dave) = (context.clone_as("carol"), context.clone_as("dave"));
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [(carol, "4.0"), (dave, "5.0")]
            .into_iter()
            .map(|(clone, tag)| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let image = format!("api:{tag}");
                    shipway(&clone, &["release", "dev", "--image", &image, "--push"])
                })
            })
            .collect();
        let results: Vec<(i32, String, String)> =
            threads.into_iter().map(|t| t.join().unwrap()).collect();
        let landed: Vec<&(i32, String, String)> = results.iter().filter(|r| r.0 == 0).collect();
        assert_eq!(landed.len(), 1, "{results:?}");
        let winner = landed[0].1.trim();
        let (_, _, loser) = results.iter().find(|r| r.0 != 0).unwrap();
        assert!(loser.contains(&format!("by release {winner} (")), "{loser}");
        let check = context.clone_as("check");
        let found = history(&check, "dev");
        let entries = found["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0]["commit"], winner);
        assert_eq!(entries[0]["images"][0]["from"], "api:3.0");
        let tag = entries[0]["images"][0]["to"]
            .as_str()
            .unwrap()
            .strip_prefix("api:")
            .unwrap();
        assert!(
            read(&check, "overlays/dev/kustomization.yaml").contains(&format!("newTag: \"{tag}\""))
        );
    });
}

#[test]
fn racing_releases_of_different_images_both_land() {
    within(120, || {
        let context = TestContext::new();
        let alice = context.clone_as("alice");
        let bob = context.clone_as("bob");
        ok(
            &alice,
            &["release", "prod", "--image", "img1:2.0", "--push"],
        );
        ok(&bob, &["release", "prod", "--image", "img2:3.0", "--push"]);
        let check = context.clone_as("check");
        let text = read(&check, "overlays/prod/kustomization.yaml");
        assert!(
            text.contains("img1 # moved\n  newTag: \"2.0\"")
                && text.contains("img2 # moved\n  newTag: \"3.0\""),
            "{text}"
        );
        assert_eq!(
            history(&check, "prod")["entries"].as_array().unwrap().len(),
            2
        );
    });
}

#[test]
fn a_multi_line_message_keeps_its_body() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        ok(
            &clone,
            &[
                "release",
                "dev",
                "--image",
                "api:1.1",
                "-m",
                "Ship the fix\n\nFixes the login loop.\nSee INC-42.",
            ],
        );
        let message = git(&clone, &["log", "-1", "--format=%B"]);
        assert!(
            message.starts_with("Ship the fix\n\nFixes the login loop.\nSee INC-42.\n\n- api: api:1.0 → api:1.1\n\nShipway-Kind: release\n"),
            "{message}"
        );
        assert_eq!(history(&clone, "dev")["entries"][0]["kind"], "release");
    });
}

/// Authors and trailer values are printed as a commit wrote them: escape sequences in
/// them must not reach the terminal.
#[test]
fn history_escapes_control_characters() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        let file = clone.join("overlays/dev/kustomization.yaml");
        std::fs::write(&file, ENV.replace("newTag: \"1.0\"", "newTag: \"1.1\"")).unwrap();
        git(
            &clone,
            &[
                "-c",
                "user.name=ev\x1b[2Jil",
                "commit",
                "-q",
                "-am",
                "release dev: api",
                "-m",
                "Shipway-Kind: release\nShipway-Path: overlays/dev/kustomization.yaml\nShipway-Image: api api:1.0 -> api:1.1\x1b]0;pwned\x07",
            ],
        );
        let text = ok(&clone, &["history", "dev"]);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("  ev\\u{1b}[2Jil\n"), "{text}");
        assert!(
            text.contains("    api: api:1.0 → api:1.1\\u{1b}]0;pwned\\u{7}\n"),
            "{text}"
        );
    });
}

#[test]
fn rollback_after_three_releases_restores_the_previous_tags_exactly() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        let file = "overlays/prod/kustomization.yaml";
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        ok(
            &clone,
            &[
                "release", "prod", "--image", "img1:1.1", "--image", "img2:1.1",
            ],
        );
        let first = read(&clone, file);
        ok(
            &clone,
            &[
                "release",
                "prod",
                "--image",
                &format!("img1@{digest}"),
                "--image",
                "img2:1.2",
            ],
        );
        let second = read(&clone, file);
        let third_commit = ok(
            &clone,
            &[
                "release",
                "prod",
                "--image",
                "img1:1.3",
                "--image",
                "img3=ghcr.io/x/y:9",
            ],
        );
        let (code, _, stderr) = shipway(&clone, &["rollback", "prod", "--push"]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            read(&clone, file),
            second,
            "byte for byte as after release 2"
        );
        let message = git(&clone, &["log", "-1", "--format=%B"]);
        assert!(
            message.contains(&format!("Shipway-Failed-Release: {}", third_commit.trim())),
            "{message}"
        );
        assert!(message.contains("Shipway-Kind: rollback"), "{message}");
        // A second rollback skips the failed release and goes to the first one.
        // The tags are the first release's; the `newTag` line that the digest release
        // replaced comes back without its old comment.
        ok(&clone, &["rollback", "prod"]);
        let restored = read(&clone, file);
        assert!(!restored.contains("sha256"), "{restored}");
        assert_eq!(restored.matches("newTag: \"1.1\"").count(), 2, "{restored}");
        assert_eq!(first.matches("newTag: \"1.1\"").count(), 2, "{first}");
        let found = history(&clone, "prod");
        let kinds: Vec<&str> = found["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["rollback", "rollback", "release", "release", "release"]
        );
        // `--to` the first release's commit: nothing to change but recorded; and too many
        // steps is a clear error.
        let (code, _, stderr) = shipway(&clone, &["rollback", "prod", "--steps", "5"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("nothing to roll back to"), "{stderr}");
        assert_clean(&clone);
    });
}

#[test]
fn promote_dev_to_staging_to_prod() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        // prod gets its own overlay shape: copy dev's to start from the same images.
        ok(
            &clone,
            &["release", "dev", "--image", "api=ghcr.io/acme/api:2.0"],
        );
        ok(&clone, &["promote", "dev", "staging"]);
        assert!(
            read(&clone, "overlays/staging/kustomization.yaml").contains(
                "- name: api # the API\n  newTag: \"2.0\"\n  newName: ghcr.io/acme/api\n"
            )
        );
        ok(
            &clone,
            &["promote", "staging", "prod", "--image", "api", "--push"],
        );
        let prod = read(&clone, "overlays/prod/kustomization.yaml");
        assert!(
            prod.ends_with("- name: api\n  newName: ghcr.io/acme/api\n  newTag: \"2.0\"\n"),
            "{prod}"
        );
        let found = history(&clone, "prod");
        assert_eq!(found["entries"][0]["kind"], "promote");
        assert_eq!(
            found["entries"][0]["images"][0]["from"],
            serde_json::Value::Null
        );
        // Against the order, and a failed release, are refused without `--force`.
        let (code, _, stderr) = shipway(&clone, &["promote", "prod", "dev"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("does not come after `prod`"), "{stderr}");
        ok(&clone, &["release", "dev", "--image", "api:2.1"]);
        ok(&clone, &["rollback", "dev"]);
        let (code, _, stderr) = shipway(&clone, &["promote", "dev", "staging"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("was marked failed"), "{stderr}");
        assert_clean(&clone);
        let (code, _, stderr) = shipway(&clone, &["promote", "dev", "staging", "--force"]);
        assert_eq!(code, 1, "staging already has 2.0");
        assert!(stderr.contains("nothing to commit"), "{stderr}");
    });
}

#[test]
fn a_push_rejected_by_a_hook_leaves_a_clean_commit() {
    within(60, || {
        let context = TestContext::new();
        let hook = context.origin.join("hooks/pre-receive");
        std::fs::write(&hook, "#!/bin/sh\necho 'releases are frozen' >&2\nexit 1\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let clone = context.clone_as("ops");
        let before = git(&clone, &["rev-parse", "HEAD"]);
        let (code, _, stderr) = shipway(&clone, &["release", "dev", "--image", "api:9", "--push"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("pre-receive hook declined"), "{stderr}");
        assert!(stderr.contains("stays on the local branch"), "{stderr}");
        assert_clean(&clone);
        assert_eq!(git(&clone, &["rev-parse", "HEAD~1"]), before);
        assert_eq!(git(&context.origin, &["rev-parse", "main"]), before);
    });
}

#[test]
fn a_push_to_an_unreachable_remote_leaves_a_clean_commit() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        let missing = context.dir.path().join("gone/origin.git");
        let (code, _, stderr) = shipway(
            &clone,
            &[
                "release",
                "dev",
                "--image",
                "api:9",
                "--push",
                "--remote",
                missing.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 1);
        assert!(stderr.contains("pushing to"), "{stderr}");
        assert!(
            stderr.contains("does not appear to be a git repository"),
            "{stderr}"
        );
        assert_clean(&clone);
        assert!(git(&clone, &["log", "-1", "--format=%B"]).contains("Shipway-Kind: release"));
    });
}

#[test]
fn bad_input_is_refused_and_the_tree_is_untouched() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        let head = git(&clone, &["rev-parse", "HEAD"]);
        let cases: &[(&[&str], &str)] = &[
            (
                &["release", "qa", "--image", "api:1"],
                "`qa` is neither an environment",
            ),
            (
                &["release", "overlays/bare", "--image", "api:1"],
                "no `kustomization.yaml`",
            ),
            (
                &["release", "dev", "--image", "api=nginx:"],
                "invalid image reference `api=nginx:`",
            ),
            (
                &["release", "dev", "--image", "api@sha256:12"],
                "digest `sha256:12`",
            ),
            (
                &["release", "dev", "--image", "web:1"],
                "no `images:` entry is named `web` (entries: api)",
            ),
            (
                &["release", "dev", "--image", "api:1.0"],
                "nothing to commit",
            ),
            (&["history", "nowhere"], "neither an environment"),
            (&["rollback", "dev"], "nothing to roll back to"),
        ];
        for (args, expected) in cases {
            let (code, stdout, stderr) = shipway(&clone, args);
            assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            assert_clean(&clone);
            assert_eq!(git(&clone, &["rev-parse", "HEAD"]), head);
        }
        // Dirty worktree.
        let file = clone.join("overlays/dev/kustomization.yaml");
        std::fs::write(&file, format!("{ENV}# local edit\n")).unwrap();
        let (code, _, stderr) = shipway(&clone, &["release", "dev", "--image", "api:2"]);
        assert_eq!(code, 1);
        assert!(
            stderr.contains("uncommitted changes: overlays/dev/kustomization.yaml"),
            "{stderr}"
        );
        git(&clone, &["checkout", "--", "."]);
        // Detached HEAD.
        git(&clone, &["checkout", "-q", "--detach"]);
        let (code, _, stderr) = shipway(&clone, &["release", "dev", "--image", "api:2"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("HEAD is detached"), "{stderr}");
        git(&clone, &["checkout", "-q", "main"]);
        // A commit hook that fails: the file is restored.
        let hook = clone.join(".git/hooks/pre-commit");
        std::fs::write(&hook, "#!/bin/sh\nexit 1\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let (code, _, stderr) = shipway(&clone, &["release", "dev", "--image", "api:2"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("the file is restored"), "{stderr}");
        assert_clean(&clone);
        assert_eq!(read(&clone, "overlays/dev/kustomization.yaml"), ENV);
        assert_eq!(git(&clone, &["rev-parse", "HEAD"]), head);
    });
}

#[test]
fn history_reads_only_real_trailers_and_has_the_documented_shape() {
    within(60, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        ok(
            &clone,
            &[
                "release",
                "overlays/dev",
                "--image",
                "api:1.1",
                "-m",
                "Shipway-Kind: rollback",
            ],
        );
        // A hand-made commit whose body quotes trailers in a middle paragraph.
        let file = clone.join("overlays/dev/kustomization.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}# note\n")).unwrap();
        git(
            &clone,
            &[
                "commit",
                "-q",
                "-am",
                "docs",
                "-m",
                "Shipway-Kind: release\nShipway-Path: overlays/dev/kustomization.yaml",
                "-m",
                "Just a note, not a release.",
            ],
        );
        let found = history(&clone, "dev");
        let entries = found["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{found}");
        let e = &entries[0];
        for key in ["commit", "time", "author", "kind", "images"] {
            assert!(e.get(key).is_some(), "{key}: {e}");
        }
        assert_eq!(e["kind"], "release");
        assert_eq!(e["author"], "ops");
        assert_eq!(
            e["images"],
            serde_json::json!([{"name": "api", "from": "api:1.0", "to": "api:1.1"}])
        );
        let text = ok(&clone, &["history", "dev"]);
        assert!(
            text.contains("release   ops\n    api: api:1.0 → api:1.1\n"),
            "{text}"
        );
    });
}

#[test]
fn release_and_rollback_notify_with_the_commit_and_images() {
    within(120, || {
        let context = TestContext::new();
        let clone = context.clone_as("ops");
        let hook = receiver::Receiver::start(200);
        let config = context.dir.path().join("notify.yaml");
        std::fs::write(
            &config,
            format!(
                "service.webhook.hook: |\n  url: {}\nsubscriptions: |\n  - recipients: [hook]\n    triggers: [on-release, on-rollback]\n",
                hook.url("/hook")
            ),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        // A release without notifications first, so the rollback has one to go back to.
        ok(&clone, &["release", "dev", "--image", "api:1.1"]);
        assert!(hook.requests().is_empty());
        let released = ok(
            &clone,
            &[
                "release",
                "dev",
                "--image",
                "api:1.2",
                "-m",
                "Ship the fix",
                "--notify",
                config,
            ],
        );
        let released = released.trim();
        let requests = hook.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/hook");
        let body = &requests[0].body;
        assert_eq!(body["trigger"], "on-release");
        assert_eq!(body["app"], "dev");
        assert_eq!(body["revision"], released);
        assert_eq!(body["event"]["images"][0]["name"], "api");
        assert_eq!(body["event"]["images"][0]["from"], "api:1.1");
        assert_eq!(body["event"]["images"][0]["to"], "api:1.2");
        assert_eq!(
            body["event"]["commit"]["author"],
            "ops <test@shipway.invalid>"
        );
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with("dev released\n"), "{message}");
        assert!(message.contains("Commit: Ship the fix"), "{message}");
        assert!(
            message.contains("Image api: api:1.1 → api:1.2"),
            "{message}"
        );

        let rolled_back = ok(&clone, &["rollback", "dev", "--notify", config]);
        let requests = hook.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].body["trigger"], "on-rollback");
        assert_eq!(requests[1].body["revision"], rolled_back.trim());
        assert_eq!(requests[1].body["event"]["images"][0]["to"], "api:1.1");
    });
}
