//! The expansion core: one instrumented call, shared by every macro and by sync and async bodies.
//!
//! A macro expands to `Call::start(site, fields)` followed by either `run_sync(body, classify)` or
//! `instrument(async_body, classify)`. `start` decides sampling and opens the span (or does
//! nothing when no pipeline is installed); the body runs with the span's context attached;
//! `classify` turns the returned value into an [`Ending`] at the macro's call site, where its type
//! is known; the ending decides the span's status and attributes and the metric points, and hands
//! the span to the export thread ([`span`]). A panic ends the call with outcome `error` and keeps
//! unwinding; dropping a call that never finished is a `cancellation`.
//!
//! What each kind of call records of its own lives in its module: [`run`], [`stage`], [`llm`],
//! [`adjudicate`].

pub(crate) mod adjudicate;
pub(crate) mod llm;
pub(crate) mod run;
pub(crate) mod span;
pub(crate) mod stage;
pub(crate) mod stream;

use crate::adjudication::Decision;
use crate::attribute::AttributeValue;
use crate::llm::{LlmResponse, PromptText};
use crate::names::{attr, event};
use crate::outcome::{OutcomeKind, Report};
use crate::pipeline::{self, PipelineRef};
use crate::test_report::TestReport;
use opentelemetry::metrics::{BoundHistogram, Histogram};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, StringValue, Value};
use span::{CallSpan, OpenSpan, Placement, SpanRecord, SpanStart};
// Durations from the TSC through quanta (a few ns a read instead of ~16 ns for
// `clock_gettime` on this project's machines); quanta falls back to the OS clock where the TSC
// is not invariant.
use quanta::Instant;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

/// What kind of call a macro instruments; each kind adds its own attributes and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `#[pipeline_run]`: span `pipeline.run`.
    Run,
    /// `#[pipeline_stage]` and `#[pipeline]` methods: span `pipeline.stage`.
    Stage,
    /// `#[llm_call]`: span `llm.call`, kind CLIENT.
    LlmCall,
    /// `#[adjudicate]`: span `pipeline.adjudicate`.
    Adjudicate,
}

/// Everything a macro knows at compile time about the function it instruments.
#[derive(Debug)]
pub struct CallSite {
    /// The kind of call.
    pub kind: CallKind,
    /// `pipeline.name`, `stage.name`, `adjudication.name`, or the `gen_ai.operation.name` of an
    /// LLM call.
    pub name: &'static str,
    /// `code.function.name`: the module path and the function's name.
    pub function: &'static str,
    /// Instruments bound to this site's labels.
    pub cache: SiteCache,
}

/// The duration histogram bound to a call site's labels for each outcome, for the process-wide
/// pipeline: binding resolves the attribute set once, not at every call (~50 ns a call). Calls
/// recorded into a `testing::Capture` take the unbound path.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteCache {
    durations: [OnceLock<BoundHistogram<f64>>; OutcomeKind::COUNT],
}

impl SiteCache {
    /// An empty cache, for the macros' `static` call sites.
    #[allow(clippy::new_without_default)] // used in statics, where only a const fn will do
    pub const fn new() -> Self {
        SiteCache {
            durations: [const { OnceLock::new() }; OutcomeKind::COUNT],
        }
    }
}

/// Records `seconds` in `histogram` with `labels`, through the call site's bound instrument when
/// the call records into the process-wide pipeline.
pub(crate) fn record_duration(
    active: &Active,
    histogram: &Histogram<f64>,
    outcome: OutcomeKind,
    seconds: f64,
    labels: &[KeyValue],
) {
    match &active.pipeline {
        PipelineRef::Global(_) => active.site.cache.durations[outcome.index()]
            .get_or_init(|| histogram.bind(labels))
            .record(seconds),
        PipelineRef::Scoped(_) => histogram.record(seconds, labels),
    }
}

/// Attributes recorded at the start of a call, from `fields(...)` and macro arguments.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Fields {
    attributes: Vec<KeyValue>,
    run_id: Option<StringValue>,
    llm: Option<llm::Target>,
}

