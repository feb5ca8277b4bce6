//! `shipway plan`, `sync` and `status`: load an app, render and check it, find its
//! cluster, and hand the objects to the sync engine (`shipway-cluster`), printing what it
//! reports.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use shipway_cli::{
    PlanArgs, PlanFormat, RolloutArgs, RolloutVerb, StatusArgs, StatusFormat, SyncArgs, SyncFormat,
    TargetArgs,
};
use shipway_cluster::app::App;
use shipway_cluster::app::kubeconfig::Target;
use shipway_cluster::cluster::{Cluster, Key};
use shipway_cluster::diff;
use shipway_cluster::engine::{self, Overrides, PrepareError, Prepared};
use shipway_cluster::plan::{self, Action, Plan};
use shipway_cluster::sync::{self, Ledger, Progress, SyncError, SyncOptions};

use super::ExitStatus;

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Where git sources are fetched: `$XDG_CACHE_HOME/shipway`, else `~/.cache/shipway`.
fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("shipway")
}

/// The cluster the target arguments name (kubectl's rules), and its kubeconfig entry.
pub(crate) async fn connect(target: &TargetArgs) -> anyhow::Result<(Cluster, Target)> {
    let found = Target::load(target.kubeconfig.as_deref(), target.context.as_deref())?;
    let client = found.client().await?;
    // One cheap call first, so a cluster that is down or a wrong server address is one
    // clear line naming the URL, not an error of whichever object was asked for first.
    if let Err(error) = client.apiserver_version().await
        && let Some(reason) = shipway_cluster::cluster::unreachable_reason(&error)
    {
        anyhow::bail!(
            "cannot reach the cluster at {} ({reason}; context `{}` of the kubeconfig)",
            found.server,
            found.context
        );
    }
    Ok((Cluster::new(client, &found.namespace), found))
}

/// Loads APP: a directory or Application file, else an environment of the `shipway.yaml`
/// of the git repository around the current directory (named after the environment);
/// `--name` renames it.
pub(crate) fn load_app(path: &Path, target: &TargetArgs) -> anyhow::Result<App> {
    let namespace = target.namespace.as_deref();
    let mut app = if path.exists() {
        App::from_path(path, namespace)?
    } else {
        let arg = path.to_string_lossy();
        let cwd = std::env::current_dir()?;
        let config = shipway_git::repo::Repo::discover(&cwd).ok().map(|repo| {
            let config = shipway_git::config::Config::load(repo.root());
            (repo, config)
        });
        let (repo, config) = match config {
            Some((repo, config)) => (repo, config?),
            None => anyhow::bail!(
                "{arg}: no such directory or file (and no git repository with a shipway.yaml here to name an environment)"
            ),
        };
        let Some(environment) = config.environment(&arg) else {
            let known: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            anyhow::bail!(
                "{arg}: no such directory or file, nor an environment of {} (environments: {})",
                repo.root().join(shipway_git::config::CONFIG_FILE).display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        };
        let mut app = App::from_path(&repo.root().join(&environment.path), namespace)?;
        app.name.clone_from(&environment.name);
        app
    };
    if let Some(name) = &target.name {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !valid {
            anyhow::bail!(
                "--name `{name}`: an app name is lowercase letters, digits and `-`, at most 63 characters"
            );
        }
        app.name.clone_from(name);
    }
    Ok(app)
}

/// Loads an app, checks its destination against the kubeconfig's cluster, and prepares it
/// with the engine (render, check gate, hooks, namespaces). Check errors are printed here,
/// one per line, before the error that stops the command.
async fn prepare(
    path: &Path,
    target: &TargetArgs,
    cluster: &Cluster,
    found: &Target,
) -> anyhow::Result<Prepared> {
    let mut app = load_app(path, target)?;
    app.check_destination(found)?;
    // SOPS files are decrypted in memory with the identities sops would use.
    app.decrypt = Some(std::sync::Arc::new(shipway_secrets::Keyring::discover(
        &|name| std::env::var(name).ok(),
    )));
    let overrides = Overrides {
        namespace: target.namespace.clone(),
        no_check: target.no_check,
        force_conflicts: target.force_conflicts,
        max_prune: target.max_prune,
        confirm_prune: target.confirm_prune,
    };
    let cache = cache_dir();
    match engine::prepare(app, &overrides, cluster, |url, revision| {
        shipway_cluster::app::source::checkout(url, revision, &cache)
    })
    .await
    {
        Ok(prepared) => Ok(prepared),
        Err(error) => {
            if let PrepareError::Check { findings, .. } = &error {
                for finding in findings {
                    eprintln!("{finding}");
                }
            }
            Err(error.into())
        }
    }
}

/// `shipway plan`.
pub(crate) fn plan(args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        let (cluster, found) = connect(&args.target).await?;
        let prepared = prepare(&args.app, &args.target, &cluster, &found).await?;
        let plan = engine::plan(&cluster, &prepared, PLAN_TIMEOUT).await?;
        if let Some(out) = &args.out {
            // The key of the Secrets' digests lives in the cluster, never in the file.
            let key = plan::digest_key(&cluster, &prepared.namespace, true)
                .await?
                .context("creating the plan's digest key")?;
            let text = serde_json::to_string_pretty(&plan.to_json(Some(&key)))?;
            fs_err::write(out, text + "\n")?;
        }
        let text = match args.output {
            PlanFormat::Json => serde_json::to_string_pretty(&plan.to_json(None))? + "\n",
            PlanFormat::Text if super::colour::enabled() => super::colour::plan(&plan_text(&plan)),
            PlanFormat::Text => plan_text(&plan),
        };
        print!("{text}");
        Ok(ExitStatus::Success)
    })
}

