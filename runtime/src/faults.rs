//! Faults of the program's own code that the instrumentation calls: a `Display`, `Debug`,
//! `Outcome`, `TokenUsage` or `Adjudication` implementation that panics while a call reads its
//! returned value. The function already returned: its value goes back to its caller untouched,
//! and its span is still recorded, without the piece that failed.
//!
//! Pieces are guarded where they are read (the error's message in `classify`, each `TokenUsage`
//! method in `usage`); [`read_guarded`] is the last guard around the whole reading (the call's
//! `classify_guarded`).

use crate::outcome::{ErrorDetails, OutcomeKind, Report};
use std::borrow::Cow;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// `error.type` of a call whose returned value could not be read.
pub(crate) const UNREADABLE: &str = "factory_observability.unreadable_return_value";

thread_local! {
    /// Whether the call whose value is being read captures its completion.
    static CAPTURING_OUTPUT: Cell<bool> = const { Cell::new(false) };
}

/// Whether the call whose returned value is being read on this thread captures its completion:
/// `TokenUsage::output_text` is read only then.
pub(crate) fn capturing_output() -> bool {
    CAPTURING_OUTPUT.try_with(Cell::get).unwrap_or(false)
}

/// Reads a returned value with `read`, which runs the program's own code. A panic there is
/// contained: it becomes the report of an unreadable value ([`unreadable`]) and does not reach
/// the caller. `capturing` says whether the call captures its completion
/// ([`capturing_output`] while `read` runs).
#[inline]
pub(crate) fn read_guarded<R>(capturing: bool, read: impl FnOnce() -> R) -> Result<R, Report> {
    if capturing {
        let _ = CAPTURING_OUTPUT.try_with(|flag| flag.set(true));
    }
    let result = catch_unwind(AssertUnwindSafe(read));
    if capturing {
        let _ = CAPTURING_OUTPUT.try_with(|flag| flag.set(false));
    }
    result.map_err(|payload| unreadable(&*payload))
}

/// The report of a value whose reading panicked.
pub(crate) fn unreadable(payload: &(dyn std::any::Any + Send)) -> Report {
    let Report { error, .. } = Report::panic(payload);
    let panic = error.map(|error| error.message).unwrap_or_default();
    Report {
        outcome: OutcomeKind::Error,
        error: Some(ErrorDetails {
            type_name: Cow::Borrowed(UNREADABLE),
            message: format!(
                "the function returned, but reading its value panicked in the program's code: {panic}"
            ),
        }),
        message: None,
    }
}

/// `text()`, or a placeholder saying that the program's `Display` or `Debug` panicked.
pub(crate) fn guarded_text(what: &str, text: impl FnOnce() -> String) -> String {
    catch_unwind(AssertUnwindSafe(text))
        .unwrap_or_else(|_| format!("<the error's {what} implementation panicked>"))
}
