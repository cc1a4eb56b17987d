//! [`BrowserTelemetry`]: the product's pages send their spans to the product's own origin
//! (OTLP/HTTP, JSON or binary Protobuf, as the OpenTelemetry JavaScript exporter sends them), and
//! the product forwards them through its own exporter: its collector stays private.
//!
//! It is a public ingestion point, so every request passes, in this order, before anything is
//! decoded: the number of requests being read at once (503), the `Origin` (403), the token
//! (401), the client's rate limit (429), the media type and encoding (415) and the body's size
//! (413, before and after decompression). Then the body is decoded (400 with the decoder's
//! reason), and what it holds is bounded and stamped (`export::ingest`) and queued for export
//! apart from the program's own spans (503 when that queue is full). Requests to it make no
//! span of the program's: a flood of them never takes the room of the program's own telemetry.
//! Its own metrics count what it answered, the spans it kept and refused, and the interactions
//! it received (`factory_obs.browser.*`).

use super::request::client_ip;
use crate::config::{BrowserSettings, SpanLimits};
use crate::dispatch::{self, ForeignIntake};
use crate::export::foreign::ForeignQueue;
use crate::export::ingest::{self, answer, Encoding, IngestLimits, Ingested};
use crate::names::browser as names;
use crate::names::http_server::HTTP_RESPONSE_STATUS_CODE;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use governor::clock::DefaultClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;
use http_body_util::BodyExt;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a request may take to send its body: a slow sender holds one of the
/// in-flight places, so it is not given long.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// `Retry-After` of a 503: the in-flight places or the queue free up within a second or two.
const OVERLOADED_RETRY_AFTER_S: u64 = 2;
/// How long a browser may cache an answer to its preflight request (`Access-Control-Max-Age`).
const PREFLIGHT_MAX_AGE_S: &str = "600";

/// The browser telemetry endpoint: an axum route accepting OTLP/HTTP trace export requests
/// from the product's pages, and forwarding what it accepts through the program's own export
/// thread and exporter (docs/browser.md).
///
/// Create it after [`crate::init`] (it reads the installed `FACTORY_OBS_BROWSER_*` settings and
/// the program's resource) and merge its router into the product's, outside `HttpServerLayer`
/// (after the `.layer(...)` call), so that its requests make no span of the program's:
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use factory_observability::{BrowserTelemetry, HttpServerLayer};
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let _telemetry = factory_observability::init("product-api")?;
/// let browser = BrowserTelemetry::new(["product-webapp"]);
/// let app = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .layer(HttpServerLayer::new())
///     .merge(browser.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// // The peer's address keys the per-client rate limit.
/// axum::serve(
///     listener,
///     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
/// )
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct BrowserTelemetry {
    endpoint: Arc<Endpoint>,
}

impl fmt::Debug for BrowserTelemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserTelemetry")
            .field("settings", &self.endpoint.settings)
            .field("forwarding", &self.endpoint.queue.is_some())
            .finish()
    }
}

impl BrowserTelemetry {
    /// The endpoint, accepting spans whose resource names one of `service_names`
    /// (`FACTORY_OBS_BROWSER_SERVICE_NAMES` overrides them), with the installed settings.
    /// Without an installation, or with traces not exported, it still answers, refusing every
    /// span (partial success, so that pages do not retry).
    pub fn new<I, S>(service_names: I) -> BrowserTelemetry
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let intake = dispatch::foreign_intake();
        let names = service_names.into_iter().map(Into::into).collect();
        BrowserTelemetry {
            endpoint: Arc::new(Endpoint::new(intake, names)),
        }
    }

    /// The path it serves (`FACTORY_OBS_BROWSER_PATH`, default `/v1/traces`): where the
    /// page's exporter sends.
    pub fn path(&self) -> &str {
        &self.endpoint.settings.path
    }

    /// The token requests must carry in `x-factory-obs-browser-token`, when one is set
    /// (`FACTORY_OBS_BROWSER_TOKEN`), for the page: every visitor can read it. It keeps out
    /// senders that did not load the page; the rate limit bounds those that did.
    pub fn token(&self) -> Option<&str> {
        self.endpoint.settings.token.as_deref()
    }

    /// The service names accepted.
    pub fn service_names(&self) -> &[String] {
        &self.endpoint.limits.service_names
    }

    /// A router with the endpoint's route (`POST` and the CORS preflight `OPTIONS` on
    /// [`path`](Self::path)), to merge into the product's.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new()
            .route(
                &self.endpoint.settings.path,
                post(receive).options(preflight),
            )
            .with_state(Arc::clone(&self.endpoint))
    }
}

