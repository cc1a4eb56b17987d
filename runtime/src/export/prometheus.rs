//! `OTEL_METRICS_EXPORTER=prometheus`: `/metrics` served for Prometheus to scrape.
//!
//! The OpenTelemetry project's `opentelemetry-prometheus` reader renders the metrics into a
//! `prometheus` registry at each scrape (names translated as [`crate::names::prometheus`]
//! says), and `tiny_http` serves them from a thread of its own with a blocking server: the
//! program needs no tokio runtime, and a slow scraper never touches an instrumented call.
//! docs/backends.md, "Prometheus", says why these crates and not others.

use crate::config::PrometheusEndpoint;
use crate::error::InitError;
use crate::names::env::OTEL_EXPORTER_PROMETHEUS_PORT;
use opentelemetry_prometheus::PrometheusExporter;
use prometheus::{Encoder as _, Registry, TextEncoder};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs as _};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The `/metrics` server; stopped when dropped.
pub(crate) struct MetricsEndpoint {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    address: SocketAddr,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl MetricsEndpoint {
    /// The address it listens on (the port chosen when `OTEL_EXPORTER_PROMETHEUS_PORT=0`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `endpoint` and starts serving; returns the reader to install in the meter provider.
pub(crate) fn serve(
    endpoint: &PrometheusEndpoint,
) -> Result<(PrometheusExporter, MetricsEndpoint), InitError> {
    let failed = |reason: String| InitError::Prometheus {
        address: format!("{}:{}", endpoint.host, endpoint.port),
        reason,
    };
    let address = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|error| failed(format!("cannot resolve the host: {error}")))?
        .next()
        .ok_or_else(|| failed("the host has no address".into()))?;
    let listener = TcpListener::bind(address).map_err(|error| {
        failed(match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "the port is in use by another process ({error}); set \
                 {OTEL_EXPORTER_PROMETHEUS_PORT} to a free port"
            ),
            _ => error.to_string(),
        })
    })?;
    let address = listener.local_addr().map_err(|e| failed(e.to_string()))?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|error| failed(error.to_string()))?;
    let server = Arc::new(server);
    let registry = Registry::new();
    // `_total` is added at each scrape, once (see `counters_end_in_total_once`).
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_counter_suffixes()
        // Provenance: a product's error ratio by the build that served it (docs/provenance.md).
        .with_resource_selector(opentelemetry_prometheus::ResourceSelector::KeyAllowList(
            crate::names::provenance::METRIC_LABELS
                .iter()
                .map(|key| opentelemetry::Key::from_static_str(key))
                .collect(),
        ))
        .build()
        .map_err(|error| failed(error.to_string()))?;
    let serving = Arc::clone(&server);
    let thread = std::thread::Builder::new()
        .name("factory-obs-metrics".into())
        .spawn(move || {
            for request in serving.incoming_requests() {
                let response = answer(request.url(), &registry);
                let _ = request.respond(response);
            }
        })
        .map_err(|error| failed(format!("cannot start the server thread: {error}")))?;
    Ok((
        exporter,
        MetricsEndpoint {
            server,
            thread: Some(thread),
            address,
        },
    ))
}

/// The scrape at `/metrics`, a pointer to it anywhere else.
fn answer(url: &str, registry: &Registry) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let path = url.split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return tiny_http::Response::from_string("metrics are served at /metrics\n")
            .with_status_code(404);
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    let mut families = registry.gather();
    counters_end_in_total_once(&mut families);
    if let Err(error) = encoder.encode(&families, &mut body) {
        return tiny_http::Response::from_string(format!("cannot render the metrics: {error}\n"))
            .with_status_code(500);
    }
    let content_type = tiny_http::Header::from_bytes(&b"Content-Type"[..], encoder.format_type())
        .expect("a valid header");
    tiny_http::Response::from_data(body).with_header(content_type)
}

