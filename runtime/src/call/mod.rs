//! The expansion core: one instrumented call, shared by every macro and by sync and async bodies.
//!
//! A macro expands to `SyncCall::start(site, fields)` followed by `run(body, classify)` for a
//! sync body ([`sync_call`]: the call's state stays off the stack while the body runs), or to
//! `Call::start(site, fields)` followed by `instrument(async_body, classify)` (the state lives in
//! the future) or, for a streaming LLM call, `run_sync_stream`/`instrument_stream` ([`stream`]).
//! `start` decides sampling and opens the span (or does nothing when no pipeline is installed);
//! the body runs with the span's context attached;
//! `classify` turns the returned value into an [`Ending`] at the macro's call site, where its type
//! is known; the ending decides the span's status and attributes and the metric points, and hands
//! the span to the export thread ([`span`]). A panic ends the call with outcome `error` and keeps
//! unwinding; dropping a call that never finished is a `cancellation`.
//!
//! What each kind of call records of its own lives in its module: [`run`], [`stage`], [`llm`],
//! [`adjudicate`], [`agent`], [`tool`]; the totals runs and agents keep in [`totals`].

pub(crate) mod adjudicate;
pub(crate) mod agent;
mod ending;
mod fields;
pub(crate) mod handler;
pub(crate) mod http_client;
pub(crate) mod http_server;
pub(crate) mod llm;
pub(crate) mod mcp_client;
mod metrics;
pub(crate) mod run;
mod runner;
pub(crate) mod span;
pub(crate) mod stage;
pub(crate) mod stream;
mod sync_call;
pub(crate) mod tool;
mod totals;

pub use crate::call_site::{CallKind, CallSite, SiteCache};
pub use ending::{Ending, Extra};
pub use fields::Fields;
pub(crate) use metrics::{record_duration, record_duration_in};
#[cfg(feature = "axum")]
pub(crate) use runner::Completion;
pub use runner::Instrumented;
pub use stream::{StreamShape, ViaPlainStream, ViaStreamInResult};
pub use sync_call::SyncCall;
pub use tool::{ToolOutput, ToolResultOf, ViaNotSerialize, ViaResultSerialize, ViaSerialize};

use crate::carriers::env::with_process_baggage;
use crate::content::Redaction;
use crate::dispatch::{self, DispatchRef};
use crate::export::span_record::SpanRecord;
use crate::names::{attr, event};
use crate::outcome::{OutcomeKind, Report};
use crate::usage::LlmResponse;
use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue, Value};
use span::{CallSpan, OpenSpan, Placement, SpanStart};
// Durations from the TSC through quanta (a few ns a read instead of ~16 ns for
// `clock_gettime` on this project's machines); quanta falls back to the OS clock where the TSC
// is not invariant.
use quanta::Instant;
use std::borrow::Cow;
use std::time::Duration;

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
    dispatch: DispatchRef,
    kind: KindState,
    /// The span, when the call is sampled.
    span: Option<OpenSpan>,
}

/// What each kind keeps from its start for its end.
pub(crate) enum KindState {
    Run,
    Stage {
        attempt: u32,
    },
    Llm(llm::Target),
    Adjudicate,
    HttpClient(Box<http_client::HttpTarget>),
    Handler,
    /// A handler under a request: it enriches the request's span.
    HandlerInRequest(std::sync::Arc<http_server::RequestShared>),
    HttpServer(http_server::Serving),
    Agent(Box<agent::Invocation>),
    Tool(tool::ToolState),
    McpClient(Box<mcp_client::McpState>),
}

/// A value a kind puts into its call's context, for the calls under it.
pub(crate) enum ContextValue {
    /// A run's id and totals.
    Run(run::RunState),
    /// A request's shared state, for its handler.
    Request(http_server::RequestState),
    /// An agent, for the calls under it, and the baggage carrying the conversation it names.
    Agent(agent::AgentScope, Option<opentelemetry::baggage::Baggage>),
}

/// What a kind's start contributes to the span, besides the attributes it pushes.
pub(crate) struct Opening {
    pub name: Cow<'static, str>,
    pub span_kind: SpanKind,
    pub state: KindState,
    /// A value the kind puts into the call's context (a run's totals).
    pub context_value: Option<ContextValue>,
    /// Whether the call has a span of its own (a handler under a request has none).
    pub opens_span: bool,
}