/// The endpoint's state, shared by its requests.
struct Endpoint {
    settings: BrowserSettings,
    limits: IngestLimits,
    /// The resource of each allowed service name, stamped by the program.
    resources: Vec<Arc<Resource>>,
    queue: Option<&'static ForeignQueue>,
    limiter: Limiter,
    /// When the limiter last dropped the clients it no longer needs to remember.
    last_cleanup: AtomicU64,
    started: Instant,
    in_flight: AtomicUsize,
    metrics: Metrics,
}

impl Endpoint {
    fn new(intake: ForeignIntake, service_names: Vec<String>) -> Endpoint {
        let ForeignIntake {
            settings,
            span_limits,
            queue,
        } = intake;
        let service_names = settings.service_names.clone().unwrap_or(service_names);
        let resources = service_names
            .iter()
            .map(|name| Arc::new(stamped_resource(queue.map(ForeignQueue::resource), name)))
            .collect();
        let limits = IngestLimits {
            max_spans: settings.max_spans,
            span: narrowed(span_limits, &settings),
            service_names,
        };
        let rate = NonZeroU32::new(settings.rate_limit_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.rate_limit_per_minute / 4).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::new(
            Quota::per_minute(rate).allow_burst(burst),
            ClientTable {
                clients: DashMapStateStore::default(),
                max: settings.max_clients,
            },
            DefaultClock::default(),
        );
        Endpoint {
            settings,
            limits,
            resources,
            queue,
            limiter,
            last_cleanup: AtomicU64::new(0),
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            metrics: Metrics::new(),
        }
    }
}

/// The program's span limits, narrowed to the endpoint's attribute count and length.
fn narrowed(limits: SpanLimits, settings: &BrowserSettings) -> SpanLimits {
    let attributes = settings.max_attributes;
    SpanLimits {
        attribute_value_length: Some(
            limits
                .attribute_value_length
                .map_or(settings.max_attribute_chars, |own| {
                    own.min(settings.max_attribute_chars)
                }),
        ),
        attribute_count: limits.attribute_count.min(attributes),
        event_count: limits.event_count,
        link_count: limits.link_count,
        event_attribute_count: limits.event_attribute_count.min(attributes),
        link_attribute_count: limits.link_attribute_count.min(attributes),
    }
}

/// The resource spans of `service_name` are exported under: the program's own attributes (its
/// version, environment, provenance), never the sender's, with the page's service name. The
/// program's instance and SDK attributes describe the program's process, not the page, and are
/// left out.
fn stamped_resource(own: Option<&Resource>, service_name: &str) -> Resource {
    let kept = own.into_iter().flat_map(|resource| {
        resource.iter().filter_map(|(key, value)| {
            let key = key.as_str();
            let own_process = key == "service.name"
                || key == "service.instance.id"
                || key.starts_with("telemetry.sdk.")
                || key.starts_with("process.");
            (!own_process).then(|| KeyValue::new(key.to_owned(), value.clone()))
        })
    });
    Resource::builder_empty()
        .with_attributes(kept)
        .with_service_name(service_name.to_owned())
        .build()
}

/// Whom a request is counted against: its client's address (an IPv6 client by its /64, the
/// block one host usually has), or nobody known; clients past the table's size share one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    V4(u32),
    V6(u64),
    Unknown,
    Overflow,
}

