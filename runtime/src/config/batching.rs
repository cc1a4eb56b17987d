//! How spans and log records are batched: the OpenTelemetry batch processors' settings
//! (`OTEL_BSP_*`, `OTEL_BLRP_*`).

use super::Lookup;
use crate::error::InitError;
use std::time::Duration;

/// How spans or log records are batched: a batch processor's settings (`OTEL_BSP_*` for spans,
/// `OTEL_BLRP_*` for log records).
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Items waiting for export at most (for spans, in each of the two queues: the macros'
    /// records, SDK spans).
    pub queue_size: usize,
    /// Items per export at most.
    pub max_batch: usize,
    /// The longest an item waits for its batch to fill before it is exported.
    pub schedule_delay: Duration,
}

impl Batching {
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`,
    /// each within its range.
    pub(super) fn spans(get: Lookup<'_>) -> Result<Batching, InitError> {
        Batching::from_lookup(get, BSP_LIMITS, [DEFAULT_QUEUE_SIZE, 512, 5000])
    }

    /// `OTEL_BLRP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BLRP_SCHEDULE_DELAY`
    /// (the SDK's defaults: 2,048 records, 512, 1 s), each within its range.
    pub(super) fn log_records(get: Lookup<'_>) -> Result<Batching, InitError> {
        Batching::from_lookup(get, BLRP_LIMITS, [2048, 512, 1000])
    }

    fn from_lookup(
        get: Lookup<'_>,
        limits: [(&str, Limit); 3],
        defaults: [u64; 3],
    ) -> Result<Batching, InitError> {
        let mut values = [0u64; 3];
        for ((value, default), (name, limit)) in values.iter_mut().zip(defaults).zip(limits) {
            *value = match get(name) {
                None => default,
                Some(text) => limit.parse(name, &text)?,
            };
        }
        let [queue_size, max_batch, schedule_delay] = values;
        // In range, so they fit a usize on every platform with 32-bit or wider pointers.
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Batching {
            queue_size: size(queue_size),
            // As the SDK: a batch larger than the queue is the queue.
            max_batch: size(max_batch.min(queue_size)),
            schedule_delay: Duration::from_millis(schedule_delay),
        })
    }
}

/// The accepted range of one whole-number variable, and its unit in error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub min: u64,
    pub max: u64,
    pub unit: &'static str,
}

impl Limit {
    /// The value of `name`, or an error naming the variable and the accepted range.
    pub(crate) fn parse(&self, name: &str, value: &str) -> Result<u64, InitError> {
        match value.trim().parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ => Err(InitError::invalid_env(
                name,
                value,
                &format!(
                    "a whole number of {} from {} to {}",
                    self.unit, self.min, self.max
                ),
            )),
        }
    }
}

/// The most spans the span queue may hold: a queue costs memory only as it fills (about
/// 0.9 KiB a held span, see BENCHMARKS.md "Queue memory"), so the bound is what a full queue may
/// cost, about 800 MiB here.
pub const MAX_QUEUE_SIZE: u64 = 1 << 20;
/// The default span queue: room for a factory's burst (thousands of stages and LLM calls ended
/// within one export) without loss, and about 25 MiB when full (see docs/reliability.md, "The span queue").
pub const DEFAULT_QUEUE_SIZE: u64 = 32_768;
/// The longest schedule delay accepted: an hour.
const MAX_SCHEDULE_DELAY_MS: u64 = 3_600_000;

/// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`: ranges.
pub(crate) const BSP_LIMITS: [(&str, Limit); 3] = [
    (
        "OTEL_BSP_MAX_QUEUE_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "spans",
        },
    ),
    (
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "spans",
        },
    ),
    (
        "OTEL_BSP_SCHEDULE_DELAY",
        Limit {
            min: 1,
            max: MAX_SCHEDULE_DELAY_MS,
            unit: "milliseconds",
        },
    ),
];

/// The same for the log processor's `OTEL_BLRP_*` (its queue of boxed records is allocated
/// whole, 8 bytes a slot, and so is its batch).
pub(crate) const BLRP_LIMITS: [(&str, Limit); 3] = [
    (
        "OTEL_BLRP_MAX_QUEUE_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "log records",
        },
    ),
    (
        "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
        Limit {
            min: 1,
            max: MAX_QUEUE_SIZE,
            unit: "log records",
        },
    ),
    (
        "OTEL_BLRP_SCHEDULE_DELAY",
        Limit {
            min: 1,
            max: MAX_SCHEDULE_DELAY_MS,
            unit: "milliseconds",
        },
    ),
];
