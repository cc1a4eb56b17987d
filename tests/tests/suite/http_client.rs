//! A stage calling a product over HTTP with reqwest (`send_traced`, feature `reqwest`), against
//! a real axum server on loopback: one trace from the stage through the CLIENT span into the
//! server's span, parent ids exact; the HTTP client conventions on the CLIENT span and its
//! metric; 4xx, 5xx and transport errors are errors on the client span. The same through
//! `TracingMiddleware` on a `reqwest_middleware::ClientWithMiddleware` (feature
//! `reqwest-middleware`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use factory_observability::pipeline_stage;
use factory_observability::propagation::{extract_from_headers, RequestBuilderExt as _};
use factory_observability::testing::{Capture, CapturedSpan, PointValue};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// The product's handler: a stage under the context the request carries, answering with the
/// baggage it received.
#[pipeline_stage(name = "get_task")]
async fn get_task(id: u32) -> Result<Value, String> {
    let cx = Context::current();
    let tenant = cx.baggage().get("tenant").map(|v| v.to_string());
    if id == 1 {
        Ok(json!({"id": 1, "title": "write tests", "tenant": tenant}))
    } else {
        Err(format!("no task {id}"))
    }
}

async fn task(
    State(capture): State<Arc<Capture>>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let cx = capture.run(|| extract_from_headers(&headers));
    match get_task(id).with_context(cx).await {
        Ok(task) => Ok(Json(task)),
        Err(_) => Err(StatusCode::NOT_FOUND),
    }
}

async fn broken() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn product(capture: Arc<Capture>) -> SocketAddr {
    let app = Router::new()
        .route("/tasks/{id}", get(task))
        .route("/broken", get(broken))
        .with_state(capture);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// The factory's stage: calls the product.
#[pipeline_stage(name = "smoke")]
async fn smoke(client: reqwest::Client, url: String) -> Result<(u16, Value), String> {
    let response = client
        .get(&url)
        .send_traced()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, body))
}

fn one(capture: &Capture, name: &str) -> CapturedSpan {
    let spans = capture.spans_named(name);
    assert_eq!(spans.len(), 1, "{name}: {spans:#?}");
    spans.into_iter().next().unwrap()
}

fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(factory_observability::propagation::propagator());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_the_stage_through_the_request_into_the_product() {
    install_propagator();
    let capture = Arc::new(Capture::new());
    let address = product(Arc::clone(&capture)).await;
    let url = format!(
        "http://127.0.0.1:{}/tasks/1?page=2&token=s3cret",
        address.port()
    );
    let cx = capture
        .context()
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let (status, body) = smoke(client(), url).with_context(cx).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["tenant"], "acme", "baggage travels with the request");

    let stages = capture.spans_named("pipeline.stage");
    let stage = |name: &str| {
        stages
            .iter()
            .find(|s| s.attr("stage.name").as_deref() == Some(name))
            .unwrap()
    };
    let client = one(&capture, "GET");
    assert_eq!(client.parent_span_id, stage("smoke").span_id);
    assert_eq!(stage("get_task").parent_span_id, client.span_id);
    assert_eq!(stage("get_task").trace_id, stage("smoke").trace_id);
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(
        client.status,
        Status::Unset,
        "a 200 leaves the status unset"
    );
    assert_eq!(client.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(client.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(client.attr("server.port"), Some(address.port().to_string()));
    assert_eq!(
        client.attr("url.full"),
        Some(format!(
            "http://127.0.0.1:{}/tasks/1?page=2&token=REDACTED",
            address.port()
        ))
    );
    assert_eq!(
        client.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(client.attr("error.type"), None);
    assert_eq!(client.attr("code.function.name"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_ids_are_exact_and_a_404_is_a_client_error() {
    install_propagator();
    let capture = Arc::new(Capture::new());
    let address = product(Arc::clone(&capture)).await;
    let client = client();
    let ok = format!("http://127.0.0.1:{}/tasks/1", address.port());
    let missing = format!("http://127.0.0.1:{}/tasks/2", address.port());
    capture
        .run_async(async {
            assert_eq!(smoke(client.clone(), ok).await.unwrap().0, 200);
            assert_eq!(smoke(client.clone(), missing).await.unwrap().0, 404);
        })
        .await;

    let spans = capture.spans();
    let smokes: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some("smoke"))
        .collect();
    assert_eq!(smokes.len(), 2);
    for (smoke, expected_status) in smokes.iter().zip([200, 404]) {
        // stage → CLIENT span → the product's span, in one trace.
        let client = spans
            .iter()
            .find(|s| s.kind == SpanKind::Client && s.parent_span_id == smoke.span_id)
            .expect("a CLIENT span under the stage");
        let server = spans
            .iter()
            .find(|s| {
                s.attr("stage.name").as_deref() == Some("get_task")
                    && s.parent_span_id == client.span_id
            })
            .expect("the product's span under the CLIENT span");
        assert_eq!(client.trace_id, smoke.trace_id);
        assert_eq!(server.trace_id, smoke.trace_id);
        assert_eq!(
            client.attr("http.response.status_code"),
            Some(expected_status.to_string())
        );
        if expected_status == 404 {
            assert_eq!(client.attr("error.type").as_deref(), Some("404"));
            assert_eq!(
                client.status,
                Status::error("HTTP 404 Not Found"),
                "a 404 is an error on the client"
            );
            assert!(client.events.is_empty(), "no exception event for a status");
        } else {
            assert_eq!(client.status, Status::Unset);
        }
    }
    // Two traces: each stage call was a root.
    assert_ne!(smokes[0].trace_id, smokes[1].trace_id);

    // The metric: one point per status, low-cardinality labels only, in seconds.
    let points = capture.metric("http.client.request.duration");
    assert_eq!(points.len(), 2, "{points:#?}");
    for point in &points {
        assert!(matches!(
            point.value,
            PointValue::Histogram { count: 1, .. }
        ));
        assert_eq!(point.unit, "s");
        let mut keys: Vec<&str> = point.attributes.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let expected: &[&str] = if point.attributes.contains_key("error.type") {
            &[
                "error.type",
                "http.request.method",
                "http.response.status_code",
                "server.address",
                "server.port",
                "url.scheme",
            ]
        } else {
            &[
                "http.request.method",
                "http.response.status_code",
                "server.address",
                "server.port",
                "url.scheme",
            ]
        };
        assert_eq!(keys, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_and_a_refused_connection_are_errors() {
    install_propagator();
    let capture = Arc::new(Capture::new());
    let address = product(Arc::clone(&capture)).await;
    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = client();
    capture
        .run_async(async {
            let broken = format!("http://127.0.0.1:{}/broken", address.port());
            assert_eq!(smoke(client.clone(), broken).await.unwrap().0, 500);
            let refused = format!("http://user:pw@127.0.0.1:{}/health", closed.port());
            assert!(smoke(client.clone(), refused).await.is_err());
        })
        .await;
    let clients: Vec<CapturedSpan> = capture
        .spans()
        .into_iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2);
    let server_error = &clients[0];
    assert_eq!(server_error.attr("error.type").as_deref(), Some("500"));
    assert!(matches!(server_error.status, Status::Error { .. }));
    let refused = &clients[1];
    assert_eq!(refused.attr("error.type").as_deref(), Some("connect"));
    assert_eq!(refused.attr("http.response.status_code"), None);
    // reqwest moves the URL's credentials into an `Authorization` header when the request is
    // built: they are not in `url.full` (nor redacted there; see the unit test of `redacted`).
    assert_eq!(
        refused.attr("url.full"),
        Some(format!("http://127.0.0.1:{}/health", closed.port()))
    );
    let Status::Error { description } = &refused.status else {
        panic!("{:?}", refused.status)
    };
    assert!(!description.contains("pw"), "{description}");
    assert!(!description.is_empty());
    assert_eq!(
        refused.events.len(),
        1,
        "an exception event for the transport error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_pipeline_the_current_context_is_still_sent() {
    install_propagator();
    // No init, no capture: a remote context attached by hand is what goes out.
    let capture = Arc::new(Capture::new());
    let address = product(Arc::clone(&capture)).await;
    let remote = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
        opentelemetry::trace::SpanId::from(0x00f067aa0ba902b7),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let cx = Context::new().with_remote_span_context(remote);
    let url = format!("http://127.0.0.1:{}/tasks/1", address.port());
    let response = client()
        .get(url)
        .send_traced()
        .with_context(cx)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let server = one(&capture, "pipeline.stage");
    assert_eq!(
        server.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
}

/// The factory's stage, with a `reqwest-middleware` client.
#[pipeline_stage(name = "smoke")]
async fn smoke_through_middleware(
    client: reqwest_middleware::ClientWithMiddleware,
    url: String,
) -> Result<u16, String> {
    let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// A middleware below ours that refuses every request to `/quota`.
struct Quota;

#[derive(Debug)]
struct QuotaExceeded;

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("quota exceeded")
    }
}

impl std::error::Error for QuotaExceeded {}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Quota {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if request.url().path() == "/quota" {
            return Err(reqwest_middleware::Error::middleware(QuotaExceeded));
        }
        next.run(request, extensions).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_gives_the_same_client_spans_and_continues_the_trace() {
    use factory_observability::propagation::TracingMiddleware;
    install_propagator();
    let capture = Arc::new(Capture::new());
    let address = product(Arc::clone(&capture)).await;
    let client = reqwest_middleware::ClientBuilder::new(client())
        .with(TracingMiddleware::new())
        .with(Quota)
        .build();
    let base = format!("http://127.0.0.1:{}", address.port());
    let cx = capture
        .context()
        .with_baggage([KeyValue::new("tenant", "acme")]);
    async {
        let ok = format!("{base}/tasks/1?token=s3cret");
        assert_eq!(smoke_through_middleware(client.clone(), ok).await, Ok(200));
        let missing = format!("{base}/tasks/2");
        assert_eq!(
            smoke_through_middleware(client.clone(), missing).await,
            Ok(404)
        );
        let refused = smoke_through_middleware(client.clone(), format!("{base}/quota")).await;
        assert_eq!(refused, Err("quota exceeded".to_owned()));
    }
    .with_context(cx)
    .await;

    let spans = capture.spans();
    let smokes: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some("smoke"))
        .collect();
    assert_eq!(smokes.len(), 3);
    let client_under = |stage: &CapturedSpan| -> CapturedSpan {
        let clients: Vec<&CapturedSpan> = spans
            .iter()
            .filter(|s| s.kind == SpanKind::Client && s.parent_span_id == stage.span_id)
            .collect();
        assert_eq!(clients.len(), 1, "one CLIENT span under {stage:#?}");
        clients[0].clone()
    };

    // 200: stage → CLIENT span → the product's span; the URL redacted.
    let ok = client_under(smokes[0]);
    assert_eq!(ok.name, "GET");
    assert_eq!(ok.status, Status::Unset);
    assert_eq!(ok.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(ok.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(ok.attr("server.port"), Some(address.port().to_string()));
    assert_eq!(
        ok.attr("url.full"),
        Some(format!("{base}/tasks/1?token=REDACTED"))
    );
    assert_eq!(ok.attr("http.response.status_code").as_deref(), Some("200"));
    let served: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.attr("stage.name").as_deref() == Some("get_task"))
        .collect();
    assert_eq!(served.len(), 2);
    assert_eq!(served[0].parent_span_id, ok.span_id);
    assert_eq!(served[0].trace_id, smokes[0].trace_id);

    // 404: an error on the client.
    let missing = client_under(smokes[1]);
    assert_eq!(missing.attr("error.type").as_deref(), Some("404"));
    assert_eq!(missing.status, Status::error("HTTP 404 Not Found"));
    assert_eq!(served[1].parent_span_id, missing.span_id);

    // A middleware's error: no response, `error.type` `_OTHER`, its message.
    let quota = client_under(smokes[2]);
    assert_eq!(quota.attr("error.type").as_deref(), Some("_OTHER"));
    assert_eq!(quota.attr("http.response.status_code"), None);
    assert_eq!(quota.status, Status::error("quota exceeded"));

    let points = capture.metric("http.client.request.duration");
    assert_eq!(points.len(), 3, "{points:#?}");
}

/// A client for loopback HTTP. The workspace builds reqwest with rustls and no crypto provider
/// of its own (the OTLP exporters bring theirs), so one is installed before the first client.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