/// A plan as text: counts, then each object that changes and how.
fn plan_text(plan: &Plan) -> String {
    let counts = plan.counts();
    let count = |action| counts.get(&action).copied().unwrap_or(0);
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(
        out,
        "Plan for app {} (namespace {}): {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
        plan.app,
        plan.namespace,
        count(Action::Create),
        count(Action::Update),
        count(Action::ReplaceRequired),
        count(Action::Delete),
        count(Action::Unchanged),
    );
    for item in plan.items.iter().filter(|i| i.action != Action::Unchanged) {
        let sign = match item.action {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::ReplaceRequired => "!",
            Action::Unchanged => " ",
        };
        let _ = write!(out, "\n{sign} {} {}\n", item.action.as_str(), item.key);
        if let Some(note) = &item.note {
            let _ = writeln!(out, "    {note}");
        }
        if item.action == Action::Update {
            for line in diff::render_text(&item.changes).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    for (key, reason) in &plan.kept {
        let _ = write!(out, "\n  kept {key}: {reason}\n");
    }
    if let Some(refused) = &plan.prune_refused {
        let _ = write!(out, "\nprune refused: {refused}\n");
    }
    if plan.in_sync() {
        out.push_str("\nThe cluster matches the render: nothing to do.\n");
    }
    out
}

/// Prints sync progress on stderr: plain lines, and what is still not healthy — on a
/// terminal as one redrawn line, elsewhere (CI logs) as a plain line every few seconds, so
/// a long wait is never silent.
struct Printer {
    terminal: bool,
    redrawn: bool,
    /// When the last plain waiting line was printed (not on a terminal).
    last_waiting: Option<std::time::Instant>,
}

/// How often a plain waiting line is printed when stderr is not a terminal.
const WAITING_EVERY: Duration = Duration::from_secs(5);

impl Printer {
    fn new() -> Printer {
        Printer {
            terminal: std::io::stderr().is_terminal(),
            redrawn: false,
            last_waiting: None,
        }
    }

    /// Clears the redrawn progress line, so what follows starts on a clean line.
    fn clear(&mut self) {
        if self.redrawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
            self.redrawn = false;
        }
    }
}

impl Progress for Printer {
    fn line(&mut self, text: &str) {
        self.clear();
        let mut err = std::io::stderr().lock();
        // Progress quotes server messages and input: escape all but the line breaks.
        for line in text.lines() {
            let _ = writeln!(err, "{}", shipway_model::text::escape_control(line));
        }
    }

    fn waiting(&mut self, unhealthy: &[(Key, String)]) {
        let summary = match unhealthy {
            [] => return,
            [(key, why)] => format!("waiting for {key}: {why}"),
            [(key, why), rest @ ..] => {
                format!("waiting for {} objects; {key}: {why}", rest.len() + 1)
            }
        };
        let summary = shipway_model::text::escape_control(&summary).into_owned();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 120;
            let shown: String = summary.chars().take(width).collect();
            let _ = write!(err, "\r\x1b[K{shown}");
            self.redrawn = true;
        } else if self
            .last_waiting
            .is_none_or(|at| at.elapsed() >= WAITING_EVERY)
        {
            let _ = writeln!(err, "{summary}");
            self.last_waiting = Some(std::time::Instant::now());
        }
    }
}

