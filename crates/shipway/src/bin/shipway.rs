//! The `shipway` entry point: parse arguments, run, turn the result into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = shipway_cli::Cli::parse();
    shipway::run(cli).into()
}
