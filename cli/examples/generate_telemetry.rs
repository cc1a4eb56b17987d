//! Writes deterministic synthetic factory telemetry (`factory_obs::synthetic`) to a file: the
//! benchmark's input.
//!
//! ```text
//! cargo run --release -p factory-obs --example generate_telemetry -- OUT --runs 100000 --max-bytes 1G
//! ```

use clap::Parser;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
struct Args {
    /// The file to write (`traces.jsonl`).
    out: PathBuf,
    /// Runs to write at most.
    #[arg(long, default_value_t = 10)]
    runs: u64,
    /// Stop once this many bytes are written (`500M`, `1G`, or a number).
    #[arg(long, default_value = "1G")]
    max_bytes: String,
}

fn bytes(text: &str) -> Option<u64> {
    let (number, scale) = match text.chars().last()? {
        'K' | 'k' => (&text[..text.len() - 1], 1u64 << 10),
        'M' | 'm' => (&text[..text.len() - 1], 1 << 20),
        'G' | 'g' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    number.parse::<u64>().ok().map(|n| n * scale)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(max_bytes) = bytes(&args.max_bytes) else {
        eprintln!(
            "--max-bytes {:?}: expected a number with an optional K, M or G",
            args.max_bytes
        );
        return ExitCode::from(2);
    };
    let result = std::fs::File::create(&args.out).and_then(|file| {
        let mut out = BufWriter::new(file);
        let written = factory_obs::synthetic::write_runs(&mut out, args.runs, max_bytes)?;
        out.flush()?;
        Ok(written)
    });
    match result {
        Ok((runs, bytes)) => {
            eprintln!("{}: {runs} runs, {bytes} bytes", args.out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", args.out.display());
            ExitCode::FAILURE
        }
    }
}