impl Fields {
    /// Records `fields(key = value)`.
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(key), value.to_value()));
    }

    /// Records `fields(key = "literal")`, without copying the literal.
    pub fn record_static(&mut self, key: &'static str, value: &'static str) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(key), value));
    }

    /// Records `#[pipeline_run(run_id = value)]`.
    pub fn run_id<V: Display + ?Sized>(&mut self, value: &V) {
        self.run_id = Some(StringValue::from(value.to_string()));
    }

    /// Records `#[llm_call(provider = ..., model = ...)]`.
    pub fn llm(&mut self, provider: StringValue, model: StringValue) {
        self.llm = Some(llm::Target {
            provider,
            model,
            prompt_chars: None,
        });
    }

    /// Records `#[llm_call(prompt = argument)]`.
    pub fn prompt<P: PromptText + ?Sized>(&mut self, prompt: &P) {
        if let Some(target) = &mut self.llm {
            target.prompt_chars = Some(prompt.prompt_chars());
        }
    }
}

/// What the macro learned from the returned value: the outcome, and what the kind reads from it.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ending {
    pub report: Report,
    pub extra: Extra,
}

/// What a kind reads from the returned value besides its outcome.
#[doc(hidden)]
#[derive(Debug, Default)]
pub enum Extra {
    #[default]
    None,
    Llm(LlmResponse),
    Decision(Decision),
    Tests(TestReport),
}

impl From<Report> for Ending {
    fn from(report: Report) -> Self {
        Ending {
            report,
            extra: Extra::None,
        }
    }
}

impl<X: Into<Extra>> From<(Report, X)> for Ending {
    fn from((report, extra): (Report, X)) -> Self {
        Ending {
            report,
            extra: extra.into(),
        }
    }
}

impl From<LlmResponse> for Extra {
    fn from(response: LlmResponse) -> Self {
        Extra::Llm(response)
    }
}

impl From<Decision> for Extra {
    fn from(decision: Decision) -> Self {
        Extra::Decision(decision)
    }
}

impl From<Option<TestReport>> for Extra {
    fn from(tests: Option<TestReport>) -> Self {
        tests.map_or(Extra::None, Extra::Tests)
    }
}

/// One instrumented call; inert when no pipeline is installed.
#[doc(hidden)]
#[must_use = "a call records nothing unless its body is run through it"]
pub struct Call {
    active: Option<Active>,
}

/// The state of a recording call, kept until it ends.
pub(crate) struct Active {
    /// The context the body runs in: the caller's, with the call's span context and the kind's
    /// value when it has them.
    cx: Context,
    /// Whether `cx` differs from the caller's context, so that a sync body must run under it
    /// (an async body's polls always attach `cx`).
    own_context: bool,
    start: Instant,
    site: &'static CallSite,
    pipeline: PipelineRef,
    kind: KindState,
    /// The span, when the call is sampled.
    span: Option<OpenSpan>,
}

/// What each kind keeps from its start for its end.
pub(crate) enum KindState {
    Run,
    Stage { attempt: u32 },
    Llm(llm::Target),
    Adjudicate,
}

/// What a kind's start contributes to the span, besides the attributes it pushes.
pub(crate) struct Opening {
    pub name: Cow<'static, str>,
    pub span_kind: SpanKind,
    pub state: KindState,
    /// A value the kind puts into the call's context (a run's totals).
    pub context_value: Option<run::RunState>,
}

