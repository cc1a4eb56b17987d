//! The series Prometheus stores for every metric this project emits.
//!
//! The instruments come from `names/src/lib.rs` ([`CATALOGUE`]: name, unit, kind of every
//! metric the macros and the exporter health record). Two paths bring them to Prometheus, and
//! must spell every name the same way:
//! - the collector's `prometheus` exporter (the compose stack) follows the OpenTelemetry
//!   specification: `[a-zA-Z0-9_:]` kept, others `_`; the unit as a suffix (`s` -> `_seconds`;
//!   annotations such as `{token}` add nothing); `_total` for a monotonic counter, once:
//!   `pipeline.runs.total` -> `pipeline_runs_total`;
//! - a program's own `/metrics` (`OTEL_METRICS_EXPORTER=prometheus`, opentelemetry-prometheus
//!   0.33, with `_total` added once at each scrape; `factory_observability::names::prometheus::
//!   prometheus_name`) spells them the same way.
//!
//! Both paths store one name, the one the rules and dashboards read, with no scrape-time
//! rename; [`stored_names`] is that name, and a test checks that both paths end there.
//!
//! Names the kit uses that another branch adds to `names.rs` are in [`PENDING`] with the branch
//! they come from; a test fails once such a name is in `names.rs`, so that it is taken from there.

pub use factory_observability::names::prometheus::{Entry as Instrument, Kind, CATALOGUE};

/// A name the kit uses that another branch adds to `names.rs`.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// The instrument as the OpenTelemetry conventions name it.
    pub instrument: Instrument,
    /// The branch (and issue) that adds it.
    pub from: &'static str,
}

/// Names the kit already uses that land with other branches (semantic-convention names). Empty
/// since branch `handler` (issue 13) brought `http.server.request.duration` and
/// `http.server.active_requests` into names.rs's catalogue.
pub const PENDING: &[Pending] = &[];

/// Series the kit reads that no program of this project emits, with who makes them.
pub const EXTERNAL: &[(&str, &str)] = &[("up", "Prometheus, one per scrape target")];

/// The Prometheus spelling of a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, runs of `_` collapsed.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || c == ':' {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The suffix a UCUM unit adds, if any (`s` -> `seconds`; `{token}` and `1` add none).
pub fn unit_suffix(unit: &str) -> Option<&'static str> {
    match unit {
        "s" => Some("seconds"),
        "ms" => Some("milliseconds"),
        "us" => Some("microseconds"),
        "ns" => Some("nanoseconds"),
        "min" => Some("minutes"),
        "h" => Some("hours"),
        "By" => Some("bytes"),
        "KiBy" => Some("kibibytes"),
        "MiBy" => Some("mebibytes"),
        "%" => Some("percent"),
        _ => None,
    }
}

/// The base Prometheus name of an instrument: sanitized, unit suffix, `_total` for counters.
pub fn base_name(instrument: &Instrument) -> String {
    translate(instrument.name, instrument.kind, instrument.unit)
}

/// The base Prometheus name of the metric `name` of `kind` in `unit`.
pub fn translate(name: &str, kind: Kind, unit: &str) -> String {
    let mut name = sanitize(name);
    if let Some(suffix) = unit_suffix(unit) {
        if !name.ends_with(&format!("_{suffix}")) {
            name = format!("{name}_{suffix}");
        }
    }
    if kind == Kind::Counter && !name.ends_with("_total") {
        name.push_str("_total");
    }
    name
}

/// Every series name Prometheus stores for `instrument`.
pub fn stored_names(instrument: &Instrument) -> Vec<String> {
    let base = base_name(instrument);
    match instrument.kind {
        Kind::Counter | Kind::Gauge => vec![base],
        Kind::Histogram => ["bucket", "sum", "count"]
            .iter()
            .map(|suffix| format!("{base}_{suffix}"))
            .collect(),
    }
}

/// Where a series name a rule or panel may read comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An instrument of `names.rs` ([`CATALOGUE`]).
    Emitted(&'static str),
    /// An instrument another branch adds.
    Pending(&'static str, &'static str),
    /// Not this project's (e.g. Prometheus's `up`).
    External(&'static str),
}

/// Every series name the kit may read, with where it comes from.
pub fn known_series() -> std::collections::BTreeMap<String, Source> {
    let mut known = std::collections::BTreeMap::new();
    for instrument in CATALOGUE {
        for name in stored_names(instrument) {
            known.insert(name, Source::Emitted(instrument.name));
        }
    }
    for pending in PENDING {
        for name in stored_names(&pending.instrument) {
            known.insert(name, Source::Pending(pending.instrument.name, pending.from));
        }
    }
    for (name, by) in EXTERNAL {
        known.insert((*name).to_owned(), Source::External(by));
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;
    use factory_observability::names;

    const fn instrument(name: &'static str, kind: Kind, unit: &'static str) -> Instrument {
        Instrument { name, unit, kind }
    }

    #[test]
    fn counters_end_in_total_once() {
        let runs = instrument("pipeline.runs.total", Kind::Counter, "");
        assert_eq!(stored_names(&runs), ["pipeline_runs_total"]);
        let cost = instrument("llm.cost.usd", Kind::Counter, "");
        assert_eq!(stored_names(&cost), ["llm_cost_usd_total"]);
    }

    #[test]
    fn histograms_get_the_unit_and_three_series() {
        let stage = instrument("pipeline.stage.duration", Kind::Histogram, "s");
        assert_eq!(
            stored_names(&stage),
            [
                "pipeline_stage_duration_seconds_bucket",
                "pipeline_stage_duration_seconds_sum",
                "pipeline_stage_duration_seconds_count"
            ]
        );
        let tokens = instrument("gen_ai.client.token.usage", Kind::Histogram, "{token}");
        assert_eq!(base_name(&tokens), "gen_ai_client_token_usage");
    }

    #[test]
    fn gauges_keep_their_name_and_annotations_add_nothing() {
        let active = instrument("http.server.active_requests", Kind::Gauge, "{request}");
        assert_eq!(stored_names(&active), ["http_server_active_requests"]);
    }

    #[test]
    fn both_paths_store_the_same_names() {
        // The program's own /metrics (names.rs) and the collector's translation agree for
        // every instrument, with no rename between them.
        for entry in CATALOGUE {
            let served = names::prometheus::series(entry);
            assert_eq!(served, stored_names(entry), "{}", entry.name);
            assert!(
                served.iter().all(|name| !name.contains("_total_total")),
                "{served:?}"
            );
        }
    }

    #[test]
    fn invalid_characters_become_one_underscore() {
        assert_eq!(sanitize("a.b-c..d"), "a_b_c_d");
        assert_eq!(sanitize("9lives"), "_9lives");
    }
}
