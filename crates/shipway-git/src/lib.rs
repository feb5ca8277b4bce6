//! Releases, promotions and rollbacks as git commits, and the history read back from them.
//!
//! The pure parts decide what to write: [`edit::edit_images`] splices new image references
//! into a kustomization's text without disturbing a byte around them, [`image`] parses
//! `--image` arguments, [`config`] resolves environments, and [`message`] writes and reads
//! the commit trailers. [`ops`] is the thin layer that runs `git` ([`repo`] says why it is
//! the CLI): it refuses unsafe starting states, commits, and pushes with a retry that
//! re-applies the same edit on the moved branch instead of ever forcing.
//!
//! ```no_run
//! use shipway_git::{config, image::ImageRef, ops, repo::Repo};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let repo = Repo::discover(std::path::Path::new("."))?;
//! let cfg = config::Config::load(repo.root())?;
//! let target = config::resolve(repo.root(), std::path::Path::new("."), &cfg, "staging")?;
//! let change = ImageRef::parse("api=ghcr.io/acme/api:1.5")?.to_change();
//! let outcome = ops::release(&repo, &target, vec![change], false, false, None, None)?;
//! println!("{:?}", outcome.commit);
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod edit;
pub mod fetch;
pub mod image;
pub mod message;
pub mod ops;
pub mod repo;
pub mod revert;

use std::path::PathBuf;

pub use edit::{EditError, ImageEdit, edit_images, read_images};
pub use image::{Field, ImageChange, ImageRef, ImageRefError, ImageState};
pub use message::{HistoryEntry, HistoryImage, Kind};

/// Why a release, promotion, rollback or history read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory is not inside a git working tree.
    #[error("`{}` is not inside a git working tree", dir.display())]
    NotARepository {
        /// The directory asked about.
        dir: PathBuf,
    },
    /// The `git` program could not be started.
    #[error("could not run `git`")]
    GitNotRunnable {
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("`{command}` failed: {stderr}")]
    Git {
        /// The command line.
        command: String,
        /// What git printed on stderr.
        stderr: String,
    },
    /// Reading or writing a file failed (the error names the file).
    #[error(transparent)]
    Io {
        /// The `fs-err` error, which carries the path.
        source: std::io::Error,
    },
    /// `shipway.yaml` is malformed.
    #[error("`{}`: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `PATH|ENV` argument is neither an environment nor a directory.
    #[error("`{name}` is neither an environment of `shipway.yaml` nor a directory (environments: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownTarget {
        /// The argument.
        name: String,
        /// The environments that exist.
        known: Vec<String>,
    },
    /// The overlay directory has no kustomization file.
    #[error("no `kustomization.yaml`, `kustomization.yml` or `Kustomization` in `{}`", dir.display())]
    NoKustomization {
        /// The overlay directory.
        dir: PathBuf,
    },
    /// The kustomization file is outside the repository.
    #[error("`{}` is outside the git working tree", path.display())]
    OutsideRepository {
        /// The file.
        path: PathBuf,
    },
    /// The kustomization could not be edited.
    #[error("`{}`: {source}", path.display())]
    Edit {
        /// The kustomization file.
        path: PathBuf,
        /// What the editor found.
        #[source]
        source: EditError,
    },
    /// Tracked files have uncommitted changes.
    #[error("the working tree has uncommitted changes: {}", files.join(", "))]
    DirtyWorktree {
        /// The changed files.
        files: Vec<String>,
    },
    /// HEAD is not on a branch, so there is nothing to commit onto and push.
    #[error("HEAD is detached; check out a branch first")]
    DetachedHead,
    /// A revision does not name a commit.
    #[error("`{revision}` is not a commit")]
    UnknownRevision {
        /// The revision.
        revision: String,
    },
    /// The images are already as asked.
    #[error("`{file}` already has these images; nothing to commit")]
    NothingToChange {
        /// The kustomization file.
        file: String,
    },
    /// `git commit` failed (a hook, say); the file was restored.
    #[error("committing `{file}` failed; the file is restored")]
    CommitFailed {
        /// The kustomization file.
        file: String,
        /// The git error.
        #[source]
        source: Box<Error>,
    },
    /// The remote refused the push for a reason other than a moved branch, or could not be
    /// reached. The commit stays on the local branch.
    #[error(
        "pushing to `{remote}` failed; the commit {commit} stays on the local branch: {reason}"
    )]
    PushFailed {
        /// The remote.
        remote: String,
        /// The local commit.
        commit: String,
        /// What git said.
        reason: String,
    },
    /// The branch kept moving for every attempt.
    #[error(
        "`{remote}` moved on every one of {attempts} attempts; the commit {commit} stays on the local branch"
    )]
    PushRetriesExhausted {
        /// The remote.
        remote: String,
        /// How many pushes were tried.
        attempts: u32,
        /// The local commit.
        commit: String,
    },
    /// While a release was being pushed, someone else's commit set one of its images to
    /// another reference. Nothing was pushed and the local commit was dropped.
    #[error(
        "`{image}` was set to `{reference}` by {kind} {commit} ({author}) while this release was being pushed; nothing was pushed and the local commit was dropped (use `--force` to release over it)"
    )]
    ConcurrentRelease {
        /// The image entry both changed.
        image: String,
        /// The reference the other commit set.
        reference: String,
        /// What the other commit was: `release`, `promote` or `rollback`.
        kind: &'static str,
        /// The other commit.
        commit: String,
        /// Its author.
        author: String,
    },
    /// Unpushed local commits could not be rebased onto the moved remote branch.
    #[error(
        "the local branch has unpushed commits that conflict with `{remote}`; the commit {commit} stays on the local branch"
    )]
    RebaseConflict {
        /// The remote.
        remote: String,
        /// The local commit.
        commit: String,
    },
    /// There is no earlier release to roll back to.
    #[error(
        "`{target}` has {releases} release(s) that are not marked failed; nothing to roll back to"
    )]
    NothingToRollBack {
        /// The environment or directory.
        target: String,
        /// How many usable releases there are.
        releases: usize,
    },
    /// The current release of the environment promoted from was rolled back as failed.
    #[error(
        "the current release of `{target}`, {commit}, was marked failed by a rollback; release again or use `--force`"
    )]
    FailedRelease {
        /// The environment or directory promoted from.
        target: String,
        /// The failed release.
        commit: String,
    },
    /// The promotion goes against the order in `shipway.yaml`.
    #[error("`{to}` does not come after `{from}` in the promotion order ({order})")]
    PromotionOrder {
        /// The source environment.
        from: String,
        /// The destination environment.
        to: String,
        /// The configured order.
        order: String,
    },
}