impl ClientKey {
    fn of(ip: Option<IpAddr>) -> ClientKey {
        match ip {
            Some(IpAddr::V4(v4)) => ClientKey::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => ClientKey::V6((u128::from(v6) >> 64) as u64),
            None => ClientKey::Unknown,
        }
    }
}

/// The rate limiter's state: one entry per client, at most `max`; a client arriving while the
/// table is full is counted under [`ClientKey::Overflow`], which all such clients share. The
/// entries are governor's own.
struct ClientTable {
    clients: DashMapStateStore<ClientKey>,
    max: usize,
}

impl StateStore for ClientTable {
    type Key = ClientKey;

    fn measure_and_replace<T, F, E>(&self, key: &ClientKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = if self.clients.len() >= self.max && !self.clients.contains_key(key) {
            &ClientKey::Overflow
        } else {
            key
        };
        self.clients.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<ClientKey> for ClientTable {
    fn retain_recent(&self, drop_below: Nanos) {
        self.clients.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&self.clients);
    }

    fn len(&self) -> usize {
        self.clients.len()
    }

    fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

type Limiter = RateLimiter<ClientKey, ClientTable, DefaultClock, NoOpMiddleware>;

/// The endpoint's counters.
struct Metrics {
    requests: Counter<u64>,
    spans: Counter<u64>,
    interactions: Counter<u64>,
}

impl Metrics {
    fn new() -> Metrics {
        let meter = opentelemetry::global::meter_with_scope(crate::export::instrumentation_scope());
        Metrics::on(&meter)
    }

    fn on(meter: &opentelemetry::metrics::Meter) -> Metrics {
        Metrics {
            requests: meter
                .u64_counter(names::REQUESTS)
                .with_unit(crate::names::http_server::UNIT_REQUESTS)
                .with_description("Requests the browser telemetry endpoint answered")
                .build(),
            spans: meter
                .u64_counter(names::SPANS)
                .with_unit(names::UNIT_SPANS)
                .with_description("Spans the browser telemetry endpoint received, kept or refused")
                .build(),
            interactions: meter
                .u64_counter(names::INTERACTIONS)
                .with_unit(names::UNIT_INTERACTIONS)
                .with_description(
                    "User interactions received from pages: kept INTERNAL spans without a parent",
                )
                .build(),
        }
    }

    fn answered(&self, status: StatusCode, refusal: Option<&'static str>) {
        let code = KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status.as_u16()));
        match refusal {
            Some(reason) => self
                .requests
                .add(1, &[code, KeyValue::new("error.type", reason)]),
            None => self.requests.add(1, &[code]),
        }
    }

    fn received(&self, outcome: &Outcome) {
        let spans = [
            (outcome.kept, names::KEPT),
            (outcome.refused, names::REFUSED),
        ];
        for (count, what) in spans {
            if count > 0 {
                self.spans
                    .add(count, &[KeyValue::new(names::SPAN_OUTCOME, what)]);
            }
        }
        let interactions = [
            (outcome.interactions_ok, names::OUTCOME_OK),
            (outcome.interactions_failed, names::OUTCOME_ERROR),
        ];
        for (count, what) in interactions {
            if count > 0 {
                self.interactions
                    .add(count, &[KeyValue::new(names::INTERACTION_OUTCOME, what)]);
            }
        }
    }
}

/// A request's place among those read at once, given back when it is answered.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A refusal: its status, its `error.type`, its message, and its `Retry-After`.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: String,
    retry_after_s: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason,
            message: message.into(),
            retry_after_s: None,
        }
    }

    fn retry_after(mut self, seconds: u64) -> Refusal {
        self.retry_after_s = Some(seconds.max(1));
        self
    }
}

