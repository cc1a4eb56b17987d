//! Faults of the program's own code that the instrumentation runs: a `Display` of an error, a
//! `TokenUsage`, an `Outcome` and a span exporter that panic. None reaches the caller or the
//! export thread: the failing call's span is recorded without the failing piece (or ends as
//! `error` when its outcome could not be read), and every later span is exported. One test:
//! `init` installs process-wide state.

use factory_observability::{llm_call, pipeline_stage, Outcome, OutcomeKind, TokenUsage, Usage};
use factory_observability_tests::isolated::run_in_own_process;
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Keeps what it exports, and panics on its first export (a bug in a program's own exporter).
#[derive(Clone, Debug, Default)]
struct PanicsOnce {
    exports: Arc<AtomicUsize>,
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanExporter for PanicsOnce {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.exports.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("a bug in the program's span exporter");
        }
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }
}

#[derive(Debug)]
struct BadDisplay;

impl fmt::Display for BadDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("a bug in Display")
    }
}

struct BadUsage;

impl TokenUsage for BadUsage {
    fn usage(&self) -> Option<Usage> {
        panic!("a bug in TokenUsage::usage")
    }
    fn finish_reason(&self) -> Option<&str> {
        Some("stop")
    }
}

struct BadOutcome;

impl Outcome for BadOutcome {
    fn outcome(&self) -> OutcomeKind {
        panic!("a bug in Outcome::outcome")
    }
}

#[pipeline_stage]
fn sacrificed() -> u32 {
    0
}

#[pipeline_stage]
fn failing_display() -> Result<u32, BadDisplay> {
    Err(BadDisplay)
}

#[llm_call(provider = "openai", model = "gpt-test")]
fn failing_usage() -> BadUsage {
    BadUsage
}

#[pipeline_stage]
fn failing_outcome() -> BadOutcome {
    BadOutcome
}

#[pipeline_stage]
fn after(n: u32) -> Result<u32, String> {
    Ok(n)
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn stage<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| attribute(span, "stage.name") == Some(Value::from(name.to_owned())))
        .unwrap_or_else(|| panic!("no stage {name} in {spans:#?}"))
}

#[test]
fn faults_in_the_programs_code_lose_only_the_failing_piece() {
    if run_in_own_process(
        module_path!(),
        "faults_in_the_programs_code_lose_only_the_failing_piece",
    ) {
        return;
    }
    // One span a batch, so that the exporter's panic loses exactly the first span.
    std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1");
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "20");
    let exporter = PanicsOnce::default();
    let telemetry = factory_observability::Telemetry::builder("faults")
        .span_exporter(exporter.clone())
        .shutdown_timeout(Duration::from_secs(10))
        .init_without_subscriber()
        .expect("init");

    assert_eq!(sacrificed(), 0);
    // Wait until the exporter's first export (which panics) happened.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while exporter.exports.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(exporter.exports.load(Ordering::SeqCst), 1);

    // The caller gets its value, whatever the program's code did while it was read.
    assert!(matches!(failing_display(), Err(BadDisplay)));
    assert!(failing_usage().finish_reason() == Some("stop"));
    let _: BadOutcome = failing_outcome();
    let total: u32 = (1..=10).map(|n| after(n).unwrap()).sum();
    assert_eq!(total, 55);

    let report = telemetry.shutdown();
    let traces = &report.signals[0];
    assert_eq!(traces.submitted, 14, "{report}");
    assert_eq!(
        traces.delivered, 13,
        "only the batch whose export panicked is lost: {report}"
    );

    let spans = exporter.spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 13, "{spans:#?}");
    assert!(spans
        .iter()
        .all(|span| attribute(span, "stage.name") != Some(Value::from("sacrificed"))));

    // A panicking Display: the failure is recorded, with a placeholder for its message.
    let display = stage(&spans, "failing_display");
    assert_eq!(
        attribute(display, "stage.outcome"),
        Some(Value::from("failure"))
    );
    assert_eq!(
        display.status,
        Status::error("<the error's Display implementation panicked>")
    );
    assert_eq!(
        attribute(display, "error.type").map(|v| v.to_string()),
        Some(concat!(module_path!(), "::BadDisplay").to_owned())
    );

    // A panicking TokenUsage::usage: the call is recorded without its usage, with the rest.
    let llm = spans
        .iter()
        .find(|span| span.name == "llm.call")
        .expect("the LLM call's span");
    assert_eq!(attribute(llm, "llm.prompt_tokens"), None);
    assert_eq!(
        attribute(llm, "llm.finish_reason"),
        Some(Value::from("stop"))
    );
    assert_eq!(llm.status, Status::Ok);

    // A panicking Outcome: the value could not be read, so the call ends as `error`.
    let outcome = stage(&spans, "failing_outcome");
    assert_eq!(
        attribute(outcome, "stage.outcome"),
        Some(Value::from("error"))
    );
    assert_eq!(
        attribute(outcome, "error.type"),
        Some(Value::from("factory_observability.unreadable_return_value"))
    );
    let Status::Error { description } = &outcome.status else {
        panic!("{:?}", outcome.status)
    };
    assert!(
        description.ends_with("a bug in Outcome::outcome"),
        "{description}"
    );

    // Every later call's span was exported.
    assert_eq!(
        spans
            .iter()
            .filter(|span| attribute(span, "stage.name") == Some(Value::from("after")))
            .count(),
        10
    );
}
