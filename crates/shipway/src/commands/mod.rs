//! One function per command, and the exit statuses they return.

mod check;
mod cluster;
mod colour;
mod explain;
mod history;
mod notify;
mod promote;
mod release;
mod remote;
mod render;
mod rollback;
mod sandbox;
mod secret;
mod serve;

pub(crate) use check::check;

/// `shipway completion SHELL`: clap's completion script for every command and flag.
pub(crate) fn completion(args: &shipway_cli::CompletionArgs) -> ExitStatus {
    use clap::CommandFactory;
    let shell = match args.shell {
        shipway_cli::Shell::Bash => clap_complete::Shell::Bash,
        shipway_cli::Shell::Zsh => clap_complete::Shell::Zsh,
        shipway_cli::Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(
        shell,
        &mut shipway_cli::Cli::command(),
        "shipway",
        &mut std::io::stdout(),
    );
    ExitStatus::Success
}
pub(crate) use cluster::{plan, rollout, status, sync};
pub(crate) use explain::explain;
pub(crate) use history::history;
pub(crate) use notify::test as notify_test;
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
    /// `status`: the app was read, and it is not both Synced and Healthy (exit 3).
    NotReady,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => std::process::ExitCode::SUCCESS,
            ExitStatus::Failure => std::process::ExitCode::from(1),
            ExitStatus::Usage => std::process::ExitCode::from(2),
            ExitStatus::NotReady => std::process::ExitCode::from(3),
        }
    }
}
