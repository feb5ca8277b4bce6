//! kustomize's own krusty test suite as a differential corpus: every case under
//! `../shared/conformance/kustomize-krusty/cases/` (relative to the repository root) is one
//! test, rendered through [`shipway_render::render`] (the entry point `shipway render`
//! uses) with the case's flags.
//!
//! An `ok` case must print its `expected.yaml` byte for byte; an `error` case must fail
//! with an error that names a file of the case's input. The cases are not shipped with the
//! repository: when the directory is absent the run lists one ignored test saying so, and
//! fails instead when `SHIPWAY_KRUSTY_REQUIRED=1` (as in `.ci/run`).
//!
//! [`KNOWN_FAILING`] names the cases shipway does not pass yet, each with its reason. They
//! still run and must still fail: a listed case that starts passing fails the run, so the
//! list can only shrink. `SHIPWAY_KRUSTY_IGNORE_KNOWN=1` runs them as ordinary cases, to
//! show how each fails.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

/// Cases that are run and expected to fail, with the reason. Remove a line when the case
/// passes (the harness says so).
const KNOWN_FAILING: &[(&str, &str)] = &[
    (
        "TestAnnoOriginAndTransformerBuiltinLocal",
        "origin annotations for built-in generator/transformer configs",
    ),
    (
        "TestAnnoOriginConfigMapGeneratorMerge",
        "origin annotations for built-in generator/transformer configs",
    ),
    (
        "TestAnnoOriginBuiltinGeneratorFromFileWithOverlay",
        "origin annotations for built-in generator/transformer configs",
    ),
    (
        "TestAnnoOriginGeneratorFromFile",
        "origin annotations for built-in generator/transformer configs",
    ),
    (
        "TestAnnoOriginInlineBuiltinGenerator",
        "origin annotations for built-in generator/transformer configs",
    ),
    (
        "TestAnnoTransformerBuiltinInline",
        "`buildMetadata: [transformerAnnotations]` not supported",
    ),
    (
        "TestAnnoTransformerBuiltinLocal",
        "`buildMetadata: [transformerAnnotations]` not supported",
    ),
    (
        "TestAnnoTransformerLocalFilesWithOverlay",
        "`buildMetadata: [transformerAnnotations]` not supported",
    ),
    (
        "TestCustomOpenApiFieldFromComponentWithOverlays",
        "the `openapi:` custom schema is not used for strategic merge of custom resources",
    ),
    (
        "TestIssue3489",
        "name reference: a ClusterRoleBinding subject resolves to the wrong one of two renamed ServiceAccounts of one original name",
    ),
    (
        "TestIssue4884_UseLocalConfigAsNameRefSource",
        "kind-specific `namePrefix` field specs from `configurations:` keep kustomize from prefixing other kinds; shipway prefixes them all",
    ),
    (
        "TestMultibasesWithConflict",
        "ambiguous name reference not rejected",
    ),
    (
        "TestNamedspacedServiceAccountsWithOverlap",
        "ambiguous name reference not rejected",
    ),
    (
        "TestPrefixSuffix",
        "name reference: a ConfigMap of two bases with one original name and different prefixes resolves to the wrong one",
    ),
];

fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/kustomize-krusty/cases");
    // Canonical, so that failure messages show a readable path.
    dir.canonicalize().unwrap_or(dir)
}

/// What `case.json` says about a case (only the fields the harness uses).
struct Case {
    name: String,
    dir: PathBuf,
    build_dir: PathBuf,
    options: shipway_render::Options,
    expect_error: bool,
}

fn read_case(dir: &Path) -> Result<Case, String> {
    let path = dir.join("case.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let field = |key: &str| {
        json.get(key)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("{}: no string `{key}`", path.display()))
    };
    let name = field("name")?.to_owned();
    let build_dir = dir.join("input").join(field("build_dir")?);
    let expect_error = match field("kind")? {
        "ok" => false,
        "error" => true,
        other => return Err(format!("{}: unknown kind `{other}`", path.display())),
    };
    let flags: Vec<&str> = json
        .get("flags")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("{}: no `flags` list", path.display()))?
        .iter()
        .map(|f| f.as_str().unwrap_or_default())
        .collect();
    // The CLI's default is legacy order and the root-only restrictor; the flags override.
    let mut options = shipway_render::Options::default();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match (*flag, flags.next().copied()) {
            ("--reorder", Some("none")) => options.reorder_none = true,
            ("--reorder", Some("legacy")) => options.reorder_none = false,
            ("--load-restrictor", Some("LoadRestrictionsNone")) => {
                options.load_restrictor = shipway_render::LoadRestrictor::None;
            }
            ("--load-restrictor", Some("LoadRestrictionsRootOnly")) => {
                options.load_restrictor = shipway_render::LoadRestrictor::RootOnly;
            }
            (flag, value) => {
                return Err(format!(
                    "{}: flag `{flag}` {value:?} not understood by the harness",
                    path.display()
                ));
            }
        }
    }
    Ok(Case {
        name,
        dir: dir.to_owned(),
        build_dir,
        options,
        expect_error,
    })
}

