//! Rolling an app's directory back in git: the controller's `POST …/rollback`.
//!
//! The directory is restored, in a fresh clone of the branch, to its content at an
//! earlier commit (named, or N changes back), committed with shipway's rollback trailers
//! (so `shipway history` lists it and the abandoned commit is marked failed) and pushed
//! without force. Rollback is a commit, so automated sync stays on and the bad revision is
//! not applied again by the next poll.

use std::path::Path;
use std::process::Command;

use crate::fetch::FetchError;
use crate::message::{Kind, Record, commit_message};

/// Which earlier state to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The directory as it was at this commit.
    Commit(String),
    /// The directory as it was this many changes to it ago (1 = the one before the last).
    Steps(usize),
}

/// What a rollback wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rolledback {
    /// The new commit on the branch.
    pub commit: String,
    /// The commit whose directory content was restored.
    pub restored: String,
    /// The branch head before the rollback (the abandoned revision).
    pub abandoned: String,
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(["-c", "gc.auto=0"]);
    command
}

fn run(url: &str, dir: &Path, args: &[&str]) -> Result<String, FetchError> {
    let output = git(dir).args(args).output().map_err(|e| FetchError {
        url: url.to_string(),
        message: format!("could not run git: {e}"),
    })?;
    if !output.status.success() {
        return Err(FetchError {
            url: url.to_string(),
            message: format!(
                "git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Restores `path` of `url`'s `branch` to `target`, commits and pushes; `scratch` is an
/// empty directory to clone into. Refuses a path that leaves the repository, an unknown
/// commit, too many steps, and a rollback that would change nothing.
pub fn rollback_path(
    url: &str,
    branch: &str,
    path: &Path,
    target: &Target,
    scratch: &Path,
) -> Result<Rolledback, FetchError> {
    let fail = |message: String| FetchError {
        url: url.to_string(),
        message,
    };
    let rel = path.to_string_lossy().replace('\\', "/");
    let rel = if rel.is_empty() { ".".to_string() } else { rel };
    if rel.starts_with('/') || rel.split('/').any(|c| c == "..") || rel.starts_with('-') {
        return Err(fail(format!(
            "path `{rel}` must stay inside the repository"
        )));
    }
    if branch.starts_with('-') {
        return Err(fail(format!("`{branch}` is not a branch")));
    }
    let clone = scratch.join("clone");
    let parent = scratch;
    let mut args = vec!["clone", "--quiet"];
    let branch = branch.trim_start_matches("refs/heads/");
    if branch != "HEAD" && !branch.is_empty() {
        args.extend(["--branch", branch]);
    }
    let clone_text = clone.to_string_lossy().into_owned();
    args.extend(["--", url, clone_text.as_str()]);
    run(url, parent, &args)?;
    let abandoned = run(url, &clone, &["rev-parse", "HEAD"])?;
    let restored = match target {
        Target::Commit(commit) => {
            if commit.starts_with('-') {
                return Err(fail(format!("`{commit}` is not a commit")));
            }
            run(
                url,
                &clone,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{commit}^{{commit}}"),
                ],
            )
            .map_err(|_| fail(format!("commit `{commit}` not found on `{branch}`")))?
        }
        Target::Steps(steps) => {
            let count = (steps + 1).to_string();
            let log = run(
                url,
                &clone,
                &["log", "--format=%H", "-n", &count, "--", &rel],
            )?;
            log.lines().nth(*steps).map(str::to_string).ok_or_else(|| {
                fail(format!(
                    "`{rel}` has fewer than {} changes to roll back over",
                    steps + 1
                ))
            })?
        }
    };
    run(
        url,
        &clone,
        &["rm", "-r", "-q", "--ignore-unmatch", "--", &rel],
    )?;
    run(url, &clone, &["checkout", &restored, "--", &rel])?;
    let unchanged = git(&clone)
        .args(["diff", "--cached", "--quiet"])
        .status()
        .map_err(|e| fail(format!("could not run git: {e}")))?
        .success();
    if unchanged {
        return Err(fail(format!(
            "`{rel}` is already as it was at {restored}: nothing to roll back"
        )));
    }
    let record = Record {
        kind: Kind::Rollback,
        environment: None,
        file: rel.clone(),
        images: Vec::new(),
        failed: vec![abandoned.clone()],
        promoted_from: None,
    };
    let message = commit_message(
        &record,
        Some(&format!(
            "rollback {rel} to {}",
            &restored[..restored.len().min(12)]
        )),
    );
    run(
        url,
        &clone,
        &[
            "-c",
            "user.name=shipway",
            "-c",
            "user.email=shipway@localhost",
            "commit",
            "-q",
            "-m",
            &message,
        ],
    )?;
    let commit = run(url, &clone, &["rev-parse", "HEAD"])?;
    run(url, &clone, &["push", "--quiet", "origin", "HEAD"])?;
    Ok(Rolledback {
        commit,
        restored,
        abandoned,
    })
}
