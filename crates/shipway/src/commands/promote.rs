//! `shipway promote`: copy the images released in one environment into another, in one
//! commit.

use anyhow::Context;
use shipway_cli::PromoteArgs;

use super::ExitStatus;
use super::release::{open, push_options, report};

/// Copies FROM's image references into TO's kustomization and commits the promotion.
pub(crate) fn promote(args: &PromoteArgs) -> anyhow::Result<ExitStatus> {
    let (repo, config, from) = open(&args.from)?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let to = shipway_git::config::resolve(repo.root(), &cwd, &config, &args.to)?;
    let outcome = shipway_git::ops::promote(
        &repo,
        &config,
        &from,
        &to,
        &args.images,
        args.force,
        args.message.as_deref(),
        push_options(&args.push).as_ref(),
    )
    .with_context(|| format!("promoting `{}` to `{}`", from.label(), to.label()))?;
    report("Promoted to", &to, &outcome, &args.push);
    Ok(ExitStatus::Success)
}
