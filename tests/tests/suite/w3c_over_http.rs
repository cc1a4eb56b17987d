//! W3C Trace Context end to end: a real axum server on loopback answers with the context it
//! extracted from a real reqwest request (through the global propagator `init` installs) and
//! with what an instrumented call under it would send on. The rules themselves are tested one
//! by one in `w3c_trace_context.rs`; this proves they hold for headers as HTTP delivers them
//! (several occurrences of a name, case, white space).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use factory_observability::pipeline_stage;
use factory_observability::propagation::{extract_from_headers, inject_into_headers};
use factory_observability::testing::Capture;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;
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
