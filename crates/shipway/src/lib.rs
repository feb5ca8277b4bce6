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
        shipway_cli::Command::Serve(args) => commands::serve(&args),
        shipway_cli::Command::Completion(args) => Ok(commands::completion(&args)),
        shipway_cli::Command::Rollout(args) => commands::rollout(&args),
        shipway_cli::Command::Notify(shipway_cli::NotifyCommand::Test(args)) => {
            commands::notify_test(&args)
        }
        shipway_cli::Command::Secret(args) => commands::secret(&args),
    };
    match result {
        Ok(status) => status,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitStatus::Success;
            }
            print_error(&err);
            ExitStatus::Failure
        }
    }
}

/// Prints an error and its causes on stderr. Messages quote inputs (object names, commit
/// messages, what git printed), so each line has its control characters escaped; the line
/// breaks between them are the messages' own.
pub(crate) fn print_error(err: &anyhow::Error) {
    let escaped = |text: &str| {
        text.lines()
            .map(|line| shipway_model::text::escape_control(line).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut causes = causes(err).into_iter();
    eprintln!("error: {}", escaped(&causes.next().unwrap_or_default()));
    for cause in causes {
        eprintln!("  caused by: {}", escaped(&cause));
    }
}

/// The messages of an error's chain, without those already said: many errors end with
/// their source's message ("reading x: No such file"), which would otherwise repeat.
pub(crate) fn causes(err: &anyhow::Error) -> Vec<String> {
    let mut shown = String::new();
    let mut out = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !out.is_empty() && shown.contains(&text) {
            continue;
        }
        shown.push('\n');
        shown.push_str(&text);
        out.push(text);
    }
    out
}

/// An error and its causes on one line (`a: b: c`), each said once.
pub(crate) fn error_line(err: &anyhow::Error) -> String {
    causes(err).join(": ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
