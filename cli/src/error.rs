//! Errors of a command and the exit code each one maps to.

use std::fmt;

/// Exit codes, documented in docs/cli.md ("Exit codes").
pub mod exit {
    /// The command did what was asked.
    pub const OK: u8 = 0;
    /// Bad input or no data: a missing path, a directory with no telemetry, no run matching the
    /// filters, an unknown or ambiguous run id, an output file that cannot be written.
    pub const NO_DATA: u8 = 1;
    /// Usage error: an unknown command or option, a malformed value (clap's own code).
    pub const USAGE: u8 = 2;
}

/// A command's failure, shown as `factory-obs: {message}`.
#[derive(Debug)]
pub(crate) struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// Bad input or no data (exit code 1).
    pub fn no_data(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: exit::NO_DATA,
        }
    }

    /// A usage error found after parsing (exit code 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: exit::USAGE,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
