//! The progress bar, on a real pseudo-terminal: util-linux `script` (Debian's essential
//! `bsdutils`) runs `factory-obs` with its stdout and stderr on a pty, and what the terminal
//! received is read back. On a terminal the bar is drawn on stderr (`reading`, the bytes read of
//! the input's total) and cleared before the report is printed; piped, nothing but the report.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Synthetic telemetry of `runs` runs in a directory of its own; returns it and the file's size.
fn telemetry(runs: u64) -> (PathBuf, u64) {
    let dir = std::env::temp_dir().join(format!("factory-obs-progress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("traces.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    factory_obs::synthetic::write_runs(&mut file, runs, u64::MAX).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    (dir, size)
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_and_cleared_and_never_when_piped() {
    let (dir, size) = telemetry(12);
    let binary = env!("CARGO_BIN_EXE_factory-obs");
    let command = format!("{binary} report {}", dir.display());
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs (Debian package bsdutils)");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let screen = String::from_utf8_lossy(&output.stdout);
    let total = indicatif::HumanBytes(size).to_string();
    let drawn = screen
        .rfind("reading ")
        .unwrap_or_else(|| panic!("no progress bar on the terminal: {screen:?}"));
    assert!(
        screen[drawn..].contains(&format!("/{total}")),
        "the bar shows the input's {total}: {screen:?}"
    );
    let report = screen
        .find("12 runs from 1 files")
        .unwrap_or_else(|| panic!("no report on the terminal: {screen:?}"));
    assert!(drawn < report, "the bar comes before the report");
    // Erase-line (`ESC [2K`) after the last drawing and before the report: the bar was cleared.
    assert!(
        screen[drawn..report].contains("\u{1b}[2K"),
        "the bar is cleared before the report: {:?}",
        &screen[drawn..report]
    );

    let piped = Command::new(binary)
        .args(["report", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&piped.stderr),
        "",
        "nothing on a pipe"
    );
    assert!(String::from_utf8_lossy(&piped.stdout).starts_with("12 runs from 1 files"));
}
