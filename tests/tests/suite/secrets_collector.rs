//! Planted secrets never reach a real collector (Rotel on loopback): in a prompt, in a
//! completion and in an opted-in argument, with content capture unset (the default), off and
//! on; and a fake secret of every kind the rules claim in a prompt and in a failing stage's
//! error. When capture is on, the text around the secrets does arrive, masked. An endpoint with
//! an `api_key` in its query delivers to `/v1/traces?api_key=…` (issue 24).
//!
//! `init` installs process-wide state, so each setting runs in a child process: this test
//! binary again, running only [`child_program`] with `FO_SECRETS_CHILD` set.

use factory_observability::testing::fake_secrets;
use factory_observability::{llm_call, pipeline_run, pipeline_stage, TokenUsage, Usage};
use factory_observability_tests::collector::{parse_spans, Collector, ReceivedSpan};
use factory_observability_tests::isolated::{test_command, test_name};
use std::process::Stdio;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "FO_SECRETS_CHILD";

const ANTHROPIC_KEY: &str = "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWN0b3J5In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const URL_PASSWORD: &str = "Tr0ub4dor-and-3";

/// Every planted secret, and a distinctive piece of each (in case a part leaks).
const SECRETS: &[&str] = &[
    ANTHROPIC_KEY,
    "Xq9vL2mN8pR4tY6wZ1aB3cD5",
    JWT,
    "dBjftJeZ4CVPmB92K27uhbUJU1p1r",
    AWS_KEY_ID,
    AWS_SECRET,
    URL_PASSWORD,
];

struct Reply {
    text: String,
}

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(40, 20))
    }
    fn finish_reason(&self) -> Option<&str> {
        Some("stop")
    }
    fn output_text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

