//! `shipway sandbox`: the simulated cluster (`shipway-sim`: API server, controllers,
//! kubelet) served in the foreground, with a kubeconfig that kubectl and shipway use
//! unchanged. It exists so that a newcomer can try everything end to end without a cluster;
//! it is the only command that uses the simulator.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use shipway_cli::SandboxArgs;
use shipway_sim::SimulationConfig;
use shipway_sim::Simulator;

use super::ExitStatus;

/// The context name written into the kubeconfig.
const CONTEXT: &str = "shipway-sandbox";

/// How often the controllers and the kubelet run.
const TICK: Duration = Duration::from_millis(100);

/// Runs the sandbox until SIGINT or SIGTERM.
pub(crate) fn sandbox(args: &SandboxArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: &SandboxArgs) -> anyhow::Result<ExitStatus> {
    let config = SimulationConfig {
        nodes: args.nodes as usize,
        ..SimulationConfig::default()
    };
    let simulator = Simulator::with_config(config);
    if let Some(state) = &args.state
        && state.exists()
    {
        let text = fs_err::read_to_string(state)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sandbox state file", state.display()))?;
        simulator
            .lock()
            .import_state(&value)
            .map_err(|message| anyhow::anyhow!("{}: {message}", state.display()))?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    write_kubeconfig(&args.kubeconfig_out, &format!("http://{address}"))?;
    print_banner(args, address);
    let controllers = (!args.no_controllers).then(|| simulator.run_controllers(TICK));
    shipway_sim::serve(listener, simulator.clone(), shutdown_signal())
        .await
        .context("serving the sandbox API")?;
    if let Some(controllers) = controllers {
        controllers.abort();
    }
    if let Some(state) = &args.state {
        let document = simulator.lock().export_state();
        save_state(state, &document)?;
        eprintln!(
            "shipway sandbox: stopped; state saved to {}",
            state.display()
        );
    } else {
        eprintln!("shipway sandbox: stopped");
    }
    Ok(ExitStatus::Success)
}

/// How to use the sandbox. Write errors are ignored: a sandbox whose output was closed
/// (a test that read the first line, a closed terminal) keeps serving.
fn print_banner(args: &SandboxArgs, address: std::net::SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, banner(args, address).as_bytes());
    let _ = std::io::Write::flush(&mut stdout);
}

/// The banner text: where the API and kubeconfig are, how to point kubectl and shipway at
/// them, and what to try first.
fn banner(args: &SandboxArgs, address: std::net::SocketAddr) -> String {
    // An absolute path, so the `export` line works from any directory.
    let kubeconfig =
        std::path::absolute(&args.kubeconfig_out).unwrap_or_else(|_| args.kubeconfig_out.clone());
    let kubeconfig = kubeconfig.display();
    let state = match &args.state {
        Some(state) => format!(
            "Objects are loaded from and saved to `{}` on exit.",
            state.display()
        ),
        None => "Objects live in memory only (`--state FILE` keeps them).".into(),
    };
    format!(
        "shipway sandbox: simulated Kubernetes v1.{minor} API on http://{address} ({nodes} node{plural})\n\
         kubeconfig: {kubeconfig} (context {CONTEXT})\n\n\
         Use it from another terminal:\n\n\
         \x20 export KUBECONFIG={kubeconfig}\n\
         \x20 kubectl get nodes\n\
         \x20 kubectl apply --server-side -f examples/cluster/crds.yaml\n\
         \x20 shipway sync examples/platform/overlays/staging --wait\n\
         \x20 kubectl get deploy,hpa,pods -n platform-staging\n\
         \x20 kubectl get events -n platform-staging\n\n\
         Prometheus service discovery of the pods (http_sd_configs): http://{address}{sd}\n\
         {state} The sandbox runs until Ctrl-C.\n",
        minor = shipway_sim::SERVER_MINOR,
        nodes = args.nodes,
        plural = if args.nodes == 1 { "" } else { "s" },
        sd = shipway_sim::HTTP_SD_PATH,
    )
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            // Without a SIGTERM handler, Ctrl-C still stops the sandbox.
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// A kubeconfig with one cluster, user and context. The token is a placeholder: the
/// simulator accepts any credentials, and kubectl wants a user entry.
pub(crate) fn write_kubeconfig(path: &Path, server: &str) -> anyhow::Result<()> {
    let text = format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {CONTEXT}\n  cluster:\n    server: {server}\n\
         users:\n\
         - name: {CONTEXT}\n  user:\n    token: sandbox\n\
         contexts:\n\
         - name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: {CONTEXT}\n    namespace: default\n\
         current-context: {CONTEXT}\n"
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, text)?;
    Ok(())
}

/// Writes the state next to its final name and renames it, so an interrupted save never
/// leaves half a file. The file holds Secrets as the API stores them (base64), so it is
/// readable by its owner only.
fn save_state(path: &Path, document: &serde_json::Value) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    fs_err::write(&temporary, serde_json::to_vec(document)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    fs_err::rename(&temporary, path)?;
    Ok(())
}
