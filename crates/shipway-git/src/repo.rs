//! The `git` command line, run with `std::process`.
//!
//! Why the CLI and not a library: pushing is the part that must work exactly as the user's
//! own `git push` does (ssh agents, credential helpers, `insteadOf` rewrites, hooks, proxy
//! settings), and no pure-Rust library pushes over every transport (gix cannot push at all).
//! Once pushes shell out, doing the few local steps (status, commit, log) the same way keeps
//! one source of truth for configuration and hooks, and costs a few milliseconds per step,
//! well inside the release budget. Every invocation sets `LC_ALL=C` because push results
//! are classified from git's messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::Error;

/// A git working tree, driven through the `git` program.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// Opens the working tree that contains `dir`.
    pub fn discover(dir: &Path) -> Result<Repo, Error> {
        let probe = Repo {
            root: dir.to_path_buf(),
        };
        let top =
            probe
                .run(&["rev-parse", "--show-toplevel"])
                .map_err(|_| Error::NotARepository {
                    dir: dir.to_path_buf(),
                })?;
        Ok(Repo {
            root: PathBuf::from(top.trim_end()),
        })
    }

    /// The root of the working tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        command
    }

    /// Runs git and returns its output whatever the exit status.
    pub(crate) fn output(&self, args: &[&str]) -> Result<Output, Error> {
        self.command(args)
            .output()
            .map_err(|source| Error::GitNotRunnable { source })
    }

    /// Runs git and returns its stdout; a non-zero exit is an [`Error::Git`].
    pub(crate) fn run(&self, args: &[&str]) -> Result<String, Error> {
        let output = self.output(args)?;
        check(args, &output)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs git with `input` on stdin and returns its stdout.
    pub(crate) fn run_with_input(&self, args: &[&str], input: &str) -> Result<String, Error> {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::GitNotRunnable { source })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .map_err(|source| Error::GitNotRunnable { source })?;
        }
        let output = child
            .wait_with_output()
            .map_err(|source| Error::GitNotRunnable { source })?;
        check(args, &output)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The checked-out branch; a detached HEAD is an [`Error::DetachedHead`].
    pub fn current_branch(&self) -> Result<String, Error> {
        let output = self.output(&["symbolic-ref", "-q", "--short", "HEAD"])?;
        if !output.status.success() {
            return Err(Error::DetachedHead);
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Refuses a working tree with changes to tracked files (untracked files do not matter:
    /// nothing shipway does touches them).
    pub fn ensure_clean(&self) -> Result<(), Error> {
        let status = self.run(&["status", "--porcelain=v1", "-z", "--untracked-files=no"])?;
        let files: Vec<String> = status
            .split('\0')
            .filter(|s| s.len() > 3)
            .map(|s| s[3..].to_owned())
            .collect();
        if files.is_empty() {
            Ok(())
        } else {
            Err(Error::DirtyWorktree { files })
        }
    }

    /// The full hash of a revision.
    pub fn resolve(&self, revision: &str) -> Result<String, Error> {
        let spec = format!("{revision}^{{commit}}");
        let output = self.output(&["rev-parse", "--verify", "--quiet", &spec])?;
        if !output.status.success() {
            return Err(Error::UnknownRevision {
                revision: revision.to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The text of `file` at `commit`.
    pub fn show(&self, commit: &str, file: &str) -> Result<String, Error> {
        self.run(&["show", &format!("{commit}:{file}")])
    }
}

fn check(args: &[&str], output: &Output) -> Result<(), Error> {
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Git {
            command: format!("git {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
