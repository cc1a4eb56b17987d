//! How spans are batched: the OpenTelemetry batch span processor's settings (`OTEL_BSP_*`).

use super::Lookup;
use crate::error::InitError;
use std::time::Duration;

/// How spans are batched: the OpenTelemetry batch span processor's settings (`OTEL_BSP_*`).
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Spans waiting for export at most, in each of the two queues (the macros' records, SDK
    /// spans).
    pub queue_size: usize,
    /// Spans per export at most.
    pub max_batch: usize,
    /// The longest a span waits for its batch to fill before it is exported.
    pub schedule_delay: Duration,
}

impl Batching {
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`.
    pub(super) fn from_lookup(get: Lookup<'_>) -> Result<Batching, InitError> {
        let positive = |name: &str, default: u64, accepted: &str| match get(name) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(InitError::invalid_env(name, &value, accepted)),
            },
        };
        let queue_size = positive(
            "OTEL_BSP_MAX_QUEUE_SIZE",
            2048,
            "a positive whole number of spans, e.g. 2048",
        )?;
        let max_batch = positive(
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            512,
            "a positive whole number of spans, e.g. 512",
        )?;
        let schedule_delay = positive(
            "OTEL_BSP_SCHEDULE_DELAY",
            5000,
            "a positive whole number of milliseconds, e.g. 5000",
        )?;
        Ok(Batching {
            queue_size: usize::try_from(queue_size).unwrap_or(usize::MAX),
            // As the SDK: a batch larger than the queue is the queue.
            max_batch: usize::try_from(max_batch.min(queue_size)).unwrap_or(usize::MAX),
            schedule_delay: Duration::from_millis(schedule_delay),
        })
    }
}
