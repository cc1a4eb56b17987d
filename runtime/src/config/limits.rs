//! Bounds on what a span may hold and on what the span queue may hold: OpenTelemetry's attribute
//! and span limits (`OTEL_*_LIMIT`), and the queue's bound in bytes
//! (`FACTORY_OBS_SPAN_QUEUE_MAX_BYTES`). How they are applied: `export::span_record` (limits)
//! and `export::records` (bytes).

use super::batching::Limit;
use super::Lookup;
use crate::error::InitError;
use crate::names::env as factory_env;
use crate::names::span_limits_env as env;

/// OpenTelemetry's span limits, as the specification defines them (`common/README.md`
/// "Attribute Limits", `trace/sdk.md` "Span Limits"): what a span, its events and its links may
/// hold. A string value longer than the length limit is cut to it (counting characters, each
/// string of an array apart); attributes, events and links past a count limit are dropped, and
/// the exported span counts them (`dropped_attributes_count`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLimits {
    /// Longest string value, in characters, of the span's, its events' and its links'
    /// attributes; `None`: no limit (the specification's default).
    pub attribute_value_length: Option<usize>,
    /// Most attributes a span holds.
    pub attribute_count: usize,
    /// Most events a span holds.
    pub event_count: usize,
    /// Most links a span holds.
    pub link_count: usize,
    /// Most attributes an event holds.
    pub event_attribute_count: usize,
    /// Most attributes a link holds.
    pub link_attribute_count: usize,
}

/// The specification's default of every count limit.
pub const DEFAULT_COUNT_LIMIT: usize = 128;

impl Default for SpanLimits {
    /// The specification's defaults: 128 of each, no length limit.
    fn default() -> SpanLimits {
        SpanLimits {
            attribute_value_length: None,
            attribute_count: DEFAULT_COUNT_LIMIT,
            event_count: DEFAULT_COUNT_LIMIT,
            link_count: DEFAULT_COUNT_LIMIT,
            event_attribute_count: DEFAULT_COUNT_LIMIT,
            link_attribute_count: DEFAULT_COUNT_LIMIT,
        }
    }
}

/// Every limit accepts what the environment specification's "Integer" type supports:
/// 0 to 2³¹ − 1.
const MAX_LIMIT: u64 = i32::MAX as u64;

impl SpanLimits {
    /// Reads the limits: for each, the span-specific variable, else the general one
    /// (`OTEL_ATTRIBUTE_*`, for attribute limits), else the default, as "Attribute Limits" asks
    /// ("the SDK MUST first attempt to use the model-specific limit, if it isn't set, then the
    /// SDK MUST attempt to use the general limit").
    pub(super) fn from_lookup(get: Lookup<'_>) -> Result<SpanLimits, InitError> {
        let read = |names: &[&str]| -> Result<Option<usize>, InitError> {
            for name in names {
                if let Some(text) = get(name) {
                    let n = parse_limit(name, &text)?;
                    return Ok(Some(n));
                }
            }
            Ok(None)
        };
        let count = |names: &[&str]| -> Result<usize, InitError> {
            Ok(read(names)?.unwrap_or(DEFAULT_COUNT_LIMIT))
        };
        Ok(SpanLimits {
            attribute_value_length: read(&[
                env::OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
                env::OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            ])?,
            attribute_count: count(&[
                env::OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
                env::OTEL_ATTRIBUTE_COUNT_LIMIT,
            ])?,
            event_count: count(&[env::OTEL_SPAN_EVENT_COUNT_LIMIT])?,
            link_count: count(&[env::OTEL_SPAN_LINK_COUNT_LIMIT])?,
            event_attribute_count: count(&[
                env::OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
                env::OTEL_ATTRIBUTE_COUNT_LIMIT,
            ])?,
            link_attribute_count: count(&[
                env::OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
                env::OTEL_ATTRIBUTE_COUNT_LIMIT,
            ])?,
        })
    }

    /// The count limits as the SDK's tracer provider takes them, for `tracing` spans (the SDK
    /// has no length limit: the span export thread cuts their values).
    pub fn sdk_counts(&self) -> opentelemetry_sdk::trace::SpanLimits {
        let n = |limit: usize| u32::try_from(limit).unwrap_or(u32::MAX);
        opentelemetry_sdk::trace::SpanLimits {
            max_events_per_span: n(self.event_count),
            max_attributes_per_span: n(self.attribute_count),
            max_links_per_span: n(self.link_count),
            max_attributes_per_event: n(self.event_attribute_count),
            max_attributes_per_link: n(self.link_attribute_count),
        }
    }
}

