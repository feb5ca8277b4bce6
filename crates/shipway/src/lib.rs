//! The shipway application: turns parsed arguments into settings, runs the command and
//! decides the exit code. Logic lives in the layer crates; this crate only wires them up.

mod commands;

pub use commands::ExitStatus;

/// Runs a parsed command line and returns its exit status. Errors are printed here, with
/// their whole chain, so `main` stays glue.
pub fn run(cli: shipway_cli::Cli) -> ExitStatus {
    let result = match cli.command {
        shipway_cli::Command::Render(args) => commands::render(&args),
        shipway_cli::Command::Check(args) => Ok(commands::check(&args)),
        shipway_cli::Command::Explain(args) => commands::explain(&args),
        shipway_cli::Command::Release(args) => commands::release(&args),
        shipway_cli::Command::Promote(args) => commands::promote(&args),
        shipway_cli::Command::Rollback(args) => commands::rollback(&args),
        shipway_cli::Command::History(args) => commands::history(&args),
        shipway_cli::Command::Sandbox(args) => commands::sandbox(&args),
        shipway_cli::Command::Plan(args) => commands::plan(&args),
        shipway_cli::Command::Sync(args) => commands::sync(&args),
        shipway_cli::Command::Status(args) => commands::status(&args),
    };
    match result {
        Ok(status) => status,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitStatus::Success;
            }
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitStatus::Failure
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
