//! `shipway plan`, `sync` and `status`: load an app, render and check it, find its
//! cluster, and hand the objects to the sync engine (`shipway-cluster`), printing what it
//! reports.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use shipway_cli::{PlanArgs, PlanFormat, StatusArgs, SyncArgs, TargetArgs};
use shipway_cluster::app::App;
use shipway_cluster::app::kubeconfig::Target;
use shipway_cluster::cluster::{Cluster, Key};
use shipway_cluster::diff;
use shipway_cluster::engine::{self, Overrides, PrepareError, Prepared};
use shipway_cluster::plan::{self, Action, Plan};
use shipway_cluster::sync::{self, Ledger, Progress, SyncError, SyncOptions};

use super::ExitStatus;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
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
    Ok((Cluster::new(client, &found.namespace), found))
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
    let mut app = App::from_path(path, target.namespace.as_deref())?;
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

/// Prints sync progress on stderr: plain lines, and on a terminal a redrawn line of what is
/// still not healthy.
struct Printer {
    terminal: bool,
    redrawn: bool,
}

impl Progress for Printer {
    fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.redrawn {
            let _ = write!(err, "\r\x1b[K");
            self.redrawn = false;
        }
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
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 120;
            let shown: String = summary.chars().take(width).collect();
            let _ = write!(err, "\r\x1b[K{shown}");
            self.redrawn = true;
        }
    }
}

/// How long `plan` and `status` may spend retrying transient failures.
const PLAN_TIMEOUT: Duration = Duration::from_secs(300);

/// `shipway sync`.
pub(crate) fn sync(args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    let timeout = engine::parse_positive_duration("--timeout", &args.timeout)?;
    runtime()?.block_on(async {
        let mut target = args.target.clone();
        let _sandbox = if args.sandbox {
            Some(start_sandbox(&mut target).await?)
        } else {
            None
        };
        let (cluster, found) = connect(&target).await?;
        let mut printer = Printer {
            terminal: std::io::stderr().is_terminal(),
            redrawn: false,
        };
        let mut status = ExitStatus::Success;
        for path in &args.apps {
            let prepared = prepare(path, &target, &cluster, &found).await?;
            let options = engine::sync_options(
                &prepared,
                !args.no_prune,
                args.wait || args.sandbox,
                timeout,
            );
            let report = sync_one(&cluster, &prepared, args, &options, &mut printer).await;
            match report {
                Ok(report) => {
                    for note in &report.notes {
                        eprintln!("note: {note}");
                    }
                    eprintln!(
                        "synced app {}: {} applied, {} pruned, {} unchanged, {} hook(s)",
                        prepared.app.name,
                        report.applied.len(),
                        report.pruned.len(),
                        report.unchanged,
                        report.hooks.len()
                    );
                    for (key, reason) in &report.kept {
                        eprintln!("kept {key}: {reason}");
                    }
                    for (key, reason) in &report.not_pruned {
                        eprintln!("{key}: {reason}");
                    }
                    if let Some(refused) = &report.prune_refused {
                        eprintln!(
                            "error: prune refused for app {}: {refused}",
                            prepared.app.name
                        );
                        status = ExitStatus::Failure;
                    }
                    if args.sandbox {
                        let app_status = engine::status(&cluster, &prepared).await?;
                        print!("{}", app_status.to_text());
                    }
                }
                Err(error) => {
                    // The other apps are still synced; the exit status reports the failure.
                    eprintln!("error: sync of app {} failed: {error}", prepared.app.name);
                    status = ExitStatus::Failure;
                }
            }
        }
        Ok(status)
    })
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
    }
}

/// `shipway status`.
pub(crate) fn status(args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        let (cluster, found) = connect(&args.target).await?;
        let prepared = prepare(&args.app, &args.target, &cluster, &found).await?;
        let cluster = cluster.scoped(
            &engine::backoff(&prepared.app),
            shipway_cluster::cluster::deadline_after(PLAN_TIMEOUT),
        );
        let status = engine::status(&cluster, &prepared).await?;
        match args.output {
            PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&status.to_json())?),
            PlanFormat::Text => print!("{}", status.to_text()),
        }
        Ok(ExitStatus::Success)
    })
}
