//! Deterministic synthetic factory telemetry, in the embedded default's format (one
//! `ExportTraceServiceRequest` per line): the golden tests' input and the benchmark's.
//!
//! Run `n` of a pipeline (`new_product` or `bugfix`, alternating) plans, implements (odd runs
//! fail their first attempt and retry), writes a rival, typechecks, smoke-tests a product
//! (`todo-api` serves `GET /tasks` and `POST /tasks` in the same trace; every fourth run's POST
//! answers 500), runs the tests against both candidates and adjudicates. Every third run fails its
//! tests and the run. Durations vary with a fixed-seed generator: the same `n` gives the same
//! bytes.

use factory_observability_names::{attr, event, product, span as span_name, SCOPE};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use std::io::{self, Write};

/// 2026-01-01T00:00:00Z.
const EPOCH_NANOS: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}
fn s(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}
fn i(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}
fn d(key: &str, value: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(value))
}

/// A small fixed-seed generator (SplitMix64): no dependency, same numbers everywhere. Also the
/// quantile tests' data (`quantiles::tests`).
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Milliseconds in `base..base + spread`.
    fn ms(&mut self, base: u64, spread: u64) -> u64 {
        (base + self.next() % spread.max(1)) * MS
    }

    /// A number in `0.0..1.0`, uniformly (the quantile tests' data).
    #[cfg(test)]
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The spans of one run, built in time order.
struct RunBuilder {
    trace_id: Vec<u8>,
    run_id: String,
    next_span: u64,
    factory: Vec<Span>,
    product: Vec<Span>,
    /// The id the next stage takes, when it was handed out before (the smoke stage's).
    reserved: Option<Vec<u8>>,
}