/// One limit's value: a whole number from 0 to 2³¹ − 1.
fn parse_limit(name: &str, text: &str) -> Result<usize, InitError> {
    match text.trim().parse::<u64>() {
        Ok(n) if n <= MAX_LIMIT => Ok(n as usize),
        _ => Err(InitError::invalid_env(
            name,
            text,
            "a whole number from 0 to 2147483647 (unset: the default)",
        )),
    }
}

/// The span queue's bound in bytes unless configured: 64 MiB.
pub const DEFAULT_SPAN_QUEUE_MAX_BYTES: u64 = 64 << 20;

/// `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES`: from 64 KiB (a few dozen spans with big attributes) to
/// 1 TiB.
const SPAN_QUEUE_BYTES: Limit = Limit {
    min: 64 << 10,
    max: 1 << 40,
    unit: "bytes",
};

/// The most bytes the span queue may hold, estimated (see `export::records`).
pub(super) fn span_queue_max_bytes(get: Lookup<'_>) -> Result<usize, InitError> {
    let name = factory_env::FACTORY_OBS_SPAN_QUEUE_MAX_BYTES;
    let bytes = match get(name) {
        None => DEFAULT_SPAN_QUEUE_MAX_BYTES,
        Some(text) => SPAN_QUEUE_BYTES.parse(name, &text)?,
    };
    Ok(usize::try_from(bytes).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn limits(vars: &[(&str, &str)]) -> Result<SpanLimits, InitError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let get = |name: &str| map.get(name).map(|v| v.to_string());
        SpanLimits::from_lookup(&get)
    }

    /// `configuration/sdk-environment-variables.md`, "Attribute Limits" and "Span Limits": the
    /// defaults are 128 for every count and no limit for the length.
    #[test]
    fn unset_limits_are_the_specification_defaults() {
        assert_eq!(limits(&[]).unwrap(), SpanLimits::default());
        assert_eq!(SpanLimits::default().attribute_value_length, None);
        assert_eq!(SpanLimits::default().attribute_count, 128);
    }

    /// `common/README.md`, "Attribute Limits": "the SDK MUST first attempt to use the
    /// model-specific limit, if it isn't set, then the SDK MUST attempt to use the general
    /// limit".
    #[test]
    fn the_span_specific_variable_wins_over_the_general_one() {
        let general = limits(&[
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "10"),
        ])
        .unwrap();
        assert_eq!(general.attribute_value_length, Some(64));
        assert_eq!(general.attribute_count, 10);
        assert_eq!(general.event_attribute_count, 10);
        assert_eq!(general.link_attribute_count, 10);
        assert_eq!(general.event_count, 128, "not an attribute limit");
        let specific = limits(&[
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "32"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "20"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "4"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
        ])
        .unwrap();
        assert_eq!(
            specific,
            SpanLimits {
                attribute_value_length: Some(32),
                attribute_count: 20,
                event_count: 4,
                link_count: 0,
                event_attribute_count: 3,
                link_attribute_count: 10,
            }
        );
    }

    /// "Valid values are non-negative" (each limit's row), of the "Integer" type: 0 to
    /// 2³¹ − 1. The specification lets an SDK ignore a bad value with a warning; this crate
    /// refuses it, naming the variable and what it accepts.
    #[test]
    fn bad_values_name_the_variable_and_the_accepted_values() {
        for (name, value) in [
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1k"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2147483648"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "many"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "1.5"),
        ] {
            let error = limits(&[(name, value)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "{name}=\"{value}\" is not valid: expected a whole number from 0 to \
                     2147483647 (unset: the default)"
                )
            );
        }
        assert_eq!(
            limits(&[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2147483647")])
                .unwrap()
                .attribute_count,
            2_147_483_647
        );
    }

    #[test]
    fn the_queue_bound_in_bytes_has_a_default_and_a_range() {
        let bytes = |value: Option<&str>| {
            let get = |_: &str| value.map(str::to_owned);
            span_queue_max_bytes(&get)
        };
        assert_eq!(bytes(None).unwrap(), 64 << 20);
        assert_eq!(bytes(Some("1048576")).unwrap(), 1 << 20);
        for bad in ["0", "1000", "64MiB", "-5"] {
            assert_eq!(
                bytes(Some(bad)).unwrap_err().to_string(),
                format!(
                    "FACTORY_OBS_SPAN_QUEUE_MAX_BYTES=\"{bad}\" is not valid: expected a whole \
                     number of bytes from 65536 to 1099511627776"
                )
            );
        }
    }
}
