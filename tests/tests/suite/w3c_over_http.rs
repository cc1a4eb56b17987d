//! W3C Trace Context end to end: a real axum server on loopback answers with the context it
//! extracted from a real reqwest request (through the global propagator `init` installs) and
//! with what an instrumented call under it would send on. The rules themselves are tested one
//! by one in `w3c_trace_context.rs`; this proves they hold for headers as HTTP delivers them
//! (several occurrences of a name, case, white space).
//!
//! `a_product_keeps_the_callers_tracestate` is the product's side: a server behind
//! `HttpServerLayer` whose handler calls another server with `send_traced`, for `tracestate`
//! lists of the current Level 2 key grammar and with repeated keys.

use crate::http_harness::{ended, InCapture};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use factory_observability::propagation::{
    extract_from_headers, inject_into_headers, RequestBuilderExt as _,
};
use factory_observability::testing::Capture;
use factory_observability::{handler, pipeline_stage, HttpServerLayer};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, TraceContextExt as _};
use opentelemetry::Context;
use serde_json::{json, Value};
use std::sync::Arc;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[pipeline_stage(name = "service")]
async fn service() -> HeaderMap {
    let mut outgoing = HeaderMap::new();
    inject_into_headers(&Context::current(), &mut outgoing);
    outgoing
}