impl Call {
    /// Opens the call's span under the current context. `fields` runs only when recording.
    #[inline]
    pub fn start(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> Call {
        if !pipeline::enabled() {
            return Call { active: None };
        }
        Call {
            active: Active::start(site, fields),
        }
    }

    /// Runs a sync body inside the call and ends it with what `classify` reads from the value.
    /// (The closure is a direct argument so that the compiler knows its parameter's type when it
    /// resolves the autoref specialisation inside.)
    #[inline]
    pub fn run_sync<R, C, E>(self, body: impl FnOnce() -> R, classify: C) -> R
    where
        C: FnOnce(&R) -> E,
        E: Into<Ending>,
    {
        self.run_completing(body, Classified(classify))
    }

    /// Wraps an async body so that every poll runs inside the call, ending it with what
    /// `classify` reads from the value.
    #[inline]
    pub fn instrument<F, C, E>(self, body: F, classify: C) -> Instrumented<F, Classified<C>>
    where
        F: Future,
        C: FnOnce(&F::Output) -> E,
        E: Into<Ending>,
    {
        self.instrument_completing(body, Classified(classify))
    }

    /// Runs a sync body that returns a stream; the stream takes the call.
    pub fn run_sync_stream<S, C>(
        self,
        body: impl FnOnce() -> S,
        chunk: C,
    ) -> stream::LlmStream<S, C>
    where
        S: futures_core::Stream,
        S::Item: crate::llm::TokenUsage,
        C: FnMut(&S::Item) -> Report,
    {
        self.run_completing(body, stream::Streamed(chunk))
    }

    /// Runs a sync body that returns `Result<impl Stream, E>`.
    #[allow(clippy::type_complexity)]
    pub fn run_sync_stream_result<S, X, C, R>(
        self,
        body: impl FnOnce() -> Result<S, X>,
        chunk: C,
        result: R,
    ) -> Result<stream::LlmStream<S, C>, X>
    where
        S: futures_core::Stream,
        S::Item: crate::llm::TokenUsage,
        C: FnMut(&S::Item) -> Report,
        R: FnOnce(&Result<S, X>) -> Report,
    {
        self.run_completing(body, stream::StreamedResult(chunk, result))
    }

    /// Wraps an async body that returns a stream; the stream takes the call.
    pub fn instrument_stream<F, S, C>(
        self,
        body: F,
        chunk: C,
    ) -> Instrumented<F, stream::Streamed<C>>
    where
        F: Future<Output = S>,
        S: futures_core::Stream,
        S::Item: crate::llm::TokenUsage,
        C: FnMut(&S::Item) -> Report,
    {
        self.instrument_completing(body, stream::Streamed(chunk))
    }

    /// Wraps an async body that returns `Result<impl Stream, E>`.
    pub fn instrument_stream_result<F, S, X, C, R>(
        self,
        body: F,
        chunk: C,
        result: R,
    ) -> Instrumented<F, stream::StreamedResult<C, R>>
    where
        F: Future<Output = Result<S, X>>,
        S: futures_core::Stream,
        S::Item: crate::llm::TokenUsage,
        C: FnMut(&S::Item) -> Report,
        R: FnOnce(&Result<S, X>) -> Report,
    {
        self.instrument_completing(body, stream::StreamedResult(chunk, result))
    }

    /// Runs a sync body inside the call; `completion` ends the call with what it returns.
    #[inline(always)]
    fn run_completing<R, K: Completion<R>>(
        self,
        body: impl FnOnce() -> R,
        completion: K,
    ) -> K::Output {
        if self.active.is_none() {
            // Nothing installed: run the body and hand on a fresh inert call rather than moving
            // this one (a large value) around; it holds nothing to drop.
            std::mem::forget(self);
            return completion.complete(Call { active: None }, body());
        }
        self.run_recording(body, completion)
    }

    fn run_recording<R, K: Completion<R>>(
        self,
        body: impl FnOnce() -> R,
        completion: K,
    ) -> K::Output {
        let guard = self.active.as_ref().and_then(Active::enter_sync);
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(value) => completion.complete(self, value),
            Err(payload) => {
                self.finish(Report::panic(&*payload).into());
                resume_unwind(payload)
            }
        }
    }

    /// Wraps an async body so that every poll runs inside the call; `completion` ends the call
    /// with what the body returns.
    #[inline]
    fn instrument_completing<F: Future, K: Completion<F::Output>>(
        self,
        body: F,
        completion: K,
    ) -> Instrumented<F, K> {
        Instrumented {
            body,
            call: self,
            completion: Some(completion),
        }
    }

    /// Moves the call out, leaving an inert one.
    pub(crate) fn take(&mut self) -> Call {
        Call {
            active: self.active.take(),
        }
    }

    /// Whether the call records (a pipeline was installed when it started).
    pub fn is_recording(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the call. The call's state is ended and dropped where it lies: it is large, and
    /// moving it costs more than the rest of the ending.
    #[inline]
    pub(crate) fn finish(mut self, ending: Ending) {
        if let Some(active) = &mut self.active {
            active.end(ending);
        }
        self.active = None;
    }
}

impl Drop for Call {
    // Inline, so that dropping an inert call (nothing installed) costs one test of the option.
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(active) = &mut self.active {
            active.abandon();
        }
    }
}

