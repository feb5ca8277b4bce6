//! Release, promote, roll back and read history: the pure editor and message writer applied
//! to a git working tree.
//!
//! Safety rules every operation follows: it starts only from a clean working tree on a
//! branch; it leaves the tree either as it was or with one clean new commit (a failed
//! `git commit` restores the file); and a push is never forced. When the remote branch has
//! moved, the commit is rebuilt on the new tip by re-running the same edit (a textual rebase
//! of neighbouring `images:` lines would conflict for no reason), then pushed again after a
//! randomised, growing pause, up to a limit. A release is not re-applied when the commits
//! that moved the branch set one of its images to something else: two people releasing the
//! same image at once is a decision, and the later one must not silently win (unless
//! forced).

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::Error;
use crate::config::{Config, Target};
use crate::edit::{EditError, ImageEdit, edit_images, read_images};
use crate::image::ImageChange;
use crate::message::{HistoryEntry, Kind, LOG_FORMAT, Record, commit_message, parse_log};
use crate::repo::Repo;

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The remote name or URL.
    pub remote: String,
    /// The remote branch; `None` means the checked-out branch's name.
    pub branch: Option<String>,
    /// How many pushes to try before giving up.
    pub max_attempts: u32,
}

/// What an operation did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new commit; `None` when a retry found the remote already had these images.
    pub commit: Option<String>,
    /// Each image before and after.
    pub edits: Vec<ImageEdit>,
    /// How many pushes were tried (0 without `--push`).
    pub push_attempts: u32,
}

/// Which earlier state a rollback restores.
#[derive(Debug, Clone)]
pub enum RollbackTo {
    /// The release this many releases back (1: the previous one); failed releases and
    /// rollbacks do not count.
    Steps(usize),
    /// The images as they were at this commit.
    Commit(String),
}

/// One commit to make: the edit and what the message records beyond it.
struct Plan {
    kind: Kind,
    changes: Vec<ImageChange>,
    add: bool,
    failed: Vec<String>,
    promoted_from: Option<String>,
    /// Rollbacks commit even when nothing changes, because the failure marks matter.
    allow_empty: bool,
    /// Re-apply the edit on a moved branch even when the commits that moved it set the
    /// same images.
    force: bool,
}

/// Sets images in `target`'s kustomization, commits, and pushes when `push` is given.
///
/// When the push finds the branch moved by commits that set one of the same images to
/// another reference, the release is refused ([`Error::ConcurrentRelease`], naming that
/// commit) and the local commit dropped, unless `force`, which re-applies it on top.
pub fn release(
    repo: &Repo,
    target: &Target,
    changes: Vec<ImageChange>,
    add: bool,
    force: bool,
    message: Option<&str>,
    push: Option<&PushOptions>,
) -> Result<Outcome, Error> {
    let plan = Plan {
        kind: Kind::Release,
        changes,
        add,
        failed: Vec::new(),
        promoted_from: None,
        allow_empty: false,
        force,
    };
    run(repo, target, &plan, message, push)
}

