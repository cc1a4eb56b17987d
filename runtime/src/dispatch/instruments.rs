//! The metric instruments of every macro, created once per [`Dispatch`](super::Dispatch), and
//! the HTTP server's instruments bound to the label sets they record most.

use super::http_server_labels::{ActiveKey, DurationKey};
use crate::names::{agent, handler, http_server, mcp, metric};
use opentelemetry::metrics::{
    BoundHistogram, BoundUpDownCounter, Counter, Histogram, Meter, UpDownCounter,
};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// The metric instruments of every macro, created once per dispatch.
#[derive(Clone, Debug)]
pub(crate) struct Instruments {
    pub runs_total: Counter<u64>,
    pub run_duration: Histogram<f64>,
    pub stage_duration: Histogram<f64>,
    pub stage_retries_total: Counter<u64>,
    pub llm_tokens: Histogram<u64>,
    pub llm_cost: Counter<f64>,
    pub genai_token_usage: Histogram<u64>,
    pub genai_duration: Histogram<f64>,
    pub genai_time_to_first_chunk: Histogram<f64>,
    pub adjudication_selected: Counter<u64>,
    pub adjudication_score: Histogram<f64>,
    pub adjudication_margin: Histogram<f64>,
    pub test_pass_rate: Histogram<f64>,
    pub test_flaky: Counter<u64>,
    pub http_client_duration: Histogram<f64>,
    pub handler_duration: Histogram<f64>,
    pub http_server_duration: Histogram<f64>,
    pub http_server_active: UpDownCounter<i64>,
    pub invoke_agent_duration: Histogram<f64>,
    pub execute_tool_duration: Histogram<f64>,
    pub mcp_client_duration: Histogram<f64>,
    /// The CI/CD conventions' run metrics (`cicd.pipeline.run.*`).
    pub cicd: CicdInstruments,
    /// `http_server_active` bound to each (method, scheme), bound at first use: two requests'
    /// worth of attribute hashing and lookups saved per request.
    http_server_active_bound: [OnceLock<BoundUpDownCounter<i64>>; ActiveKey::COUNT],
    /// `http_server_duration` bound to the labels of each (method, route, scheme, version,
    /// status) seen, up to [`HTTP_SERVER_BOUND_DURATIONS`]: the SDK's lookup of five
    /// attributes costs ~2,300 instructions a request, this map's a tenth of that.
    http_server_duration_bound: Arc<RwLock<BoundDurations>>,
}

/// The CI/CD conventions' run metrics (semantic conventions, `docs/cicd/cicd-metrics.md`).
#[derive(Clone, Debug)]
pub(crate) struct CicdInstruments {
    /// `cicd.pipeline.run.duration`.
    pub run_duration: Histogram<f64>,
    /// `cicd.pipeline.run.active`.
    pub run_active: UpDownCounter<i64>,
    /// `cicd.pipeline.run.errors`.
    pub run_errors: Counter<u64>,
}

