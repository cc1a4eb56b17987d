//! The duration histograms of a call, bound once per call site and outcome (in the site's
//! [`SiteCache`](crate::call_site::SiteCache)).

use super::Active;
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
    match &active.dispatch {
        DispatchRef::Global(_) => active.site.cache.durations[outcome.index()]
            .get_or_init(|| histogram.bind(&labels()))
            .record(seconds),
        DispatchRef::Scoped(_) => histogram.record(seconds, &labels()),
    }
}
