//! Child processes in the parent's trace, through OpenTelemetry's environment-variable carrier
//! (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`). The parent is a stage recorded by a `Capture`; the
//! child is this test binary run again (the `child` test, ignored unless run by name), which
//! calls `init`, runs a pipeline and writes its spans to the embedded default's files.

use factory_observability::propagation::env::context_env;
use factory_observability::propagation::CommandExt as _;
use factory_observability::testing::{Capture, CapturedSpan};
use factory_observability::{handler, pipeline_run, pipeline_stage};
use factory_observability_tests::isolated::{test_command, test_name};
use factory_observability_tests::otlp_json::{read_spans_in, JsonSpan};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
use opentelemetry::{Context, KeyValue};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CARRIERS: [&str; 3] = ["TRACEPARENT", "TRACESTATE", "BAGGAGE"];

#[pipeline_stage(name = "build")]
fn child_stage() -> u32 {
    println!("stage baggage: {}", current_baggage());
    1
}

/// The current context's baggage as `key=value` pairs, sorted, comma-separated.
fn current_baggage() -> String {
    Context::map_current(|cx| {
        let mut entries: Vec<String> = cx
            .baggage()
            .iter()
            .map(|(key, (value, _))| format!("{key}={value}"))
            .collect();
        entries.sort();
        entries.join(",")
    })
}

/// A product's job on a thread of its own, started after `init`.
#[handler(name = "recount")]
fn background_job() {
    println!("job baggage: {}", current_baggage());
}

#[pipeline_run(name = "product_tests")]
fn child_run() -> u32 {
    child_stage()
}

#[test]
#[ignore = "the child process of the other tests of this file"]
fn child() {
    let telemetry = factory_observability::Telemetry::builder("child")
        .summary(false)
        .init()
        .unwrap();
    println!("main baggage: {}", current_baggage());
    let on_thread = std::thread::spawn(current_baggage).join().unwrap();
    println!("thread baggage: {on_thread}");
    let in_thread_stage = std::thread::spawn(|| {
        tracing::info_span!("thread.tracing").in_scope(|| ());
        background_job();
        current_baggage()
    })
    .join()
    .unwrap();
    println!("thread after its job: {in_thread_stage}");
    child_run();
    let report = telemetry.shutdown();
    println!("delivered {}", report.signals[0].delivered);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fo-child-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// This binary's `child` test as a command writing to `dir`, with none of the carrier
/// variables this test process may itself have been started with.
fn child_command(dir: &Path) -> Command {
    let mut command = test_command(&test_name(module_path!(), "child"));
    command
        .env("FACTORY_OBS_DIR", dir)
        .env_remove("OTEL_TRACES_SAMPLER")
        .env_remove("OTEL_TRACES_SAMPLER_ARG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("RUST_LOG");
    for name in CARRIERS {
        command.env_remove(name);
    }
    command
}

fn finished(output: Output) -> Output {
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn named<'a>(spans: &'a [JsonSpan], name: &str) -> &'a JsonSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} in {spans:#?}"))
}

/// The parent's stage: it starts the child with the current context.
#[pipeline_stage(name = "run_product_tests")]
fn start_child(dir: &Path) -> Output {
    finished(child_command(dir).with_trace_context().output().unwrap())
}

/// What `init` does in a parent program; the parent here records into a `Capture` instead.
fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(factory_observability::propagation::propagator());
}

fn parent_stage(capture: &Capture) -> CapturedSpan {
    let spans = capture.spans_named("pipeline.stage");
    assert_eq!(spans.len(), 1);
    spans.into_iter().next().unwrap()
}

#[test]
fn a_child_process_joins_the_stage_that_started_it() {
    install_propagator();
    let dir = temp_dir("joins");
    let capture = Capture::new();
    capture.run(|| start_child(&dir));
    let stage = parent_stage(&capture);

    let spans = read_spans_in(&dir);
    // The run, its stage, and on a thread of its own a `tracing` span and a job.
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let run = named(&spans, "pipeline.run");
    assert_eq!(run.trace_id, stage.trace_id.to_string());
    assert_eq!(run.parent_span_id, stage.span_id.to_string());
    // Sampled and random, as the parent's; 0x300: the parent is remote.
    assert_eq!(run.flags, 0x303);
    let child_stage = named(&spans, "pipeline.stage");
    assert_eq!(child_stage.trace_id, run.trace_id);
    assert_eq!(child_stage.parent_span_id, run.span_id);
}

#[test]
fn the_parents_baggage_is_in_the_childs_current_context() {
    install_propagator();
    let dir = temp_dir("baggage");
    let capture = Capture::new();
    let with_baggage = Context::current().with_baggage([
        KeyValue::new("tenant", "acme"),
        KeyValue::new("factory.run", "r-42"),
    ]);
    let output = {
        let _attached = with_baggage.attach();
        capture.run(|| start_child(&dir))
    };
    let stage = parent_stage(&capture);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = |what: &str| -> String {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(what))
            .unwrap_or_else(|| panic!("no `{what}` in {stdout}"))
            .to_owned()
    };
    // `Context::current()` after `init` on the thread that called it, and inside a stage there.
    assert_eq!(printed("main baggage: "), "factory.run=r-42,tenant=acme");
    assert_eq!(printed("stage baggage: "), "factory.run=r-42,tenant=acme");
    // A thread spawned later starts with the empty context (docs/propagation.md says so)...
    assert_eq!(printed("thread baggage: "), "");
    // ...but a call it makes sees the parent's baggage, and leaves the thread's context as
    // it was.
    assert_eq!(printed("job baggage: "), "factory.run=r-42,tenant=acme");
    assert_eq!(printed("thread after its job: "), "");
    // And the spans are still the parent's children.
    let spans = read_spans_in(&dir);
    let run = named(&spans, "pipeline.run");
    assert_eq!(run.trace_id, stage.trace_id.to_string());
    assert_eq!(run.parent_span_id, stage.span_id.to_string());
    assert_eq!(named(&spans, "pipeline.stage").parent_span_id, run.span_id);
    // On a thread started after `init`, the parent's children too: a `#[handler]` job, and a
    // `tracing` span with no span above it.
    for name in ["recount", "thread.tracing"] {
        let span = named(&spans, name);
        assert_eq!(span.trace_id, stage.trace_id.to_string(), "{name}");
        assert_eq!(span.parent_span_id, stage.span_id.to_string(), "{name}");
    }
}

