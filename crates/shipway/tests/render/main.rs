//! Differential tests of `shipway render` against the real `kubectl kustomize`
//! (kustomize v5.5.0), and snapshot tests of the example platform.
//!
//! Every kustomization under `tests/render/corpus/` and every overlay of
//! `examples/platform/` is rendered by both; the outputs must be byte-identical, and when
//! kubectl fails shipway must fail too. Without kubectl on PATH the differential test fails
//! loudly; set `SHIPWAY_SKIP_KUBECTL=1` to skip it explicitly (it then prints why).

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

fn corpus_cases() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                let k = path.join("kustomization.yaml");
                if k.is_file()
                    && !std::fs::read_to_string(&k)
                        .unwrap()
                        .contains("kind: Component")
                {
                    out.push(path.clone());
                }
                walk(&path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &repo_root().join("crates/shipway/tests/render/corpus"),
        &mut out,
    );
    for env in ["dev", "staging", "prod"] {
        out.push(repo_root().join("examples/platform/overlays").join(env));
    }
    out.push(repo_root().join("examples/platform/base"));
    out
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn shipway(dir: &Path) -> Result<String, String> {
    shipway_render::render(dir, &shipway_render::Options::default())
        .map(|o| o.yaml)
        .map_err(|e| e.to_string())
}

fn kubectl(dir: &Path) -> Result<String, String> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

#[test]
fn example_platform_matches_committed_snapshots() {
    let root = repo_root().join("examples/platform");
    for env in ["dev", "staging", "prod"] {
        let expected =
            std::fs::read_to_string(root.join("expected").join(format!("{env}.yaml"))).unwrap();
        let actual = shipway(&root.join("overlays").join(env)).unwrap();
        assert!(
            actual == expected,
            "examples/platform/overlays/{env} differs from expected/{env}.yaml"
        );
    }
}

