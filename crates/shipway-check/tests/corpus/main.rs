//! The real-repository corpus: manifests rendered from public `GitOps` repositories (see
//! `README.md` beside this file for each entry's source, commit and licence), each file
//! checked on its own as `shipway check FILE` would. Every error finding on it must be a
//! defect a reviewer would fix, so the test asserts the whole list of errors against
//! `expected-errors.txt`, and prints the counts of every severity by rule.
//!
//! `SHIPWAY_CHECK_CORPUS_BLESS=1` rewrites `expected-errors.txt` from the run (review the
//! diff as you would review code).
//!
//! The rendered files are not kept in this repository: the test reads them from
//! `$SHIPWAY_CHECK_CORPUS`, else `../shared/corpus/check` beside the repository. The test
//! is therefore ignored by default (so its absence shows as ignored, never as a pass): run
//! it with `cargo test -p shipway-check --test corpus -- --ignored`, where a missing corpus
//! is a failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use shipway_check::{Settings, check};
use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{Severity, SourceMap};

fn corpus_dir() -> PathBuf {
    std::env::var_os("SHIPWAY_CHECK_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/check"),
        PathBuf::from,
    )
}

#[test]
#[ignore = "needs the rendered corpus (SHIPWAY_CHECK_CORPUS): run with --ignored"]
fn corpus_errors_are_the_expected_defects() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no corpus at {} (set SHIPWAY_CHECK_CORPUS to the rendered files)",
        dir.display()
    );
    let mut errors = String::new();
    let mut counts: BTreeMap<(Severity, String), usize> = BTreeMap::new();
    let mut objects = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let mut sources = SourceMap::new();
        let file = sources.add(path);
        let nodes: Vec<_> = parse_stream(&text, file, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: line {}: {}", path.display(), e.line, e.message))
            .into_iter()
            .filter(|n| !n.value.is_null())
            .collect();
        objects += nodes.len();
        let name = path.file_name().unwrap().to_string_lossy();
        for finding in check(&nodes, &sources, &Settings::default()) {
            *counts
                .entry((finding.severity, finding.rule.clone()))
                .or_default() += 1;
            if finding.severity == Severity::Error {
                let _ = writeln!(
                    errors,
                    "{name}:{} {} {}",
                    finding.pos.line,
                    finding.rule,
                    finding.headline()
                );
            }
        }
    }
    eprintln!("{} files, {objects} objects", files.len());
    for ((severity, rule), n) in &counts {
        eprintln!("{:8} {rule:45} {n}", severity.as_str());
    }
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/expected-errors.txt");
    if std::env::var_os("SHIPWAY_CHECK_CORPUS_BLESS").is_some() {
        let header = "# Every error finding of `shipway check` on the corpus (see README.md), one a line:\n# file:line rule headline. Each must be a defect a reviewer would fix.\n";
        std::fs::write(&expected_path, format!("{header}{errors}")).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    let expected: String = expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .fold(String::new(), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        });
    assert_eq!(
        errors,
        expected,
        "error findings on the corpus differ from {}",
        expected_path.display()
    );
}
