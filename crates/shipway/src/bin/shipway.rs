//! The `shipway` entry point: parse arguments, run, turn the result into an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

// Rendering allocates and frees millions of small nodes, on several threads; glibc's
// allocator spent a fifth of a large render in malloc/free and grew per-thread arenas
// with thousands of mprotect calls. mimalloc is measured faster here (see the README's
// benchmark) and is the only allocator in the tree.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `shipway --version`: the crate version and the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHIPWAY_COMMIT"),
    ")"
);

fn main() -> ExitCode {
    let matches = shipway_cli::Cli::command().version(VERSION).get_matches();
    let cli = match shipway_cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if !matches!(
        cli.command,
        shipway_cli::Command::Serve(_) | shipway_cli::Command::Sandbox(_)
    ) {
        default_sigpipe();
    }
    shipway::run(cli).into()
}

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`shipway check … | head`)
/// panics. Commands that print and exit get the default back and end quietly, as `cat`
/// does. The long-running servers keep ignoring it: their sockets never raise it (std
/// sends with `MSG_NOSIGNAL`), and a closed log pipe must not kill a controller.
#[allow(
    unsafe_code,
    reason = "signal(2) with SIG_DFL, before any thread exists, is sound"
)]
fn default_sigpipe() {
    // SAFETY: called once at start-up on the main thread, before other threads start; it
    // only restores the kernel's default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
