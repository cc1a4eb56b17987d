//! The expansion core: one instrumented call, shared by every macro and by sync and async bodies.
//!
//! A macro expands to `Call::start(site, fields)` followed by either `run_sync(body, classify)` or
//! `instrument(async_body, classify)`. `start` opens the span (or does nothing when no pipeline is
//! installed); the body runs with the span's context attached; `classify` turns the returned value
//! into a [`Report`] at the macro's call site, where its type is known; the report decides the
//! span's status, its outcome attributes and the metric points. A panic ends the call with outcome
//! `error` and keeps unwinding; dropping a call that never finished is a `cancellation`.

use crate::attribute::AttributeValue;
use crate::names::{attr, event};
use crate::outcome::{OutcomeKind, Report};
use crate::pipeline::{self, PipelineRef};
use opentelemetry::trace::{SpanBuilder, SpanId, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, Key, KeyValue, StringValue, Value};
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime};

/// What kind of call a macro instruments; each kind adds its own attributes and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `#[pipeline_run]`: root span `pipeline.run`.
    Run,
    /// `#[pipeline_stage]` and `#[pipeline]` methods: span `pipeline.stage`.
    Stage,
}

/// Everything a macro knows at compile time about the function it instruments.
#[derive(Debug)]
pub struct CallSite {
    /// The kind of call.
    pub kind: CallKind,
    /// `pipeline.name` or `stage.name`.
    pub name: &'static str,
    /// `code.function.name`: the module path and the function's name.
    pub function: &'static str,
}

impl CallSite {
    fn span_name(&self) -> &'static str {
        match self.kind {
            CallKind::Run => crate::names::span::PIPELINE_RUN,
            CallKind::Stage => crate::names::span::PIPELINE_STAGE,
        }
    }
}

/// The per-run state every call of a run can reach through the [`Context`].
#[derive(Clone, Debug)]
pub(crate) struct RunState {
    pub run_id: StringValue,
}

/// Set by [`crate::retry_stage`]: the attempt number of the stage called directly under `parent`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StageAttempt {
    pub number: u32,
    pub parent: SpanId,
}

/// Attributes recorded at the start of a call, from `fields(...)` and macro arguments.
#[doc(hidden)]
#[derive(Debug)]
pub struct Fields {
    attributes: Vec<KeyValue>,
    run_id: Option<StringValue>,
}

impl Fields {
    /// Records `fields(key = value)`.
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(key), value.to_value()));
    }

    /// Records `#[pipeline_run(run_id = value)]`.
    pub fn run_id<V: Display + ?Sized>(&mut self, value: &V) {
        self.run_id = Some(StringValue::from(value.to_string()));
    }
}

/// One instrumented call; inert when no pipeline is installed.
#[doc(hidden)]
#[must_use = "a call records nothing unless its body is run through it"]
pub struct Call {
    active: Option<Active>,
}

struct Active {
    cx: Context,
    start: Instant,
    site: &'static CallSite,
    pipeline: PipelineRef,
    attempt: u32,
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

    /// Runs a sync body inside the call and classifies what it returns.
    #[inline]
    pub fn run_sync<R>(self, body: impl FnOnce() -> R, classify: impl FnOnce(&R) -> Report) -> R {
        let Some(active) = &self.active else {
            return body();
        };
        let guard = active.cx.clone().attach();
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(value) => {
                self.finish(classify(&value));
                value
            }
            Err(payload) => {
                self.finish(Report::panic(&*payload));
                resume_unwind(payload)
            }
        }
    }

    /// Wraps an async body so that every poll runs inside the call.
    #[inline]
    pub fn instrument<F, C>(self, body: F, classify: C) -> Instrumented<F, C>
    where
        F: Future,
        C: FnOnce(&F::Output) -> Report,
    {
        Instrumented {
            body,
            call: self,
            classify: Some(classify),
        }
    }

    fn finish(mut self, report: Report) {
        if let Some(active) = self.active.take() {
            active.end(report);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            // Only reached when the body never returned: a sync body that unwound past
            // `run_sync` (never, as it catches) or a future dropped before completion.
            let report = if std::thread::panicking() {
                Report::panic(&"panicked while the call was running")
            } else {
                Report::of(OutcomeKind::Cancellation)
            };
            active.end(report);
        }
    }
}

impl Active {
    #[inline(never)]
    fn start(site: &'static CallSite, fields: impl FnOnce(&mut Fields)) -> Option<Active> {
        let parent = Context::current();
        let pipeline = PipelineRef::current(&parent)?;
        let mut recorded = Fields {
            attributes: Vec::with_capacity(8),
            run_id: None,
        };
        fields(&mut recorded);
        Some(Active::open(site, parent, pipeline, recorded))
    }

