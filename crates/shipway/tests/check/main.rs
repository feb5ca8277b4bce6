//! `shipway check` as users run it: the binary on the example platform and on the
//! deliberately broken example, every output format, and the exit codes (0 clean, 1
//! findings, 2 usage or I/O errors), snapshotted with `insta`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../common/bomb.rs"]
mod bomb;
use bomb::{shipway_within, write_alias_bomb};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `shipway ARGS` from the repository root: `(exit code, stdout, stderr)`.
fn shipway(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn example_platform_passes_at_restricted() {
    for env in ["dev", "staging", "prod"] {
        let dir = format!("examples/platform/overlays/{env}");
        let (code, stdout, stderr) = shipway(&["check", "--pod-security", "restricted", &dir]);
        assert_eq!(code, 0, "{dir}:\n{stdout}{stderr}");
        assert!(!stdout.contains(" error "), "{dir}:\n{stdout}");
    }
}

#[test]
fn broken_example_as_text() {
    let (code, stdout, _) = shipway(&["check", "examples/broken"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("broken-text", stdout);
}

#[test]
fn broken_example_as_json_has_the_documented_shape() {
    let (code, stdout, _) = shipway(&["check", "-o", "json", "examples/broken"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in [
            "rule", "severity", "object", "file", "line", "path", "message",
        ] {
            assert!(f.get(key).is_some(), "finding without `{key}`: {f}");
        }
        for key in ["apiVersion", "kind", "namespace", "name"] {
            assert!(
                f["object"].get(key).is_some(),
                "object without `{key}`: {f}"
            );
        }
    }
    let errors = findings.iter().filter(|f| f["severity"] == "error").count();
    assert_eq!(json["summary"]["errors"], errors);
    assert_eq!(json["summary"]["objects"], 3);
    insta::assert_snapshot!("broken-json", stdout);
}

#[test]
fn broken_example_as_sarif() {
    let (code, stdout, _) = shipway(&["check", "-o", "sarif", "examples/broken"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "shipway");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn broken_example_as_junit_and_github() {
    let (code, junit, _) = shipway(&["check", "-o", "junit", "examples/broken"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("broken-junit", junit);
    let (code, github, _) = shipway(&["check", "-o", "github", "examples/broken"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("broken-github", github);
}

#[test]
fn fail_on_warning_and_suppression() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pod.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {}\nspec:\n  containers:\n  - {name: c, image: nginx}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (code, _, _) = shipway(&["check", "--fail-on", "error", "--config", "/dev/null", path]);
    assert_eq!(code, 0);
    let (code, stdout, _) = shipway(&["check", "--fail-on", "warning", path]);
    assert_eq!(code, 1, "{stdout}");
    let config = tmp.path().join("shipway-check.yaml");
    std::fs::write(&config, "disable: [reliability]\n").unwrap();
    let (code, stdout, _) = shipway(&[
        "check",
        "--fail-on",
        "warning",
        "--config",
        config.to_str().unwrap(),
        path,
    ]);
    assert!(!stdout.contains("reliability/"), "{stdout}");
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let (code, _, stderr) = shipway(&["check", "no/such/dir"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no/such/dir"), "{stderr}");
    let (code, _, stderr) = shipway(&["check", "--pod-security", "strict", "examples/broken"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--pod-security"), "{stderr}");
    let (code, _, stderr) = shipway(&["check", "--kubernetes-version", "1.19", "examples/broken"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn explain_prints_a_rules_documentation() {
    let (code, stdout, _) = shipway(&["explain", "schema/unknown-field"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("## What it checks"), "{stdout}");
    let (code, _, stderr) = shipway(&["explain", "no/such-rule"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no rule"), "{stderr}");
}

/// One 1 MiB scalar aliased 3,000 times used to make `shipway check` allocate gigabytes,
/// whether given the file or its kustomization.
#[test]
fn an_alias_bomb_fails_fast_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write_alias_bomb(tmp.path());
    for path in [tmp.path().to_path_buf(), tmp.path().join("bomb.yaml")] {
        let (code, stderr) = shipway_within(60, &["check".as_ref(), path.as_os_str()]);
        assert_eq!(code, 2, "{stderr}");
        // The 17th alias (line 23) crosses the 16 MiB budget.
        assert!(
            stderr.contains("bomb.yaml:23: aliases expand to more than"),
            "{stderr}"
        );
    }
}

/// Runs `shipway ARGS` from `dir`: `(exit code, stdout, stderr)`.
fn shipway_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
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

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\ndata: {a: b}\n";

/// A link in the checked directory to a credentials file elsewhere used to be read, and
/// its token quoted in an excerpt. It is refused like render refuses files outside the
/// kustomization root, naming the link, unless `--load-restrictor LoadRestrictionsNone`.
#[test]
fn symlinks_out_of_the_checked_directory_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, outside) = (tmp.path().join("dir"), tmp.path().join("outside"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(outside.join("more")).unwrap();
    std::fs::write(dir.join("app.yaml"), CONFIG_MAP).unwrap();
    std::fs::write(outside.join("credentials.yaml"), "token: s3cr3t-t0ken\n").unwrap();
    std::fs::write(outside.join("more/x.yaml"), "token: s3cr3t-t0ken\n").unwrap();
    std::os::unix::fs::symlink("../outside/credentials.yaml", dir.join("creds.yaml")).unwrap();
    let (code, stdout, stderr) = shipway_in(tmp.path(), &["check", "dir"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("`dir/creds.yaml`: security; file '")
            && stderr.contains("credentials.yaml' is not in or below '")
            && stderr.contains("--load-restrictor LoadRestrictionsNone"),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("s3cr3t"));
    // A linked directory is refused the same way.
    std::fs::remove_file(dir.join("creds.yaml")).unwrap();
    std::os::unix::fs::symlink("../outside/more", dir.join("more")).unwrap();
    let (code, _, stderr) = shipway_in(tmp.path(), &["check", "dir"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`dir/more`: security;"), "{stderr}");
    // Opting out reads it; links inside the directory are always fine.
    let (code, stdout, stderr) = shipway_in(
        tmp.path(),
        &["check", "--load-restrictor", "LoadRestrictionsNone", "dir"],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("dir/more/x.yaml"), "{stdout}");
    std::fs::remove_file(dir.join("more")).unwrap();
    std::os::unix::fs::symlink("app.yaml", dir.join("same.yaml")).unwrap();
    let (code, stdout, stderr) = shipway_in(tmp.path(), &["check", "dir"]);
    assert!(code != 2, "{stdout}{stderr}");
    assert!(stdout.contains("2 objects checked"), "{stdout}");
}

/// A link back up the tree used to be walked until a depth limit failed the run.
#[test]
fn symlink_loops_are_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("app.yaml"), CONFIG_MAP).unwrap();
    std::fs::write(
        dir.join("sub/other.yaml"),
        CONFIG_MAP.replace("name: c", "name: d"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("sub", dir.join("twice")).unwrap();
    let (code, stdout, stderr) = shipway_in(tmp.path(), &["check", "dir"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 objects checked"), "{stdout}");
    assert!(
        stderr.contains("warning: `dir/sub/up` links back to `"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: `dir/twice` leads to `")
            && stderr.contains("already read as `dir/sub`"),
        "{stderr}"
    );
}

/// Excerpts under findings about a Secret's values show `***`, and names with control
/// characters print escaped.
#[test]
fn excerpts_mask_secret_values_and_names_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\ndata:\n  token: 8675309123\nstringData: {password: [hunter2]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"web\\e[2J\", namespace: apps}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = shipway_in(tmp.path(), &["check", "secret.yaml"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        !stdout.contains("8675309123") && !stdout.contains("hunter2"),
        "{stdout}"
    );
    assert!(stdout.contains("    |   token: ***\n"), "{stdout}");
    assert!(stdout.contains("    | stringData: ***\n"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    assert!(stdout.contains("ConfigMap apps/web\\u{1b}[2J"), "{stdout}");
}
