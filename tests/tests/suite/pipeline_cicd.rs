//! The OpenTelemetry CI/CD conventions on runs and stages (issue 20), beside the seed's names by
//! default and instead of them with `FACTORY_OBS_PIPELINE_SEMCONV=cicd`, and the provenance a
//! run gives what it deploys.
//!
//! The conventions as read (semantic conventions, `docs/cicd/cicd-spans.md`, Development):
//! "Pipeline run": `cicd.pipeline.result` Required, `error.type` Conditionally Required "if the
//! pipeline result is `failure` or `error`", span name `{action} {pipeline}` and kind `SERVER`
//! (both SHOULD); "Pipeline task run": kind `INTERNAL`, `cicd.pipeline.task.name`,
//! `cicd.pipeline.task.run.id`, `cicd.pipeline.task.run.result` Required. `docs/cicd/cicd-metrics.md`:
//! `cicd.pipeline.run.duration` {`cicd.pipeline.name`, `cicd.pipeline.run.state`,
//! `cicd.pipeline.result`, `error.type` iff failed}, `cicd.pipeline.run.active`
//! {`cicd.pipeline.name`, `cicd.pipeline.run.state`}, `cicd.pipeline.run.errors`
//! {`cicd.pipeline.name`, `error.type`}.

use factory_observability::provenance::{mark_produced, Provenance};
use factory_observability::testing::{Capture, PointValue};
use factory_observability::{
    adjudicate, llm_call, pipeline_run, pipeline_stage, CandidateScore, TokenUsage, Usage, Verdict,
};
use factory_observability_tests::isolated::run_in_own_process;
use factory_observability_tests::labels;
use opentelemetry::trace::SpanKind;
use std::collections::BTreeMap;

#[derive(Debug)]
struct BuildError;

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the linker failed")
    }
}

#[pipeline_stage]
fn plan() -> Result<u32, BuildError> {
    Ok(2)
}

#[pipeline_run(name = "new_product")]
fn new_product(fail: bool) -> Result<u32, BuildError> {
    let tasks = plan()?;
    if fail {
        return Err(BuildError);
    }
    Ok(tasks)
}

#[test]
fn by_default_runs_and_stages_carry_both_names_and_keep_the_seeds_span_name_and_kind() {
    let capture = Capture::new();
    capture.run(|| new_product(false)).unwrap();

    let run = &capture.spans_named("pipeline.run")[0];
    // The seed's `pipeline.run`, a root span of the default kind, as its example creates it.
    assert_eq!(run.kind, SpanKind::Internal);
    assert_eq!(run.attr("pipeline.name").as_deref(), Some("new_product"));
    assert_eq!(run.attr("run.outcome").as_deref(), Some("success"));
    assert_eq!(
        run.attr("cicd.pipeline.name").as_deref(),
        Some("new_product")
    );
    assert_eq!(run.attr("cicd.pipeline.result").as_deref(), Some("success"));
    assert_eq!(run.attr("cicd.pipeline.run.id"), run.attr("run.id"));
    assert_eq!(run.attr("error.type"), None);
    // Outside a CI system there is no run URL.
    assert_eq!(run.attr("cicd.pipeline.run.url.full"), None);

    let stage = &capture.spans_named("pipeline.stage")[0];
    assert_eq!(stage.kind, SpanKind::Internal);
    assert_eq!(stage.attr("stage.name").as_deref(), Some("plan"));
    assert_eq!(
        stage.attr("cicd.pipeline.task.name").as_deref(),
        Some("plan")
    );
    assert_eq!(
        stage.attr("cicd.pipeline.task.run.id"),
        Some(stage.span_id.to_string())
    );
    assert_eq!(
        stage.attr("cicd.pipeline.task.run.result").as_deref(),
        Some("success")
    );
}