    fn open(
        site: &'static CallSite,
        parent: Context,
        pipeline: PipelineRef,
        fields: Fields,
    ) -> Active {
        let Fields {
            attributes: user_attributes,
            run_id,
        } = fields;
        let mut attributes = Vec::with_capacity(user_attributes.len() + 5);
        let mut attempt = 1;
        let mut run = None;
        match site.kind {
            CallKind::Run => {
                let run_id = run_id.unwrap_or_else(|| StringValue::from(new_run_id()));
                attributes.push(KeyValue::new(attr::PIPELINE_NAME, site.name));
                attributes.push(KeyValue::new(attr::RUN_ID, run_id.clone()));
                attributes.push(KeyValue::new(
                    attr::RUN_TIMESTAMP,
                    humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                ));
                run = Some(RunState { run_id });
            }
            CallKind::Stage => {
                let parent_span = parent.span().span_context().span_id();
                if let Some(retry) = parent.get::<StageAttempt>() {
                    if retry.parent == parent_span {
                        attempt = retry.number;
                    }
                }
                attributes.push(KeyValue::new(attr::STAGE_NAME, site.name));
                attributes.push(KeyValue::new(attr::STAGE_ATTEMPT, i64::from(attempt)));
                if let Some(run) = parent.get::<RunState>() {
                    attributes.push(KeyValue::new(attr::RUN_ID, run.run_id.clone()));
                }
            }
        }
        attributes.push(KeyValue::new(attr::CODE_FUNCTION_NAME, site.function));
        attributes.extend(user_attributes);

        let span = pipeline.tracer.build_with_context(
            SpanBuilder::from_name(site.span_name())
                .with_kind(SpanKind::Internal)
                .with_attributes(attributes),
            &parent,
        );
        let mut cx = parent.with_span(span);
        if let Some(run) = run {
            cx = cx.with_value(run);
        }
        Active {
            cx,
            start: Instant::now(),
            site,
            pipeline,
            attempt,
        }
    }

    fn end(self, report: Report) {
        let elapsed = self.start.elapsed();
        let outcome = report.outcome.as_str();
        let millis = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let span = self.cx.span();
        let (outcome_key, duration_key) = match self.site.kind {
            CallKind::Run => (attr::RUN_OUTCOME, attr::RUN_DURATION_MS),
            CallKind::Stage => (attr::STAGE_OUTCOME, attr::STAGE_DURATION_MS),
        };
        span.set_attribute(KeyValue::new(outcome_key, outcome));
        span.set_attribute(KeyValue::new(duration_key, millis));

        let mut description = Cow::Borrowed(outcome);
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
        span.end();

        let seconds = elapsed.as_secs_f64();
        let instruments = &self.pipeline.instruments;
        match self.site.kind {
            CallKind::Run => {
                let labels = [
                    KeyValue::new(attr::PIPELINE_NAME, self.site.name),
                    KeyValue::new(attr::OUTCOME, outcome),
                ];
                instruments.runs_total.add(1, &labels);
                instruments.run_duration.record(seconds, &labels);
            }
            CallKind::Stage => {
                let labels = [
                    KeyValue::new(attr::STAGE_NAME, self.site.name),
                    KeyValue::new(attr::OUTCOME, outcome),
                ];
                instruments.stage_duration.record(seconds, &labels);
                if self.attempt > 1 {
                    instruments
                        .stage_retries_total
                        .add(1, &[KeyValue::new(attr::STAGE_NAME, self.site.name)]);
                }
            }
        }
    }
}

fn cow_value(text: Cow<'static, str>) -> Value {
    match text {
        Cow::Borrowed(text) => Value::from(text),
        Cow::Owned(text) => Value::from(text),
    }
}

/// A new run id: a UUID v7, unique and sortable by start time.
fn new_run_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pin_project_lite::pin_project! {
    /// An async body running inside a [`Call`]: each poll attaches the call's context, and the
    /// call ends when the body completes, panics, or is dropped (`cancellation`).
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        body: F,
        call: Call,
        classify: Option<C>,
    }
}

impl<F, C> Future for Instrumented<F, C>
where
    F: Future,
    C: FnOnce(&F::Output) -> Report,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(active) = &this.call.active else {
            return this.body.poll(task);
        };
        let guard = active.cx.clone().attach();
        let body = this.body;
        let polled = catch_unwind(AssertUnwindSafe(|| body.poll(task)));
        drop(guard);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                let call = std::mem::replace(this.call, Call { active: None });
                if let Some(classify) = this.classify.take() {
                    call.finish(classify(&value));
                }
                Poll::Ready(value)
            }
            Err(payload) => {
                std::mem::replace(this.call, Call { active: None })
                    .finish(Report::panic(&*payload));
                resume_unwind(payload)
            }
        }
    }
}
