//! HTTP servers built with axum (feature `axum`): [`HttpServerLayer`], a tower layer that gives
//! every request one SERVER span following the stable OpenTelemetry HTTP server conventions,
//! and the metrics `http.server.request.duration` and `http.server.active_requests`.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use factory_observability::{handler, HttpServerLayer};
//!
//! #[handler]
//! async fn health() -> &'static str {
//!     "ok"
//! }
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let _telemetry = factory_observability::init("product-api")?;
//! let app = Router::new()
//!     .route("/health", get(health))
//!     // Last, so that it covers every route and nested router above it.
//!     .layer(HttpServerLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The semantics live in the runtime's call core (`call::http_server`): the layer only reads the
//! request ([`request`]) and watches the response body ([`body`]), so that an axum release
//! touches these two files.

mod body;
mod browser;
mod layer;
mod request;
mod routes;

pub use body::ObservedBody;
pub use browser::BrowserTelemetry;
pub use layer::{HttpServerLayer, HttpServerService, ResponseFuture};
