//! What the provenance tests of products in other languages share (`provenance_python`,
//! `provenance_node`): the factory example deploys a product named by
//! `FACTORY_PIPELINE_PRODUCT_COMMAND` against the real collector (rotel, on loopback), and the
//! product's SERVER spans must name the run that built it and join the run's trace.

use factory_observability::names::{provenance, vcs};
use factory_observability_tests::collector::{parse_spans, Collector, ReceivedSpan};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the factory may run, and the collector take to print what it received after.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// The smoke stage's calls, as the product's SERVER spans name them, in order.
pub(crate) const SMOKE_SPAN_NAMES: [&str; 3] = ["GET /health", "POST /tasks", "GET /tasks/{id}"];

/// The lines a project installer printed on stdout (`scripts/{installer}`: idempotent, and the
/// one place that pins the versions).
///
/// # Panics
///
/// When the installer fails; the message says which variables would name the result instead.
pub(crate) fn run_installer(installer: &str, instead: &str) -> Vec<PathBuf> {
    let script = format!("{}/../scripts/{installer}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("run scripts/{installer}: {error}"));
    assert!(
        output.status.success(),
        "scripts/{installer} failed ({}): set {instead}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// A resource attribute or attribute as the collector prints it, `Str(value)` -> `value`.
pub(crate) fn text(printed: &str) -> &str {
    printed
        .strip_prefix("Str(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(printed)
}

pub(crate) fn resource<'a>(span: &'a ReceivedSpan, key: &str) -> &'a str {
    span.resource
        .get(key)
        .map(|value| text(value))
        .unwrap_or_else(|| panic!("{} has no resource attribute {key}: {span:#?}", span.name))
}

/// What the collector received from one factory run that deployed the product.
pub(crate) struct Deployed {
    /// Every span, the factory's and the product's.
    pub spans: Vec<ReceivedSpan>,
    /// The run's `pipeline.run` span.
    pub run: ReceivedSpan,
    /// The spans whose resource's `service.name` is the product's, by start time.
    pub product: Vec<ReceivedSpan>,
    /// Where the factory ran (its git checkout is the one it read `vcs.*` from).
    pub dir: PathBuf,
}

/// Runs the factory example in `CARGO_TARGET_TMPDIR/{dir_name}` with the smoke stage deploying
/// `product_command` (and `env` added to the factory's environment, which the product inherits),
/// all `OTEL_*` variables of this process removed; waits until the collector has the run's span
/// and the smoke stage's 3 SERVER spans of `service_name`.
///
/// # Panics
///
/// When the factory fails (the smoke stage fails when the product answers wrongly), runs longer
/// than a minute, or the collector does not receive those spans.
pub(crate) fn deploy(
    dir_name: &str,
    service_name: &str,
    product_command: String,
    env: &[(&str, OsString)],
) -> Deployed {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir_name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let collector = Collector::start();

    let mut command = Command::new(env!("CARGO_BIN_EXE_factory_pipeline"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(key, value)| (key, value)));
    let mut factory = command
        .current_dir(&dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("OTEL_SERVICE_NAME", "sf-factory")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "60000")
        .env("FACTORY_OBS_DIR", dir.join("telemetry"))
        .env("FACTORY_OBS_SUMMARY", "0")
        .env("FACTORY_PIPELINE_SMOKE", "on")
        .env("FACTORY_PIPELINE_PRODUCT_COMMAND", product_command)
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
    // 0: the smoke stage's three calls were answered as expected by the product.
    assert_eq!(status.code(), Some(0), "the factory ended with {status}");

    let is_product = |span: &ReceivedSpan| {
        span.resource.get("service.name") == Some(&format!("Str({service_name})"))
    };
    collector.expect(
        &format!("the 3 SERVER spans of {service_name} and the run's span"),
        |output| {
            let spans = parse_spans(output);
            spans.iter().any(|s| s.name == "pipeline.run")
                && spans.iter().filter(|s| is_product(s)).count() >= 3
        },
        RECEIVE_TIMEOUT,
    );
    let spans = parse_spans(&collector.output());
    let run = spans
        .iter()
        .find(|s| s.name == "pipeline.run")
        .expect("the run's span")
        .clone();
    let mut product: Vec<ReceivedSpan> = spans.iter().filter(|s| is_product(s)).cloned().collect();
    // In the order the smoke stage made the calls: the product's SDK may export them in more
    // than one batch, which reach the collector in either order.
    product.sort_by_key(|s| s.start_time.parse::<u64>().unwrap_or(u64::MAX));
    Deployed {
        spans,
        run,
        product,
        dir,
    }
}

/// The revision of the checkout `dir` is in, as the factory reads it; `None` outside one.
fn checkout_revision(dir: &Path) -> Option<String> {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Each of the product's spans carries the run's provenance on its resource (written by the
/// product's SDK from `OTEL_RESOURCE_ATTRIBUTES`, not by this crate), is a SERVER span in the
/// run's trace, and the child of one of the smoke stage's CLIENT spans.
pub(crate) fn assert_provenance_and_parents(deployed: &Deployed) {
    let run_id = text(&deployed.run.attributes["run.id"]);
    let revision = checkout_revision(&deployed.dir);
    for span in &deployed.product {
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
        assert_eq!(span.trace_id, deployed.run.trace_id);
        assert_eq!(span.kind, "SPAN_KIND_SERVER");
        let parent = deployed
            .spans
            .iter()
            .find(|s| s.span_id == span.parent_id)
            .unwrap_or_else(|| panic!("no parent of {span:#?}"));
        assert_eq!(parent.kind, "SPAN_KIND_CLIENT", "{parent:#?}");
        assert_eq!(
            parent.resource.get("service.name").map(String::as_str),
            Some("Str(sf-factory)")
        );
        // The stage that deployed it says it is a deploy task (`fields(...)` in the example).
        let stage = deployed
            .spans
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
