//! The duration histograms of a call, bound once per call site and outcome (in the site's
//! [`SiteCache`](crate::call_site::SiteCache)).

use super::Active;
use crate::call_site::Durations;
use crate::dispatch::DispatchRef;
use crate::outcome::OutcomeKind;
use opentelemetry::metrics::Histogram;
use opentelemetry::KeyValue;

/// Records `seconds` in `histogram` with `labels`, through the call site's bound instrument when
/// the call records into the process-wide pipeline. The labels are built only when they are read
/// (binding, once per site and outcome, or a scoped pipeline): every other call skips them.
pub(crate) fn record_duration<const N: usize>(
    active: &Active,
    histogram: &Histogram<f64>,
    outcome: OutcomeKind,
    seconds: f64,
    labels: impl FnOnce() -> [KeyValue; N],
) {
    let durations = &active.site.cache.durations;
    record_duration_in(active, Some(durations), histogram, outcome, seconds, labels);
}

/// As [`record_duration`], through `durations` (bound to the labels for each outcome) when
/// given: `None` records unbound.
pub(crate) fn record_duration_in<const N: usize>(
    active: &Active,
    durations: Option<&Durations>,
    histogram: &Histogram<f64>,
    outcome: OutcomeKind,
    seconds: f64,
    labels: impl FnOnce() -> [KeyValue; N],
) {
    match (&active.dispatch, durations) {
        (DispatchRef::Global(_), Some(durations)) => durations[outcome.index()]
            .get_or_init(|| histogram.bind(&labels()))
            .record(seconds),
        _ => histogram.record(seconds, &labels()),
    }
}
