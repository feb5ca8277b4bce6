//! `shipway serve`: the controller and its HTTP server in one process, until SIGTERM or
//! Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shipway_cli::{LogFormat, ServeArgs, TargetArgs};
use shipway_cluster::engine::parse_positive_duration;
use shipway_controller::{Config, Controller};
use shipway_server::auth::Tokens;

use super::ExitStatus;

/// `$XDG_DATA_HOME/shipway`, else `~/.local/share/shipway`.
pub(crate) fn default_state() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("shipway")
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// The token table: `--token-file`, else an admin token generated into the state
/// directory (mode 0600), which is only allowed on a loopback listener.
fn tokens(args: &ServeArgs, state: &Path, listen: SocketAddr) -> anyhow::Result<Tokens> {
    if let Some(file) = &args.token_file {
        let text = fs_err::read_to_string(file)?;
        return Tokens::parse(file, &text);
    }
    if !listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {listen} is not a loopback address: give --token-file for an API others can reach"
        );
    }
    let path = state.join("admin-token");
    let token = match fs_err::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        _ => {
            let token = shipway_server::auth::generate()?;
            write_private(&path, &format!("{token}\n"))?;
            token
        }
    };
    eprintln!(
        "shipway serve: the admin API token is in {} (mode 0600)",
        path.display()
    );
    Tokens::parse(&path, &format!("{token} admin admin\n"))
}

/// Writes `text` to `path` readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `shipway serve`.
pub(crate) fn serve(args: &ServeArgs) -> anyhow::Result<ExitStatus> {
    init_logs(args.log_format);
    let poll = parse_positive_duration("--poll", &args.poll)?;
    let sync_timeout = parse_positive_duration("--sync-timeout", &args.sync_timeout)?;
    let listen: SocketAddr = args
        .listen
        .parse()
        .with_context(|| format!("--listen `{}`: expected ADDR:PORT", args.listen))?;
    let state = args.state.clone().unwrap_or_else(default_state);
    fs_err::create_dir_all(&state)?;
    let tokens = tokens(args, &state, listen)?;
    let webhook_secret = match &args.webhook_secret_file {
        Some(file) => {
            let secret = fs_err::read_to_string(file)?.trim().as_bytes().to_vec();
            if secret.is_empty() {
                anyhow::bail!("{}: the webhook secret is empty", file.display());
            }
            Some(secret)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let mut target = TargetArgs {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            namespace: None,
            name: None,
            no_check: false,
            force_conflicts: false,
            max_prune: 20,
            confirm_prune: false,
        };
        let _sandbox = if args.sandbox {
            Some(super::cluster::start_sandbox(&mut target).await?)
        } else {
            None
        };
        let found = shipway_cluster::app::kubeconfig::Target::load(
            target.kubeconfig.as_deref(),
            target.context.as_deref(),
        )?;
        let metrics = shipway_controller::Metrics::default();
        let client = kube::client::ClientBuilder::try_from(found.config().await?)
            .context("building the Kubernetes client")?
            .with_layer(&metrics.api_layer())
            .build();
        let cluster = shipway_cluster::cluster::Cluster::new(client, &found.namespace);
        let config = Config {
            apps: args.apps.clone(),
            app_namespace: args.app_namespace.clone(),
            state_dir: state.clone(),
            poll,
            workers: args.workers as usize,
            sync_timeout,
            max_prune: args.max_prune,
            ..Config::default()
        };
        let controller = Controller::with_metrics(config, cluster, metrics)?;
        // `--notify-config FILE`, else Argo CD's `argocd-notifications-cm` ConfigMap and
        // `argocd-notifications-secret` Secret in the app namespace, read at start.
        let notify_config = match &args.notify_config {
            Some(path) => Some((
                shipway_notify::Config::load(path, shipway_notify::Secrets::with_environment())?,
                path.display().to_string(),
            )),
            None => cluster_notify_config(controller.cluster(), &args.app_namespace).await?,
        };
        let notifier = match notify_config {
            Some((config, source)) => {
                eprintln!(
                    "shipway serve: notifications of {source} ({} service(s)), queued in {}",
                    config.services.len(),
                    controller.history_path().display()
                );
                // The queue shares the history database: one file holds both, so a restart
                // resumes the notifications of the operations it recorded.
                let notifier = shipway_notify::Notifier::new(
                    config,
                    Some(&controller.history_path()),
                    shipway_notify::Delivery::default(),
                )?;
                controller.set_notifier(notifier.clone());
                Some(notifier)
            }
            None => None,
        };
        let (stop_notify, notify_stopped) = tokio::sync::oneshot::channel::<()>();
        let delivery = notifier.map(|notifier| {
            tokio::spawn(async move {
                notifier
                    .run(async {
                        let _ = notify_stopped.await;
                    })
                    .await;
            })
        });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        eprintln!(
            "shipway serve: API, webhooks and metrics on http://{address} (state in {})",
            state.display()
        );
        let server = Arc::new(shipway_server::Server {
            controller: controller.clone(),
            tokens,
            webhook_secret,
        });
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let http = tokio::spawn(shipway_server::serve(
            listener,
            shipway_server::router(server),
            async {
                let _ = http_stopped.await;
            },
        ));
        let run = tokio::spawn({
            let controller = controller.clone();
            async move { controller.run().await }
        });
        shutdown_signal().await;
        eprintln!("shipway serve: stopping (in-flight syncs get up to 10 s)");
        controller.stop();
        let _ = stop_http.send(());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while controller.busy() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if controller.busy() {
            eprintln!("shipway serve: abandoning syncs still running; they are recorded as interrupted and resume at the next start");
        }
        run.abort();
        http.abort();
        // Undelivered notifications stay queued for the next start.
        let _ = stop_notify.send(());
        if let Some(delivery) = delivery {
            let _ = tokio::time::timeout(Duration::from_secs(2), delivery).await;
        }
        anyhow::Ok(ExitStatus::Success)
    })
}

/// Argo CD's notification configuration in the cluster: the `argocd-notifications-cm`
/// `ConfigMap` of `namespace`, its `$name` references resolved from the
/// `argocd-notifications-secret` Secret there (and the environment). `None` without the
/// `ConfigMap`.
async fn cluster_notify_config(
    cluster: &shipway_cluster::cluster::Cluster,
    namespace: &str,
) -> anyhow::Result<Option<(shipway_notify::Config, String)>> {
    let key = |kind: &str, name: &str| shipway_cluster::cluster::Key {
        group: String::new(),
        version: "v1".into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    };
    let Some(config_map) = cluster
        .get(&key("ConfigMap", "argocd-notifications-cm"))
        .await
        .map_err(|e| anyhow::anyhow!("reading {namespace}/argocd-notifications-cm: {e}"))?
    else {
        return Ok(None);
    };
    let mut secrets = shipway_notify::Secrets::with_environment();
    let source = format!("ConfigMap {namespace}/argocd-notifications-cm");
    if let Some(secret) = cluster
        .get(&key("Secret", "argocd-notifications-secret"))
        .await
        .map_err(|e| anyhow::anyhow!("reading {namespace}/argocd-notifications-secret: {e}"))?
    {
        secrets.add_secret_object(
            &secret,
            &format!("Secret {namespace}/argocd-notifications-secret"),
        )?;
    }
    let data = config_map
        .get("data")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let config = shipway_notify::Config::from_data(&data, &secrets, &source)?;
    Ok(Some((config, source)))
}