impl Call {
    /// Opens the call's span under the current context. `fields` runs only when recording.
    #[inline]
    pub fn start(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> Call {
        if !dispatch::enabled() {
            return Call { active: None };
        }
        Call {
            active: Active::start(site, None, fields),
        }
    }

    /// Opens the call's span under the current context as a child of `remote`, the caller's
    /// span a request carried (a valid, remote span context): as [`Call::start`] under a
    /// context holding `remote`, without building that context.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn start_under_remote(
        site: &'static CallSite,
        remote: SpanContext,
        fields: impl FnOnce(&mut Fields),
    ) -> Call {
        if !dispatch::enabled() {
            return Call { active: None };
        }
        Call {
            active: Active::start(site, Some(remote), fields),
        }
    }

    /// Moves the call out, leaving an inert one.
    pub(crate) fn take(&mut self) -> Call {
        Call {
            active: self.active.take(),
        }
    }

    /// Whether the call captures its output: an LLM call's completion, a `#[tool]`'s result
    /// (read by the expansion before the body runs).
    pub fn captures_output(&self) -> bool {
        self.active.as_ref().is_some_and(Active::captures_output)
    }

    /// Whether the call records (a pipeline was installed when it started).
    pub fn is_recording(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the call. The call's state is ended and dropped where it lies: it is large, and
    /// moving it costs more than the rest of the ending.
    #[inline]
    pub(crate) fn finish(mut self, mut ending: Ending) {
        if let Some(active) = &mut self.active {
            active.end(&mut ending);
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
    fn start(
        site: &'static CallSite,
        remote: Option<SpanContext>,
        fields: impl FnOnce(&mut Fields),
    ) -> Option<Active> {
        let parent = Context::current();
        let dispatch = DispatchRef::current(&parent)?;
        // No allocation here unless `fields(...)` records something.
        let mut recorded = Fields::default();
        recorded.captured.mode = dispatch.content.mode;
        fields(&mut recorded);
        Some(Active::open(site, parent, remote, dispatch, recorded))
    }

    /// Ends a call whose body never returned: a future dropped before completion, or an unwind
    /// that bypassed the catch of `Call::run_sync_stream` or of `Instrumented`'s poll.
    #[cold]
    #[inline(never)]
    fn abandon(&mut self) {
        let report = if std::thread::panicking() {
            Report::panic(&"panicked while the call was running")
        } else {
            Report::of(OutcomeKind::Cancellation)
        };
        self.end(&mut report.into());
    }

    // Not inlined into `start`, which is instantiated for every instrumented function: keeps
    // their code (and build time) small.
    #[inline(never)]
    /// `remote`, when given, is the call's parent instead of the span of `parent`.
    fn open(
        site: &'static CallSite,
        parent: Context,
        remote: Option<SpanContext>,
        dispatch: DispatchRef,
        fields: Fields,
    ) -> Active {
        // A child process, on a thread started after `init`: the body sees the parent's baggage.
        // Not under a caller's span (`remote`), which a context holding it would show.
        let with_baggage = dispatch
            .sampling
            .process_parent
            .as_ref()
            .filter(|_| remote.is_none())
            .and_then(|process_parent| with_process_baggage(&parent, process_parent));
        let baggage_added = with_baggage.is_some();
        let parent = with_baggage.unwrap_or(parent);
        let (mut opening, attributes) =
            open_kind(site, &parent, remote.is_some(), &dispatch, fields);

        // One clock read per end of the call: durations come from the monotonic clock, and the
        // span's wall-clock times are derived from it (see `export::span_record::wall_clock`).
        let start = Instant::now();
        let (span, placement) = if opening.opens_span {
            span::start(
                &dispatch.sampling,
                SpanStart {
                    name: opening.name,
                    span_kind: opening.span_kind,
                    parent: &parent,
                    remote_parent: remote.as_ref(),
                    attributes,
                    is_run: site.kind == CallKind::Run,
                },
            )
        } else {
            // A handler under a request: its `fields(...)` go to the request's span.
            if let KindState::HandlerInRequest(request) = &opening.state {
                request.add_attributes(attributes);
            }
            (None, Placement::AsParent)
        };
        let (cx, own_context) = call_context(
            parent,
            placement,
            remote,
            baggage_added,
            opening.context_value.take(),
        );
        Active {
            cx,
            own_context,
            start,
            site,
            dispatch,
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
    //
    // The ending is taken through a reference and its parts moved out: a sync call ends inside
    // the closure of its thread-local stack, where an `Ending` by value is copied in and out.
    fn end(&mut self, ending: &mut Ending) {
        let end = Instant::now();
        let elapsed = end.saturating_duration_since(self.start);
        let mut span = CallSpan::ending(self.span.take(), &self.cx);
        let mut report = std::mem::replace(&mut ending.report, Report::of(OutcomeKind::Success));
        let extra = std::mem::take(&mut ending.extra);
        let outcome = report.outcome;
        if let KindState::HttpServer(serving) = &mut self.kind {
            // The HTTP conventions decide the status, not the outcome (see `http_server`).
            http_server::end(&self.dispatch, serving, &mut span, report, elapsed);
            if let Some(span) = span.into_ending() {
                self.submit(span, end, outcome);
            }
            return;
        }
        match (&self.kind, extra) {
            (KindState::Run, _) => {
                let error_type = report.error.as_ref().map(|error| error.type_name.clone());
                run::end(self, &mut span, outcome, elapsed, error_type);
            }
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
            (KindState::HttpClient(target), extra) => {
                let response = match extra {
                    Extra::Http(response) => response,
                    _ => http_client::HttpResponse::default(),
                };
                let error_type = report.error.as_ref().map(|e| e.type_name.clone());
                http_client::end(self, &mut span, target, &response, error_type, elapsed);
            }
            (KindState::Handler, _) => handler::end(self, outcome, elapsed),
            (KindState::HandlerInRequest(request), _) => {
                // No span of its own: what it learned belongs to the request's.
                handler::end_in_request(request, report);
                return;
            }
            (KindState::Agent(invocation), _) => {
                let error_type = report.error.as_ref().map(|e| e.type_name.clone());
                agent::end(self, &mut span, invocation, outcome, error_type, elapsed);
            }
            (KindState::Tool(state), extra) => {
                let result = match extra {
                    Extra::Tool(output) => output.0,
                    _ => None,
                };
                let error_type = report.error.as_ref().map(|e| e.type_name.clone());
                tool::end(self, &mut span, state, result, outcome, error_type, elapsed);
            }
            (KindState::McpClient(state), extra) => {
                let response = match extra {
                    Extra::Mcp(response) => response,
                    _ => mcp_client::McpResponse::default(),
                };
                let error_type = report.error.as_ref().map(|e| e.type_name.clone());
                mcp_client::end(
                    self, &mut span, state, &response, outcome, error_type, elapsed,
                );
            }
            (KindState::HttpServer(_), _) => unreachable!("ended above"),
        }
        let outcome = report.outcome;
        record_status(&mut span, report, &self.dispatch.content.redaction);
        if let KindState::HttpClient(_) = self.kind {
            http_client::settle_status(&mut span, outcome);
        }
        if let Some(span) = span.into_ending() {
            self.submit(span, end, outcome);
        }
    }

    /// Whether the call captures its output: an LLM call's completion, a tool's result.
    pub(crate) fn captures_output(&self) -> bool {
        match &self.kind {
            KindState::Llm(target) => target.capture_output,
            KindState::Tool(state) => state.capture_output,
            _ => false,
        }
    }

    /// Hands the ended span to the pipeline's sink (the export thread).
    fn submit(&self, span: span::EndingSpan, end: Instant, outcome: OutcomeKind) {
        let attempt = match self.kind {
            KindState::Stage { attempt } => attempt,
            _ => 0,
        };
        let run_id = match self.site.kind {
            CallKind::Run => None,
            _ => self.cx.get::<run::RunState>().map(|run| run.run_id.clone()),
        };
        self.dispatch.spans.submit(SpanRecord {
            span,
            site: self.site,
            start: self.start,
            end,
            outcome,
            attempt,
            run_id,
            trimmed_attributes: 0,
            trimmed_events: 0,
            queued_bytes: 0,
        });
    }
}

/// Status, `error.type` and the `exception` event, the same for every kind. The error's or the
/// panic's message and a failure's description pass the redaction policy first: they are the
/// program's text, and may quote a key. Only failures pay for it; `error.type` is a type name.
fn record_status(span: &mut CallSpan, mut report: Report, redaction: &Redaction) {
    if !span.is_recorded() {
        // Not sampled: the status, `error.type` and the event are the span's alone.
        return;
    }
    if let Some(error) = &mut report.error {
        redact_in_place(redaction, &mut error.message);
    }
    if report.outcome.is_error() {
        if let Some(message) = &mut report.message {
            redact_in_place(redaction, message);
        }
    }
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

/// Replaces `text` by its redacted form, when redaction changed it.
pub(crate) fn redact_in_place(redaction: &Redaction, text: &mut String) {
    if let Cow::Owned(redacted) = redaction.redact(text) {
        *text = redacted;
    }
}

/// The span name of a kind that names its spans `{operation} {site name}`, built once per site.
pub(crate) fn site_span_name(site: &'static CallSite, operation: &str) -> Cow<'static, str> {
    Cow::Borrowed(
        site.cache
            .span_name
            .get_or_init(|| format!("{operation} {}", site.name).into_boxed_str()),
    )
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

/// What the call's kind records at its start, and the span's attributes: the kind's own, then
/// `fields(...)`, then what the call captured (redacted and cut).
fn open_kind(
    site: &'static CallSite,
    parent: &Context,
    has_remote_parent: bool,
    dispatch: &DispatchRef,
    fields: Fields,
) -> (Opening, Vec<KeyValue>) {
    let Fields {
        attributes: user_attributes,
        run_id,
        llm: llm_target,
        http,
        http_client: http_target,
        agent: agent_target,
        tool: tool_target,
        mcp: mcp_target,
        captured,
    } = fields;
    // Empty for a stage or an adjudication: what they always record is derived from the call
    // site when the span is exported (see `export::span_record`).
    let mut attributes = Vec::new();
    let mut opening = match site.kind {
        CallKind::Run => run::open(dispatch, site, run_id, &mut attributes),
        CallKind::Stage => stage::open(parent),
        CallKind::LlmCall => llm::open(site, dispatch, parent, llm_target, &mut attributes),
        CallKind::Adjudicate => adjudicate::open(),
        CallKind::HttpClient => http_client::open(
            http_target.unwrap_or_else(|| {
                http_client::HttpTarget::new("GET", String::new(), 0, String::new(), String::new())
            }),
            &mut attributes,
        ),
        CallKind::Handler => handler::open(site, parent),
        CallKind::HttpServer => http_server::open(dispatch, http, &mut attributes),
        CallKind::Agent => agent::open(site, parent, agent_target, &mut attributes),
        CallKind::Tool => tool::open(
            site,
            parent,
            !has_remote_parent
                && tool::starts_a_trace(parent, dispatch.sampling.process_parent.is_some()),
            tool_target,
            &mut attributes,
        ),
        CallKind::McpClient => {
            mcp_client::open(parent, mcp_target, SpanKind::Client, &mut attributes)
        }
        CallKind::McpServer => {
            mcp_client::open(parent, mcp_target, SpanKind::Server, &mut attributes)
        }
    };
    if attributes.is_empty() {
        // A stage's `fields(...)`: their vector becomes the span's, not copied into another.
        attributes = user_attributes;
    } else {
        attributes.extend(user_attributes);
    }
    // A tool captures only where `capture_content` says so: its types serialise there.
    let site_opted_in = captured.site == Some(true);
    let capture_output = captured.record(&dispatch.content, &mut attributes);
    match &mut opening.state {
        KindState::Llm(target) => target.capture_output = capture_output,
        KindState::Tool(state) => state.capture_output = capture_output && site_opted_in,
        _ => {}
    }
    (opening, attributes)
}

/// The call's `Context`, and whether it differs from the caller's (then the body runs with it
/// attached): the call's span as the parent of what the body starts, or the caller's span when
/// the call has none of its own, with the kind's value (a run's state, a request) added.
fn call_context(
    parent: Context,
    placement: Placement,
    remote: Option<SpanContext>,
    baggage_added: bool,
    value: Option<ContextValue>,
) -> (Context, bool) {
    let (mut cx, mut own_context) = match (placement, remote) {
        (Placement::Child(span_context), _) => {
            (parent.with_remote_span_context(span_context), true)
        }
        // Children decide as this call did, under the same parent: the caller's span.
        (Placement::AsParent, Some(remote)) => (parent.with_remote_span_context(remote), true),
        (Placement::AsParent, None) => (parent, baggage_added),
    };
    if let Some(value) = value {
        cx = match value {
            ContextValue::Run(run) => cx.with_value(run),
            ContextValue::Request(request) => cx.with_value(request),
            ContextValue::Agent(scope, None) => cx.with_value(scope),
            ContextValue::Agent(scope, Some(baggage)) => {
                use opentelemetry::baggage::BaggageExt;
                cx.with_value(scope).with_baggage(baggage)
            }
        };
        own_context = true;
    }
    (cx, own_context)
}
