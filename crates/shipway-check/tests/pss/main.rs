//! Conformance of the `pod-security/*` rules with the Pod Security Admission plugin: every
//! upstream fixture (`<level>/<version>/{pass,fail}/*.yaml`, copied from
//! `k8s.io/pod-security-admission/test/testdata`) from v1.25 on is checked at its level and
//! version. A pass fixture must give no `pod-security/*` finding, a fail fixture at least
//! one, and that one must come from the check the file is named after (or the restricted
//! check that replaces it).
//!
//! The fixtures live outside the repository, in `../shared/conformance/pss` (or
//! `$SHIPWAY_PSS_FIXTURES`). Without them the test is reported as ignored (not `ok`),
//! unless `SHIPWAY_PSS_REQUIRED=1`, which CI sets: then it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use shipway_check::{RULES, Settings, check};
use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{FileId, SourceMap};

/// The oldest policy version the rules are exact for.
const OLDEST_MINOR: u32 = 25;

fn fixtures_dir() -> PathBuf {
    std::env::var_os("SHIPWAY_PSS_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pss"),
        PathBuf::from,
    )
}

/// The check a fixture is about, from its file name (`runasnonroot2` → `runAsNonRoot`).
fn check_of(stem: &str, codes: &[&str]) -> Option<String> {
    let base = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    codes
        .iter()
        .filter_map(|code| code.strip_prefix("pod-security/"))
        .find(|id| id.eq_ignore_ascii_case(base))
        .map(str::to_string)
}

/// The check that reports a fixture's problem at `level` and `minor`: restricted replaces
/// some baseline checks.
fn expected_check(id: &str, level: &str, minor: u32) -> String {
    if level != "restricted" {
        return id.to_string();
    }
    match id {
        "capabilities_baseline" => "capabilities_restricted",
        "hostPathVolumes" => "restrictedVolumes",
        "seccompProfile_baseline" => "seccompProfile_restricted",
        "procMount" if minor >= 35 => "procMount_restricted",
        other => other,
    }
    .to_string()
}

#[derive(Default)]
struct Tally {
    pass_ok: usize,
    fail_ok: usize,
    problems: Vec<String>,
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The `pod-security/*` rule ids reported for one fixture file.
fn rules_reported(path: &Path, setting: &str) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = SourceMap::new();
    let file = sources.add(path);
    let objects = parse_stream(&text, file, &Limits::default())
        .map_err(|e| format!("{}: line {}: {}", path.display(), e.line, e.message))?;
    let settings = Settings {
        pod_security: Some(setting.to_string()),
        only: Some(
            RULES
                .iter()
                .filter(|r| r.code.starts_with("pod-security/"))
                .map(|r| r.code.to_string())
                .collect(),
        ),
        ..Settings::default()
    };
    debug_assert_eq!(file, FileId(0));
    Ok(check(&objects, &sources, &settings)
        .into_iter()
        .map(|f| f.rule)
        .collect())
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let root = fixtures_dir();
    let required = std::env::var("SHIPWAY_PSS_REQUIRED").is_ok_and(|v| v == "1");
    let present = root.is_dir();
    if !present && !required {
        eprintln!(
            "SKIPPED: Pod Security Standards fixtures not found at {} (set SHIPWAY_PSS_FIXTURES); conformance NOT checked",
            root.display()
        );
    }
    let trial = libtest_mimic::Trial::test("upstream_pod_security_fixtures", move || {
        if !present {
            return Err(format!(
                "SHIPWAY_PSS_REQUIRED=1 but the Pod Security fixtures are missing at {}",
                root.display()
            )
            .into());
        }
        std::panic::catch_unwind(|| upstream_pod_security_fixtures(&root)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "the conformance check panicked".into())
                .into()
        })
    })
    .with_ignored_flag(!present && !required);
    libtest_mimic::run(&args, vec![trial]).exit_code()
}

fn upstream_pod_security_fixtures(root: &Path) {
    let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    let mut problems = Vec::new();
    let mut total = 0;
    for level in ["baseline", "restricted"] {
        let mut tally = Tally::default();
        let mut versions: Vec<u32> = std::fs::read_dir(root.join(level))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("v1.")?.parse().ok())
            .filter(|&minor| minor >= OLDEST_MINOR)
            .collect();
        versions.sort_unstable();
        for minor in &versions {
            let setting = format!("{level}:v1.{minor}");
            let dir = root.join(level).join(format!("v1.{minor}"));
            for path in yaml_files(&dir.join("pass")) {
                match rules_reported(&path, &setting) {
                    Ok(found) if found.is_empty() => tally.pass_ok += 1,
                    Ok(found) => tally.problems.push(format!(
                        "{}: expected no finding, got {found:?}",
                        path.display()
                    )),
                    Err(e) => tally.problems.push(e),
                }
            }
            for path in yaml_files(&dir.join("fail")) {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                let Some(id) = check_of(stem, &codes) else {
                    tally
                        .problems
                        .push(format!("{}: no rule for this check", path.display()));
                    continue;
                };
                let expected = format!("pod-security/{}", expected_check(&id, level, *minor));
                match rules_reported(&path, &setting) {
                    Ok(found) if found.contains(&expected) => tally.fail_ok += 1,
                    Ok(found) => tally.problems.push(format!(
                        "{}: expected `{expected}`, got {found:?}",
                        path.display()
                    )),
                    Err(e) => tally.problems.push(e),
                }
            }
        }
        let failures = tally.problems.len();
        total += tally.pass_ok + tally.fail_ok + failures;
        println!(
            "conformance: {level} v1.{}..v1.{}: pass fixtures {} ok, fail fixtures {} ok, {failures} wrong",
            versions.first().unwrap_or(&0),
            versions.last().unwrap_or(&0),
            tally.pass_ok,
            tally.fail_ok,
        );
        problems.extend(tally.problems);
    }
    assert!(total > 0, "no fixtures found under {}", root.display());
    assert!(
        problems.is_empty(),
        "{} fixtures disagree with Pod Security Admission:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
