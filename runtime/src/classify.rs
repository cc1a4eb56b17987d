//! Run-time classification of returned values into [`Report`]s, for the macros.
//!
//! The macros cannot trust the written return type (it may be an alias such as
//! `anyhow::Result<T>` or `io::Result<()>`), so they ask the value itself with autoref
//! specialisation: `(&&&&&&&&Classify(&value)).__fo_report()` picks the impl with the most
//! references that applies. From most to least specific:
//!
//! 1. `Result<T: Outcome, E: Display>`  … 3. `Result<T: Outcome, E>` (message from Display, Debug, or none)
//! 4. `Result<T, E: Display>`           … 6. `Result<T, E>`
//! 7. `T: Outcome`
//! 8. anything else: success.
//!
//! The type must be known where the macro expands; inside a generic fn, a generic `T` is
//! classified by its bounds, not by what it is instantiated with.

use crate::faults::guarded_text;
use crate::outcome::{ErrorDetails, Outcome, OutcomeKind, Report};
use std::borrow::Cow;
use std::fmt::{Debug, Display};

/// The value being classified.
pub struct Classify<'a, R: ?Sized>(pub &'a R);

fn failure<E: ?Sized>(message: String) -> Report {
    Report {
        outcome: OutcomeKind::Failure,
        error: Some(ErrorDetails {
            type_name: Cow::Borrowed(std::any::type_name::<E>()),
            message,
        }),
        message: None,
    }
}

macro_rules! result_level {
    ($trait:ident, $refs:ty, [$($bound:tt)*], $ok:expr, $message:expr) => {
        #[doc(hidden)]
        pub trait $trait {
            fn __fo_report(&self) -> Report;
        }
        impl<T $($bound)*> $trait for $refs {
            fn __fo_report(&self) -> Report {
                match self.0 {
                    Ok(value) => {
                        let ok: fn(&T) -> Report = $ok;
                        ok(value)
                    }
                    Err(error) => {
                        let message: fn(&E) -> String = $message;
                        failure::<E>(message(error))
                    }
                }
            }
        }
    };
}

result_level!(ViaResultOutcomeDisplay, &&&&&&&Classify<'_, Result<T, E>>,
    [: Outcome, E: Display], Report::of_outcome, |e| guarded_text("Display", || e.to_string()));
result_level!(ViaResultOutcomeDebug, &&&&&&Classify<'_, Result<T, E>>,
    [: Outcome, E: Debug], Report::of_outcome, |e| guarded_text("Debug", || format!("{e:?}")));
result_level!(ViaResultOutcome, &&&&&Classify<'_, Result<T, E>>,
    [: Outcome, E], Report::of_outcome, |_| String::new());
result_level!(ViaResultDisplay, &&&&Classify<'_, Result<T, E>>,
    [, E: Display], |_| Report::of(OutcomeKind::Success), |e| guarded_text("Display", || e.to_string()));
result_level!(ViaResultDebug, &&&Classify<'_, Result<T, E>>,
    [, E: Debug], |_| Report::of(OutcomeKind::Success), |e| guarded_text("Debug", || format!("{e:?}")));
result_level!(ViaResult, &&Classify<'_, Result<T, E>>,
    [, E], |_| Report::of(OutcomeKind::Success), |_| String::new());

#[doc(hidden)]
pub trait ViaOutcome {
    fn __fo_report(&self) -> Report;
}
impl<T: Outcome + ?Sized> ViaOutcome for &Classify<'_, T> {
    fn __fo_report(&self) -> Report {
        Report::of_outcome(self.0)
    }
}

#[doc(hidden)]
pub trait ViaAnything {
    fn __fo_report(&self) -> Report;
}
impl<T: ?Sized> ViaAnything for Classify<'_, T> {
    fn __fo_report(&self) -> Report {
        Report::of(OutcomeKind::Success)
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the autoref levels are the point
mod tests {
    use super::*;

    struct NoDebug;

    #[derive(Debug)]
    struct OnlyDebug;

    struct Skipped;
    impl Outcome for Skipped {
        fn outcome(&self) -> OutcomeKind {
            OutcomeKind::Skip
        }
    }

    #[test]
    fn results_are_classified_by_value() {
        let ok: Result<u8, std::io::Error> = Ok(1);
        assert_eq!(
            (&&&&&&&&Classify(&ok)).__fo_report(),
            Report::of(OutcomeKind::Success)
        );

        let err: Result<u8, String> = Err("disk full".into());
        let report = (&&&&&&&&Classify(&err)).__fo_report();
        assert_eq!(report.outcome, OutcomeKind::Failure);
        let error = report.error.unwrap();
        assert_eq!(error.type_name, "alloc::string::String");
        assert_eq!(error.message, "disk full");

        let debug_only: Result<(), OnlyDebug> = Err(OnlyDebug);
        let report = (&&&&&&&&Classify(&debug_only)).__fo_report();
        assert_eq!(report.error.unwrap().message, "OnlyDebug");

        let opaque: Result<(), NoDebug> = Err(NoDebug);
        let report = (&&&&&&&&Classify(&opaque)).__fo_report();
        assert_eq!(report.outcome, OutcomeKind::Failure);
        assert_eq!(report.error.unwrap().message, "");
    }

    #[test]
    fn outcome_impls_win_inside_and_outside_results() {
        assert_eq!(
            (&&&&&&&&Classify(&Skipped)).__fo_report(),
            Report::of(OutcomeKind::Skip)
        );
        let ok: Result<Skipped, String> = Ok(Skipped);
        assert_eq!(
            (&&&&&&&&Classify(&ok)).__fo_report(),
            Report::of(OutcomeKind::Skip)
        );
        assert_eq!(
            (&&&&&&&&Classify(&42u32)).__fo_report(),
            Report::of(OutcomeKind::Success)
        );
    }

    #[test]
    fn panic_payloads_give_their_message() {
        let report = Report::panic(&"boom");
        assert_eq!(report.outcome, OutcomeKind::Error);
        assert_eq!(report.error.unwrap().message, "boom");
        let report = Report::panic(&String::from("formatted 7"));
        assert_eq!(report.error.unwrap().message, "formatted 7");
    }
}