#[test]
fn a_failed_run_has_its_result_and_error_type_on_the_span_and_the_cicd_metrics() {
    let capture = Capture::new();
    capture.run(|| {
        let _ = new_product(false);
        let _ = new_product(true);
    });
    let failed = capture
        .spans_named("pipeline.run")
        .into_iter()
        .find(|run| run.attr("run.outcome").as_deref() == Some("failure"))
        .expect("the failed run");
    assert_eq!(
        failed.attr("cicd.pipeline.result").as_deref(),
        Some("failure")
    );
    let error_type = failed.attr("error.type").expect("error.type");
    assert!(error_type.ends_with("BuildError"), "{error_type}");

    let durations = capture.metric("cicd.pipeline.run.duration");
    let by_labels: BTreeMap<_, _> = durations
        .iter()
        .map(|point| (point.attributes.clone(), point))
        .collect();
    let success = labels(&[
        ("cicd.pipeline.name", "new_product"),
        ("cicd.pipeline.result", "success"),
        ("cicd.pipeline.run.state", "executing"),
    ]);
    let failure = labels(&[
        ("cicd.pipeline.name", "new_product"),
        ("cicd.pipeline.result", "failure"),
        ("cicd.pipeline.run.state", "executing"),
        ("error.type", &error_type),
    ]);
    assert_eq!(
        by_labels.keys().collect::<Vec<_>>(),
        [&failure, &success],
        "{durations:?}"
    );
    for point in &durations {
        assert_eq!(point.unit, "s");
        assert!(
            matches!(point.value, PointValue::Histogram { count: 1, .. }),
            "{point:?}"
        );
    }

    let active = capture.metric("cicd.pipeline.run.active");
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(
        active[0].attributes,
        labels(&[
            ("cicd.pipeline.name", "new_product"),
            ("cicd.pipeline.run.state", "executing"),
        ])
    );
    assert_eq!(active[0].unit, "{run}");
    // Both runs started and ended.
    assert_eq!(active[0].value, PointValue::Sum(0.0));

    let errors = capture.metric("cicd.pipeline.run.errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].attributes,
        labels(&[
            ("cicd.pipeline.name", "new_product"),
            ("error.type", &error_type)
        ])
    );
    assert_eq!(errors[0].unit, "{error}");
    assert_eq!(errors[0].value, PointValue::Sum(1.0));
}

// ---------------------------------------------------------------------------------------------
// Provenance: what a run produced, for what it deploys.

#[derive(Clone, Debug)]
struct Reply;

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(10, 5))
    }
}

#[llm_call(provider = "anthropic", model = "claude-opus-4-5")]
fn write_with_claude() -> Reply {
    Reply
}

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
fn write_with_codex() -> Reply {
    Reply
}

#[adjudicate]
fn choose() -> Verdict<&'static str> {
    Verdict::highest(vec![
        (CandidateScore::new("codex", 0.4), "codex's code"),
        (CandidateScore::new("claude", 0.9), "claude's code"),
    ])
    .expect("two candidates")
}

#[pipeline_stage]
fn deploy() -> Option<Provenance> {
    Provenance::of_current_run()
}

#[pipeline_run(name = "provenance", run_id = "run-7".to_owned())]
fn build_and_deploy(mark: bool) -> Option<Provenance> {
    write_with_claude();
    write_with_codex();
    choose();
    if mark {
        mark_produced("claude-retry", &["claude-opus-4-5"]);
    }
    deploy()
}

#[test]
fn a_run_names_the_winner_and_the_models_in_its_provenance_and_on_its_span() {
    let capture = Capture::new();
    let provenance = capture
        .run(|| build_and_deploy(false))
        .expect("inside a run");
    assert_eq!(provenance.run_id.as_deref(), Some("run-7"));
    assert_eq!(provenance.pipeline.as_deref(), Some("provenance"));
    assert_eq!(provenance.candidate.as_deref(), Some("claude"));
    assert_eq!(provenance.models, ["claude-opus-4-5", "gpt-5.3-codex"]);
    let run = &capture.spans_named("pipeline.run")[0];
    assert_eq!(run.attr("factory.candidate").as_deref(), Some("claude"));
    assert_eq!(
        run.attr("factory.models").as_deref(),
        Some("claude-opus-4-5,gpt-5.3-codex")
    );
    // Outside a run there is none.
    assert_eq!(capture.run(deploy), None);
}

#[test]
fn what_a_stage_marks_wins_over_the_adjudication_and_the_models_called() {
    let capture = Capture::new();
    let provenance = capture
        .run(|| build_and_deploy(true))
        .expect("inside a run");
    assert_eq!(provenance.candidate.as_deref(), Some("claude-retry"));
    assert_eq!(provenance.models, ["claude-opus-4-5"]);
    let run = &capture.spans_named("pipeline.run")[0];
    assert_eq!(
        run.attr("factory.candidate").as_deref(),
        Some("claude-retry")
    );
    assert_eq!(
        run.attr("factory.models").as_deref(),
        Some("claude-opus-4-5")
    );
}

// ---------------------------------------------------------------------------------------------
// The conventions' names alone, in a GitHub Actions job, through `init`.