async fn answer(State(capture): State<Arc<Capture>>, headers: HeaderMap) -> Json<Value> {
    // The request's context on top of the capture's, which records the service's span.
    let cx = capture.run(|| extract_from_headers(&headers));
    let span = cx.span();
    let remote = span.span_context();
    let extracted = remote.is_valid().then(|| {
        json!({
            "trace_id": remote.trace_id().to_string(),
            "parent_id": remote.span_id().to_string(),
            "flags": remote.trace_flags().to_u8(),
            "tracestate": remote.trace_state().header(),
        })
    });
    let outgoing = service().with_context(cx.clone()).await;
    let all = |name: &str| -> Vec<String> {
        outgoing
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    Json(json!({
        "extracted": extracted,
        "traceparent": all("traceparent"),
        "tracestate": all("tracestate"),
    }))
}

async fn call(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Value {
    let mut request = client.post(url);
    for (name, value) in headers {
        // `header` appends: repeated names are sent as separate header lines.
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "the request succeeds whatever it carries"
    );
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_as_http_delivers_them() {
    opentelemetry::global::set_text_map_propagator(factory_observability::propagation::propagator());
    let capture = Arc::new(Capture::new());
    let app = Router::new()
        .route("/service", post(answer))
        .with_state(Arc::clone(&capture));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/service", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = client();
    let valid = format!("00-{TRACE}-{PARENT}-03");

    // Continued: trace id, parent id and both flags as sent; the tracestate headers combined.
    let answer = call(
        &client,
        &url,
        &[
            ("TraceParent", &format!(" {valid}\t")),
            ("tracestate", "foo=1,bar=2"),
            ("TRACESTATE", "congo=t61rcWkgMzE"),
        ],
    )
    .await;
    assert_eq!(
        answer["extracted"],
        json!({"trace_id": TRACE, "parent_id": PARENT, "flags": 3,
               "tracestate": "foo=1,bar=2,congo=t61rcWkgMzE"})
    );
    let sent = answer["traceparent"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    let sent = sent[0].as_str().unwrap();
    assert!(
        sent.starts_with(&format!("00-{TRACE}-")) && sent.ends_with("-03"),
        "{sent}"
    );
    assert_ne!(
        &sent[36..52],
        PARENT,
        "the service's span is the new parent"
    );
    assert_eq!(
        answer["tracestate"],
        json!(["foo=1,bar=2,congo=t61rcWkgMzE"])
    );

    // Two traceparent lines: neither is trusted, a new trace starts, no tracestate is sent.
    let answer = call(
        &client,
        &url,
        &[
            ("traceparent", &valid),
            ("traceparent", &valid),
            ("tracestate", "foo=1"),
        ],
    )
    .await;
    assert_eq!(answer["extracted"], Value::Null);
    let sent = answer["traceparent"][0].as_str().unwrap();
    assert!(!sent.contains(TRACE), "{sent}");
    assert!(
        sent.ends_with("-03"),
        "a new trace of ours is sampled and random: {sent}"
    );
    assert_eq!(answer["tracestate"], json!([]));

    // A malformed traceparent (upper case) and an invalid tracestate: a new trace, no error.
    let answer = call(
        &client,
        &url,
        &[
            ("traceparent", &valid.to_uppercase()),
            ("tracestate", "foo=,bar=3"),
        ],
    )
    .await;
    assert_eq!(answer["extracted"], Value::Null);

    // A valid traceparent with an invalid tracestate: the trace goes on, the tracestate does not.
    let answer = call(
        &client,
        &url,
        &[("traceparent", &valid), ("tracestate", "foo=bar=baz")],
    )
    .await;
    assert_eq!(answer["extracted"]["trace_id"], TRACE);
    assert_eq!(answer["extracted"]["tracestate"], "");
    assert_eq!(answer["tracestate"], json!([]));

    // Every service span is in the capture, children of what was sent when it was valid.
    let spans = capture.spans_named("pipeline.stage");
    assert_eq!(spans.len(), 4);
    let continued: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id.to_string() == TRACE)
        .collect();
    assert_eq!(continued.len(), 2);
    assert!(continued
        .iter()
        .all(|s| s.parent_span_id.to_string() == PARENT));
    server.abort();
}

/// A client for loopback HTTP. The workspace builds reqwest with rustls and no crypto provider
/// of its own (the OTLP exporters bring theirs), so one is installed before the first client.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

// ---- a product behind HttpServerLayer --------------------------------------------------------

/// The downstream service: answers with the `tracestate` header lines it received.
async fn echo_tracestate(headers: HeaderMap) -> Json<Vec<String>> {
    Json(
        headers
            .get_all("tracestate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
    )
}

/// The product's handler: calls the downstream service with `send_traced`, under the
/// request's SERVER span, and answers with what that service received.
#[handler]
async fn call_downstream(State(downstream): State<String>) -> Json<Vec<String>> {
    let response = client().get(&downstream).send_traced().await.unwrap();
    Json(serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

/// Serves `router` on a free loopback port, each request in `capture`; returns its address.
async fn serve_in(capture: &Capture, router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = InCapture {
        inner: router,
        cx: capture.context(),
    };
    let make = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
    tokio::spawn(async move { axum::serve(listener, make).await });
    addr
}

/// Section "Key" of the current Level 2 text (`@` is a key character anywhere after the first,
/// 256 characters in all) and section "Combined Header Value" (one entry per key, the first
/// kept), behind `HttpServerLayer`: the SERVER span's exported span context carries the list
/// (what OpenTelemetry's `TraceState` can hold of it, see below), and the handler's outgoing
/// call sends the list on, in its order ("Mutating the tracestate Field": a vendor receiving
/// `tracestate` MUST send it to outgoing requests).
///
/// opentelemetry 0.33's `TraceState` rejects a key with a second `@` or more than 13
/// characters after its `@`: those members cannot be in an exported span context, and the
/// SERVER span holds the others; the outgoing call still sends the whole list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_keeps_the_callers_tracestate() {
    opentelemetry::global::set_text_map_propagator(factory_observability::propagation::propagator());
    let capture = Capture::new();
    let downstream = serve_in(&capture, Router::new().route("/echo", get(echo_tracestate))).await;
    let product = serve_in(
        &capture,
        Router::new()
            .route("/call", get(call_downstream))
            .layer(HttpServerLayer::new())
            .with_state(format!("http://{downstream}/echo")),
    )
    .await;
    let tenant_242 = format!("{}@v", "t".repeat(242));
    let system_15 = format!("t@{}", "v".repeat(15));
    let cases: Vec<(Vec<String>, String, String)> = vec![
        // (tracestate lines received, the SERVER span's exported TraceState, sent on)
        (
            vec!["foo@=1,bar=2".into()],
            "foo@=1,bar=2".into(),
            "foo@=1,bar=2".into(),
        ),
        (
            vec!["foo@@bar=1,bar=2".into()],
            "bar=2".into(),
            "foo@@bar=1,bar=2".into(),
        ),
        (
            vec!["foo@bar@baz=1,bar=2".into()],
            "bar=2".into(),
            "foo@bar@baz=1,bar=2".into(),
        ),
        (
            vec![format!("{tenant_242}=1,bar=2")],
            format!("{tenant_242}=1,bar=2"),
            format!("{tenant_242}=1,bar=2"),
        ),
        (
            vec![format!("{system_15}=1,bar=2")],
            "bar=2".into(),
            format!("{system_15}=1,bar=2"),
        ),
        (vec!["foo=1,foo=1".into()], "foo=1".into(), "foo=1".into()),
        (
            vec!["foo=1".into(), "foo=1".into()],
            "foo=1".into(),
            "foo=1".into(),
        ),
        (
            vec!["congo=1,rojo=2".into(), "congo=3, x@@y=4".into()],
            "congo=1,rojo=2".into(),
            "congo=1,rojo=2,x@@y=4".into(),
        ),
    ];
    let client = client();
    for (index, (received, _, sent)) in cases.iter().enumerate() {
        let parent = format!("{:016x}", index + 1);
        let mut request = client
            .get(format!("http://{product}/call"))
            .header("traceparent", format!("00-{TRACE}-{parent}-01"));
        for line in received {
            request = request.header("tracestate", line);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let downstream_received: Vec<String> =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(
            downstream_received,
            std::slice::from_ref(sent),
            "{received:?}"
        );
    }

    // The downstream server is behind no layer: the SERVER spans are the product's.
    let servers = ended(&capture, SpanKind::Server, cases.len()).await;
    let clients = ended(&capture, SpanKind::Client, cases.len()).await;
    for (index, (received, exported, _)) in cases.iter().enumerate() {
        let parent = format!("{:016x}", index + 1);
        let product_span = servers
            .iter()
            .find(|span| span.parent_span_id.to_string() == parent)
            .expect("the product's SERVER span, child of the caller's span");
        assert_eq!(product_span.trace_id.to_string(), TRACE);
        assert_eq!(product_span.name, "GET /call");
        assert_eq!(&product_span.trace_state, exported, "{received:?}");
        // The CLIENT span of the outgoing call is the SERVER span's child, in the same state.
        let client_span = clients
            .iter()
            .find(|span| span.parent_span_id == product_span.span_id)
            .expect("the handler's CLIENT span");
        assert_eq!(&client_span.trace_state, exported, "{received:?}");
    }
}