impl Active {
    #[inline(never)]
    fn start(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> Option<Active> {
        let parent = Context::current();
        let pipeline = PipelineRef::current(&parent)?;
        // No allocation here unless `fields(...)` records something.
        let mut recorded = Fields::default();
        fields(&mut recorded);
        Some(Active::open(site, parent, pipeline, recorded))
    }

    /// Ends a call whose body never returned: a future dropped before completion, or an unwind
    /// that bypassed `run_sync`'s catch.
    #[cold]
    #[inline(never)]
    fn abandon(&mut self) {
        let report = if std::thread::panicking() {
            Report::panic(&"panicked while the call was running")
        } else {
            Report::of(OutcomeKind::Cancellation)
        };
        self.end(report.into());
    }

    // Not inlined into `start`, which is instantiated for every instrumented function: keeps
    // their code (and build time) small.
    #[inline(never)]
    fn open(
        site: &'static CallSite,
        parent: Context,
        pipeline: PipelineRef,
        fields: Fields,
    ) -> Active {
        let Fields {
            attributes: user_attributes,
            run_id,
            llm: llm_target,
        } = fields;
        // Empty for a stage or an adjudication: what they always record is derived from the call
        // site when the span is exported (see `span::SpanRecord`).
        let mut attributes = Vec::new();
        let opening = match site.kind {
            CallKind::Run => run::open(run_id, &mut attributes),
            CallKind::Stage => stage::open(&parent),
            CallKind::LlmCall => llm::open(site, &pipeline, llm_target, &mut attributes),
            CallKind::Adjudicate => adjudicate::open(),
        };
        if attributes.is_empty() {
            // A stage's `fields(...)`: their vector becomes the span's, not copied into another.
            attributes = user_attributes;
        } else {
            attributes.extend(user_attributes);
        }

        // One clock read per end of the call: durations come from the monotonic clock, and the
        // span's wall-clock times are derived from it (see `span::wall_clock`).
        let start = Instant::now();
        let (span, placement) = OpenSpan::start(
            &pipeline.sampling,
            SpanStart {
                name: opening.name,
                span_kind: opening.span_kind,
                parent: &parent,
                attributes,
                is_run: site.kind == CallKind::Run,
            },
        );
        let (mut cx, mut own_context) = match placement {
            Placement::Child(span_context) => (parent.with_remote_span_context(span_context), true),
            Placement::AsParent => (parent, false),
        };
        if let Some(value) = opening.context_value {
            cx = cx.with_value(value);
            own_context = true;
        }
        Active {
            cx,
            own_context,
            start,
            site,
            pipeline,
            kind: opening.state,
            span,
        }
    }

    /// Makes the call's context current for a sync body, when it has one of its own: otherwise
    /// the caller's context, current already, is the call's.
    #[inline]
    fn enter_sync(&self) -> Option<ContextGuard> {
        self.own_context.then(|| self.cx.clone().attach())
    }

    /// Makes the call's context current for one poll of an async body or a stream, which may
    /// run anywhere (a spawned task, another thread): always attached, so that what the body
    /// starts sees the call's run and sampling decision.
    #[inline]
    fn enter_poll(&self) -> ContextGuard {
        self.cx.clone().attach()
    }

    // Not inlined into the instrumented functions, for the same reason as `open`.
    #[inline(never)]
    fn end(&mut self, ending: Ending) {
        let end = Instant::now();
        let elapsed = end.saturating_duration_since(self.start);
        let mut span = CallSpan::ending(self.span.take(), &self.cx);
        let Ending { mut report, extra } = ending;
        let outcome = report.outcome;
        match (&self.kind, extra) {
            (KindState::Run, _) => run::end(self, &mut span, outcome, elapsed),
            (KindState::Stage { attempt }, extra) => {
                let tests = match extra {
                    Extra::Tests(tests) => Some(tests),
                    _ => None,
                };
                stage::end(self, &mut span, outcome, elapsed, *attempt, tests);
            }
            (KindState::Llm(target), extra) => {
                let response = match extra {
                    Extra::Llm(response) => response,
                    _ => LlmResponse::default(),
                };
                let error_type = report.error.as_ref().map(|e| e.type_name.clone());
                llm::end(self, &mut span, target, response, error_type, elapsed);
            }
            (KindState::Adjudicate, Extra::Decision(decision)) => {
                if let Some(problem) = adjudicate::end(self, &mut span, decision) {
                    report = problem;
                }
            }
            (KindState::Adjudicate, _) => {}
        }
        let outcome = report.outcome;
        record_status(&mut span, report);
        if let Some(span) = span.into_ending() {
            let attempt = match self.kind {
                KindState::Stage { attempt } => attempt,
                _ => 0,
            };
            let run_id = match self.site.kind {
                CallKind::Run => None,
                _ => self.cx.get::<run::RunState>().map(|run| run.run_id.clone()),
            };
            self.pipeline.spans.submit(SpanRecord {
                span,
                site: self.site,
                start: self.start,
                end,
                outcome,
                attempt,
                run_id,
            });
        }
    }
}

/// Status, `error.type` and the `exception` event, the same for every kind.
fn record_status(span: &mut CallSpan, report: Report) {
    let mut description = report
        .message
        .map_or(Cow::Borrowed(report.outcome.as_str()), Cow::Owned);
    if let Some(error) = report.error {
        let type_name = cow_value(error.type_name);
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, type_name.clone()));
        span.add_event(
            event::EXCEPTION,
            vec![
                KeyValue::new(attr::EXCEPTION_TYPE, type_name),
                KeyValue::new(attr::EXCEPTION_MESSAGE, error.message.clone()),
            ],
        );
        if !error.message.is_empty() {
            description = Cow::Owned(error.message);
        }
    }
    if report.outcome.is_error() {
        span.set_status(Status::error(description));
    } else if report.outcome == OutcomeKind::Success {
        span.set_status(Status::Ok);
    }
}

