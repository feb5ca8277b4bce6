//! Fetching git sources with the `git` CLI: mirrors, revisions and exported trees.
//!
//! The `git` program is used rather than a library for the reasons [`crate::repo`] gives:
//! it reads the user's credentials, SSH config and proxies exactly as their own clones do.
//! A repository is mirrored once per URL under the work directory (`git clone --mirror`,
//! then `git fetch --prune`), the revision is resolved to a commit with `git rev-parse`,
//! and that commit's tree is exported with `git archive | tar -x` into a directory named
//! after the commit. Every step writes into a temporary name that is renamed into place
//! only once complete, so a failed or interrupted fetch never leaves a tree that looks
//! usable — the rule that keeps a broken fetch from turning into a mass prune.
//!
//! [`Fetcher`] shares that cache between many apps in one process (the controller): one
//! fetch per repository per trigger, however many apps and revisions read it.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sha2::{Digest, Sha256};

/// A git source could not be fetched, resolved or exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git source `{url}`: {message}")]
pub struct FetchError {
    /// The repository URL (or absolute path) as given to git.
    pub url: String,
    /// What failed, with git's own message.
    pub message: String,
}

fn io_error(url: &str, path: &Path, error: &std::io::Error) -> FetchError {
    FetchError {
        url: url.to_string(),
        message: format!("{}: {error}", path.display()),
    }
}

/// Mirrors shared by every app of one process, each fetched at most once per trigger.
///
/// A caller asks for a revision "as fresh as `since`": the mirror is fetched again only
/// when its last successful fetch started before that instant. Apps triggered by one poll
/// tick or one webhook delivery pass the same instant, so they share one fetch; two
/// callers of one URL wait on each other instead of racing two fetches into one mirror.
#[derive(Debug, Clone)]
pub struct Fetcher {
    work_dir: PathBuf,
    mirrors: Arc<Mutex<HashMap<String, FetchSlot>>>,
}

/// When a mirror's last successful fetch started; its lock serialises fetches of one URL.
type FetchSlot = Arc<Mutex<Option<Instant>>>;

impl Fetcher {
    /// A fetcher caching under `work_dir` (mirrors in `repos/`, trees in `trees/`).
    pub fn new(work_dir: impl Into<PathBuf>) -> Fetcher {
        Fetcher {
            work_dir: work_dir.into(),
            mirrors: Arc::default(),
        }
    }

    /// The cache directory.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The commit `revision` of `url` names, fetching first unless the mirror was fetched
    /// at or after `since`. Blocking (runs `git`): call it from a blocking task.
    pub fn resolve(&self, url: &str, revision: &str, since: Instant) -> Result<String, FetchError> {
        check_revision(url, revision)?;
        let slot = {
            let mut mirrors = self
                .mirrors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(mirrors.entry(url.to_string()).or_default())
        };
        let mut fetched = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mirror = mirror_path(url, &self.work_dir);
        if fetched.is_none_or(|at| at < since) || !mirror.is_dir() {
            let started = Instant::now();
            update_mirror(url, &self.work_dir)?;
            *fetched = Some(started);
        }
        resolve(url, &mirror, revision)
    }

    /// The tree of `commit` (resolved by [`Fetcher::resolve`]), exported once.
    pub fn tree(&self, url: &str, commit: &str) -> Result<Checkout, FetchError> {
        let mirror = mirror_path(url, &self.work_dir);
        export_tree(url, &mirror, commit, &self.work_dir)
    }

    /// The committer timestamp of `commit` (seconds since the epoch).
    pub fn commit_time(&self, url: &str, commit: &str) -> Result<i64, FetchError> {
        let mirror = mirror_path(url, &self.work_dir);
        let out = run_git(url, Some(&mirror), &["show", "-s", "--format=%ct", commit])?;
        out.trim().parse().map_err(|_| FetchError {
            url: url.to_string(),
            message: format!("no commit time for {commit}"),
        })
    }