impl CicdInstruments {
    fn new(meter: &Meter) -> Self {
        use crate::names::cicd;
        CicdInstruments {
            run_duration: meter
                .f64_histogram(cicd::CICD_PIPELINE_RUN_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description(
                    "Duration of a pipeline run grouped by pipeline, state and result.",
                )
                .with_boundaries(metric::DURATION_BUCKETS_S.to_vec())
                .build(),
            run_active: meter
                .i64_up_down_counter(cicd::CICD_PIPELINE_RUN_ACTIVE)
                .with_unit(cicd::UNIT_RUNS)
                .with_description("The number of pipeline runs currently active in the system by state.")
                .build(),
            run_errors: meter
                .u64_counter(cicd::CICD_PIPELINE_RUN_ERRORS)
                .with_unit(cicd::UNIT_ERRORS)
                .with_description("The number of errors encountered in pipeline runs (eg. compile, test failures).")
                .build(),
        }
    }
}

/// The bound histograms of `http.server.request.duration`, by label set; FNV rather than the
/// standard SipHash, which cost ~650 instructions a request for the route and the rest of the
/// key (the key is built by the server from its routes, not by its clients).
type BoundDurations = HashMap<DurationKey, BoundHistogram<f64>, fnv::FnvBuildHasher>;

/// How many label sets of `http.server.request.duration` get a bound histogram; requests with
/// others are recorded unbound, as failed ones are.
const HTTP_SERVER_BOUND_DURATIONS: usize = 1024;

impl Instruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        let duration = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit(metric::UNIT_SECONDS)
                .with_description(description)
                .with_boundaries(metric::DURATION_BUCKETS_S.to_vec())
                .build()
        };
        Instruments {
            runs_total: meter
                .u64_counter(metric::PIPELINE_RUNS_TOTAL)
                .with_description("Total pipeline runs")
                .build(),
            run_duration: duration(
                metric::PIPELINE_RUN_DURATION,
                "Dispatch run duration in seconds",
            ),
            stage_duration: duration(
                metric::PIPELINE_STAGE_DURATION,
                "Stage execution duration in seconds",
            ),
            stage_retries_total: meter
                .u64_counter(metric::PIPELINE_STAGE_RETRIES_TOTAL)
                .with_description("Stage retry attempts")
                .build(),
            llm_tokens: meter
                .u64_histogram(metric::LLM_TOKENS_TOTAL)
                .with_unit(metric::UNIT_TOKENS)
                .with_description("LLM token usage per call")
                .with_boundaries(metric::TOKEN_BUCKETS.to_vec())
                .build(),
            llm_cost: meter
                .f64_counter(metric::LLM_COST_USD)
                .with_description("US dollars spent on LLM calls")
                .build(),
            genai_token_usage: meter
                .u64_histogram(metric::GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit(metric::UNIT_TOKENS)
                .with_description("Number of input and output tokens used")
                .with_boundaries(metric::TOKEN_BUCKETS.to_vec())
                .build(),
            genai_duration: meter
                .f64_histogram(metric::GEN_AI_CLIENT_OPERATION_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("GenAI operation duration")
                .with_boundaries(metric::GEN_AI_DURATION_BUCKETS_S.to_vec())
                .build(),
            genai_time_to_first_chunk: meter
                .f64_histogram(metric::GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("Time to the first chunk of a streamed GenAI response")
                .with_boundaries(metric::GEN_AI_DURATION_BUCKETS_S.to_vec())
                .build(),
            adjudication_selected: meter
                .u64_counter(metric::ADJUDICATION_SELECTED_TOTAL)
                .with_description("Adjudications won, per candidate")
                .build(),
            adjudication_score: meter
                .f64_histogram(metric::ADJUDICATION_SCORE)
                .with_description("Candidate scores in adjudications")
                .build(),
            adjudication_margin: meter
                .f64_histogram(metric::ADJUDICATION_MARGIN)
                .with_description("Winner's score minus the runner-up's")
                .build(),
            test_pass_rate: meter
                .f64_histogram(metric::TEST_PASS_RATE)
                .with_description("Passed over executed tests, per stage")
                .with_boundaries(metric::RATIO_BUCKETS.to_vec())
                .build(),
            test_flaky: meter
                .u64_counter(metric::TEST_FLAKY_TOTAL)
                .with_description("Flaky tests, per stage")
                .build(),
            cicd: CicdInstruments::new(meter),
            http_client_duration: meter
                .f64_histogram(crate::names::http_client::HTTP_CLIENT_REQUEST_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("Duration of HTTP client requests")
                .with_boundaries(crate::names::http_client::DURATION_BUCKETS_S.to_vec())
                .build(),
            handler_duration: duration(
                handler::HANDLER_DURATION,
                "Duration of product handlers run off HTTP, in seconds",
            ),
            http_server_duration: meter
                .f64_histogram(http_server::HTTP_SERVER_REQUEST_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("Duration of HTTP server requests")
                .with_boundaries(http_server::REQUEST_DURATION_BUCKETS_S.to_vec())
                .build(),
            http_server_active: meter
                .i64_up_down_counter(http_server::HTTP_SERVER_ACTIVE_REQUESTS)
                .with_unit(http_server::UNIT_REQUESTS)
                .with_description("Number of active HTTP server requests")
                .build(),
            invoke_agent_duration: meter
                .f64_histogram(agent::GEN_AI_INVOKE_AGENT_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("GenAI agent invocation duration")
                .with_boundaries(agent::INVOKE_AGENT_DURATION_BUCKETS_S.to_vec())
                .build(),
            execute_tool_duration: meter
                .f64_histogram(agent::GEN_AI_EXECUTE_TOOL_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("GenAI tool execution duration")
                .with_boundaries(metric::GEN_AI_DURATION_BUCKETS_S.to_vec())
                .build(),
            mcp_client_duration: meter
                .f64_histogram(mcp::MCP_CLIENT_OPERATION_DURATION)
                .with_unit(metric::UNIT_SECONDS)
                .with_description("Duration of MCP requests as the client sees them")
                .with_boundaries(mcp::CLIENT_OPERATION_DURATION_BUCKETS_S.to_vec())
                .build(),
            http_server_active_bound: [const { OnceLock::new() }; ActiveKey::COUNT],
            http_server_duration_bound: Arc::default(),
        }
    }

    /// `http.server.active_requests` bound to `key`'s labels.
    pub(crate) fn http_server_active_for(&self, key: ActiveKey) -> &BoundUpDownCounter<i64> {
        self.http_server_active_bound[key.index()]
            .get_or_init(|| self.http_server_active.bind(&key.labels()))
    }

    /// Records `seconds` in `http.server.request.duration` with `key`'s labels.
    pub(crate) fn record_http_server_duration(&self, key: &DurationKey, seconds: f64) {
        if let Ok(bound) = self.http_server_duration_bound.read() {
            if let Some(histogram) = bound.get(key) {
                histogram.record(seconds);
                return;
            }
        }
        if let Ok(mut bound) = self.http_server_duration_bound.write() {
            if bound.len() < HTTP_SERVER_BOUND_DURATIONS || bound.contains_key(key) {
                bound
                    .entry(key.clone())
                    .or_insert_with(|| self.http_server_duration.bind(&key.labels()))
                    .record(seconds);
                return;
            }
        }
        self.http_server_duration.record(seconds, &key.labels());
    }
}