/// Runs one case; `Err` says how shipway's result differs from kubectl's.
fn run_case(case: &Case) -> Result<(), String> {
    let result = shipway_render::render(&case.build_dir, &case.options);
    match (case.expect_error, result) {
        (false, Ok(output)) => {
            let path = case.dir.join("expected.yaml");
            let expected =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if output.yaml == expected {
                return Ok(());
            }
            let line = expected
                .lines()
                .zip(output.yaml.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| expected.lines().count().min(output.yaml.lines().count()));
            Err(format!(
                "output differs from expected.yaml at line {}:\n  kubectl: {:?}\n  shipway: {:?}\n--- shipway output ---\n{}",
                line + 1,
                expected.lines().nth(line).unwrap_or("<end>"),
                output.yaml.lines().nth(line).unwrap_or("<end>"),
                output.yaml
            ))
        }
        (false, Err(error)) => Err(format!("kubectl succeeds but shipway fails: {error}")),
        (true, Ok(_)) => Err("kubectl fails but shipway succeeds".to_owned()),
        (true, Err(error)) => {
            // The error must name a file of the input (by its path or, for files named
            // from a kustomization, by the name written there).
            let message = error.to_string();
            let input = case.dir.join("input");
            if message.contains(&*input.to_string_lossy()) {
                Ok(())
            } else {
                Err(format!(
                    "the error does not name a file of the input: {message}"
                ))
            }
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = corpus_dir();
    let required = std::env::var_os("SHIPWAY_KRUSTY_REQUIRED").is_some_and(|v| v == "1");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "krusty corpus not found at {}: the kustomize krusty cases were SKIPPED",
            dir.display()
        );
        let trial = Trial::test("krusty_corpus_absent", move || {
            Err("the krusty corpus is absent and SHIPWAY_KRUSTY_REQUIRED=1".into())
        })
        .with_ignored_flag(!required);
        libtest_mimic::run(&args, vec![trial]).exit();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    let ignore_known = std::env::var_os("SHIPWAY_KRUSTY_IGNORE_KNOWN").is_some_and(|v| v == "1");
    let mut trials = Vec::new();
    let mut names = Vec::new();
    for case_dir in dirs {
        let fallback = case_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = match read_case(&case_dir) {
            Ok(case) => case,
            Err(error) => {
                trials.push(Trial::test(fallback, move || Err(error.into())));
                continue;
            }
        };
        names.push(case.name.clone());
        // `SHIPWAY_KRUSTY_IGNORE_KNOWN=1` runs the listed cases as ordinary ones, to see
        // how they fail.
        let known = KNOWN_FAILING
            .iter()
            .filter(|_| !ignore_known)
            .find(|(name, _)| *name == case.name)
            .map(|(_, reason)| *reason);
        trials.push(Trial::test(case.name.clone(), move || {
            match (run_case(&case), known) {
                // Passing, or failing as the list says.
                (Ok(()), None) | (Err(_), Some(_)) => Ok(()),
                (Err(diff), None) => Err(Failed::from(diff)),
                (Ok(()), Some(reason)) => Err(Failed::from(format!(
                    "listed in KNOWN_FAILING ({reason}) but passes now: remove it from the list"
                ))),
            }
        }));
    }
    // A stale entry in the list would hide nothing, but it would mislead the reader.
    for (name, _) in KNOWN_FAILING {
        if !names.iter().any(|n| n == name) {
            let name = (*name).to_owned();
            trials.push(Trial::test(
                format!("known_failing_entry_{name}"),
                move || {
                    Err(
                        format!("KNOWN_FAILING names `{name}`, which is not a case of the corpus")
                            .into(),
                    )
                },
            ));
        }
    }
    let total = names.len();
    let known = KNOWN_FAILING.len();
    eprintln!(
        "krusty corpus: {total} cases, {known} listed as known failing, {} expected to pass",
        total.saturating_sub(known)
    );
    libtest_mimic::run(&args, trials).exit();
}
