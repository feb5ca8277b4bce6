//! One function per command, and the exit statuses they return.

mod check;
mod cluster;
mod explain;
mod history;
mod promote;
mod release;
mod render;
mod rollback;
mod sandbox;
mod secret;
mod serve;

pub(crate) use check::check;
pub(crate) use cluster::{plan, status, sync};
pub(crate) use explain::explain;
pub(crate) use history::history;
pub(crate) use promote::promote;
pub(crate) use release::release;
pub(crate) use render::render;
pub(crate) use rollback::rollback;
pub(crate) use sandbox::sandbox;
pub(crate) use secret::secret;
pub(crate) use serve::serve;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// The command failed: bad input or an error along the way (exit 1).
    Failure,
    /// The command line itself was wrong (exit 2).
    Usage,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => std::process::ExitCode::SUCCESS,
            ExitStatus::Failure => std::process::ExitCode::from(1),
            ExitStatus::Usage => std::process::ExitCode::from(2),
        }
    }
}