#[llm_call(provider = "anthropic", model = "claude-opus-4-5", prompt = prompt)]
fn implement(prompt: &str) -> Reply {
    let _ = prompt;
    Reply {
        text: format!(
            "Completion: call the service with Authorization: Bearer {JWT} and the keys {AWS_KEY_ID} {AWS_SECRET}"
        ),
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct Deployment {
    target: &'static str,
    database_url: String,
}

#[pipeline_stage(capture(args = [deployment]))]
fn deploy(deployment: &Deployment) -> Result<(), String> {
    let _ = deployment;
    Ok(())
}

/// Fails with every fake secret in its error.
#[pipeline_stage]
fn verify(all_kinds: &str) -> Result<(), String> {
    Err(format!("verification failed: {all_kinds}"))
}

/// Every fake secret's line, one a line.
fn all_kinds() -> String {
    let lines: Vec<String> = fake_secrets().into_iter().map(|fake| fake.text).collect();
    lines.join("\n")
}

#[pipeline_run(name = "secrets")]
fn run() -> Result<(), String> {
    let reply = implement(&format!(
        "Prompt: implement the todo app; the key is {ANTHROPIC_KEY}; every kind:\n{}",
        all_kinds()
    ));
    assert!(verify(&all_kinds()).is_err());
    assert!(reply.text.contains(JWT));
    deploy(&Deployment {
        target: "staging-eu",
        database_url: format!("postgres://factory:{URL_PASSWORD}@db.internal/app"),
    })
}

/// The program run in a child process; does nothing in the test run itself.
#[test]
fn child_program() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let telemetry = factory_observability::Telemetry::builder("secrets")
        .shutdown_timeout(Duration::from_secs(10))
        .init_without_subscriber()
        .expect("init");
    run().expect("run");
    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");
}

/// Runs [`child_program`] with `capture` as the content-capture variable; returns the
/// collector's spans of that run (its service name tells them apart).
fn run_child(collector: &Collector, capture: Option<&str>, service: &str) -> Vec<ReceivedSpan> {
    run_child_to(collector, &collector.endpoint(), capture, service)
}

/// [`run_child`] with `endpoint` as `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn run_child_to(
    collector: &Collector,
    endpoint: &str,
    capture: Option<&str>,
    service: &str,
) -> Vec<ReceivedSpan> {
    let mut command = test_command(&test_name(module_path!(), "child_program"));
    command
        .env(CHILD_ENV, "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_SERVICE_NAME", service)
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env_remove("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
        .stdin(Stdio::null());
    if let Some(capture) = capture {
        command.env(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            capture,
        );
    }
    let output = command.output().expect("run the child program");
    assert!(
        output.status.success(),
        "{service}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let service_attribute = format!("Str({service})");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans: Vec<ReceivedSpan> = parse_spans(&collector.output())
            .into_iter()
            .filter(|span| span.resource.get("service.name") == Some(&service_attribute))
            .collect();
        if spans.len() >= 4 || Instant::now() >= deadline {
            assert_eq!(spans.len(), 4, "{service}: {spans:#?}");
            return spans;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no {name} span in {spans:#?}"))
}

/// The span of the stage named `name`.
fn stage<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let name = format!("Str({name})");
    spans
        .iter()
        .find(|span| span.attributes.get("stage.name") == Some(&name))
        .unwrap_or_else(|| panic!("no stage {name} in {spans:#?}"))
}

#[test]
fn planted_secrets_never_reach_the_collector() {
    let collector = Collector::start();
    let unset = run_child(&collector, None, "capture-unset");
    let off = run_child(&collector, Some("false"), "capture-off");
    let on = run_child(&collector, Some("true"), "capture-on");

    // Not a piece of any secret anywhere in what the collector received.
    let received = collector.output();
    for secret in SECRETS {
        assert!(
            !received.contains(secret),
            "{secret} reached the collector:\n{received}"
        );
    }
    for fake in fake_secrets() {
        assert!(
            !received.contains(&fake.secret),
            "the {} secret {} reached the collector",
            fake.kind,
            fake.secret
        );
    }
    // The failing stage's error arrived, masked, whatever the capture setting (three times).
    let masked_errors = received
        .matches("verification failed: use this key:")
        .count();
    assert!(masked_errors >= 3, "{received}");
    for kind in [
        "gitlab_token",
        "stripe_key",
        "huggingface_token",
        "npm_token",
    ] {
        assert!(
            received.contains(&format!("[REDACTED:{kind}]")),
            "no {kind} mask in:\n{received}"
        );
    }

    // Unset: the LLM call captures nothing (its site did not opt in); the argument its stage
    // opted into is there, masked.
    let llm = named(&unset, "llm.call");
    assert_eq!(llm.attributes.get("gen_ai.input.messages"), None);
    assert_eq!(llm.attributes.get("gen_ai.output.messages"), None);
    assert_eq!(
        stage(&unset, "deploy")
            .attributes
            .get("argument.deployment")
            .map(String::as_str),
        Some(
            r#"Str(Deployment { target: "staging-eu", database_url: "postgres://factory:[REDACTED:url_password]@db.internal/app" })"#
        )
    );

    // Off: nothing captured at all.
    for span in &off {
        let captured: Vec<&String> = span
            .attributes
            .keys()
            .filter(|key| {
                key.starts_with("gen_ai.input")
                    || key.starts_with("gen_ai.output")
                    || key.starts_with("argument.")
            })
            .collect();
        assert!(captured.is_empty(), "{}: {captured:?}", span.name);
    }
    // The argument's text arrived twice: unset and on, not off.
    assert_eq!(received.matches("staging-eu").count(), 2, "{received}");

    // On: the prompt, the completion and the argument arrive, masked.
    let llm = named(&on, "llm.call");
    let input = llm
        .attributes
        .get("gen_ai.input.messages")
        .expect("input messages");
    assert!(
        input.contains("Prompt: implement the todo app; the key is [REDACTED:api_key]"),
        "{input}"
    );
    let output = llm
        .attributes
        .get("gen_ai.output.messages")
        .expect("output messages");
    assert!(
        output.contains("Completion: call the service with Authorization: Bearer [REDACTED:jwt]"),
        "{output}"
    );
    assert!(
        output.contains("[REDACTED:aws_access_key_id] [REDACTED:aws_secret_key]"),
        "{output}"
    );
    assert!(
        stage(&on, "deploy").attributes["argument.deployment"].contains("[REDACTED:url_password]")
    );
    // The non-secret text reached the collector only when capture allowed it.
    assert_eq!(
        received.matches("Prompt: implement the todo app").count(),
        1,
        "{received}"
    );
    assert_eq!(
        received.matches("Completion: call the service").count(),
        1,
        "{received}"
    );
}

/// Specification `protocol/exporter.md`, "Endpoint URLs for OTLP/HTTP": the signal's path is
/// appended to the base URL's path; its query stays after it. Rotel receives every span at
/// `/v1/traces?api_key=…` (it used to be sent to `/?api_key=…/v1/traces` and refused).
#[test]
fn a_base_endpoint_with_a_query_delivers_to_the_signal_path() {
    let collector = Collector::start();
    let endpoint = format!("{}/?api_key=k3y-in-the-query", collector.endpoint());
    let spans = run_child_to(&collector, &endpoint, None, "query-endpoint");
    assert_eq!(named(&spans, "pipeline.run").name, "pipeline.run");
}