/// How long `plan` and `status` may spend retrying transient failures.
const PLAN_TIMEOUT: Duration = Duration::from_secs(300);

/// `shipway sync`.
pub(crate) fn sync(args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    if let Some(server) = &args.remote.server {
        return super::remote::sync(server, args);
    }
    let timeout = engine::parse_positive_duration("--timeout", &args.timeout)?;
    runtime()?.block_on(async {
        let mut target = args.target.clone();
        let _sandbox = if args.sandbox {
            Some(start_sandbox(&mut target).await?)
        } else {
            None
        };
        let (cluster, found) = connect(&target).await?;
        // A configuration error stops the command before anything is applied.
        let notifier = args
            .notify
            .as_deref()
            .map(super::notify::load)
            .transpose()?;
        let mut printer = Printer::new();
        let mut status = ExitStatus::Success;
        let mut results = Vec::new();
        for path in &args.apps {
            // An app that cannot be loaded, rendered or checked is reported and the next
            // one is still synced; the exit status reports the failure.
            let prepared = match prepare(path, &target, &cluster, &found).await {
                Ok(prepared) => prepared,
                Err(error) => {
                    printer.clear();
                    eprintln!(
                        "{} app {}: {}",
                        super::colour::stderr_error(),
                        path.display(),
                        crate::error_line(&error)
                    );
                    results.push(json!({"app": path.display().to_string(), "result": "failed", "error": crate::error_line(&error)}));
                    status = ExitStatus::Failure;
                    continue;
                }
            };
            let waited = args.wait || args.sandbox;
            let options = engine::sync_options(&prepared, !args.no_prune, waited, timeout);
            let notify = notifier
                .as_ref()
                .map(|n| (n, SyncNotice::start(path, &prepared)));
            if let Some((notifier, notice)) = &notify {
                super::notify::emit(notifier, &notice.running());
            }
            let report = sync_one(&cluster, &prepared, args, &options, &mut printer).await;
            if let Some((notifier, notice)) = &notify {
                super::notify::emit(notifier, &notice.finished(&report, waited));
            }
            printer.clear();
            let name = &prepared.app.name;
            match report {
                Ok(report) => {
                    if args.sandbox && args.output == SyncFormat::Text {
                        // The tree first: the summary below must be the last thing shown.
                        let app_status = engine::status(&cluster, &prepared).await?;
                        let text = app_status.to_text();
                        if super::colour::enabled() {
                            print!("{}", super::colour::status(&text));
                        } else {
                            print!("{text}");
                        }
                    }
                    for note in &report.notes {
                        eprintln!("note: {note}");
                    }
                    for (key, reason) in &report.kept {
                        eprintln!("kept {key}: {reason}");
                    }
                    for (key, reason) in &report.not_pruned {
                        eprintln!("{key}: {reason}");
                    }
                    eprintln!(
                        "{} app {name}: {} applied, {} pruned, {} unchanged, {} hook(s)",
                        super::colour::stderr_synced(),
                        report.applied.len(),
                        report.pruned.len(),
                        report.unchanged,
                        report.hooks.len()
                    );
                    let mut result = json!({
                        "app": name,
                        "result": "synced",
                        "applied": report.applied.iter().map(Key::to_json).collect::<Vec<_>>(),
                        "pruned": report.pruned.iter().map(Key::to_json).collect::<Vec<_>>(),
                        "unchanged": report.unchanged,
                        "hooks": report.hooks.iter().map(|(key, phase, outcome)| {
                            let mut hook = key.to_json();
                            hook["phase"] = phase.as_str().into();
                            hook["outcome"] = outcome.clone().into();
                            hook
                        }).collect::<Vec<_>>(),
                    });
                    if let Some(refused) = &report.prune_refused {
                        eprintln!("error: prune refused for app {name}: {refused}");
                        result["result"] = "failed".into();
                        result["error"] = format!("prune refused: {refused}").into();
                        status = ExitStatus::Failure;
                    }
                    results.push(result);
                }
                Err(error) => {
                    // The other apps are still synced; the exit status reports the failure.
                    eprintln!(
                        "{} sync of app {name} failed: {error}",
                        super::colour::stderr_error()
                    );
                    results.push(json!({"app": name, "result": "failed", "error": error.to_string()}));
                    status = ExitStatus::Failure;
                }
            }
        }
        if args.output == SyncFormat::Json {
            println!("{}", serde_json::to_string_pretty(&json!({"apps": results}))?);
        }
        if let Some(notifier) = &notifier {
            // Delivery failures are reported; they do not change the sync's exit status.
            super::notify::finish(notifier).await;
        }
        Ok(status)
    })
}