impl RunBuilder {
    fn span_id(&mut self) -> Vec<u8> {
        self.next_span += 1;
        self.next_span.to_be_bytes().to_vec()
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        name: &str,
        kind: span::SpanKind,
        parent: &[u8],
        start: u64,
        end: u64,
        mut attributes: Vec<KeyValue>,
        error: Option<&str>,
    ) -> Span {
        if kind != span::SpanKind::Server {
            attributes.push(s(attr::RUN_ID, &self.run_id));
        }
        Span {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id(),
            parent_span_id: parent.to_vec(),
            flags: 0x101,
            name: name.to_owned(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            status: Some(Status {
                message: error.unwrap_or("").to_owned(),
                code: if error.is_some() {
                    status::StatusCode::Error
                } else {
                    status::StatusCode::Ok
                } as i32,
            }),
            ..Span::default()
        }
    }

    fn llm(
        &mut self,
        parent: &[u8],
        start: u64,
        rng: &mut Rng,
        claude: bool,
    ) -> (u64, i64, i64, f64) {
        let (provider, model, input, output, price_in, price_out) = if claude {
            ("anthropic", "claude-opus-4-5", 325, 800, 5e-6, 25e-6)
        } else {
            ("openai", "gpt-5.3-codex", 1000, 2400, 1.75e-6, 14e-6)
        };
        let end = start + rng.ms(400, 1200);
        let cost = input as f64 * price_in + output as f64 * price_out;
        let span = self.span(
            span_name::LLM_CALL,
            span::SpanKind::Client,
            parent,
            start,
            end,
            vec![
                s(attr::LLM_PROVIDER, provider),
                s(attr::LLM_MODEL, model),
                i(attr::LLM_PROMPT_TOKENS, input),
                i(attr::LLM_COMPLETION_TOKENS, output),
                d(attr::LLM_COST_USD, cost),
            ],
            None,
        );
        self.factory.push(span);
        (end, input, output, cost)
    }
}

/// The export request of run `n`: the factory's spans, and the product's in the same trace.
pub fn run_request(n: u64) -> ExportTraceServiceRequest {
    let mut rng = Rng(n.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&0xfac7_0000_0000_0000u64.wrapping_add(n).to_be_bytes());
    trace_id[8..].copy_from_slice(&rng.next().to_be_bytes());
    let mut run = RunBuilder {
        trace_id: trace_id.to_vec(),
        run_id: format!("run-{n:06}"),
        next_span: n << 16,
        factory: Vec::new(),
        product: Vec::new(),
        reserved: None,
    };
    let pipeline = if n % 2 == 0 { "new_product" } else { "bugfix" };
    let run_fails = n % 3 == 2;
    let retry = n % 2 == 1;
    let start = EPOCH_NANOS + n * 60_000 * MS;
    let run_span_id = run.span_id();
    let (mut calls, mut input, mut output, mut cost) = (0i64, 0i64, 0i64, 0.0f64);
    let mut t = start + MS;
    let stage = |run: &mut RunBuilder,
                 t: &mut u64,
                 rng: &mut Rng,
                 name: &str,
                 attempt: i64,
                 llm: &[bool],
                 error: Option<&str>,
                 extra: Vec<KeyValue>| {
        let begin = *t;
        let stage_id = run.reserved.take().unwrap_or_else(|| run.span_id());
        let mut cursor = begin + rng.ms(5, 20);
        let mut totals = (0i64, 0i64, 0i64, 0.0f64);
        for &claude in llm {
            let (end, i_, o_, c_) = run.llm(&stage_id, cursor, rng, claude);
            cursor = end + rng.ms(1, 5);
            totals = (totals.0 + 1, totals.1 + i_, totals.2 + o_, totals.3 + c_);
        }
        let end = cursor + rng.ms(10, 200);
        let mut attributes = vec![
            s(attr::STAGE_NAME, name),
            i(attr::STAGE_ATTEMPT, attempt),
            s(
                attr::STAGE_OUTCOME,
                if error.is_some() {
                    "failure"
                } else {
                    "success"
                },
            ),
            i(attr::STAGE_DURATION_MS, ((end - begin) / MS) as i64),
        ];
        attributes.extend(extra);
        let mut span = run.span(
            span_name::PIPELINE_STAGE,
            span::SpanKind::Internal,
            &[],
            begin,
            end,
            attributes,
            error,
        );
        span.span_id = stage_id;
        span.parent_span_id = run_span_id.clone();
        if let Some(message) = error {
            span.events.push(span::Event {
                time_unix_nano: end,
                name: event::EXCEPTION.to_owned(),
                attributes: vec![
                    s(attr::EXCEPTION_TYPE, "factory::FactoryError"),
                    s(attr::EXCEPTION_MESSAGE, message),
                ],
                ..span::Event::default()
            });
        }
        run.factory.push(span);
        *t = end + rng.ms(1, 10);
        totals
    };
    let mut add = |totals: (i64, i64, i64, f64)| {
        calls += totals.0;
        input += totals.1;
        output += totals.2;
        cost += totals.3;
    };
    add(stage(
        &mut run,
        &mut t,
        &mut rng,
        "plan",
        1,
        &[true],
        None,
        vec![],
    ));
    if retry {
        add(stage(
            &mut run,
            &mut t,
            &mut rng,
            "implement",
            1,
            &[false, false, false],
            Some("compile error: expected `;` at src/main.rs:12"),
            vec![],
        ));
        add(stage(
            &mut run,
            &mut t,
            &mut rng,
            "implement",
            2,
            &[false, false, false],
            None,
            vec![],
        ));
    } else {
        add(stage(
            &mut run,
            &mut t,
            &mut rng,
            "implement",
            1,
            &[false, false, false],
            None,
            vec![],
        ));
    }
    add(stage(
        &mut run,
        &mut t,
        &mut rng,
        "implement_rival",
        1,
        &[true, true, true],
        None,
        vec![],
    ));
    add(stage(
        &mut run,
        &mut t,
        &mut rng,
        "typecheck",
        1,
        &[],
        None,
        vec![],
    ));

    // The smoke stage calls the product, whose SERVER spans join the trace.
    let smoke_start = t;
    let smoke_parent = run.span_id();
    run.reserved = Some(smoke_parent.clone());
    // Short requests: they end before the smoke stage does (at least 15 ms).
    let mut request_time = smoke_start + MS;
    for (method, route, status_code) in [
        ("GET", "/tasks", 200i64),
        ("POST", "/tasks", if n % 4 == 3 { 500 } else { 201 }),
        ("GET", "/tasks/{id}", 200),
    ] {
        let end = request_time + rng.ms(1, 3);
        let mut server = run.span(
            &format!("{method} {route}"),
            span::SpanKind::Server,
            &smoke_parent,
            request_time,
            end,
            vec![
                s(product::HTTP_REQUEST_METHOD, method),
                s(product::HTTP_ROUTE, route),
                i(product::HTTP_RESPONSE_STATUS_CODE, status_code),
            ],
            (status_code >= 500).then_some("500"),
        );
        if status_code < 500 {
            server.status = Some(Status::default());
        }
        run.product.push(server);
        request_time = end + MS;
    }
    add(stage(
        &mut run,
        &mut t,
        &mut rng,
        "smoke",
        1,
        &[],
        None,
        vec![],
    ));
    let flaky = i64::from(n % 5 == 0);
    let codex_failed = if run_fails { 3 } else { 1 };
    for (candidate, failed) in [("codex", codex_failed), ("claude", i64::from(run_fails))] {
        let error = (failed > 0).then(|| {
            if failed == 1 {
                "1 of 16 tests failed: complete task: undo".to_owned()
            } else {
                format!("{failed} of 16 tests failed: complete task: undo, list tasks: unicode")
            }
        });
        add(stage(
            &mut run,
            &mut t,
            &mut rng,
            "test",
            1,
            &[],
            error.as_deref(),
            vec![
                s(attr::CANDIDATE, candidate),
                i(attr::TEST_PASSED, 16 - failed),
                i(attr::TEST_FAILED, failed),
                i(attr::TEST_SKIPPED, 0),
                i(attr::TEST_FLAKY, flaky),
                d(attr::TEST_PASS_RATE, (16 - failed) as f64 / 16.0),
            ],
        ));
    }
    let codex_score = (16 - codex_failed) as f64 / 16.0;
    let claude_score = (16 - i64::from(run_fails)) as f64 / 16.0;
    let adjudicate_end = t + MS / 10;
    let mut decision = run.span(
        span_name::PIPELINE_ADJUDICATE,
        span::SpanKind::Internal,
        &run_span_id,
        t,
        adjudicate_end,
        vec![
            s(attr::ADJUDICATION_NAME, "pick_winner"),
            i(attr::ADJUDICATION_CANDIDATES, 2),
            s(attr::ADJUDICATION_SELECTED, "claude"),
            d(attr::ADJUDICATION_MARGIN, claude_score - codex_score),
        ],
        None,
    );
    for (candidate, score, label) in [
        ("codex", codex_score, "rejected"),
        ("claude", claude_score, "selected"),
    ] {
        decision.events.push(span::Event {
            time_unix_nano: adjudicate_end,
            name: event::GEN_AI_EVALUATION_RESULT.to_owned(),
            attributes: vec![
                s(attr::GEN_AI_EVALUATION_NAME, "pick_winner"),
                d(attr::GEN_AI_EVALUATION_SCORE_VALUE, score),
                s(attr::GEN_AI_EVALUATION_SCORE_LABEL, label),
                s(attr::ADJUDICATION_CANDIDATE, candidate),
            ],
            ..span::Event::default()
        });
    }
    run.factory.push(decision);
    let end = adjudicate_end + MS;
    let outcome = if run_fails { "failure" } else { "success" };
    let error = run_fails.then(|| "3 tests failed".to_owned());
    let mut root = run.span(
        span_name::PIPELINE_RUN,
        span::SpanKind::Internal,
        &[],
        start,
        end,
        vec![
            s(attr::PIPELINE_NAME, pipeline),
            s(attr::RUN_OUTCOME, outcome),
            i(attr::RUN_DURATION_MS, ((end - start) / MS) as i64),
            i(attr::RUN_LLM_CALLS, calls),
            i(attr::RUN_TOKENS_INPUT, input),
            i(attr::RUN_TOKENS_OUTPUT, output),
            d(attr::RUN_COST_USD, cost),
        ],
        error.as_deref(),
    );
    root.span_id = run_span_id;
    run.factory.push(root);
    let resource = |service: &str| Resource {
        attributes: vec![s(product::SERVICE_NAME, service)],
        ..Resource::default()
    };
    let scope = |name: &str| InstrumentationScope {
        name: name.to_owned(),
        ..InstrumentationScope::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(resource("sf-factory")),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope(SCOPE)),
                    spans: run.factory,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            },
            ResourceSpans {
                resource: Some(resource("todo-api")),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope("todo-api")),
                    spans: run.product,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            },
        ],
    }
}

/// Writes runs `0..runs` one line each; stops early once `max_bytes` are written. Returns the
/// runs and bytes written.
pub fn write_runs(out: &mut dyn Write, runs: u64, max_bytes: u64) -> io::Result<(u64, u64)> {
    let mut written = 0u64;
    for n in 0..runs {
        if written >= max_bytes {
            return Ok((n, written));
        }
        let mut line = serde_json::to_vec(&run_request(n)).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    Ok((runs, written))
}