    /// Fetches (as [`Fetcher::resolve`]) and exports the tree `revision` names.
    pub fn checkout(
        &self,
        url: &str,
        revision: &str,
        since: Instant,
    ) -> Result<Checkout, FetchError> {
        let commit = self.resolve(url, revision, since)?;
        self.tree(url, &commit)
    }
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
pub fn checkout(url: &str, revision: &str, work_dir: &Path) -> Result<Checkout, FetchError> {
    check_revision(url, revision)?;
    let mirror = update_mirror(url, work_dir)?;
    let commit = resolve(url, &mirror, revision)?;
    export_tree(url, &mirror, &commit, work_dir)
}

/// Refuses a revision git would read as an option.
fn check_revision(url: &str, revision: &str) -> Result<(), FetchError> {
    if revision.starts_with('-') {
        return Err(FetchError {
            url: url.to_string(),
            message: format!("`{revision}` is not a revision"),
        });
    }
    Ok(())
}

/// The mirror of `url` under `work_dir` (named by a hash of the URL, so no URL text, and no
/// credential in one, becomes a path).
fn mirror_path(url: &str, work_dir: &Path) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let key = digest.iter().take(12).fold(String::new(), |mut key, b| {
        let _ = write!(key, "{b:02x}");
        key
    });
    work_dir.join("repos").join(format!("{key}.git"))
}

/// Clones `url` as a mirror under `work_dir`, or fetches into the mirror already there, and
/// returns the mirror's path.
pub fn update_mirror(url: &str, work_dir: &Path) -> Result<PathBuf, FetchError> {
    let fail = |message: String| FetchError {
        url: url.to_string(),
        message,
    };
    let repos = work_dir.join("repos");
    std::fs::create_dir_all(&repos).map_err(|e| io_error(url, &repos, &e))?;
    let mirror = mirror_path(url, work_dir);
    if mirror.is_dir() {
        run_git(
            url,
            Some(&mirror),
            &["fetch", "--prune", "--quiet", "origin"],
        )?;
        return Ok(mirror);
    }
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
    Ok(mirror)
}

/// The full commit id `revision` (branch, tag, commit or `HEAD`) names in `mirror`.
pub fn resolve(url: &str, mirror: &Path, revision: &str) -> Result<String, FetchError> {
    check_revision(url, revision)?;
    let spec = format!("{revision}^{{commit}}");
    run_git(
        url,
        Some(mirror),
        &["rev-parse", "--verify", "--quiet", spec.as_str()],
    )
    .ok()
    .map(|out| out.trim().to_string())
    .filter(|c| !c.is_empty())
    .ok_or_else(|| FetchError {
        url: url.to_string(),
        message: format!("revision `{revision}` not found (no such branch, tag or commit)"),
    })
}

/// Exports the tree of `commit` from `mirror` into `work_dir/trees/<commit>` (once: a tree
/// already there is complete, since it is only ever renamed into place whole).
pub fn export_tree(
    url: &str,
    mirror: &Path,
    commit: &str,
    work_dir: &Path,
) -> Result<Checkout, FetchError> {
    let fail = |message: String| FetchError {
        url: url.to_string(),
        message,
    };
    let trees = work_dir.join("trees");
    std::fs::create_dir_all(&trees).map_err(|e| io_error(url, &trees, &e))?;
    let dir = trees.join(commit);
    if !dir.is_dir() {
        let staging = staging_name(&dir);
        std::fs::create_dir_all(&staging).map_err(|e| io_error(url, &staging, &e))?;
        if let Err(error) = export(url, mirror, commit, &staging) {
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
    Ok(Checkout {
        dir,
        commit: commit.to_string(),
    })
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
) -> Result<String, FetchError> {
    let mut command = git(git_dir);
    command.args(args);
    let output = command.output().map_err(|e| FetchError {
        url: url.to_string(),
        message: format!("could not run git: {e}"),
    })?;
    if !output.status.success() {
        let words: Vec<String> = args
            .iter()
            .take(1)
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        return Err(FetchError {
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
fn export(url: &str, mirror: &Path, commit: &str, into: &Path) -> Result<(), FetchError> {
    let fail = |message: String| FetchError {
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