/// The notifications of one app's sync: its identity and when the sync started.
struct SyncNotice {
    app: shipway_notify::AppInfo,
    revision: String,
    started_at: String,
}

impl SyncNotice {
    fn start(path: &Path, prepared: &Prepared) -> SyncNotice {
        SyncNotice {
            app: super::notify::sync_app(path, prepared),
            revision: prepared.revision.clone().unwrap_or_default(),
            started_at: shipway_controller::now(),
        }
    }

    fn event(&self, phase: &str) -> shipway_notify::Event {
        let mut event = shipway_notify::Event::new(
            shipway_notify::EventKind::Sync,
            self.app.clone(),
            self.revision.clone(),
        );
        event.phase = Some(phase.to_string());
        event.started_at.clone_from(&self.started_at);
        event
    }

    /// The sync started: `Running`, `OutOfSync`, `Progressing`.
    fn running(&self) -> shipway_notify::Event {
        let mut event = self.event("Running");
        event.sync_status = "OutOfSync".into();
        event.health = "Progressing".into();
        event
    }

    /// The sync ended. Health is `Healthy` only when the sync waited for it.
    fn finished(
        &self,
        report: &Result<sync::SyncReport, SyncError>,
        waited: bool,
    ) -> shipway_notify::Event {
        let mut event = match report {
            Ok(report) if report.prune_refused.is_none() => {
                let mut event = self.event("Succeeded");
                event.sync_status = "Synced".into();
                event.health = if waited { "Healthy" } else { "Unknown" }.into();
                event.message = format!(
                    "{} applied, {} pruned, {} unchanged",
                    report.applied.len(),
                    report.pruned.len(),
                    report.unchanged
                );
                event
            }
            Ok(report) => {
                let mut event = self.event("Failed");
                event.sync_status = "OutOfSync".into();
                event.message = format!(
                    "prune refused: {}",
                    report.prune_refused.clone().unwrap_or_default()
                );
                event
            }
            Err(error) => {
                let mut event = self.event("Failed");
                event.sync_status = "OutOfSync".into();
                if matches!(error, SyncError::Unhealthy { .. }) {
                    event.health = "Degraded".into();
                }
                event.message = error.to_string();
                event.failed = shipway_controller::notify::failed_objects(error);
                event
            }
        };
        event.finished_at = shipway_controller::now();
        event
    }
}