/// `POST {path}`.
async fn receive(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let encoding = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(Encoding::of_content_type);
    let cors = cors_origin(request.headers(), &endpoint.settings);
    let answered = match receive_checked(&endpoint, request, encoding).await {
        Ok(outcome) => {
            endpoint.metrics.received(&outcome);
            endpoint.metrics.answered(StatusCode::OK, None);
            let encoding = encoding.unwrap_or(Encoding::Json);
            let body = answer::success(encoding, outcome.refused, outcome.message);
            respond(StatusCode::OK, encoding, body)
        }
        Err(refusal) => {
            endpoint
                .metrics
                .answered(refusal.status, Some(refusal.reason));
            let encoding = encoding.unwrap_or(Encoding::Json);
            let mut response = respond(
                refusal.status,
                encoding,
                answer::failure(encoding, refusal.message),
            );
            if let Some(seconds) = refusal.retry_after_s {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    };
    with_cors(answered, cors)
}

async fn receive_checked(
    endpoint: &Endpoint,
    request: Request,
    encoding: Option<Encoding>,
) -> Result<Outcome, Refusal> {
    let settings = &endpoint.settings;
    let in_flight = endpoint.in_flight.fetch_add(1, Ordering::Relaxed);
    let _place = InFlight(&endpoint.in_flight);
    if in_flight >= settings.max_in_flight {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            names::ERROR_OVERLOADED,
            "too many requests at once: try again later",
        )
        .retry_after(OVERLOADED_RETRY_AFTER_S));
    }
    check_origin(request.headers(), settings)?;
    check_token(request.headers(), settings)?;
    check_rate(endpoint, &request)?;
    let Some(encoding) = encoding else {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            names::ERROR_MEDIA_TYPE,
            "Content-Type must be application/json or application/x-protobuf (OTLP/HTTP)",
        ));
    };
    let gzip = content_encoding_is_gzip(request.headers())?;
    // Refused before a byte of it is read when its length is announced.
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if announced.is_some_and(|length| length > settings.max_body_bytes as u64) {
        return Err(too_large(settings.max_body_bytes));
    }
    let body = read_body(request.into_body(), settings.max_body_bytes).await?;
    let body = if gzip {
        gunzip(&body, settings.max_body_bytes)?
    } else {
        body
    };
    let decoded = ingest::decode(encoding, &body).map_err(|error| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            names::ERROR_MALFORMED,
            error.to_string(),
        )
    })?;
    drop(body);
    let ingested = ingest::ingest(decoded, &endpoint.limits);
    let mut outcome = Outcome::of(&ingested, &endpoint.limits);
    let Some(queue) = endpoint.queue else {
        // Nothing installed, or traces not exported: every span is refused, and the answer
        // says why (a partial success: the page does not retry).
        outcome.refuse_kept("this program exports no traces");
        return Ok(outcome);
    };
    let batches = ingested
        .batches
        .into_iter()
        .map(|(service, spans)| (Arc::clone(&endpoint.resources[service]), spans))
        .collect();
    queue.submit(batches).map_err(|_full| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            names::ERROR_OVERLOADED,
            "the queue of spans waiting for export is full: try again later",
        )
        .retry_after(OVERLOADED_RETRY_AFTER_S)
    })?;
    Ok(outcome)
}

/// What a request brought, for the answer and the metrics.
struct Outcome {
    kept: u64,
    refused: u64,
    message: Option<String>,
    /// Kept INTERNAL spans without a parent (the pages' interactions: a click, a page load; a
    /// fetch outside any interaction is a CLIENT root and not one), by whether they failed.
    interactions_ok: u64,
    interactions_failed: u64,
}

impl Outcome {
    fn of(ingested: &Ingested, limits: &IngestLimits) -> Outcome {
        let (mut ok, mut failed) = (0, 0);
        for (_, spans) in &ingested.batches {
            let interactions = spans.iter().filter(|span| {
                span.parent_span_id == SpanId::INVALID && span.span_kind == SpanKind::Internal
            });
            for span in interactions {
                match span.status {
                    Status::Error { .. } => failed += 1,
                    _ => ok += 1,
                }
            }
        }
        Outcome {
            kept: ingested.kept(),
            refused: ingested.refused(),
            message: ingested.message(limits),
            interactions_ok: ok,
            interactions_failed: failed,
        }
    }

