//! Test helpers for rule families: check a fixture with one rule enabled and print the
//! findings as a user sees them (rule, severity, line, path, message and the source line),
//! ready for an `insta` snapshot.

use std::fmt::Write as _;

use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{FileId, Finding, SourceMap};

use crate::Settings;

/// Checks `yaml` (a fixture file's text) with only `code` enabled.
pub(crate) fn lint(code: &str, yaml: &str) -> Vec<Finding> {
    lint_with(code, yaml, Settings::default())
}

/// Like [`lint`], with settings.
pub(crate) fn lint_with(code: &str, yaml: &str, mut settings: Settings) -> Vec<Finding> {
    let mut sources = SourceMap::new();
    let file = sources.add(std::path::Path::new("fixture.yaml"));
    debug_assert_eq!(file, FileId(0));
    let objects = match parse_stream(yaml, file, &Limits::default()) {
        Ok(objects) => objects
            .into_iter()
            .filter(|o| !o.value.is_null())
            .collect::<Vec<_>>(),
        Err(e) => panic!("fixture does not parse: line {}: {}", e.line, e.message),
    };
    settings.only = Some(vec![code.to_string()]);
    crate::check(&objects, &sources, &settings)
}

/// Snapshot-tests `resources/fixtures/<family>/<name>.yaml` with only rule `code`
/// (`family/name`) enabled.
pub(crate) fn fixture(code: &str) {
    let (family, name) = code.split_once('/').unwrap_or((code, code));
    let path = format!(
        "{}/resources/fixtures/{family}/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    insta::assert_snapshot!(name, show(&yaml, &lint(code, &yaml)));
}

/// Prints findings with the fixture line they point at.
pub(crate) fn show(yaml: &str, findings: &[Finding]) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "{} {} at line {} `{}`: {}",
            f.severity,
            f.rule,
            f.pos.line,
            f.path,
            f.headline()
        );
        if let Some(line) = f
            .pos
            .line
            .checked_sub(1)
            .and_then(|i| lines.get(i as usize))
        {
            let _ = writeln!(out, "  | {line}");
        }
    }
    if out.is_empty() {
        out.push_str("no findings\n");
    }
    out
}
