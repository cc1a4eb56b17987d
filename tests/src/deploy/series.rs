//! The series Prometheus stores for every metric this project emits.
//!
//! Every instrument of [`factory_observability::names::metric`] is listed here with its kind
//! and unit (as `runtime/src/pipeline.rs` builds it), and [`prometheus_names`] applies the
//! translation both the collector's `prometheus` exporter and an SDK's Prometheus endpoint apply:
//! every character outside `[a-zA-Z0-9_:]` becomes `_`; the unit becomes a suffix (`s` ->
//! `_seconds`; annotations in braces such as `{token}` are dropped); a counter ends in `_total`;
//! a histogram is stored as `_bucket`, `_sum` and `_count`.
//!
//! Names that other branches add to `names.rs` and the kit already uses are in [`PENDING`] with
//! the branch they come from; a test fails once such a name is in `names.rs`, so that it moves
//! to [`EMITTED`] (or to the catalogue that branch brings).

use factory_observability::names::metric;

/// The kind of an OpenTelemetry instrument, as far as the Prometheus name depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A monotonic sum: one series named `<name>_total`.
    Counter,
    /// An up-down counter or gauge: one series named `<name>`.
    Gauge,
    /// A histogram: `<name>_bucket`, `<name>_sum`, `<name>_count`.
    Histogram,
}

/// One instrument: its OpenTelemetry name, kind and unit.
#[derive(Clone, Copy, Debug)]
pub struct Instrument {
    /// The OpenTelemetry name, e.g. `pipeline.stage.duration`.
    pub name: &'static str,
    /// The instrument's kind.
    pub kind: Kind,
    /// The UCUM unit as given to the SDK (`""` when none).
    pub unit: &'static str,
}

const fn instrument(name: &'static str, kind: Kind, unit: &'static str) -> Instrument {
    Instrument { name, kind, unit }
}

/// Every metric the runtime emits today (`names::metric`, units from `runtime/src/pipeline.rs`).
pub const EMITTED: &[Instrument] = &[
    instrument(metric::PIPELINE_RUNS_TOTAL, Kind::Counter, ""),
    instrument(
        metric::PIPELINE_RUN_DURATION,
        Kind::Histogram,
        metric::UNIT_SECONDS,
    ),
    instrument(
        metric::PIPELINE_STAGE_DURATION,
        Kind::Histogram,
        metric::UNIT_SECONDS,
    ),
    instrument(metric::PIPELINE_STAGE_RETRIES_TOTAL, Kind::Counter, ""),
    instrument(
        metric::LLM_TOKENS_TOTAL,
        Kind::Histogram,
        metric::UNIT_TOKENS,
    ),
    instrument(metric::LLM_COST_USD, Kind::Counter, ""),
    instrument(
        metric::GEN_AI_CLIENT_TOKEN_USAGE,
        Kind::Histogram,
        metric::UNIT_TOKENS,
    ),
    instrument(
        metric::GEN_AI_CLIENT_OPERATION_DURATION,
        Kind::Histogram,
        metric::UNIT_SECONDS,
    ),
    instrument(
        metric::GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        Kind::Histogram,
        metric::UNIT_SECONDS,
    ),
    instrument(metric::ADJUDICATION_SELECTED_TOTAL, Kind::Counter, ""),
    instrument(metric::ADJUDICATION_SCORE, Kind::Histogram, ""),
    instrument(metric::ADJUDICATION_MARGIN, Kind::Histogram, ""),
    instrument(metric::TEST_PASS_RATE, Kind::Histogram, ""),
    instrument(metric::TEST_FLAKY_TOTAL, Kind::Counter, ""),
];

/// A name the kit uses that another branch adds to `names.rs`.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// The instrument as the OpenTelemetry conventions name it.
    pub instrument: Instrument,
    /// The branch (and issue) that adds it.
    pub from: &'static str,
}

const fn pending(
    name: &'static str,
    kind: Kind,
    unit: &'static str,
    from: &'static str,
) -> Pending {
    Pending {
        instrument: instrument(name, kind, unit),
        from,
    }
}

const EXPORT_HEALTH: &str =
    "export-health (issue 14): exporter health, OpenTelemetry SDK self-observability names";
const HANDLER: &str = "handler (issue 13): #[handler], OpenTelemetry HTTP server conventions";

/// Names the kit already uses that land with other branches (semantic-convention names).
pub const PENDING: &[Pending] = &[
    // Recorded by opentelemetry_sdk 0.33's log pipeline itself (already in metrics.jsonl on main).
    pending(
        "otel.sdk.log.created",
        Kind::Counter,
        "{log_record}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.processor.span.processed",
        Kind::Counter,
        "{span}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.exporter.span.exported",
        Kind::Counter,
        "{span}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.processor.log.processed",
        Kind::Counter,
        "{log_record}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.exporter.log.exported",
        Kind::Counter,
        "{log_record}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.exporter.metric_data_point.exported",
        Kind::Counter,
        "{data_point}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.processor.span.queue.size",
        Kind::Gauge,
        "{span}",
        EXPORT_HEALTH,
    ),
    pending(
        "otel.sdk.processor.span.queue.capacity",
        Kind::Gauge,
        "{span}",
        EXPORT_HEALTH,
    ),
    pending(
        "http.server.request.duration",
        Kind::Histogram,
        "s",
        HANDLER,
    ),
    pending(
        "http.server.active_requests",
        Kind::Gauge,
        "{request}",
        HANDLER,
    ),
];

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
pub fn prometheus_names(instrument: &Instrument) -> Vec<String> {
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
    /// An instrument of `names.rs`.
    Emitted(&'static str),
    /// An instrument another branch adds.
    Pending(&'static str, &'static str),
    /// Not this project's (e.g. Prometheus's `up`).
    External(&'static str),
}

/// Every series name the kit may read, with where it comes from.
pub fn known_series() -> std::collections::BTreeMap<String, Source> {
    let mut known = std::collections::BTreeMap::new();
    for instrument in EMITTED {
        for name in prometheus_names(instrument) {
            known.insert(name, Source::Emitted(instrument.name));
        }
    }
    for pending in PENDING {
        for name in prometheus_names(&pending.instrument) {
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

    #[test]
    fn counters_end_in_total_once() {
        let runs = instrument("pipeline.runs.total", Kind::Counter, "");
        assert_eq!(prometheus_names(&runs), ["pipeline_runs_total"]);
        let cost = instrument("llm.cost.usd", Kind::Counter, "");
        assert_eq!(prometheus_names(&cost), ["llm_cost_usd_total"]);
    }

    #[test]
    fn histograms_get_the_unit_and_three_series() {
        let stage = instrument("pipeline.stage.duration", Kind::Histogram, "s");
        assert_eq!(
            prometheus_names(&stage),
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
        assert_eq!(prometheus_names(&active), ["http_server_active_requests"]);
    }

    #[test]
    fn invalid_characters_become_one_underscore() {
        assert_eq!(sanitize("a.b-c..d"), "a_b_c_d");
        assert_eq!(sanitize("9lives"), "_9lives");
    }
}
