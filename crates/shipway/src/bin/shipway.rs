//! The `shipway` entry point: parse arguments, run, turn the result into an exit code.

use std::process::ExitCode;

use clap::Parser;

// Rendering allocates and frees millions of small nodes, on several threads; glibc's
// allocator spent a fifth of a large render in malloc/free and grew per-thread arenas
// with thousands of mprotect calls. mimalloc is measured faster here (see the README's
// benchmark) and is the only allocator in the tree.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = shipway_cli::Cli::parse();
    shipway::run(cli).into()
}
