//! `factory-obs`: see the library's documentation and docs/cli.md.

use clap::Parser;
use factory_obs::{commands, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    ExitCode::from(commands::run(cli, &mut stdout, &mut stderr))
}