/// Copies image references from `from`'s kustomization into `to`'s (all of them, or those
/// named), refusing images of a release marked failed unless `force`.
#[expect(clippy::too_many_arguments, reason = "each is one command-line option")]
pub fn promote(
    repo: &Repo,
    config: &Config,
    from: &Target,
    to: &Target,
    names: &[String],
    force: bool,
    message: Option<&str>,
    push: Option<&PushOptions>,
) -> Result<Outcome, Error> {
    let from_path = from.file_path(repo.root());
    let text = fs_err::read_to_string(&from_path).map_err(|source| Error::Io { source })?;
    let images = read_images(&text).map_err(|source| Error::Edit {
        path: from_path.clone(),
        source,
    })?;
    let mut selected = Vec::new();
    if names.is_empty() {
        selected.clone_from(&images);
    } else {
        for name in names {
            let found = images
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Error::Edit {
                    path: from_path.clone(),
                    source: EditError::UnknownImage {
                        name: name.clone(),
                        known: images.iter().map(|(n, _)| n.clone()).collect(),
                    },
                })?;
            selected.push(found.clone());
        }
    }
    if !force {
        if let (Some(f), Some(t)) = (&from.environment, &to.environment)
            && let (Some(fi), Some(ti)) = (config.order(f), config.order(t))
            && ti <= fi
        {
            return Err(Error::PromotionOrder {
                from: f.clone(),
                to: t.clone(),
                order: config
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" → "),
            });
        }
        // The current release is the newest that is not itself a rollback: once a rollback
        // has marked it failed, automation must not carry it (or what replaced it) on until
        // a new release lands.
        let entries = history(repo, from)?;
        let failed: HashSet<&str> = entries
            .iter()
            .flat_map(|e| e.failed.iter().map(String::as_str))
            .collect();
        if let Some(current) = entries.iter().find(|e| e.kind != Kind::Rollback)
            && failed.contains(current.commit.as_str())
        {
            return Err(Error::FailedRelease {
                target: from.label().to_owned(),
                commit: current.commit.clone(),
            });
        }
    }
    let plan = Plan {
        kind: Kind::Promote,
        changes: selected
            .iter()
            .map(|(name, state)| ImageChange::restore(name, state))
            .collect(),
        add: true,
        failed: Vec::new(),
        promoted_from: Some(from.label().to_owned()),
        allow_empty: false,
        // A promotion copies what another environment already runs; re-applying it on a
        // moved branch is what was asked.
        force: true,
    };
    run(repo, to, &plan, message, push)
}

/// Restores the images of an earlier release of `target` in a new commit that marks the
/// releases after it as failed.
pub fn rollback(
    repo: &Repo,
    target: &Target,
    to: &RollbackTo,
    message: Option<&str>,
    push: Option<&PushOptions>,
) -> Result<Outcome, Error> {
    let entries = history(repo, target)?;
    let failed: HashSet<&str> = entries
        .iter()
        .flat_map(|e| e.failed.iter().map(String::as_str))
        .collect();
    let releases: Vec<&HistoryEntry> = entries
        .iter()
        .filter(|e| e.kind != Kind::Rollback && !failed.contains(e.commit.as_str()))
        .collect();
    let (restore_from, abandoned): (String, Vec<String>) = match to {
        RollbackTo::Steps(steps) => {
            let Some(entry) = releases.get(*steps).filter(|_| *steps > 0) else {
                return Err(Error::NothingToRollBack {
                    target: target.label().to_owned(),
                    releases: releases.len(),
                });
            };
            (
                entry.commit.clone(),
                releases[..*steps]
                    .iter()
                    .map(|e| e.commit.clone())
                    .collect(),
            )
        }
        RollbackTo::Commit(revision) => {
            let commit = repo.resolve(revision)?;
            let mut abandoned = Vec::new();
            for e in &releases {
                let ancestor = repo
                    .output(&["merge-base", "--is-ancestor", &e.commit, &commit])?
                    .status
                    .success();
                if !ancestor {
                    abandoned.push(e.commit.clone());
                }
            }
            (commit, abandoned)
        }
    };
    let old = repo.show(&restore_from, &target.file)?;
    let images = read_images(&old).map_err(|source| Error::Edit {
        path: target.file_path(repo.root()),
        source,
    })?;
    let plan = Plan {
        kind: Kind::Rollback,
        changes: images
            .iter()
            .map(|(name, state)| ImageChange::restore(name, state))
            .collect(),
        add: true,
        failed: abandoned,
        promoted_from: None,
        allow_empty: true,
        // A rollback restores a known state whatever landed meanwhile.
        force: true,
    };
    run(repo, target, &plan, message, push)
}

