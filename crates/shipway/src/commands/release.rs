//! `shipway release`: set images in an environment's kustomization, commit, and push with
//! retry. Also the helpers the other git commands share: opening the repository and
//! resolving `PATH|ENV`.

use anyhow::Context;
use shipway_cli::{PushArgs, ReleaseArgs};
use shipway_git::config::{Config, Target};
use shipway_git::ops::{Outcome, PushOptions};
use shipway_git::repo::Repo;
use shipway_git::{ImageChange, ImageRef};
use shipway_model::text::escape_control;

use super::ExitStatus;

/// Sets the `--image` references in the target's kustomization and commits the release.
pub(crate) fn release(args: &ReleaseArgs) -> anyhow::Result<ExitStatus> {
    let changes = args
        .images
        .iter()
        .map(|i| ImageRef::parse(i).map(|r| r.to_change()))
        .collect::<Result<Vec<ImageChange>, _>>()?;
    let (repo, _, target) = open(&args.target)?;
    // A configuration error stops the release before anything is committed.
    let notifier = args
        .notify
        .as_deref()
        .map(super::notify::load)
        .transpose()?;
    let outcome = shipway_git::ops::release(
        &repo,
        &target,
        changes,
        args.add,
        args.force,
        args.message.as_deref(),
        push_options(&args.push).as_ref(),
    )
    .with_context(|| format!("releasing to `{}`", target.label()))?;
    report("Released", &target, &outcome, &args.push);
    if let Some(notifier) = &notifier {
        notify_commit(
            notifier,
            shipway_notify::EventKind::Release,
            &repo,
            &target,
            &outcome,
        )?;
    }
    Ok(ExitStatus::Success)
}

/// Sends the notifications of a release or rollback commit (none when nothing was
/// committed) and waits for them; a failed one is reported and leaves the exit status.
pub(super) fn notify_commit(
    notifier: &shipway_notify::Notifier,
    kind: shipway_notify::EventKind,
    repo: &Repo,
    target: &Target,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let Some(commit) = &outcome.commit else {
        return Ok(());
    };
    let app = shipway_notify::AppInfo {
        name: target.label().to_string(),
        project: "default".into(),
        path: target.dir.clone(),
        ..shipway_notify::AppInfo::default()
    };
    let mut event = shipway_notify::Event::new(kind, app, commit.clone());
    event.commit = Some(super::notify::commit_info(repo.root(), commit));
    event.images = outcome
        .edits
        .iter()
        .filter(|e| e.changed())
        .map(|e| shipway_notify::ImageChange {
            name: e.name.clone(),
            from: e
                .before
                .as_ref()
                .map(|b| b.reference(&e.name))
                .unwrap_or_default(),
            to: e.after.reference(&e.name),
        })
        .collect();
    event.message = event
        .commit
        .as_ref()
        .and_then(|c| c.message.lines().next())
        .unwrap_or_default()
        .to_string();
    super::notify::emit(notifier, &event);
    super::notify::finish_blocking(notifier)?;
    Ok(())
}

/// The repository around the current directory, its `shipway.yaml` and the resolved target.
pub(super) fn open(target: &str) -> anyhow::Result<(Repo, Config, Target)> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let repo = Repo::discover(&cwd)?;
    let config = Config::load(repo.root())?;
    let target = shipway_git::config::resolve(repo.root(), &cwd, &config, target)?;
    Ok((repo, config, target))
}

/// The push settings, when `--push` was given.
pub(super) fn push_options(args: &PushArgs) -> Option<PushOptions> {
    args.push.then(|| PushOptions {
        remote: args.remote.clone(),
        branch: args.branch.clone(),
        max_attempts: args.max_attempts,
    })
}

/// Prints what happened: the summary on stderr, the new commit's hash (data) on stdout.
pub(super) fn report(verb: &str, target: &Target, outcome: &Outcome, push: &PushArgs) {
    for e in outcome.edits.iter().filter(|e| e.changed()) {
        let before = e
            .before
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), |b| b.reference(&e.name));
        // Names and references are read from the kustomization file: escaped like any
        // input text that reaches a terminal.
        eprintln!(
            "  {}: {} → {}",
            escape_control(&e.name),
            escape_control(&before),
            escape_control(&e.after.reference(&e.name))
        );
    }
    match &outcome.commit {
        Some(commit) => {
            let short = commit.get(..12).unwrap_or(commit);
            eprintln!("{verb} `{}` in commit {short}", target.label());
            if push.push {
                eprintln!(
                    "Pushed to `{}` ({} attempt{})",
                    push.remote,
                    outcome.push_attempts,
                    if outcome.push_attempts == 1 { "" } else { "s" }
                );
            }
            println!("{commit}");
        }
        None => eprintln!(
            "`{}` on `{}` already had these images; nothing was pushed",
            target.label(),
            push.remote
        ),
    }
}
