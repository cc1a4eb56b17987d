//! The seed's task app as a product: an axum service the factory builds, deploys and calls.
//!
//! Every request is one SERVER span `{method} {http.route}` (through [`HttpServerLayer`]), a
//! child of the caller's span when the request carries `traceparent`, so that the factory's
//! smoke stage and the product's handling of it are one trace. Each handler is a `#[handler]`:
//! it adds its `code.function.name`, fields and errors to its request's span.
//!
//! ```text
//! PRODUCT_ADDR=127.0.0.1:3000 cargo run --bin product_service
//! curl -s localhost:3000/tasks -H 'content-type: application/json' -d '{"title":"write docs"}'
//! ```
//!
//! Routes: `GET /health`, `GET /tasks`, `POST /tasks` (`{"title": "..."}` → 201 with the task;
//! an empty title → 422), `GET /tasks/{id}` (404 when absent), and `GET /reports/export`, which
//! fails with 500 (its backend is not configured).
//!
//! The page: `GET /` is a small task UI whose "Create task" button is instrumented with the
//! OpenTelemetry web SDK (`GET /app.js`, built from `web/` by `scripts/build-web.sh`): a click is
//! a span `user.create_task` of service `product-webapp`, the request it makes is its child and
//! carries `traceparent`, so that this service's `POST /tasks` span joins the click's trace. The
//! page sends its spans to `POST /v1/traces` on this origin ([`BrowserTelemetry`]), which checks
//! them and forwards them through this service's own exporter: the collector stays private. It prints `listening on http://ADDR` once it
//! accepts connections (so that a parent can start it on `PRODUCT_ADDR=127.0.0.1:0`), and shuts
//! down gracefully on Ctrl-C or SIGTERM, flushing its telemetry.
//!
//! A background job runs off HTTP: every `PRODUCT_RECOUNT_INTERVAL_MS` milliseconds (default
//! 60000, the first run one interval after the start) `recount_tasks` recounts the store, as a
//! product refreshes a cached count or a gauge, and logs the count. It is a `#[handler]` too, but
//! outside a request it is an INTERNAL root span `recount_tasks` with `handler.name` and
//! `handler.outcome`, and it records `handler.duration` (the Product Service dashboard's "Handler
//! duration p95 off HTTP"). It stops when the server does.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use factory_observability::{handler, BrowserTelemetry, HttpServerLayer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Environment variable of the address to listen on.
const PRODUCT_ADDR: &str = "PRODUCT_ADDR";
const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Environment variable of the recount job's period, in milliseconds.
const PRODUCT_RECOUNT_INTERVAL_MS: &str = "PRODUCT_RECOUNT_INTERVAL_MS";
const DEFAULT_RECOUNT_INTERVAL: Duration = Duration::from_secs(60);
/// The longest period accepted (a day): beyond it the timer's deadline could overflow.
const MAX_RECOUNT_INTERVAL_MS: u64 = 86_400_000;

#[derive(Clone, Debug, Serialize)]
struct Task {
    id: u64,
    title: String,
}

#[derive(Deserialize)]
struct NewTask {
    title: String,
}

/// The page and its script, built from `web/` (`scripts/build-web.sh`) and served from the binary.
const PAGE: &str = include_str!("web/index.html");
const SCRIPT: &str = include_str!("web/dist/app.js");
/// Where the page's `<meta>` tags go.
const PAGE_META_MARK: &str = "<!-- factory-obs:meta -->";
/// The page's service name, the one the browser endpoint accepts.
const WEBAPP_SERVICE: &str = "product-webapp";

/// The tasks, in memory.
#[derive(Clone, Default)]
struct Store {
    tasks: Arc<Mutex<Vec<Task>>>,
}

impl Store {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Task>>, ApiError> {
        self.tasks.lock().map_err(|_| ApiError::StorePoisoned)
    }
}

/// What a request can go wrong with, and the status each answers with.
#[derive(Debug)]
enum ApiError {
    EmptyTitle,
    NotFound(u64),
    StorePoisoned,
    ExportUnavailable,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::EmptyTitle => f.write_str("the title is empty"),
            ApiError::NotFound(id) => write!(f, "no task {id}"),
            ApiError::StorePoisoned => f.write_str("the task store is unusable"),
            ApiError::ExportUnavailable => f.write_str("the export backend is not configured"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::EmptyTitle => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::StorePoisoned | ApiError::ExportUnavailable => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = serde_json::json!({ "error": self.to_string() });
        (status, Json(body)).into_response()
    }
}

#[handler]
async fn health() -> &'static str {
    "ok"
}

/// `GET /`: the task page, telling its script where to send spans (and the token, if set).
#[handler]
async fn page(State(page): State<Bytes>) -> Html<Bytes> {
    Html(page)
}

/// `GET /app.js`: the page's script.
#[handler]
async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

