//! The sampler, span sink and instruments the macros record into, and how a call finds them.
//!
//! [`crate::init`] installs one process-wide [`Pipeline`]; [`crate::testing::Capture`] puts its
//! own into the OpenTelemetry [`Context`], so parallel tests each see only their own telemetry.
//! The hot path reads one relaxed atomic when nothing is installed.

use crate::config::{HttpServerSettings, SpanLimits};
use crate::export::records::{RecordQueue, Slots};
use crate::export::span_record::SpanRecord;
use crate::http_server_labels::{ActiveKey, DurationKey};
use crate::names::{handler, http_server, metric, SCOPE};
use crate::pricing::Pricing;
use opentelemetry::metrics::{
    BoundHistogram, BoundUpDownCounter, Counter, Histogram, Meter, MeterProvider as _,
    UpDownCounter,
};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample, SpanProcessor};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// The metric instruments of every macro, created once per pipeline.
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
    /// `http_server_active` bound to each (method, scheme), bound at first use: two requests'
    /// worth of attribute hashing and lookups saved per request.
    http_server_active_bound: [OnceLock<BoundUpDownCounter<i64>>; ActiveKey::COUNT],
    /// `http_server_duration` bound to the labels of each (method, route, scheme, version,
    /// status) seen, up to [`HTTP_SERVER_BOUND_DURATIONS`]: the SDK's lookup of five
    /// attributes costs ~2,300 instructions a request, this map's a tenth of that.
    http_server_duration_bound: Arc<RwLock<BoundDurations>>,
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
                "Pipeline run duration in seconds",
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

/// How a pipeline decides which calls are sampled.
#[derive(Clone, Debug)]
pub(crate) struct Sampling {
    pub sampler: Sampler,
    /// The sampler drops every root, even the one whose trace id is the easiest to sample:
    /// `always_off`, `parentbased_always_off`, a ratio of 0.
    pub roots_never_sampled: bool,
    /// The parent this process was started under (`TRACEPARENT`, read by `init`): calls that
    /// would be roots are its children instead, on every thread and task.
    pub process_parent: Option<Context>,
    /// The span queue's room, which a sampled call takes as it starts (the process-wide
    /// pipeline only).
    pub slots: Option<Arc<Slots>>,
}

impl Sampling {
    pub fn new(sampler: Sampler, slots: Option<Arc<Slots>>) -> Sampling {
        let easiest = sampler.should_sample(
            None,
            TraceId::from(1u128),
            "",
            &SpanKind::Internal,
            &[],
            &[],
        );
        Sampling {
            roots_never_sampled: easiest.decision == SamplingDecision::Drop,
            sampler,
            process_parent: None,
            slots,
        }
    }
}

/// Where a pipeline's ended spans go.
#[derive(Clone, Debug)]
pub(crate) enum SpanSink {
    /// The process-wide pipeline: to the span export thread, which converts them.
    Deferred(Arc<RecordQueue>),
    /// `testing::Capture`: converted on the caller's thread and handed to the processor, so a
    /// test sees its spans as soon as its calls return.
    Immediate {
        processor: Arc<dyn SpanProcessor>,
        scope: InstrumentationScope,
        limits: SpanLimits,
    },
    /// `OTEL_TRACES_EXPORTER=none`: the sampler is `always_off`, so no record is ever made.
    Nowhere,
}

impl SpanSink {
    /// The room of the queue spans go to, when it is bounded.
    pub fn slots(&self) -> Option<Arc<Slots>> {
        match self {
            SpanSink::Deferred(queue) => Some(Arc::clone(queue.slots())),
            _ => None,
        }
    }

    pub fn submit(&self, record: SpanRecord) {
        match self {
            SpanSink::Deferred(queue) => queue.submit(record),
            SpanSink::Immediate {
                processor,
                scope,
                limits,
            } => {
                processor.on_end(record.into_span_data(scope, limits));
            }
            SpanSink::Nowhere => {}
        }
    }
}