/// Syncs one app once, from a saved plan when `--plan` names one.
async fn sync_one(
    cluster: &Cluster,
    prepared: &Prepared,
    args: &SyncArgs,
    options: &SyncOptions,
    printer: &mut Printer,
) -> Result<sync::SyncReport, SyncError> {
    let saved = match &args.plan {
        Some(path) => Some(
            engine::read_plan(path)
                .map_err(|error| SyncError::PlanOutdated(format!("{error:#}")))?,
        ),
        None => None,
    };
    engine::sync(
        cluster,
        prepared,
        saved.as_ref(),
        options,
        &mut Ledger::default(),
        printer,
    )
    .await
}

/// Starts the sandbox's simulated cluster in this process, on a loopback port, with a
/// kubeconfig pointing at it; the returned guard keeps it running.
pub(crate) async fn start_sandbox(target: &mut TargetArgs) -> anyhow::Result<SandboxGuard> {
    let simulator = shipway_sim::Simulator::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(shipway_sim::serve(listener, simulator.clone(), async {
        let _ = stopped.await;
    }));
    let controllers = simulator.run_controllers(Duration::from_millis(100));
    let dir = tempfile_dir()?;
    let kubeconfig = dir.join("kubeconfig");
    super::sandbox::write_kubeconfig(&kubeconfig, &format!("http://{address}"))?;
    eprintln!("started a sandbox cluster on http://{address} (in this process)");
    target.kubeconfig = Some(kubeconfig);
    target.context = None;
    Ok(SandboxGuard {
        stop: Some(stop),
        controllers,
        dir,
    })
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("shipway-sandbox-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

/// Stops the in-process sandbox when dropped.
pub(crate) struct SandboxGuard {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    controllers: tokio::task::JoinHandle<()>,
    dir: PathBuf,
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.controllers.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
        eprintln!(
            "note: the sandbox cluster stopped with this command\n\nhint: to keep one, run `shipway sandbox` in another terminal and pass its `--kubeconfig`"
        );
    }
}

/// `shipway status`.
pub(crate) fn status(args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    if let Some(server) = &args.remote.server {
        return super::remote::status(server, args);
    }
    runtime()?.block_on(async {
        let (cluster, found) = connect(&args.target).await?;
        let prepared = prepare(&args.app, &args.target, &cluster, &found).await?;
        let cluster = cluster.scoped(
            &engine::backoff(&prepared.app),
            shipway_cluster::cluster::deadline_after(PLAN_TIMEOUT),
        );
        let status = engine::status(&cluster, &prepared).await?;
        match args.output {
            StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&status.to_json())?),
            StatusFormat::Text if super::colour::enabled() => {
                print!("{}", super::colour::status(&status.to_text()));
            }
            StatusFormat::Text => print!("{}", status.to_text()),
        }
        Ok(health_exit(status.health.as_str(), status.sync))
    })
}

/// `status`'s exit: 0 when the app is Synced and Healthy, 3 when it is anything else (so a
/// script can tell "not ready" from "could not look", which is 1).
pub(crate) fn health_exit(health: &str, sync: &str) -> ExitStatus {
    if health == "Healthy" && sync == "Synced" {
        ExitStatus::Success
    } else {
        ExitStatus::NotReady
    }
}