    fn refuse_kept(&mut self, why: &str) {
        let message = format!("{why}: {} spans refused", self.kept);
        self.message = Some(match self.message.take() {
            Some(before) => format!("{message}; {before}"),
            None => message,
        });
        self.refused += self.kept;
        self.kept = 0;
        self.interactions_ok = 0;
        self.interactions_failed = 0;
    }
}

/// The `Origin` of a browser's request must be the page's own (its host and port are the
/// `Host` the request was sent to) or one of the allowed origins. Browsers send `Origin` with
/// every `POST` (Fetch standard, "append a request `Origin` header"): a request without one did
/// not come from a page.
fn check_origin(headers: &HeaderMap, settings: &BrowserSettings) -> Result<(), Refusal> {
    let refused = |message: String| {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            names::ERROR_ORIGIN,
            message,
        ))
    };
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return refused(
            "no Origin header: this endpoint takes spans from the product's pages".into(),
        );
    };
    if same_origin(origin, headers) || allowed_origin(origin, settings) {
        return Ok(());
    }
    let mut shown = origin.to_owned();
    if let Some(end) = crate::export::span_record::char_boundary_after(&shown, 100) {
        shown.truncate(end);
    }
    refused(format!(
        "Origin {shown:?} is not this site's nor one of FACTORY_OBS_BROWSER_ALLOWED_ORIGINS"
    ))
}

/// Whether `origin` (`scheme://host[:port]`) names the host and port the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

fn allowed_origin(origin: &str, settings: &BrowserSettings) -> bool {
    settings
        .allowed_origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

/// The origin to name in `Access-Control-Allow-Origin`: an allowed origin other than the page's
/// own (a same-origin request needs no CORS header).
fn cors_origin(headers: &HeaderMap, settings: &BrowserSettings) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    (!same_origin(text, headers) && allowed_origin(text, settings)).then(|| origin.clone())
}

fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// `OPTIONS {path}`: the CORS preflight of a page on an allowed origin (its `Content-Type` and
/// token header are not CORS-safelisted). A same-origin page sends none.
async fn preflight(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let Some(origin) = cors_origin(request.headers(), &endpoint.settings) else {
        return Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Body::empty())
            .unwrap_or_default();
    };
    let allowed_headers = format!("content-type, content-encoding, {}", names::TOKEN_HEADER);
    let mut response = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, "POST")
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers)
        .header(header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_S)
        .body(Body::empty())
        .unwrap_or_default();
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// The token, when one is set, compared in time independent of where it differs.
fn check_token(headers: &HeaderMap, settings: &BrowserSettings) -> Result<(), Refusal> {
    let Some(expected) = settings.token.as_deref() else {
        return Ok(());
    };
    let given = headers
        .get(names::TOKEN_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if constant_time_eq(given, expected.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            names::ERROR_TOKEN,
            format!("missing or wrong {} header", names::TOKEN_HEADER),
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client's rate limit: `Retry-After` says when it may send again. Clients it no longer
/// needs to remember are dropped at most once a second, when the table is full.
fn check_rate(endpoint: &Endpoint, request: &Request) -> Result<(), Refusal> {
    let settings = dispatch::http_server_settings();
    let key = ClientKey::of(client_ip(request, settings));
    if endpoint.limiter.len() >= endpoint.settings.max_clients {
        let now_s = endpoint.started.elapsed().as_secs();
        let last = endpoint.last_cleanup.load(Ordering::Relaxed);
        if now_s > last
            && endpoint
                .last_cleanup
                .compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            endpoint.limiter.retain_recent();
            endpoint.limiter.shrink_to_fit();
        }
    }
    endpoint.limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(endpoint.limiter.clock()));
        Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            names::ERROR_RATE_LIMITED,
            format!(
                "more than {} requests a minute from this client: try again later",
                endpoint.settings.rate_limit_per_minute
            ),
        )
        .retry_after(wait.as_secs_f64().ceil() as u64)
    })
}