/// Every span `init`'s pipeline exports, and the resource it was given.
#[derive(Clone, Debug, Default)]
struct Exported {
    spans: std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>,
    resource: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl opentelemetry_sdk::trace::SpanExporter for Exported {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        *self.resource.lock().unwrap() = resource
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
    }
}

/// `GET /metrics` of the program's own Prometheus endpoint, the body.
fn scrape(address: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to /metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn with_the_conventions_alone_a_run_is_named_and_kinded_as_they_say_with_its_ci_run() {
    if run_in_own_process(
        module_path!(),
        "with_the_conventions_alone_a_run_is_named_and_kinded_as_they_say_with_its_ci_run",
    ) {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipeline_cicd-alone");
    std::env::set_var("FACTORY_OBS_DIR", &dir);
    std::env::set_var("FACTORY_OBS_SUMMARY", "0");
    std::env::set_var("FACTORY_OBS_PIPELINE_SEMCONV", "cicd");
    std::env::set_var("OTEL_METRICS_EXPORTER", "prometheus");
    std::env::set_var("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1");
    std::env::set_var("OTEL_EXPORTER_PROMETHEUS_PORT", "0");
    // GitHub Actions' documented default variables ("Variables reference").
    for (name, value) in [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_REF_TYPE", "branch"),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_WORKFLOW", "factory"),
    ] {
        std::env::set_var(name, value);
    }
    for name in [
        "GITLAB_CI",
        "BUILDKITE",
        "JENKINS_URL",
        "OTEL_RESOURCE_ATTRIBUTES",
    ] {
        std::env::remove_var(name);
    }
    let exported = Exported::default();
    let telemetry = factory_observability::Telemetry::builder("factory")
        .span_exporter(exported.clone())
        .init_without_subscriber()
        .expect("init");
    new_product(false).unwrap();
    let metrics = scrape(telemetry.prometheus_address().expect("a /metrics address"));
    let _ = telemetry.shutdown();

    let spans = exported.spans.lock().unwrap().clone();
    let run = spans
        .iter()
        .find(|span| span.parent_span_id == opentelemetry::trace::SpanId::INVALID)
        .expect("the run's span");
    assert_eq!(run.name, "BUILD new_product");
    assert_eq!(run.span_kind, SpanKind::Server);
    let attributes = |span: &opentelemetry_sdk::trace::SpanData| -> BTreeMap<String, String> {
        span.attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    };
    let run_attributes = attributes(run);
    assert_eq!(run_attributes["cicd.pipeline.name"], "new_product");
    assert_eq!(run_attributes["cicd.pipeline.result"], "success");
    assert_eq!(
        run_attributes["cicd.pipeline.run.url.full"],
        "https://github.com/acme/shop/actions/runs/42"
    );
    assert!(run_attributes.contains_key("cicd.pipeline.run.id"));
    for replaced in ["pipeline.name", "run.outcome", "run.id"] {
        assert!(!run_attributes.contains_key(replaced), "{run_attributes:?}");
    }
    let stage = spans
        .iter()
        .find(|span| span.parent_span_id == run.span_context.span_id())
        .expect("the stage's span");
    assert_eq!(stage.name, "plan");
    assert_eq!(stage.span_kind, SpanKind::Internal);
    let stage_attributes = attributes(stage);
    assert_eq!(stage_attributes["cicd.pipeline.task.name"], "plan");
    assert_eq!(stage_attributes["cicd.pipeline.task.run.result"], "success");
    for replaced in ["stage.name", "stage.outcome"] {
        assert!(
            !stage_attributes.contains_key(replaced),
            "{stage_attributes:?}"
        );
    }

    // `vcs.*` on the resource, from the CI system's variables (docs/resource/cicd.md).
    let resource: BTreeMap<String, String> =
        exported.resource.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        resource["vcs.repository.url.full"],
        "https://github.com/acme/shop"
    );
    assert_eq!(
        resource["vcs.ref.head.revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(resource["vcs.ref.head.name"], "main");
    assert_eq!(resource["vcs.ref.head.type"], "branch");
    assert_eq!(resource["vcs.provider.name"], "github");

    // The conventions' run metrics only, labelled with the revision the process runs.
    assert!(
        metrics.contains("\ncicd_pipeline_run_duration_seconds_count{"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"vcs_ref_head_revision="0123456789abcdef0123456789abcdef01234567""#),
        "{metrics}"
    );
    assert!(!metrics.contains("\npipeline_runs_total"), "{metrics}");
    assert!(
        !metrics.contains("\npipeline_run_duration_seconds"),
        "{metrics}"
    );
}
