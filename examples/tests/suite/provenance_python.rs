//! A Python product deployed by the factory carries the run's provenance through the
//! OpenTelemetry Python SDK alone (issue 20): the factory example's smoke stage starts
//! `examples/product_python/product.py` (`FACTORY_PIPELINE_PRODUCT_COMMAND`) as it starts
//! `product_service`, with the run's provenance in `OTEL_RESOURCE_ATTRIBUTES`; the SDK's
//! `Resource.create()` reads and percent-decodes it ("Specifying resource information via an
//! environment variable", resource SDK specification), and every span the product sends to the
//! real collector (rotel, on loopback) names the run, the pipeline, the candidate, the models
//! and the revision. Its SERVER spans are the children of the smoke stage's CLIENT spans.
//!
//! Needs `rotel-agent` (`scripts/install-collector.sh`) and a python with the OpenTelemetry SDK:
//! `$OTEL_PYTHON`, else what `scripts/install-otel-python.sh` prints (it installs it).

use factory_observability::names::{provenance, vcs};
use factory_observability_tests::collector::{parse_spans, Collector, ReceivedSpan};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the python to run the product with.
const OTEL_PYTHON_ENV: &str = "OTEL_PYTHON";

/// How long the factory may run, and the collector take to print what it received after.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// `$OTEL_PYTHON`, else the project's installer's python (idempotent; pins the versions).
fn otel_python() -> PathBuf {
    if let Some(path) = std::env::var_os(OTEL_PYTHON_ENV) {
        return PathBuf::from(path);
    }
    let installer = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/install-otel-python.sh"
    );
    let output = Command::new("bash")
        .arg(installer)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/install-otel-python.sh");
    assert!(
        output.status.success(),
        "scripts/install-otel-python.sh failed ({}): set {OTEL_PYTHON_ENV} to a python with \
         opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http",
        output.status
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A resource attribute as the collector prints it, `Str(value)` -> `value`.
fn text(printed: &str) -> &str {
    printed
        .strip_prefix("Str(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(printed)
}

fn resource<'a>(span: &'a ReceivedSpan, key: &str) -> &'a str {
    span.resource
        .get(key)
        .map(|value| text(value))
        .unwrap_or_else(|| panic!("{} has no resource attribute {key}: {span:#?}", span.name))
}

#[test]
fn a_python_product_deployed_by_the_factory_names_the_run_that_built_it() {
    let python = otel_python();
    let product = Path::new(env!("CARGO_MANIFEST_DIR")).join("product_python/product.py");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("provenance-python");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let collector = Collector::start();

    let mut command = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let mut factory = command
        .current_dir(&dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("OTEL_SERVICE_NAME", "sf-factory")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "60000")
        .env("FACTORY_OBS_DIR", dir.join("telemetry"))
        .env("FACTORY_OBS_SUMMARY", "0")
        .env("FACTORY_PIPELINE_SMOKE", "on")
        .env(
            "FACTORY_PIPELINE_PRODUCT_COMMAND",
            format!("{} {}", python.display(), product.display()),
        )
        .env_remove("PRODUCT_URL")
        .env_remove("TRACEPARENT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the factory example");
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = factory.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = factory.kill();
            panic!("the factory did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // 0: the smoke stage's three calls were answered as expected by the Python product.
    assert_eq!(status.code(), Some(0), "the factory ended with {status}");

    collector.expect(
        "the Python product's 3 SERVER spans and the run's span",
        |output| {
            let spans = parse_spans(output);
            spans.iter().any(|s| s.name == "pipeline.run")
                && spans
                    .iter()
                    .filter(|s| {
                        s.resource.get("service.name").map(String::as_str)
                            == Some("Str(product-py)")
                    })
                    .count()
                    >= 3
        },
        RECEIVE_TIMEOUT,
    );
    let spans = parse_spans(&collector.output());
    let run = spans
        .iter()
        .find(|s| s.name == "pipeline.run")
        .expect("the run's span");
    let run_id = text(&run.attributes["run.id"]).to_owned();
    let product_spans: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.resource.get("service.name").map(String::as_str) == Some("Str(product-py)"))
        .collect();
    let names: Vec<&str> = product_spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["GET /health", "POST /tasks", "GET /tasks/{id}"],
        "{product_spans:#?}"
    );

    let revision = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    for span in &product_spans {
        // Written by the Python SDK, not this crate.
        assert_eq!(resource(span, "telemetry.sdk.language"), "python");
        assert_eq!(span.scope, "product-py");
        assert_eq!(resource(span, provenance::FACTORY_RUN_ID), run_id);
        assert_eq!(
            resource(span, provenance::FACTORY_PIPELINE_NAME),
            "new_product"
        );
        // The example's adjudication picks claude; the run called both models. The comma
        // between them reached the SDK percent-encoded and came out decoded.
        assert_eq!(resource(span, provenance::FACTORY_CANDIDATE), "claude");
        assert_eq!(
            resource(span, provenance::FACTORY_MODELS),
            "claude-opus-4-5,gpt-5.3-codex"
        );
        match &revision {
            Some(revision) => assert_eq!(resource(span, vcs::VCS_REF_HEAD_REVISION), revision),
            None => assert!(!span.resource.contains_key(vcs::VCS_REF_HEAD_REVISION)),
        }
        // In the run's trace, each the child of one of the smoke stage's CLIENT spans.
        assert_eq!(span.trace_id, run.trace_id);
        assert_eq!(span.kind, "SPAN_KIND_SERVER");
        let parent = spans
            .iter()
            .find(|s| s.span_id == span.parent_id)
            .unwrap_or_else(|| panic!("no parent of {span:#?}"));
        assert_eq!(parent.kind, "SPAN_KIND_CLIENT", "{parent:#?}");
        assert_eq!(
            parent.resource.get("service.name").map(String::as_str),
            Some("Str(sf-factory)")
        );
        // The stage that deployed it says it is a deploy task (`fields(...)` in the example).
        let stage = spans
            .iter()
            .find(|s| s.span_id == parent.parent_id)
            .unwrap_or_else(|| panic!("no stage above {parent:#?}"));
        assert_eq!(
            stage
                .attributes
                .get("cicd.pipeline.task.name")
                .map(String::as_str),
            Some("Str(smoke)")
        );
        assert_eq!(
            stage
                .attributes
                .get("cicd.pipeline.task.type")
                .map(String::as_str),
            Some("Str(deploy)")
        );
    }
}