/// How calls are sampled, where their spans go, their instruments, and how LLM calls are named
/// and priced.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline {
    pub sampling: Sampling,
    pub spans: SpanSink,
    pub instruments: Instruments,
    pub pricing: Arc<Pricing>,
    /// Name LLM spans `{operation} {model}` instead of `llm.call`.
    pub genai_span_names: bool,
    /// What calls capture of their content, and how it is redacted and cut.
    pub capture: Arc<crate::capture::ContentPolicy>,
    /// What `HttpServerLayer` takes from requests, unless the layer was given its own.
    pub http_server: Arc<HttpServerSettings>,
}

impl Pipeline {
    pub fn new(sampler: Sampler, spans: SpanSink, meters: &SdkMeterProvider) -> Self {
        Pipeline {
            sampling: Sampling::new(sampler, spans.slots()),
            spans,
            instruments: Instruments::new(&meters.meter_with_scope(scope())),
            pricing: Arc::new(Pricing::bundled()),
            genai_span_names: false,
            capture: Arc::default(),
            http_server: Arc::default(),
        }
    }

    /// The same pipeline, with what `HttpServerLayer` takes from requests.
    pub fn with_http_server(self, settings: HttpServerSettings) -> Self {
        Pipeline {
            http_server: Arc::new(settings),
            ..self
        }
    }

    /// The same pipeline, capturing content as `policy` says.
    pub fn with_capture(self, policy: crate::capture::ContentPolicy) -> Self {
        Pipeline {
            capture: Arc::new(policy),
            ..self
        }
    }

    /// Calls that would start a trace continue `parent`'s instead (the context this process was
    /// started under).
    pub fn with_process_parent(mut self, parent: Option<opentelemetry::Context>) -> Self {
        self.sampling.process_parent = parent;
        self
    }

    /// The same sampling, spans and instruments, with other LLM pricing and span naming.
    pub fn configured(self, pricing: Arc<Pricing>, genai_span_names: bool) -> Self {
        Pipeline {
            pricing,
            genai_span_names,
            ..self
        }
    }
}

/// The instrumentation scope of the macros' spans and metrics.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

static GLOBAL: OnceLock<Pipeline> = OnceLock::new();
/// Whether any pipeline was ever installed; false means every macro only runs the body.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide pipeline, which the macros record into if `record`; false if one
/// was installed before.
pub(crate) fn install_global(pipeline: Pipeline, record: bool) -> bool {
    let installed = GLOBAL.set(pipeline).is_ok();
    if installed && record {
        ENABLED.store(true, Ordering::Release);
    }
    installed
}

pub(crate) fn global_is_installed() -> bool {
    GLOBAL.get().is_some()
}

/// What `HttpServerLayer` takes from requests when it was not given settings of its own: the
/// installed configuration's (`FACTORY_OBS_HTTP_SERVER_*`), else the defaults. One atomic load.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn http_server_settings() -> &'static HttpServerSettings {
    static DEFAULT: std::sync::LazyLock<HttpServerSettings> =
        std::sync::LazyLock::new(HttpServerSettings::default);
    match GLOBAL.get() {
        Some(pipeline) => &pipeline.http_server,
        None => &DEFAULT,
    }
}

/// A pipeline that overrides the global one for everything run under a [`Context`].
#[derive(Clone, Debug)]
pub(crate) struct ScopedPipeline(pub Arc<Pipeline>);

impl ScopedPipeline {
    pub fn new(pipeline: Pipeline) -> Self {
        ENABLED.store(true, Ordering::Release);
        ScopedPipeline(Arc::new(pipeline))
    }
}

#[inline(always)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The pipeline a call under `cx` records into.
pub(crate) enum PipelineRef {
    Global(&'static Pipeline),
    Scoped(Arc<Pipeline>),
}

impl PipelineRef {
    pub fn current(cx: &Context) -> Option<PipelineRef> {
        match cx.get::<ScopedPipeline>() {
            Some(scoped) => Some(PipelineRef::Scoped(Arc::clone(&scoped.0))),
            None => GLOBAL.get().map(PipelineRef::Global),
        }
    }
}

impl Deref for PipelineRef {
    type Target = Pipeline;
    fn deref(&self) -> &Pipeline {
        match self {
            PipelineRef::Global(pipeline) => pipeline,
            PipelineRef::Scoped(pipeline) => pipeline,
        }
    }
}