/// `Content-Encoding`: none or `gzip` (OTLP/HTTP Request: "The client MAY gzip the content").
fn content_encoding_is_gzip(headers: &HeaderMap) -> Result<bool, Refusal> {
    match headers.get(header::CONTENT_ENCODING).map(|value| {
        value
            .to_str()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }) {
        None => Ok(false),
        Some(encoding) if encoding.is_empty() || encoding == "identity" => Ok(false),
        Some(encoding) if encoding == "gzip" => Ok(true),
        Some(_) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            names::ERROR_MEDIA_TYPE,
            "Content-Encoding must be gzip or none",
        )),
    }
}

fn too_large(max_bytes: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        names::ERROR_TOO_LARGE,
        format!("the body is larger than {max_bytes} bytes (FACTORY_OBS_BROWSER_MAX_BODY_BYTES)"),
    )
}

/// The body, at most `max_bytes` and within [`BODY_TIMEOUT`]. "The server MUST limit the size
/// of the request body when parsing it, including after decompression ... If the limit is
/// exceeded, the server SHOULD respond with HTTP 413" (OTLP/HTTP Request).
async fn read_body(body: Body, max_bytes: usize) -> Result<Bytes, Refusal> {
    let limited = http_body_util::Limited::new(body, max_bytes);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(too_large(max_bytes))
        }
        Ok(Err(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            names::ERROR_MALFORMED,
            "the body could not be read",
        )),
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            names::ERROR_MALFORMED,
            format!("the body took more than {BODY_TIMEOUT:?} to arrive"),
        )),
    }
}

/// The body decompressed, at most `max_bytes`.
fn gunzip(body: &[u8], max_bytes: usize) -> Result<Bytes, Refusal> {
    let mut decoded = Vec::new();
    let mut reader = flate2::read::GzDecoder::new(body).take(max_bytes as u64 + 1);
    if reader.read_to_end(&mut decoded).is_err() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            names::ERROR_MALFORMED,
            "Content-Encoding is gzip but the body is not gzip",
        ));
    }
    if decoded.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    Ok(Bytes::from(decoded))
}

fn respond(status: StatusCode, encoding: Encoding, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    response
}

#[cfg(all(test, feature = "prometheus"))]
mod tests {
    use super::*;
    use crate::config::PrometheusEndpoint;
    use crate::export::prometheus::tests::{assert_served, scrape, BROWSER_COUNTERS};
    use crate::names::prometheus::CATALOGUE;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::SdkMeterProvider;

    /// The endpoint's counters, recorded once, are served under their catalogued names (the
    /// product dashboard's browser panels rely on them); the export layer's catalogue test
    /// leaves them to this one.
    #[test]
    fn its_counters_are_served_under_their_catalogued_names() {
        let endpoint = PrometheusEndpoint {
            host: "127.0.0.1".into(),
            port: 0,
        };
        let (reader, server) = crate::export::prometheus::serve(&endpoint).unwrap();
        let meters = SdkMeterProvider::builder().with_reader(reader).build();
        let metrics = Metrics::on(&meters.meter("catalogue-test"));
        metrics.answered(StatusCode::ACCEPTED, None);
        metrics.received(&Outcome {
            kept: 2,
            refused: 1,
            message: None,
            interactions_ok: 1,
            interactions_failed: 1,
        });
        let text = scrape(server.address(), "/metrics");
        let ours: Vec<_> = CATALOGUE
            .iter()
            .filter(|e| BROWSER_COUNTERS.contains(&e.name))
            .collect();
        assert_eq!(ours.len(), 3);
        assert_served(&text, ours);
        assert!(
            text.contains(
                "factory_obs_browser_spans_total{factory_obs_browser_span_outcome=\"kept\""
            ),
            "{text}"
        );
    }
}
