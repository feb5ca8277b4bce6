//! `shipway notify test`, and the `--notify CONFIG` of `sync`, `release` and `rollback`:
//! load the configuration, queue the events' notifications in memory, and wait for their
//! delivery before the command exits. A failed notification is printed on stderr (without
//! secrets: services redact their URLs and tokens) and leaves the exit status alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use shipway_cli::NotifyTestArgs;
use shipway_model::text::escape_control;
use shipway_notify::{AppInfo, Commit, Delivery, Event, EventKind, FailedObject, Notifier};

use super::ExitStatus;

/// How long a command waits for its notifications before it exits.
const DRAIN: Duration = Duration::from_secs(120);

/// Loads `path` into a notifier whose queue is in memory. `$name` references read the
/// Secret documents of the file, then the environment.
pub(crate) fn load(path: &Path) -> anyhow::Result<Notifier> {
    let config = shipway_notify::Config::load(path, shipway_notify::Secrets::with_environment())?;
    Ok(Notifier::new(config, None, Delivery::default())?)
}

/// Queues the notifications `event` triggers for the app's subscriptions, printing what
/// could not be queued.
pub(crate) fn emit(notifier: &Notifier, event: &Event) {
    let destinations = match notifier.config().destinations(&event.app) {
        Ok(destinations) => destinations,
        Err(error) => {
            eprintln!(
                "warning: notifications of app `{}`: {}",
                event.app.name,
                escape_control(&error)
            );
            return;
        }
    };
    match notifier.notify(event, &destinations) {
        Ok(queued) => {
            for error in queued.errors {
                eprintln!("warning: notification not sent: {}", escape_control(&error));
            }
        }
        Err(error) => eprintln!("warning: notifications not queued: {error}"),
    }
}

/// Waits for every queued notification; prints each failure. Returns how many failed.
pub(crate) async fn finish(notifier: &Notifier) -> usize {
    match notifier.drain(DRAIN).await {
        Ok(drained) => {
            for (service, recipient, error) in &drained.failed {
                eprintln!(
                    "warning: notification to `{service}`{} failed: {}",
                    if recipient.is_empty() {
                        String::new()
                    } else {
                        format!(" (recipient `{}`)", escape_control(recipient))
                    },
                    escape_control(error)
                );
            }
            if drained.pending > 0 {
                eprintln!(
                    "warning: {} notification(s) not delivered within {}s",
                    drained.pending,
                    DRAIN.as_secs()
                );
            }
            if drained.delivered > 0 {
                eprintln!("sent {} notification(s)", drained.delivered);
            }
            drained.failed.len() + drained.pending
        }
        Err(error) => {
            eprintln!("warning: notifications: {error}");
            1
        }
    }
}

/// [`finish`] from a command without a runtime of its own.
pub(crate) fn finish_blocking(notifier: &Notifier) -> anyhow::Result<usize> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(finish(notifier)))
}

/// The labels and annotations of an Argo CD `Application` file (empty for a directory).
fn application_metadata(path: &Path) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    if !path.is_file() {
        return Default::default();
    }
    fs_err::read_to_string(path)
        .map(|text| shipway_notify::application_metadata(&text))
        .unwrap_or_default()
}

/// The app of a prepared sync, with its `Application`'s labels and annotations.
pub(crate) fn sync_app(path: &Path, prepared: &shipway_cluster::engine::Prepared) -> AppInfo {
    let (labels, annotations) = application_metadata(path);
    let (repo_url, source_path, target_revision) = prepared.app.source_fields();
    AppInfo {
        name: prepared.app.name.clone(),
        namespace: prepared.namespace.clone(),
        project: "default".into(),
        labels,
        annotations,
        repo_url,
        path: source_path,
        target_revision,
        destination_namespace: prepared.namespace.clone(),
    }
}

/// The author and message of `commit` in the repository at `root`, read with `git log`.
pub(crate) fn commit_info(root: &Path, commit: &str) -> Commit {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%an <%ae>%x00%B", commit])
        .output();
    let text = output
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let (author, message) = text.split_once('\0').unwrap_or(("", ""));
    Commit {
        sha: commit.to_string(),
        author: author.to_string(),
        message: message.trim_end().to_string(),
    }
}

