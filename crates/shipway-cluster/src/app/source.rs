//! Where an app's manifests come from, and fetching git sources with the `git` CLI.
//!
//! The `git` program is used rather than a library for the reasons `shipway-git` gives:
//! it reads the user's credentials, SSH config and proxies exactly as their own clones do.
//! A repository is mirrored once per URL under the work directory (`git clone --mirror`,
//! then `git fetch --prune`), the revision is resolved to a commit with `git rev-parse`,
//! and that commit's tree is exported with `git archive | tar -x` into a directory named
//! after the commit. Every step writes into a temporary name that is renamed into place
//! only once complete, so a failed or interrupted fetch never leaves a tree that looks
//! usable — the rule that keeps a broken fetch from turning into a mass prune.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::AppError;

/// Where an app's manifests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory or file on disk, rendered in place (no revision).
    Local {
        /// The directory or file.
        path: PathBuf,
        /// Whether a plain directory's subdirectories are read too.
        recurse: bool,
    },
    /// A git repository: a remote URL, a `file://` URL, or the absolute path of a local
    /// repository.
    Git {
        /// What `git clone` is given.
        url: String,
        /// Branch, tag, commit or `HEAD`.
        revision: String,
        /// The directory inside the repository to render.
        path: PathBuf,
        /// Whether a plain directory's subdirectories are read too.
        recurse: bool,
    },
}

/// The tree of one commit, exported from a git source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The directory holding the tree (kept under the work directory, shared by every
    /// render of the same commit, so positions in rendered objects stay readable).
    pub dir: PathBuf,
    /// The full commit id the revision resolved to.
    pub commit: String,
}

/// Whether `dir` is the top of a git repository (a work tree with `.git`, or a bare
/// repository), rather than a plain directory or a subdirectory of a repository.
pub fn is_repository_top(dir: &Path) -> bool {
    dir.join(".git").exists()
        || (dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir())
}

/// Fetches `url` into the cache under `work_dir`, resolves `revision` and exports that
/// commit's tree. Fails, leaving nothing half-written behind, when git cannot fetch or the
/// revision does not exist; a stale cache is never used in place of a failed fetch.
pub fn checkout(url: &str, revision: &str, work_dir: &Path) -> Result<Checkout, AppError> {
    let fail = |message: String| AppError::Git {
        url: url.to_string(),
        message,
    };
    if revision.starts_with('-') {
        return Err(fail(format!("`{revision}` is not a revision")));
    }
    let repos = work_dir.join("repos");
    let trees = work_dir.join("trees");
    for dir in [&repos, &trees] {
        std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
    }
    let digest = Sha256::digest(url.as_bytes());
    let key = digest.iter().take(12).fold(String::new(), |mut key, b| {
        let _ = write!(key, "{b:02x}");
        key
    });
    let mirror = repos.join(format!("{key}.git"));

    if mirror.is_dir() {
        run_git(
            url,
            Some(&mirror),
            &["fetch", "--prune", "--quiet", "origin"],
        )?;
    } else {
        let staging = staging_name(&mirror);
        let cloned = run_git(
            url,
            None,
            &[
                OsStr::new("clone"),
                OsStr::new("--mirror"),
                OsStr::new("--quiet"),
                OsStr::new("--"),
                OsStr::new(url),
                staging.as_os_str(),
            ],
        );
        if let Err(error) = cloned {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
        if std::fs::rename(&staging, &mirror).is_err() {
            // Another process finished the same clone first: theirs is as good.
            let _ = std::fs::remove_dir_all(&staging);
            if !mirror.is_dir() {
                return Err(fail(format!(
                    "could not move the clone to {}",
                    mirror.display()
                )));
            }
        }
    }

    let spec = format!("{revision}^{{commit}}");
    let commit = run_git(
        url,
        Some(&mirror),
        &["rev-parse", "--verify", "--quiet", spec.as_str()],
    )
    .ok()
    .map(|out| out.trim().to_string())
    .filter(|c| !c.is_empty())
    .ok_or_else(|| {
        fail(format!(
            "revision `{revision}` not found (no such branch, tag or commit)"
        ))
    })?;

    let dir = trees.join(&commit);
    if !dir.is_dir() {
        let staging = staging_name(&dir);
        std::fs::create_dir_all(&staging).map_err(|e| AppError::io(&staging, e))?;
        if let Err(error) = export(url, &mirror, &commit, &staging) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
            if !dir.is_dir() {
                return Err(fail(format!(
                    "could not move the tree to {}",
                    dir.display()
                )));
            }
        }
    }
    Ok(Checkout { dir, commit })
}

/// A sibling name for building `target` in, unique to this process and moment.
fn staging_name(target: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{nanos}", std::process::id()));
    target.with_file_name(name)
}

/// A `git` command isolated from the caller's repository: variables a surrounding git
/// (a hook, `git rebase --exec`) sets would otherwise redirect it, and a credential
/// prompt would hang a sync forever.
fn git(git_dir: Option<&Path>) -> Command {
    let mut command = Command::new("git");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
    ] {
        command.env_remove(var);
    }
    command.env("GIT_TERMINAL_PROMPT", "0").stdin(Stdio::null());
    // No background auto-gc: a detached gc holds the mirror's locks while the next fetch
    // or archive of the same mirror runs, which then fails.
    command.args(["-c", "gc.auto=0", "-c", "maintenance.auto=false"]);
    if let Some(dir) = git_dir {
        command.arg("--git-dir").arg(dir);
    }
    command
}

/// Runs git and returns its standard output, or an error quoting its standard error.
fn run_git<S: AsRef<OsStr>>(
    url: &str,
    git_dir: Option<&Path>,
    args: &[S],
) -> Result<String, AppError> {
    let mut command = git(git_dir);
    command.args(args);
    let output = command.output().map_err(|e| AppError::Git {
        url: url.to_string(),
        message: format!("could not run git: {e}"),
    })?;
    if !output.status.success() {
        let words: Vec<String> = args
            .iter()
            .take(1)
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        return Err(AppError::Git {
            url: url.to_string(),
            message: format!(
                "git {} failed ({}): {}",
                words.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Writes the tree of `commit` into `into` with `git archive | tar -x`.
fn export(url: &str, mirror: &Path, commit: &str, into: &Path) -> Result<(), AppError> {
    let fail = |message: String| AppError::Git {
        url: url.to_string(),
        message,
    };
    let mut archive = git(Some(mirror))
        .args(["archive", "--format=tar", commit])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("could not run git archive: {e}")))?;
    let Some(stdout) = archive.stdout.take() else {
        let _ = archive.kill();
        let _ = archive.wait();
        return Err(fail("git archive has no output pipe".to_string()));
    };
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-f")
        .arg("-")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .stderr(Stdio::piped())
        .output();
    // Wait for git even when tar failed, so no zombie is left behind.
    let archived = archive.wait_with_output();
    let untar = untar.map_err(|e| fail(format!("could not run tar: {e}")))?;
    let archived = archived.map_err(|e| fail(format!("git archive: {e}")))?;
    if !archived.status.success() {
        return Err(fail(format!(
            "git archive {commit} failed ({}): {}",
            archived.status,
            String::from_utf8_lossy(&archived.stderr).trim()
        )));
    }
    if !untar.status.success() {
        return Err(fail(format!(
            "extracting {commit} into {} failed ({}): {}",
            into.display(),
            untar.status,
            String::from_utf8_lossy(&untar.stderr).trim()
        )));
    }
    Ok(())
}