#[test]
fn differential_against_kubectl_kustomize() {
    if !kubectl_available() {
        if std::env::var_os("SHIPWAY_SKIP_KUBECTL").is_some() {
            eprintln!(
                "WARNING: kubectl not found; the differential corpus was NOT run (SHIPWAY_SKIP_KUBECTL is set)"
            );
            return;
        }
        panic!(
            "kubectl is not on PATH: the differential tests against `kubectl kustomize` cannot run. Install kubectl or set SHIPWAY_SKIP_KUBECTL=1 to skip them explicitly."
        );
    }
    let root = repo_root();
    let mut failures = Vec::new();
    let cases = corpus_cases();
    for case in &cases {
        let name = case
            .strip_prefix(&root)
            .unwrap_or(case)
            .display()
            .to_string();
        match (kubectl(case), shipway(case)) {
            (Ok(expected), Ok(actual)) => {
                if expected != actual {
                    let line = expected
                        .lines()
                        .zip(actual.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    failures.push(format!(
                        "{name}: output differs from kubectl kustomize at line {}:\n  kubectl: {:?}\n  shipway: {:?}",
                        line + 1,
                        expected.lines().nth(line).unwrap_or(""),
                        actual.lines().nth(line).unwrap_or("")
                    ));
                }
            }
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => {
                failures.push(format!("{name}: kubectl succeeds but shipway fails: {e}"));
            }
            (Err(e), Ok(_)) => failures.push(format!(
                "{name}: kubectl fails but shipway succeeds; kubectl said: {e}"
            )),
        }
    }
    eprintln!(
        "differential corpus: {} cases, {} passed",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Writes a stand-in for `helm` that records its arguments and the values file it was
/// given, and prints what `helm template` prints (notes first, then documents). No real
/// helm is on CI machines; this checks shipway's side of the contract: the command line
/// kustomize builds, the merged values, and parsing of the output.
fn fake_helm(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("helm");
    std::fs::write(
        &script,
        r##"#!/bin/sh
if [ "$1" = version ]; then echo "v3.15.0+gfake"; exit 0; fi
echo "$@" > "$(dirname "$0")/args.txt"
while [ $# -gt 0 ]; do
  if [ "$1" = -f ]; then cat "$2" > "$(dirname "$0")/values.txt"; fi
  shift
done
echo "NOTES: ignored"
echo "---"
echo "# Source: demo/templates/cm.yaml"
echo "apiVersion: v1"
echo "kind: ConfigMap"
echo "metadata:"
echo "  name: demo-config"
echo "data:"
echo "  replicas: \"2\""
"##,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn helm_charts_run_helm_template_with_kustomize_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("charts/demo")).unwrap();
    std::fs::write(root.join("charts/demo/Chart.yaml"), "name: demo\n").unwrap();
    std::fs::write(
        root.join("charts/demo/values.yaml"),
        "replicas: 1\nimage: {tag: old, pull: Always}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("kustomization.yaml"),
        "namePrefix: p-\nhelmCharts:\n- name: demo\n  releaseName: rel\n  namespace: apps\n  includeCRDs: true\n  valuesInline:\n    image: {tag: new}\n",
    )
    .unwrap();
    let helm = fake_helm(root);
    let options = shipway_render::Options {
        helm_command: Some(helm.to_string_lossy().into_owned()),
        ..shipway_render::Options::default()
    };
    let output = shipway_render::render(root, &options).unwrap();
    assert_eq!(
        output.yaml,
        "apiVersion: v1\ndata:\n  replicas: \"2\"\nkind: ConfigMap\nmetadata:\n  name: p-demo-config\n"
    );
    let args = std::fs::read_to_string(root.join("args.txt")).unwrap();
    let chart = root.join("charts/demo");
    assert!(
        args.starts_with(&format!(
            "template rel {} --namespace apps -f ",
            chart.display()
        )),
        "{args}"
    );
    assert!(args.trim_end().ends_with("--include-crds"), "{args}");
    // Inline values override the chart's values key by key.
    let values = std::fs::read_to_string(root.join("values.txt")).unwrap();
    assert_eq!(values, "image:\n  pull: Always\n  tag: new\nreplicas: 1\n");
}

#[test]
fn helm_charts_fail_clearly_without_helm_or_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("charts/demo")).unwrap();
    std::fs::write(
        root.join("kustomization.yaml"),
        "helmCharts:\n- name: demo\n- name: missing\n  repo: https://charts.example.com\n  version: 1.0.0\n",
    )
    .unwrap();
    let missing_helm = shipway_render::Options {
        helm_command: Some(root.join("no-such-helm").to_string_lossy().into_owned()),
        ..shipway_render::Options::default()
    };
    let err = shipway_render::render(root, &missing_helm)
        .unwrap_err()
        .to_string();
    assert!(err.contains("kustomization.yaml:2"), "{err}");
    assert!(err.contains("was not found on PATH"), "{err}");

    std::fs::remove_dir_all(root.join("charts/demo")).unwrap();
    let helm = fake_helm(root);
    let options = shipway_render::Options {
        helm_command: Some(helm.to_string_lossy().into_owned()),
        ..shipway_render::Options::default()
    };
    let err = shipway_render::render(root, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not download charts"), "{err}");

    let disabled = shipway_render::render(root, &shipway_render::Options::default())
        .unwrap_err()
        .to_string();
    assert!(disabled.contains("--enable-helm"), "{disabled}");
}

/// One 1 MiB scalar aliased 3,000 times used to make `shipway render` allocate gigabytes;
/// the reader's alias byte budget stops it at the alias that crosses it.
#[test]
fn an_alias_bomb_fails_fast_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write_alias_bomb(tmp.path());
    let (code, stderr) = shipway_within(60, &["render".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    // The 17th alias (line 23) crosses the 16 MiB budget.
    assert!(
        stderr.contains("bomb.yaml:23: aliases expand to more than"),
        "{stderr}"
    );
}
