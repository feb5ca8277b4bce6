//! `shipway rollback`: restore an earlier release's images in a new commit (history is never
//! rewritten) that marks the abandoned releases failed.

use anyhow::Context;
use shipway_cli::RollbackArgs;
use shipway_git::ops::RollbackTo;

use super::ExitStatus;
use super::release::{open, push_options, report};

/// Rolls the target back to `--to COMMIT` or `--steps N` releases back.
pub(crate) fn rollback(args: &RollbackArgs) -> anyhow::Result<ExitStatus> {
    if let Some(server) = &args.remote.server {
        return super::remote::rollback(server, args);
    }
    let (repo, _, target) = open(&args.target)?;
    // A configuration error stops the rollback before anything is committed.
    let notifier = args
        .notify
        .as_deref()
        .map(super::notify::load)
        .transpose()?;
    let to = match &args.to {
        Some(commit) => RollbackTo::Commit(commit.clone()),
        None => RollbackTo::Steps(args.steps as usize),
    };
    let outcome = shipway_git::ops::rollback(
        &repo,
        &target,
        &to,
        args.message.as_deref(),
        push_options(&args.push).as_ref(),
    )
    .with_context(|| format!("rolling back `{}`", target.label()))?;
    report("Rolled back", &target, &outcome, &args.push);
    if let Some(notifier) = &notifier {
        super::release::notify_commit(
            notifier,
            shipway_notify::EventKind::Rollback,
            &repo,
            &target,
            &outcome,
        )?;
    }
    Ok(ExitStatus::Success)
}