/// The sample event `notify test` sends for `trigger`: one that fits the built-in trigger
/// of that name.
fn sample(trigger: &str) -> Event {
    let app = AppInfo {
        name: "sample-app".into(),
        namespace: "argocd".into(),
        project: "default".into(),
        repo_url: "https://github.com/example/sample-app.git".into(),
        path: "deploy/overlays/staging".into(),
        target_revision: "main".into(),
        destination_namespace: "sample".into(),
        ..AppInfo::default()
    };
    let kind = match trigger {
        "on-release" => EventKind::Release,
        "on-rollback" => EventKind::Rollback,
        "on-rollout-step" => EventKind::RolloutStep,
        "on-rollout-aborted" => EventKind::RolloutAborted,
        "on-rollout-completed" => EventKind::RolloutCompleted,
        "on-health-degraded" | "on-sync-status-unknown" => EventKind::Health,
        _ => EventKind::Sync,
    };
    let mut event = Event::new(kind, app, "0123456789abcdef0123456789abcdef01234567");
    event.started_at = shipway_controller::now();
    event.commit = Some(Commit {
        sha: event.revision.clone(),
        author: "Sample Author <author@example.com>".into(),
        message: "A sample commit from `shipway notify test`".into(),
    });
    event.images = vec![shipway_notify::ImageChange {
        name: "sample".into(),
        from: "registry.example/sample:1.0.0".into(),
        to: "registry.example/sample:1.1.0".into(),
    }];
    event.rollout_step = Some((2, 4));
    event.message = "This is a sample notification from `shipway notify test`.".into();
    match trigger {
        "on-sync-running" => {
            event.phase = Some("Running".into());
            event.sync_status = "OutOfSync".into();
            event.health = "Progressing".into();
        }
        "on-sync-failed" => {
            event.phase = Some("Failed".into());
            event.sync_status = "OutOfSync".into();
            event.health = "Degraded".into();
            event.failed = vec![FailedObject {
                kind: "Deployment".into(),
                namespace: "sample".into(),
                name: "web".into(),
                reason: "ImagePullBackOff".into(),
            }];
            event.finished_at = shipway_controller::now();
        }
        "on-health-degraded" => event.health = "Degraded".into(),
        "on-sync-status-unknown" => {}
        _ => {
            event.phase = Some("Succeeded".into());
            event.sync_status = "Synced".into();
            event.health = "Healthy".into();
            event.finished_at = shipway_controller::now();
        }
    }
    event
}

/// `shipway notify test SERVICE`.
pub(crate) fn test(args: &NotifyTestArgs) -> anyhow::Result<ExitStatus> {
    let notifier = load(&args.config)?;
    if !notifier.config().services.contains_key(&args.service) {
        let names: Vec<&str> = notifier
            .config()
            .services
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::bail!(
            "`{}` has no service `{}` (it has: {})",
            args.config.display(),
            args.service,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    if notifier.config().trigger(&args.trigger).is_none() {
        anyhow::bail!("trigger `{}` is not defined", args.trigger);
    }
    let recipients = if args.recipients.is_empty() {
        vec![String::new()]
    } else {
        args.recipients.clone()
    };
    let destinations: Vec<shipway_notify::Destination> = recipients
        .iter()
        .map(|recipient| shipway_notify::Destination {
            trigger: args.trigger.clone(),
            service: args.service.clone(),
            recipient: recipient.clone(),
        })
        .collect();
    let queued = notifier.notify(&sample(&args.trigger), &destinations)?;
    for error in &queued.errors {
        eprintln!("error: {}", escape_control(error));
    }
    if queued.queued == 0 {
        if queued.errors.is_empty() {
            anyhow::bail!(
                "the sample event does not satisfy trigger `{}`'s condition",
                args.trigger
            );
        }
        return Ok(ExitStatus::Failure);
    }
    let failed = finish_blocking(&notifier)?;
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
