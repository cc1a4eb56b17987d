//! The exporter's own health as metrics (`otel.sdk.*`, see [`crate::names::health`]): observable
//! instruments that read, at each collection, the counters the shutdown report reads. Nothing
//! runs on an instrumented call; the export thread records one histogram point per export.

use crate::config::{Config, Destination, Protocol, Signal};
use crate::export::counting::{Counts, Delivery, Failure};
use crate::export::records::Slots;
use crate::names::health::{self as names, HealthMetric};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the health instruments of one installation read.
#[derive(Clone, Debug)]
pub(crate) struct Health {
    /// Traces, metrics and logs, in [`Signal::ALL`]'s order.
    pub deliveries: [Arc<Delivery>; 3],
    /// The span queue's room, when spans are exported.
    pub slots: Option<Arc<Slots>>,
    /// `otel.component.type` of each signal's exporter (`None`: the signal is not exported by
    /// a push exporter).
    pub exporters: [Option<&'static str>; 3],
}

/// A component's `otel.component.type` and `otel.component.name` (`{type}/{instance}`, the
/// instance counted in the process, as the conventions ask).
fn component(kind: &'static str) -> [KeyValue; 2] {
    static INSTANCES: AtomicUsize = AtomicUsize::new(0);
    let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
    [
        KeyValue::new(names::OTEL_COMPONENT_TYPE, kind),
        KeyValue::new(names::OTEL_COMPONENT_NAME, format!("{kind}/{instance}")),
    ]
}

fn with(component: &[KeyValue; 2], error: Option<&'static str>) -> Vec<KeyValue> {
    let mut attributes = component.to_vec();
    if let Some(error) = error {
        attributes.push(KeyValue::new(crate::names::attr::ERROR_TYPE, error));
    }
    attributes
}

/// The `exported` points of one signal: confirmed, then failed by reason, every reason from the
/// first collection on (at 0 until it happens). An alert on `rate`/`increase` of a failure series
/// sees only what happens after that series' first scrape: a series created at the first failure
/// would hide a burst of failures that all come before it is scraped.
fn exported_points(counts: &[u64], component: &[KeyValue; 2]) -> Vec<(u64, Vec<KeyValue>)> {
    let mut points = vec![(counts[0], with(component, None))];
    for (failure, count) in Failure::ALL.iter().zip(&counts[1..]) {
        points.push((*count, with(component, Some(failure.as_str()))));
    }
    points
}

fn counter(
    meter: &Meter,
    metric: HealthMetric,
) -> opentelemetry::metrics::AsyncInstrumentBuilder<
    '_,
    opentelemetry::metrics::ObservableCounter<u64>,
    u64,
> {
    meter
        .u64_observable_counter(metric.name)
        .with_unit(metric.unit)
        .with_description(metric.description)
}

fn gauge(
    meter: &Meter,
    metric: HealthMetric,
) -> opentelemetry::metrics::AsyncInstrumentBuilder<
    '_,
    opentelemetry::metrics::ObservableUpDownCounter<i64>,
    i64,
> {
    meter
        .i64_observable_up_down_counter(metric.name)
        .with_unit(metric.unit)
        .with_description(metric.description)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Health {
    /// The health of an installation: which exporter each signal has (its
    /// `otel.component.type`), and the OTLP exporters' timeouts, so that an export failing
    /// after its timeout is counted as timed out.
    pub(crate) fn of(
        config: &Config,
        deliveries: &[Arc<Delivery>; 3],
        slots: Option<Arc<Slots>>,
        custom_spans: bool,
    ) -> Health {
        let destinations = [&config.traces, &config.metrics, &config.logs];
        let kinds = [
            [
                names::OTLP_HTTP_SPAN_EXPORTER,
                names::OTLP_HTTP_JSON_SPAN_EXPORTER,
                names::FILE_SPAN_EXPORTER,
                names::OTLP_GRPC_SPAN_EXPORTER,
            ],
            [
                names::OTLP_HTTP_METRIC_EXPORTER,
                names::OTLP_HTTP_JSON_METRIC_EXPORTER,
                names::FILE_METRIC_EXPORTER,
                names::OTLP_GRPC_METRIC_EXPORTER,
            ],
            [
                names::OTLP_HTTP_LOG_EXPORTER,
                names::OTLP_HTTP_JSON_LOG_EXPORTER,
                names::FILE_LOG_EXPORTER,
                names::OTLP_GRPC_LOG_EXPORTER,
            ],
        ];
        let mut exporters = [None; 3];
        for (index, signal) in Signal::ALL.into_iter().enumerate() {
            exporters[index] = match destinations[index] {
                Destination::Otlp(protocol) => {
                    deliveries[index].set_export_timeout(otlp_timeout(signal));
                    Some(match protocol {
                        Protocol::HttpProtobuf => kinds[index][0],
                        Protocol::HttpJson => kinds[index][1],
                        Protocol::Grpc => kinds[index][3],
                    })
                }
                Destination::File(_) => Some(kinds[index][2]),
                _ => None,
            };
        }
        if custom_spans && slots.is_some() {
            exporters[0] = Some(names::CUSTOM_SPAN_EXPORTER);
        }
        Health {
            deliveries: deliveries.clone(),
            slots,
            exporters,
        }
    }

    /// Registers the health instruments on `meters` (under the crate's scope).
    pub fn install(self, meters: &SdkMeterProvider) {
        let meter = meters.meter_with_scope(crate::export::instrumentation_scope());
        let [traces, metrics, logs] = self.deliveries.clone();
        let durations = meter
            .f64_histogram(names::EXPORTER_OPERATION_DURATION.name)
            .with_unit(names::EXPORTER_OPERATION_DURATION.unit)
            .with_description(names::EXPORTER_OPERATION_DURATION.description)
            .with_boundaries(names::OPERATION_DURATION_BUCKETS_S.to_vec())
            .build();

        // Spans: the processor (the span export thread) and its exporter.
        if let (Some(slots), Some(exporter)) = (self.slots.clone(), self.exporters[0]) {
            let processor = component(names::SPAN_PROCESSOR);
            let exporter = component(exporter);
            traces.record_durations(durations.clone(), exporter.clone());
            {
                let (traces, processor) = (Arc::clone(&traces), processor.clone());
                counter(&meter, names::PROCESSOR_SPAN_PROCESSED)
                    .with_callback(move |observer| {
                        let counts = traces.counts();
                        observer.observe(handed_to_exporter(&counts), &with(&processor, None));
                        observer.observe(
                            counts.dropped,
                            &with(&processor, Some(names::ERROR_QUEUE_FULL)),
                        );
                    })
                    .build();
            }
            {
                let (slots, processor) = (Arc::clone(&slots), processor.clone());
                gauge(&meter, names::PROCESSOR_SPAN_QUEUE_SIZE)
                    .with_callback(move |observer| {
                        observer.observe(signed(slots.taken() as u64), &processor);
                    })
                    .build();
            }
            {
                let capacity = signed(slots.capacity() as u64);
                gauge(&meter, names::PROCESSOR_SPAN_QUEUE_CAPACITY)
                    .with_callback(move |observer| observer.observe(capacity, &processor))
                    .build();
            }
            exporter_instruments(
                &meter,
                &traces,
                exporter,
                names::EXPORTER_SPAN_EXPORTED,
                names::EXPORTER_SPAN_INFLIGHT,
            );
        }

        // Log records: the exporter, and the records the queue's bound dropped (`LogTap`). The
        // SDK's logger and batch log processor record their own `otel.sdk.log.created` and
        // `otel.sdk.processor.log.*` (see `init`); its queue never overflows behind the bound.
        if let Some(exporter) = self.exporters[2] {
            {
                let (logs, processor) = (Arc::clone(&logs), component(names::LOG_PROCESSOR));
                counter(&meter, names::PROCESSOR_LOG_PROCESSED)
                    .with_callback(move |observer| {
                        observer.observe(
                            logs.counts().dropped,
                            &with(&processor, Some(names::ERROR_QUEUE_FULL)),
                        );
                    })
                    .build();
            }
            let exporter = component(exporter);
            logs.record_durations(durations.clone(), exporter.clone());
            exporter_instruments(
                &meter,
                &logs,
                exporter,
                names::EXPORTER_LOG_EXPORTED,
                names::EXPORTER_LOG_INFLIGHT,
            );
        }

        // Metric data points of the push exporter (read at the next collection: what the last
        // export did).
        if let Some(exporter) = self.exporters[1] {
            let exporter = component(exporter);
            metrics.record_durations(durations, exporter.clone());
            counter(&meter, names::EXPORTER_METRIC_DATA_POINT_EXPORTED)
                .with_callback(move |observer| {
                    for (count, attributes) in exported_points(&metrics.counts().points, &exporter)
                    {
                        observer.observe(count, &attributes);
                    }
                })
                .build();
        }
    }
}

/// Items the processor handed to its exporter: confirmed, failed, or in the export under way.
fn handed_to_exporter(counts: &Counts) -> u64 {
    counts.delivered + counts.failed.iter().sum::<u64>() + counts.in_flight
}

fn exporter_instruments(
    meter: &Meter,
    delivery: &Arc<Delivery>,
    exporter: [KeyValue; 2],
    exported: HealthMetric,
    inflight: HealthMetric,
) {
    {
        let (delivery, exporter) = (Arc::clone(delivery), exporter.clone());
        counter(meter, exported)
            .with_callback(move |observer| {
                let counts = delivery.counts();
                let mut by_outcome = vec![counts.delivered];
                by_outcome.extend(counts.failed);
                for (count, attributes) in exported_points(&by_outcome, &exporter) {
                    observer.observe(count, &attributes);
                }
            })
            .build();
    }
    let delivery = Arc::clone(delivery);
    gauge(meter, inflight)
        .with_callback(move |observer| {
            observer.observe(signed(delivery.counts().in_flight), &exporter);
        })
        .build();
}

/// The OTLP exporter's timeout for `signal`: `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT`, else
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, else the specification's 10 s (validated by the configuration
/// already). A failure after it is counted as a timeout.
pub(crate) fn otlp_timeout(signal: Signal) -> Duration {
    let specific = format!(
        "OTEL_EXPORTER_OTLP_{}_TIMEOUT",
        signal.as_str().to_ascii_uppercase()
    );
    [specific.as_str(), "OTEL_EXPORTER_OTLP_TIMEOUT"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}