/// The page with its `<meta>` tags: the browser endpoint's path, its token when one is set
/// (every visitor reads the page: the token keeps out senders that did not load it), and the
/// page's service name.
fn page_html(browser: &BrowserTelemetry) -> String {
    let mut meta = format!(
        r#"<meta name="factory-obs-traces-url" content="{}">
    <meta name="factory-obs-service-name" content="{}">"#,
        escape_attribute(browser.path()),
        escape_attribute(WEBAPP_SERVICE),
    );
    if let Some(token) = browser.token() {
        meta.push_str(&format!(
            r#"
    <meta name="factory-obs-browser-token" content="{}">"#,
            escape_attribute(token)
        ));
    }
    PAGE.replacen(PAGE_META_MARK, &meta, 1)
}

/// `text` inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[handler]
async fn list_tasks(State(store): State<Store>) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(store.lock()?.clone()))
}

#[handler(fields(task.title_length = new.title.len()))]
async fn create_task(
    State(store): State<Store>,
    Json(new): Json<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    if new.title.trim().is_empty() {
        return Err(ApiError::EmptyTitle);
    }
    let mut tasks = store.lock()?;
    let task = Task {
        id: tasks.len() as u64 + 1,
        title: new.title,
    };
    tasks.push(task.clone());
    Ok((StatusCode::CREATED, Json(task)))
}

#[handler(fields(task.id = id))]
async fn get_task(State(store): State<Store>, Path(id): Path<u64>) -> Result<Json<Task>, ApiError> {
    let tasks = store.lock()?;
    let task = tasks.iter().find(|task| task.id == id).cloned();
    task.map(Json).ok_or(ApiError::NotFound(id))
}

#[handler]
async fn export_report() -> Result<Json<Vec<Task>>, ApiError> {
    Err(ApiError::ExportUnavailable)
}

/// The background job: counts the tasks (a product would refresh a cached count or a gauge).
/// Off HTTP, so an INTERNAL span of its own and `handler.duration`.
#[handler]
fn recount_tasks(store: &Store) -> Result<usize, ApiError> {
    let count = store.lock()?.len();
    tracing::info!(tasks.count = count, "tasks recounted");
    Ok(count)
}

/// Runs [`recount_tasks`] every `period`, the first time one `period` after the start; a slow
/// run delays the next instead of bunching them.
async fn recount_periodically(store: Store, period: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // A failure (a poisoned store) is recorded on the job's span; the next run tries again.
        let _ = recount_tasks(&store);
    }
}

/// [`PRODUCT_RECOUNT_INTERVAL_MS`], or the default when unset.
fn recount_interval() -> Result<Duration, String> {
    let Ok(value) = std::env::var(PRODUCT_RECOUNT_INTERVAL_MS) else {
        return Ok(DEFAULT_RECOUNT_INTERVAL);
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if (1..=MAX_RECOUNT_INTERVAL_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "{PRODUCT_RECOUNT_INTERVAL_MS}={value:?}: expected a whole number of milliseconds from 1 to {MAX_RECOUNT_INTERVAL_MS} (default {})",
            DEFAULT_RECOUNT_INTERVAL.as_millis()
        )),
    }
}

/// The service's routes, with one SERVER span per request, and the browser endpoint outside
/// them: the pages' spans are forwarded, their requests make no span of this service.
fn app(store: Store, browser: &BrowserTelemetry) -> Router {
    let reports = Router::new().route("/export", get(export_report));
    let page = Router::new()
        .route("/", get(page))
        .with_state(Bytes::from(page_html(browser)));
    Router::new()
        .route("/health", get(health))
        .route("/app.js", get(script))
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", get(get_task))
        .nest("/reports", reports)
        .with_state(store)
        .merge(page)
        .layer(HttpServerLayer::new())
        .merge(browser.router())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[tokio::main]
pub(crate) async fn main() -> ExitCode {
    let telemetry = match factory_observability::init("product-api") {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("product_service: telemetry is off: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = std::env::var(PRODUCT_ADDR).unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
    let addr: SocketAddr = match addr.parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!(
                "product_service: {PRODUCT_ADDR}={addr:?} is not an address: write IP:PORT, e.g. {DEFAULT_ADDR} (port 0 picks a free one)"
            );
            return ExitCode::FAILURE;
        }
    };
    let recount_every = match recount_interval() {
        Ok(period) => period,
        Err(message) => {
            eprintln!("product_service: {message}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("product_service: cannot listen on {addr} ({PRODUCT_ADDR}): {error}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("listening on http://{bound}"),
        Err(_) => println!("listening on http://{addr}"),
    }
    let _ = std::io::stdout().flush();
    let store = Store::default();
    let browser = BrowserTelemetry::new([WEBAPP_SERVICE]);
    let recount = tokio::spawn(recount_periodically(store.clone(), recount_every));
    let served = axum::serve(
        listener,
        app(store, &browser).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    // The job stops with the server (a run in progress is synchronous and completes first).
    recount.abort();
    let _ = recount.await;
    // Flushes the spans and metrics of every request served.
    drop(telemetry);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("product_service: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