pub(crate) fn cow_value(text: Cow<'static, str>) -> Value {
    match text {
        Cow::Borrowed(text) => Value::from(text),
        Cow::Owned(text) => Value::from(text),
    }
}

pub(crate) fn millis(elapsed: Duration) -> i64 {
    saturating_i64(elapsed.as_millis())
}

/// A count as an OpenTelemetry integer (`i64`), saturating rather than wrapping.
pub(crate) fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// How a call ends once its body returned a value: most calls classify the value and end at
/// once ([`Classified`]); streaming LLM calls hand the call to the stream ([`stream`]).
#[doc(hidden)]
pub trait Completion<T> {
    /// What the instrumented function returns.
    type Output;
    /// Ends (or hands on) `call` with the body's `value`.
    fn complete(self, call: Call, value: T) -> Self::Output;
}

/// Ends the call with the ending its closure reads from the returned value.
#[doc(hidden)]
pub struct Classified<C>(pub C);

impl<T, C, E> Completion<T> for Classified<C>
where
    C: FnOnce(&T) -> E,
    E: Into<Ending>,
{
    type Output = T;

    #[inline(always)]
    fn complete(self, call: Call, value: T) -> T {
        if call.is_recording() {
            call.finish((self.0)(&value).into());
        } else {
            // An inert call holds nothing: forgotten rather than dropped, so that the disabled
            // path makes no out-of-line call to the drop glue of the call's state.
            std::mem::forget(call);
        }
        value
    }
}

pin_project_lite::pin_project! {
    /// An async body running inside a [`Call`]: each poll attaches the call's context, and the
    /// call ends (or is handed on) when the body completes, ends when it panics, and is a
    /// `cancellation` when it is dropped first.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, K> {
        #[pin]
        body: F,
        call: Call,
        completion: Option<K>,
    }
}

impl<F, K> Future for Instrumented<F, K>
where
    F: Future,
    K: Completion<F::Output>,
{
    type Output = K::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<K::Output> {
        let this = self.project();
        let polled = match &this.call.active {
            None => Ok(this.body.poll(task)),
            Some(active) => {
                let _guard = active.enter_poll();
                let body = this.body;
                catch_unwind(AssertUnwindSafe(|| body.poll(task)))
            }
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                let completion = this
                    .completion
                    .take()
                    .expect("an instrumented future is not polled after it completed");
                Poll::Ready(completion.complete(this.call.take(), value))
            }
            Err(payload) => {
                this.call.take().finish(Report::panic(&*payload).into());
                resume_unwind(payload)
            }
        }
    }
}
