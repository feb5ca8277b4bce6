//! Benchmarks of the git layer against the budgets: a release (edit and commit, no
//! push) on a repository with 10,000 commits (budget 50 ms), and `history` over 1,000
//! releases (budget 200 ms). The repositories are written with `git fast-import`, which
//! makes thousands of commits in well under a second.
//!
//! Measured once on the shared 2-core development machine: release 26.9 ms median (slowest
//! 31.0 ms), history 30.5 ms median (slowest 40.6 ms).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use shipway_git::config::{Config, resolve};
use shipway_git::image::{ImageRef, ImageState};
use shipway_git::message::{Kind, Record, commit_message};
use shipway_git::repo::Repo;
use shipway_git::{ImageEdit, ops};

fn main() {
    divan::main();
}

const FILE: &str = "overlays/prod/kustomization.yaml";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn kustomization(tag: usize) -> String {
    format!(
        "# prod\nresources:\n- ../../base # base\nimages:\n- name: api # the API\n  newTag: \"1.{tag}\" # released\n"
    )
}

/// A repository of `commits` commits; when `releases` is set, each one is a release of the
/// kustomization with shipway's trailers, otherwise each touches an unrelated file.
fn repository(dir: &Path, commits: usize, releases: bool) -> Repo {
    git(dir, &["init", "-q", "-b", "main"]);
    for (k, v) in [
        ("user.name", "bench"),
        ("user.email", "bench@shipway.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        git(dir, &["config", k, v]);
    }
    let mut stream = String::new();
    let data = |out: &mut String, text: &str| {
        let _ = write!(out, "data {}\n{text}\n", text.len());
    };
    for n in 0..commits {
        let _ = writeln!(stream, "commit refs/heads/main");
        let _ = writeln!(
            stream,
            "committer bench <bench@shipway.invalid> {} +0000",
            1_700_000_000 + n
        );
        if releases && n > 0 {
            let record = Record {
                kind: Kind::Release,
                environment: None,
                file: FILE.into(),
                images: vec![ImageEdit {
                    name: "api".into(),
                    before: Some(ImageState {
                        new_tag: Some(format!("1.{}", n - 1)),
                        ..ImageState::default()
                    }),
                    after: ImageState {
                        new_tag: Some(format!("1.{n}")),
                        ..ImageState::default()
                    },
                }],
                failed: Vec::new(),
                promoted_from: None,
            };
            data(&mut stream, &commit_message(&record, None));
            let _ = writeln!(stream, "M 644 inline {FILE}");
            data(&mut stream, &kustomization(n));
        } else {
            data(&mut stream, &format!("commit {n}"));
            if n == 0 {
                let _ = writeln!(stream, "M 644 inline {FILE}");
                data(&mut stream, &kustomization(0));
            }
            let _ = writeln!(stream, "M 644 inline notes.txt");
            data(&mut stream, &format!("{n}\n"));
        }
        stream.push('\n');
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    git(dir, &["reset", "-q", "--hard", "main"]);
    Repo::discover(dir).unwrap()
}

#[divan::bench(sample_count = 40, sample_size = 1)]
fn release_on_10000_commits(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), 10_000, false);
    let target = resolve(
        repo.root(),
        repo.root(),
        &Config::default(),
        "overlays/prod",
    )
    .unwrap();
    let mut n = 0;
    bencher.bench_local(|| {
        n += 1;
        let change = ImageRef::parse(&format!("api:2.{n}")).unwrap().to_change();
        ops::release(&repo, &target, vec![change], false, false, None, None).unwrap()
    });
}

#[divan::bench(sample_count = 40, sample_size = 1)]
fn history_over_1000_releases(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), 1_001, true);
    let target = resolve(
        repo.root(),
        repo.root(),
        &Config::default(),
        "overlays/prod",
    )
    .unwrap();
    bencher.bench_local(|| {
        let entries = ops::history(&repo, &target).unwrap();
        assert_eq!(entries.len(), 1_000);
        entries
    });
}
