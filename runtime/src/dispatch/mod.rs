//! Where a call's telemetry goes: the sampler, the span sink and the instruments the macros
//! record into ([`Dispatch`]), and how a call finds them.
//!
//! [`crate::init`] installs one process-wide [`Dispatch`]; [`crate::testing::Capture`] puts its
//! own into the OpenTelemetry [`Context`], so parallel tests each see only their own telemetry.
//! The hot path reads one relaxed atomic when nothing is installed.

pub(crate) mod http_server_labels;
mod instruments;

pub(crate) use instruments::{CicdInstruments, Instruments};

use crate::config::{BrowserSettings, HttpServerSettings, SpanLimits};
use crate::export::foreign::ForeignQueue;
use crate::export::records::{RecordQueue, Slots};
use crate::export::span_record::SpanRecord;
use crate::pricing::Pricing;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample, SpanProcessor};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// How a dispatch decides which calls are sampled.
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
pub(crate) struct Dispatch {
    pub sampling: Sampling,
    pub spans: SpanSink,
    pub instruments: Instruments,
    pub pricing: Arc<Pricing>,
    /// Name LLM spans `{operation} {model}` instead of `llm.call`.
    pub genai_span_names: bool,
    /// What calls capture of their content, and how it is redacted and cut.
    pub content: Arc<crate::content::ContentPolicy>,
    /// What `HttpServerLayer` takes from requests, unless the layer was given its own.
    pub http_server: Arc<HttpServerSettings>,
    /// What the browser telemetry endpoint accepts, and the program's span limits it narrows.
    pub browser: Arc<(BrowserSettings, SpanLimits)>,
}

impl Dispatch {
    pub fn new(sampler: Sampler, spans: SpanSink, meters: &SdkMeterProvider) -> Self {
        Dispatch {
            sampling: Sampling::new(sampler, spans.slots()),
            spans,
            instruments: Instruments::new(
                &meters.meter_with_scope(crate::export::instrumentation_scope()),
            ),
            pricing: Arc::new(Pricing::bundled()),
            genai_span_names: false,
            content: Arc::default(),
            http_server: Arc::default(),
            browser: Arc::default(),
        }
    }

    /// The same pipeline, with what the browser telemetry endpoint accepts.
    pub fn with_browser(self, settings: BrowserSettings, span_limits: SpanLimits) -> Self {
        Dispatch {
            browser: Arc::new((settings, span_limits)),
            ..self
        }
    }

    /// The same pipeline, with what `HttpServerLayer` takes from requests.
    pub fn with_http_server(self, settings: HttpServerSettings) -> Self {
        Dispatch {
            http_server: Arc::new(settings),
            ..self
        }
    }

    /// The same pipeline, capturing content as `policy` says.
    pub fn with_content(self, policy: crate::content::ContentPolicy) -> Self {
        Dispatch {
            content: Arc::new(policy),
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
        Dispatch {
            pricing,
            genai_span_names,
            ..self
        }
    }
}

static GLOBAL: OnceLock<Dispatch> = OnceLock::new();
/// Whether any pipeline was ever installed; false means every macro only runs the body.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide pipeline, which the macros record into if `record`; false if one
/// was installed before.
pub(crate) fn install_global(dispatch: Dispatch, record: bool) -> bool {
    let installed = GLOBAL.set(dispatch).is_ok();
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
        Some(dispatch) => &dispatch.http_server,
        None => &DEFAULT,
    }
}

/// What the browser telemetry endpoint takes from the installation: its settings, the span
/// limits, and the queue of spans from outside (none when nothing is installed or traces are not
/// exported).
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct ForeignIntake {
    pub settings: BrowserSettings,
    pub span_limits: SpanLimits,
    pub queue: Option<&'static ForeignQueue>,
}

#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn foreign_intake() -> ForeignIntake {
    match GLOBAL.get() {
        Some(dispatch) => ForeignIntake {
            settings: dispatch.browser.0.clone(),
            span_limits: dispatch.browser.1,
            queue: match &dispatch.spans {
                SpanSink::Deferred(queue) => Some(queue.foreign()),
                _ => None,
            },
        },
        None => ForeignIntake {
            settings: BrowserSettings::default(),
            span_limits: SpanLimits::default(),
            queue: None,
        },
    }
}

/// A pipeline that overrides the global one for everything run under a [`Context`].
#[derive(Clone, Debug)]
pub(crate) struct ScopedDispatch(pub Arc<Dispatch>);

impl ScopedDispatch {
    pub fn new(dispatch: Dispatch) -> Self {
        ENABLED.store(true, Ordering::Release);
        ScopedDispatch(Arc::new(dispatch))
    }
}

#[inline(always)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The pipeline a call under `cx` records into.
pub(crate) enum DispatchRef {
    Global(&'static Dispatch),
    Scoped(Arc<Dispatch>),
}

impl DispatchRef {
    pub fn current(cx: &Context) -> Option<DispatchRef> {
        match cx.get::<ScopedDispatch>() {
            Some(scoped) => Some(DispatchRef::Scoped(Arc::clone(&scoped.0))),
            None => GLOBAL.get().map(DispatchRef::Global),
        }
    }
}

impl Deref for DispatchRef {
    type Target = Dispatch;
    fn deref(&self) -> &Dispatch {
        match self {
            DispatchRef::Global(dispatch) => dispatch,
            DispatchRef::Scoped(dispatch) => dispatch,
        }
    }
}
