//! `factory-obs`: see the library's documentation and docs/cli.md.

use clap::Parser;
use factory_obs::{commands, Cli};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Buffered: a table of every run is written line by line.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut stderr = std::io::stderr().lock();
    let code = commands::run(cli, &mut stdout, &mut stderr);
    match stdout.flush() {
        Ok(()) => ExitCode::from(code),
        Err(error) => {
            let _ = writeln!(stderr, "factory-obs: cannot write the output: {error}");
            ExitCode::from(factory_obs::error::exit::NO_DATA)
        }
    }
}
