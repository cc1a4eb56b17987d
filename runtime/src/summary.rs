//! The human summary printed at shutdown: each run with its stages, durations and outcomes.

use crate::names::{attr, span as span_name};
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// At most this many spans are kept for the summary; later ones are counted, not kept.
const MAX_RECORDS: usize = 10_000;

#[derive(Clone, Debug)]
struct Record {
    is_run: bool,
    name: String,
    run_id: String,
    outcome: String,
    attempt: i64,
    start: SystemTime,
    duration: Duration,
    error: Option<String>,
}

/// Keeps the `pipeline.run` and `pipeline.stage` spans that ended, for the summary.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    records: Mutex<(Vec<Record>, usize)>,
}

impl Summary {
    /// Called for every ended span, off the hot path's allocations for unrelated spans.
    pub fn observe(&self, span: &SpanData) {
        let is_run = span.name == span_name::PIPELINE_RUN;
        if !is_run && span.name != span_name::PIPELINE_STAGE {
            return;
        }
        let text = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
                .unwrap_or_default()
        };
        let attempt = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == attr::STAGE_ATTEMPT)
            .and_then(|kv| match kv.value {
                Value::I64(n) => Some(n),
                _ => None,
            })
            .unwrap_or(1);
        let (name, outcome) = if is_run {
            (text(attr::PIPELINE_NAME), text(attr::RUN_OUTCOME))
        } else {
            (text(attr::STAGE_NAME), text(attr::STAGE_OUTCOME))
        };
        let error = match &span.status {
            Status::Error { description } if !description.is_empty() => {
                Some(description.to_string())
            }
            _ => None,
        };
        let record = Record {
            is_run,
            name,
            run_id: text(attr::RUN_ID),
            outcome,
            attempt,
            start: span.start_time,
            duration: span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default(),
            error,
        };
        if let Ok(mut guard) = self.records.lock() {
            let (records, overflow) = &mut *guard;
            if records.len() < MAX_RECORDS {
                records.push(record);
            } else {
                *overflow += 1;
            }
        }
    }

    /// The summary text: one block per run, stages in start order.
    pub fn render(&self) -> String {
        let Ok(guard) = self.records.lock() else {
            return String::new();
        };
        let (records, overflow) = &*guard;
        let mut runs: Vec<&Record> = records.iter().filter(|r| r.is_run).collect();
        runs.sort_by_key(|r| r.start);
        let mut out = String::new();
        for run in runs {
            let _ = writeln!(
                out,
                "run {} {}: {} in {}",
                run.run_id,
                run.name,
                run.outcome,
                format_duration(run.duration)
            );
            let mut stages: Vec<&Record> = records
                .iter()
                .filter(|r| !r.is_run && r.run_id == run.run_id)
                .collect();
            stages.sort_by_key(|r| r.start);
            let width = stages.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for stage in stages {
                let mut line = format!(
                    "  {:width$}  {:12} {:>9}",
                    stage.name,
                    stage.outcome,
                    format_duration(stage.duration)
                );
                if stage.attempt > 1 {
                    let _ = write!(line, "  attempt {}", stage.attempt);
                }
                if let Some(error) = &stage.error {
                    let _ = write!(line, "  {error}");
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
        if *overflow > 0 {
            let _ = writeln!(out, "({overflow} more spans not summarised)");
        }
        out
    }
}

fn format_duration(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{} ms", duration.as_millis())
    }
}