/// Names every counter as the collector's Prometheus exporter does: `_total` appended unless
/// the name already ends in it (`pipeline.runs.total` → `pipeline_runs_total`, `llm.cost.usd`
/// → `llm_cost_usd_total`). opentelemetry-prometheus 0.33 offers only "always" (its default,
/// which serves `pipeline_runs_total_total`) or "never" (`without_counter_suffixes`, which the
/// reader is built with); this is the step between.
fn counters_end_in_total_once(families: &mut [prometheus::proto::MetricFamily]) {
    for family in families {
        if family.get_field_type() == prometheus::proto::MetricType::COUNTER
            && !family.name().ends_with("_total")
        {
            let name = format!("{}_total", family.name());
            family.set_name(name);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dispatch::Instruments;
    use crate::export::counting::Delivery;
    use crate::export::health::Health;
    use crate::export::records::Slots;
    use crate::names::prometheus::{prometheus_name, series, Entry, Kind, CATALOGUE};
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::logs::{BatchLogProcessor, InMemoryLogExporter, SdkLoggerProvider};
    use opentelemetry_sdk::metrics::SdkMeterProvider;
    use std::io::{Read as _, Write as _};

    pub(crate) fn scrape(address: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn a_port_in_use_is_an_init_error_naming_both_variables() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let endpoint = PrometheusEndpoint {
            host: "127.0.0.1".into(),
            port,
        };
        let error = serve(&endpoint).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "cannot serve Prometheus metrics on 127.0.0.1:{port} \
                 (OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT): the port is in use \
                 by another process ("
            )),
            "{error}"
        );
        assert!(
            error.ends_with("set OTEL_EXPORTER_PROMETHEUS_PORT to a free port"),
            "{error}"
        );
    }

    /// The browser endpoint's counters in the catalogue.
    pub(crate) const BROWSER_COUNTERS: [&str; 3] = [
        crate::names::browser::REQUESTS,
        crate::names::browser::SPANS,
        crate::names::browser::INTERACTIONS,
    ];

    /// Asserts that `text`, a scrape of `/metrics`, serves each entry under the name
    /// `prometheus_name` gives, with the type its kind says, and each of its series.
    pub(crate) fn assert_served<'a>(text: &str, entries: impl IntoIterator<Item = &'a Entry>) {
        for entry in entries {
            let name = prometheus_name(entry.name, entry.unit, entry.kind == Kind::Counter);
            let kind = match entry.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            assert!(
                text.contains(&format!("\n# TYPE {name} {kind}\n")),
                "{} is not served as `{name}` ({kind}):\n{text}",
                entry.name
            );
            for series in series(entry) {
                assert!(
                    text.contains(&format!("\n{series}{{")),
                    "no series {series}:\n{text}"
                );
            }
        }
    }

    /// Every metric of the catalogue, recorded once, is served under the name
    /// `prometheus_name` gives, with the type its kind says (the deploy kit relies on it).
    #[test]
    fn every_metric_is_served_under_its_catalogued_name() {
        let endpoint = PrometheusEndpoint {
            host: "127.0.0.1".into(),
            port: 0,
        };
        let (reader, server) = serve(&endpoint).unwrap();
        let meters = SdkMeterProvider::builder().with_reader(reader).build();
        // The SDK's own log metrics go to the global provider (as `init` sets it).
        opentelemetry::global::set_meter_provider(meters.clone());

        let instruments = Instruments::new(&meters.meter("catalogue-test"));
        instruments.runs_total.add(1, &[]);
        instruments.run_duration.record(1.0, &[]);
        instruments.stage_duration.record(1.0, &[]);
        instruments.stage_retries_total.add(1, &[]);
        instruments.llm_tokens.record(10, &[]);
        instruments.llm_cost.add(0.5, &[]);
        instruments.genai_token_usage.record(10, &[]);
        instruments.genai_duration.record(1.0, &[]);
        instruments.genai_time_to_first_chunk.record(0.1, &[]);
        instruments.adjudication_selected.add(1, &[]);
        instruments.adjudication_score.record(0.9, &[]);
        instruments.adjudication_margin.record(0.1, &[]);
        instruments.test_pass_rate.record(1.0, &[]);
        instruments.test_flaky.add(1, &[]);
        instruments.handler_duration.record(0.1, &[]);
        instruments.http_server_duration.record(0.1, &[]);
        instruments.http_server_active.add(1, &[]);
        instruments.http_client_duration.record(0.1, &[]);
        instruments.invoke_agent_duration.record(1.0, &[]);
        instruments.execute_tool_duration.record(0.1, &[]);
        instruments.mcp_client_duration.record(0.1, &[]);
        instruments.cicd.run_duration.record(1.0, &[]);
        instruments.cicd.run_active.add(1, &[]);
        instruments.cicd.run_errors.add(1, &[]);

        let deliveries: [Arc<Delivery>; 3] = Default::default();
        Health {
            deliveries: deliveries.clone(),
            slots: Some(Arc::new(Slots::new(
                64,
                1 << 20,
                Arc::clone(&deliveries[0]),
            ))),
            exporters: [
                Some("test_span_exporter"),
                Some("test_metric_exporter"),
                Some("test_log_exporter"),
            ],
        }
        .install(&meters);
        let started = deliveries[0].exporting(3);
        deliveries[0].exported(3, started, &Ok(()));

        let logs = SdkLoggerProvider::builder()
            .with_log_processor(BatchLogProcessor::builder(InMemoryLogExporter::default()).build())
            .build();
        let logger = logs.logger("catalogue-test");
        let mut record = logger.create_log_record();
        record.set_body("hello".into());
        logger.emit(record);
        logs.force_flush().unwrap();

        let text = scrape(server.address(), "/metrics");
        assert!(
            text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200"),
            "{text}"
        );
        // The browser endpoint's counters are made by `http::browser` (feature `axum`), a layer
        // above this one: its own test checks them the same way.
        let ours = CATALOGUE
            .iter()
            .filter(|e| !BROWSER_COUNTERS.contains(&e.name));
        assert_served(&text, ours);
        // A counter named `….total` ends in `_total` once; one without gets it.
        assert!(!text.contains("_total_total"), "{text}");
        assert!(
            text.contains("\n# TYPE pipeline_runs_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("\n# TYPE llm_cost_usd_total counter\n"),
            "{text}"
        );
        assert!(scrape(server.address(), "/").contains(" 404 "));
        let _ = logs.shutdown();
    }
}