#[test]
fn a_malformed_traceparent_starts_a_new_trace_with_one_warning() {
    let dir = temp_dir("malformed");
    let malformed = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    let output = finished(
        child_command(&dir)
            .env("TRACEPARENT", malformed)
            .output()
            .unwrap(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("TRACEPARENT"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with(
            "factory-observability: ignoring TRACEPARENT: a field is not lower-case hexadecimal"
        ),
        "{}",
        warnings[0]
    );
    assert!(!stderr.contains(malformed), "the value is not repeated");

    let spans = read_spans_in(&dir);
    let run = named(&spans, "pipeline.run");
    assert_eq!(run.parent_span_id, "", "a root");
    assert_ne!(run.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

/// `(TRACEPARENT flags, sampler, ratio)` → spans the child exports.
fn exported_under(name: &str, flags: Option<&str>, sampler: Option<(&str, &str)>) -> usize {
    let dir = temp_dir(name);
    let mut command = child_command(&dir);
    if let Some(flags) = flags {
        command.env(
            "TRACEPARENT",
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
        );
    }
    if let Some((sampler, arg)) = sampler {
        command
            .env("OTEL_TRACES_SAMPLER", sampler)
            .env("OTEL_TRACES_SAMPLER_ARG", arg);
    }
    finished(command.output().unwrap());
    let spans = read_spans_in(&dir);
    for span in &spans {
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    if let Some(run) = spans.iter().find(|s| s.name == "pipeline.run") {
        assert_eq!(run.parent_span_id, "00f067aa0ba902b7");
    }
    spans.len()
}

#[test]
fn sampling_stays_parent_based() {
    // The default sampler, parentbased_always_on: the parent decides (4 spans: the run, its
    // stage, a `tracing` span, the job).
    assert_eq!(exported_under("sampled", Some("01"), None), 4);
    assert_eq!(exported_under("unsampled", Some("00"), None), 0);
    // parentbased_traceidratio: a sampled parent wins over a ratio of 0 and an unsampled one
    // over a ratio of 1; without a parent, the ratio decides.
    let never = Some(("parentbased_traceidratio", "0"));
    let always = Some(("parentbased_traceidratio", "1"));
    assert_eq!(exported_under("ratio-sampled", Some("01"), never), 4);
    assert_eq!(exported_under("ratio-unsampled", Some("00"), always), 0);
    assert_eq!(exported_under("ratio-root-never", None, never), 0);
}

#[test]
fn the_carrier_holds_trace_state_and_baggage_and_replaces_inherited_ones() {
    install_propagator();
    let span_context = SpanContext::new(
        TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
        SpanId::from(0x00f067aa0ba902b7),
        TraceFlags::SAMPLED,
        true,
        "congo=t61rcWkgMzE".parse().unwrap(),
    );
    let cx = Context::new()
        .with_remote_span_context(span_context)
        .with_baggage([KeyValue::new("tenant", "acme")]);
    assert_eq!(
        context_env(&cx),
        [
            (
                "TRACEPARENT".to_owned(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()
            ),
            ("TRACESTATE".to_owned(), "congo=t61rcWkgMzE".to_owned()),
            ("BAGGAGE".to_owned(), "tenant=acme".to_owned()),
        ]
    );

    // A child of a context without trace state gets no TRACESTATE, even one this process
    // inherited: it would belong to another trace position.
    let bare = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::SAMPLED,
        true,
        Default::default(),
    ));
    let mut command = Command::new("true");
    command.env("TRACESTATE", "stale=1").with_context(&bare);
    let envs: Vec<(String, Option<String>)> = command
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .filter(|(k, _)| CARRIERS.contains(&k.as_str()))
        .collect();
    assert!(envs.contains(&("TRACESTATE".to_owned(), None)), "{envs:?}");
    assert!(envs.contains(&(
        "TRACEPARENT".to_owned(),
        Some("00-00000000000000000000000000000007-0000000000000009-01".to_owned())
    )));
}

#[pipeline_stage(name = "run_product_async")]
async fn start_child_async(dir: PathBuf) -> std::process::Output {
    use factory_observability::propagation::CommandExt as _;
    let mut command = tokio::process::Command::from(child_command(&dir));
    command.with_trace_context();
    finished(command.output().await.unwrap())
}

#[tokio::test]
async fn a_tokio_command_carries_the_context_too() {
    install_propagator();
    let dir = temp_dir("tokio");
    let capture = Capture::new();
    capture.run_async(start_child_async(dir.clone())).await;
    let stage = parent_stage(&capture);
    let spans = read_spans_in(&dir);
    let run = named(&spans, "pipeline.run");
    assert_eq!(run.trace_id, stage.trace_id.to_string());
    assert_eq!(run.parent_span_id, stage.span_id.to_string());
}
