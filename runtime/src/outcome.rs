//! Outcomes of instrumented calls, with the OpenTelemetry CI/CD result values.

use std::borrow::Cow;
use std::fmt;

/// How an instrumented call ended: the OpenTelemetry CI/CD pipeline result values.
///
/// `Ok` returns are [`Success`](OutcomeKind::Success), `Err` returns are
/// [`Failure`](OutcomeKind::Failure), a panic is [`Error`](OutcomeKind::Error) and a future dropped
/// before completion is [`Cancellation`](OutcomeKind::Cancellation). Other return types are a
/// success unless they implement [`Outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// The call did what it was asked to.
    Success,
    /// The call returned an error (`Err`): the work was done and found wanting.
    Failure,
    /// The call could not finish: it panicked.
    Error,
    /// The call ran out of time.
    Timeout,
    /// The call was abandoned before it finished (its future was dropped).
    Cancellation,
    /// The call decided there was nothing to do.
    Skip,
}

impl OutcomeKind {
    /// The attribute and metric label value: `success`, `failure`, `error`, `timeout`,
    /// `cancellation` or `skip`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Success => "success",
            OutcomeKind::Failure => "failure",
            OutcomeKind::Error => "error",
            OutcomeKind::Timeout => "timeout",
            OutcomeKind::Cancellation => "cancellation",
            OutcomeKind::Skip => "skip",
        }
    }

    /// The number of outcomes.
    pub(crate) const COUNT: usize = 6;

    /// A dense index, for per-outcome tables.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Whether a span ending with this outcome gets status ERROR.
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            OutcomeKind::Failure | OutcomeKind::Error | OutcomeKind::Timeout
        )
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets a return type say how the call went.
///
/// ```
/// use factory_observability::{Outcome, OutcomeKind};
///
/// enum Verdict { Shipped, NothingToDo, Rejected }
///
/// impl Outcome for Verdict {
///     fn outcome(&self) -> OutcomeKind {
///         match self {
///             Verdict::Shipped => OutcomeKind::Success,
///             Verdict::NothingToDo => OutcomeKind::Skip,
///             Verdict::Rejected => OutcomeKind::Failure,
///         }
///     }
/// }
/// ```
///
/// The macros decide at run time, from the returned value: a `Result<T, E>` whose `T` implements
/// `Outcome` uses it for `Ok`, and `Err` is always a failure.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `factory_observability::Outcome`",
    label = "this type cannot report an outcome",
    note = "implement `factory_observability::Outcome` for `{Self}` to map its values to success, failure, error, timeout, cancellation or skip"
)]
pub trait Outcome {
    /// The outcome this value stands for.
    fn outcome(&self) -> OutcomeKind;

    /// Why, in a few words: the span status description of a failure (e.g. `1 of 16 tests
    /// failed`). `None` leaves the outcome's name.
    fn message(&self) -> Option<String> {
        None
    }
}

impl Outcome for OutcomeKind {
    fn outcome(&self) -> OutcomeKind {
        *self
    }
}

/// Details of an error recorded on a span: `error.type` and the `exception` event.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDetails {
    /// `error.type` and `exception.type`: the error's type name, or `panic`.
    pub type_name: Cow<'static, str>,
    /// `exception.message` and the span status description; empty when unknown.
    pub message: String,
}

/// What the macros learned from a finished call.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// How the call ended.
    pub outcome: OutcomeKind,
    /// The error, for `Err` returns and panics.
    pub error: Option<ErrorDetails>,
    /// A description from [`Outcome::message`], for outcomes that are not errors.
    pub message: Option<String>,
}

impl Report {
    /// A report with an outcome and no error details.
    pub const fn of(outcome: OutcomeKind) -> Self {
        Report {
            outcome,
            error: None,
            message: None,
        }
    }

    /// The report of a value implementing [`Outcome`].
    pub fn of_outcome<T: Outcome + ?Sized>(value: &T) -> Self {
        Report {
            outcome: value.outcome(),
            error: None,
            message: value.message(),
        }
    }

    /// The report of a call that panicked, with the panic's message when it has one.
    pub fn panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
            (*text).to_owned()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            String::new()
        };
        Report {
            outcome: OutcomeKind::Error,
            error: Some(ErrorDetails {
                type_name: Cow::Borrowed("panic"),
                message,
            }),
            message: None,
        }
    }
}
