//! `--pipeline`, `--stage`, `--since`, `--outcome`, `--agent`, `--tool`.

use crate::args::Common;
use crate::error::CliError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The filters of a command, parsed.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    /// Unix nanoseconds.
    pub since: Option<u64>,
    pub outcome: Option<String>,
    pub agent: Option<String>,
    pub tool: Option<String>,
}

impl Filters {
    /// Parses `--since` (RFC 3339 or a duration ago).
    pub fn from_args(common: &Common) -> Result<Filters, CliError> {
        let since = match &common.since {
            None => None,
            Some(text) => Some(parse_since(text, SystemTime::now())?),
        };
        Ok(Filters {
            pipeline: common.pipeline.clone(),
            stage: common.stage.clone(),
            since,
            outcome: common.outcome.clone(),
            agent: common.agent.clone(),
            tool: common.tool.clone(),
        })
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.pipeline.is_some()
            || self.stage.is_some()
            || self.since.is_some()
            || self.outcome.is_some()
            || self.agent.is_some()
            || self.tool.is_some()
    }
}

/// `--since`: an RFC 3339 time, or a duration before `now` (`2h`, `30min`, `7days`).
pub fn parse_since(text: &str, now: SystemTime) -> Result<u64, CliError> {
    let time = match humantime::parse_rfc3339_weak(text) {
        Ok(time) => time,
        Err(_) => match humantime::parse_duration(text) {
            Ok(ago) => now.checked_sub(ago).unwrap_or(UNIX_EPOCH),
            Err(_) => {
                return Err(CliError::usage(format!(
                    "--since {text:?}: expected an RFC 3339 time (2026-01-31T12:00:00Z) or a \
                     duration ago (2h, 30min, 7days)"
                )))
            }
        },
    };
    Ok(time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
        .try_into()
        .unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration_ago() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(parse_since("2h", now).unwrap(), 2_800 * 1_000_000_000);
        assert_eq!(
            parse_since("1970-01-01T00:00:10Z", now).unwrap(),
            10 * 1_000_000_000
        );
        let error = parse_since("yesterday", now).unwrap_err();
        assert_eq!(error.code, 2);
        assert!(error
            .message
            .starts_with("--since \"yesterday\": expected an RFC 3339 time"));
    }
}