/// The releases, promotions and rollbacks of `target`, newest first.
pub fn history(repo: &Repo, target: &Target) -> Result<Vec<HistoryEntry>, Error> {
    let output = repo.output(&["log", "-z", LOG_FORMAT, "HEAD", "--", &target.file])?;
    if !output.status.success() {
        // An unborn branch has no history rather than an error.
        if repo.resolve("HEAD").is_err() {
            return Ok(Vec::new());
        }
        return Err(Error::Git {
            command: "git log".into(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(parse_log(
        &String::from_utf8_lossy(&output.stdout),
        &target.file,
    ))
}

fn run(
    repo: &Repo,
    target: &Target,
    plan: &Plan,
    message: Option<&str>,
    push: Option<&PushOptions>,
) -> Result<Outcome, Error> {
    repo.ensure_clean()?;
    let branch = repo.current_branch()?;
    let base = repo.resolve("HEAD")?;
    let Some((commit, edits)) = commit_edit(repo, target, plan, message)? else {
        return Err(Error::NothingToChange {
            file: target.file.clone(),
        });
    };
    let mut outcome = Outcome {
        commit: Some(commit),
        edits,
        push_attempts: 0,
    };
    if let Some(push) = push {
        let branch = push.branch.clone().unwrap_or(branch);
        push_with_retry(
            repo,
            target,
            plan,
            message,
            push,
            &branch,
            base,
            &mut outcome,
        )?;
    }
    Ok(outcome)
}

/// Edits and commits; `None` when there is nothing to commit. On a failed commit the file
/// and the index are put back as they were.
fn commit_edit(
    repo: &Repo,
    target: &Target,
    plan: &Plan,
    message: Option<&str>,
) -> Result<Option<(String, Vec<ImageEdit>)>, Error> {
    let path = target.file_path(repo.root());
    let text = fs_err::read_to_string(&path).map_err(|source| Error::Io { source })?;
    let (new, edits) =
        edit_images(&text, &plan.changes, plan.add).map_err(|source| Error::Edit {
            path: path.clone(),
            source,
        })?;
    if new == text && !plan.allow_empty {
        return Ok(None);
    }
    let record = Record {
        kind: plan.kind,
        environment: target.environment.clone(),
        file: target.file.clone(),
        images: edits.clone(),
        failed: plan.failed.clone(),
        promoted_from: plan.promoted_from.clone(),
    };
    let message = commit_message(&record, message);
    let committed = if new == text {
        repo.run_with_input(&["commit", "-q", "--allow-empty", "-F", "-"], &message)
    } else {
        fs_err::write(&path, &new).map_err(|source| Error::Io { source })?;
        repo.run(&["add", "--", &target.file]).and_then(|_| {
            repo.run_with_input(&["commit", "-q", "-F", "-", "--", &target.file], &message)
        })
    };
    if let Err(source) = committed {
        if new != text {
            fs_err::write(&path, &text).map_err(|source| Error::Io { source })?;
            repo.run(&["reset", "-q", "HEAD", "--", &target.file])?;
        }
        return Err(Error::CommitFailed {
            file: target.file.clone(),
            source: Box::new(source),
        });
    }
    Ok(Some((repo.resolve("HEAD")?, edits)))
}

#[expect(clippy::too_many_arguments, reason = "private; the loop's whole state")]
fn push_with_retry(
    repo: &Repo,
    target: &Target,
    plan: &Plan,
    message: Option<&str>,
    push: &PushOptions,
    branch: &str,
    mut base: String,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let refspec = format!("HEAD:refs/heads/{branch}");
    let max = push.max_attempts.max(1);
    for attempt in 1..=max {
        outcome.push_attempts = attempt;
        let output = repo.output(&["push", "--porcelain", &push.remote, &refspec])?;
        if output.status.success() {
            return Ok(());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let head = repo.resolve("HEAD")?;
        if !branch_moved(&stdout, &stderr) {
            let reason = stdout
                .lines()
                .chain(stderr.lines())
                .filter(|l| {
                    l.starts_with('!')
                        || l.starts_with("fatal")
                        || l.starts_with("error")
                        || l.starts_with("remote:")
                })
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Error::PushFailed {
                remote: push.remote.clone(),
                commit: head,
                reason,
            });
        }
        if attempt == max {
            return Err(Error::PushRetriesExhausted {
                remote: push.remote.clone(),
                attempts: max,
                commit: head,
            });
        }
        std::thread::sleep(backoff(attempt));
        repo.run(&["fetch", "-q", &push.remote, &format!("refs/heads/{branch}")])
            .map_err(|e| Error::PushFailed {
                remote: push.remote.clone(),
                commit: head.clone(),
                reason: e.to_string(),
            })?;
        let tip = repo.resolve("FETCH_HEAD")?;
        let unpushed = repo.run(&["rev-list", "--count", &base, &format!("^{tip}")])?;
        if unpushed.trim() == "0" {
            if !plan.force
                && let Some(other) = concurrent_edit(repo, target, &base, &tip, &outcome.edits)?
            {
                // Leave the branch as it was before this release, so that running it
                // again (with `--force`, or after a look at the other release) just works.
                repo.run(&["reset", "-q", "--hard", &base])?;
                return Err(other);
            }
            // Our commit is the only local one: rebuild it on the new tip. Resetting is
            // safe because the tree was clean when we started and the commit is ours.
            repo.run(&["reset", "-q", "--hard", &tip])?;
            base = tip;
            let Some((commit, edits)) = commit_edit(repo, target, plan, message)? else {
                // Someone else already released exactly these images.
                outcome.commit = None;
                return Ok(());
            };
            outcome.commit = Some(commit);
            outcome.edits = edits;
        } else {
            // Someone's unpushed commits are on this branch too: keep them, rebase them.
            let rebased = repo.output(&["rebase", "-q", &tip])?;
            if !rebased.status.success() {
                let _ = repo.output(&["rebase", "--abort"]);
                return Err(Error::RebaseConflict {
                    remote: push.remote.clone(),
                    commit: head,
                });
            }
            outcome.commit = Some(repo.resolve("HEAD")?);
            base = repo.resolve("HEAD~1")?;
        }
    }
    Ok(())
}

/// The refusal when a commit in `base..tip` set one of the images `edits` change to a
/// reference other than ours (the newest such commit for each image decides); `None`
/// when the edit can be re-applied without overwriting anyone.
fn concurrent_edit(
    repo: &Repo,
    target: &Target,
    base: &str,
    tip: &str,
    edits: &[ImageEdit],
) -> Result<Option<Error>, Error> {
    let range = format!("{base}..{tip}");
    let output = repo.output(&["log", "-z", LOG_FORMAT, &range, "--", &target.file])?;
    if !output.status.success() {
        return Err(Error::Git {
            command: "git log".into(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let entries = parse_log(&String::from_utf8_lossy(&output.stdout), &target.file);
    for edit in edits.iter().filter(|e| e.changed()) {
        let ours = edit.after.reference(&edit.name);
        let newest = entries.iter().find_map(|entry| {
            let image = entry.images.iter().find(|i| i.name == edit.name)?;
            Some((entry, image))
        });
        if let Some((entry, image)) = newest
            && image.to != ours
        {
            return Ok(Some(Error::ConcurrentRelease {
                image: edit.name.clone(),
                reference: image.to.clone(),
                kind: entry.kind.as_str(),
                commit: entry.commit.clone(),
                author: entry.author.clone(),
            }));
        }
    }
    Ok(None)
}

/// Whether a failed push failed only because the remote branch moved (or another push was
/// updating it at the same moment), which a fetch and retry fixes.
fn branch_moved(stdout: &str, stderr: &str) -> bool {
    let all = format!("{stdout}\n{stderr}");
    (all.contains("[rejected]")
        && (all.contains("non-fast-forward")
            || all.contains("fetch first")
            || all.contains("stale info")))
        || all.contains("cannot lock ref")
        || all.contains("failed to update ref")
        || all.contains("incorrect old value")
}

/// 25 ms doubling per attempt up to 1.6 s, half of it random so that racing writers spread
/// out instead of colliding again.
fn backoff(attempt: u32) -> Duration {
    let ceiling: u64 = 25 << attempt.min(6);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    let jitter = hasher.finish() % (ceiling / 2 + 1);
    Duration::from_millis(ceiling / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_push_failures() {
        assert!(branch_moved(
            "To x\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\n",
            ""
        ));
        assert!(branch_moved("", "error: cannot lock ref 'refs/heads/main'"));
        assert!(!branch_moved(
            "!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
            ""
        ));
        assert!(!branch_moved(
            "",
            "fatal: '/nope' does not appear to be a git repository"
        ));
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) >= Duration::from_millis(25));
        assert!(backoff(20) <= Duration::from_millis(1600));
    }
}