/// `shipway rollout VERB APP [ROLLOUT]`: the app's Rollouts (from its render), shown or
/// acted on as `kubectl argo-rollouts` would; the controller (`serve`, or `sync --wait`)
/// carries the action out.
pub(crate) fn rollout(args: &RolloutArgs) -> anyhow::Result<ExitStatus> {
    if let Some(server) = &args.remote.server {
        return super::remote::rollout(server, args);
    }
    runtime()?.block_on(async {
        let (cluster, found) = connect(&args.target).await?;
        let prepared = prepare(&args.app, &args.target, &cluster, &found).await?;
        let rollouts: Vec<Key> = prepared
            .objects
            .iter()
            .map(Key::of)
            .filter(|key| key.group == "argoproj.io" && key.kind == "Rollout")
            .filter(|key| args.rollout.as_deref().is_none_or(|name| key.name == name))
            .collect();
        if rollouts.is_empty() {
            anyhow::bail!(
                "app {} has no Rollout{}",
                prepared.app.name,
                args.rollout
                    .as_deref()
                    .map(|n| format!(" named `{n}`"))
                    .unwrap_or_default()
            );
        }
        let verb = match args.verb {
            RolloutVerb::Status => None,
            RolloutVerb::Promote => Some(shipway_rollouts::controller::Verb::Promote(args.full)),
            RolloutVerb::Abort => Some(shipway_rollouts::controller::Verb::Abort),
            RolloutVerb::Retry => Some(shipway_rollouts::controller::Verb::Retry),
            RolloutVerb::Pause => Some(shipway_rollouts::controller::Verb::Pause),
        };
        let notifier = args
            .notify
            .as_deref()
            .map(super::notify::load)
            .transpose()?;
        let mut described = Vec::new();
        for key in &rollouts {
            if let Some(verb) = verb {
                shipway_rollouts::controller::act(
                    cluster.client(),
                    &key.namespace,
                    &key.name,
                    verb,
                )
                .await?;
                eprintln!(
                    "{:?} of {key} written; the controller carries it out",
                    args.verb
                );
            }
            let state =
                shipway_rollouts::controller::describe(cluster.client(), &key.namespace, &key.name)
                    .await?;
            let kind = match args.verb {
                RolloutVerb::Abort => Some(shipway_notify::EventKind::RolloutAborted),
                RolloutVerb::Promote => Some(shipway_notify::EventKind::RolloutStep),
                _ => None,
            };
            if let (Some(notifier), Some(kind)) = (&notifier, kind) {
                let mut event = shipway_notify::Event::new(
                    kind,
                    super::notify::sync_app(&args.app, &prepared),
                    prepared.revision.clone().unwrap_or_default(),
                );
                event.message = format!("{key}: {:?} with shipway rollout", args.verb);
                event.health = state["phase"].as_str().unwrap_or("Unknown").to_string();
                event.rollout_step = state["step"]
                    .as_u64()
                    .zip(state["steps"].as_u64())
                    .filter(|(_, steps)| *steps > 0)
                    .map(|(step, steps)| (step as u32 + 1, steps as u32));
                super::notify::emit(notifier, &event);
            }
            described.push(state);
        }
        if let Some(notifier) = &notifier {
            // Delivery failures are reported; they do not change the exit status.
            super::notify::finish(notifier).await;
        }
        print_rollouts(&described, args.output)?;
        Ok(
            if verb.is_none() && described.iter().any(|d| d["phase"] != "Healthy") {
                ExitStatus::NotReady
            } else {
                ExitStatus::Success
            },
        )
    })
}

/// One line per Rollout, or the JSON list.
pub(crate) fn print_rollouts(
    described: &[serde_json::Value],
    output: StatusFormat,
) -> anyhow::Result<()> {
    match output {
        StatusFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({"rollouts": described}))?
        ),
        StatusFormat::Text => {
            for d in described {
                let message = d["message"].as_str().unwrap_or("");
                let message = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", shipway_model::text::escape_control(message))
                };
                let head = format!(
                    "Rollout {}/{}: {}",
                    shipway_model::text::escape_control(d["namespace"].as_str().unwrap_or("")),
                    shipway_model::text::escape_control(d["rollout"].as_str().unwrap_or("")),
                    d["phase"].as_str().unwrap_or("Unknown"),
                );
                if d["strategy"] == "blueGreen" {
                    println!(
                        "{head}, blue-green, active {}, preview {}, stable {}{message}",
                        d["active"].as_str().unwrap_or("-"),
                        d["preview"].as_str().unwrap_or("-"),
                        d["stable"].as_str().unwrap_or("-"),
                    );
                } else {
                    println!(
                        "{head}, step {} of {}, weight {}%, stable {}, canary {}{message}",
                        d["step"],
                        d["steps"],
                        d["weight"],
                        d["stable"].as_str().unwrap_or("-"),
                        d["canary"].as_str().unwrap_or("-"),
                    );
                }
            }
        }
    }
    Ok(())
}
