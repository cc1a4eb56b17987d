//! OpenTelemetry's span limits and the HTTP server's settings, from the environment, end to end:
//! a real axum server with `HttpServerLayer::new()` on loopback, hostile requests over TCP, and
//! the spans as the embedded default writes them (OTLP/JSON, `traces.jsonl`), read back as JSON.
//! A bad value of any of the variables is an `InitError` naming it. One test: `init` is
//! process-wide.
//!
//! Specification: `configuration/sdk-environment-variables.md`, "Attribute Limits" and "Span
//! Limits" (the variables; a span-specific one wins over the general one); `common/README.md`,
//! "Attribute Limits" (string values truncated counting characters, attributes past the count
//! discarded); the exported span's `droppedAttributesCount` (OTLP `Span`).

use factory_observability::{handler, pipeline_stage, HttpServerLayer};
use factory_observability_tests::isolated::run_in_own_process;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;

#[handler]
async fn task() -> &'static str {
    "ok"
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[pipeline_stage(fields(note = note, tag = "t"))]
fn review(note: &str) -> Result<u32, Refused> {
    Err(Refused("é".repeat(300)))
}

/// Every span of a `traces.jsonl` file, as JSON.
fn spans(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut spans = Vec::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).unwrap();
        for resource in request["resourceSpans"].as_array().unwrap() {
            for scope in resource["scopeSpans"].as_array().unwrap() {
                spans.extend(scope["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    spans
}

fn attribute(attributes: &Value, key: &str) -> Option<String> {
    attributes
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| match &kv["value"]["stringValue"] {
            Value::String(text) => text.clone(),
            _ => kv["value"].to_string(),
        })
}

fn dropped(object: &Value) -> u64 {
    object["droppedAttributesCount"].as_u64().unwrap_or(0)
}

#[test]
fn limits_and_server_settings_from_the_environment_shape_what_is_exported() {
    if run_in_own_process(
        module_path!(),
        "limits_and_server_settings_from_the_environment_shape_what_is_exported",
    ) {
        return;
    }
    // Bad values first: `init` refuses them, naming the variable and the accepted values.
    for (name, value, accepted) in [
        (
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "-1",
            "a whole number from 0 to 2147483647 (unset: the default)",
        ),
        (
            "FACTORY_OBS_SPAN_QUEUE_MAX_BYTES",
            "64MiB",
            "a whole number of bytes from 65536 to 1099511627776",
        ),
        (
            "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES",
            "proxy.internal",
            "none, a number of proxies in front of the server from 1 to 32, or a \
             comma-separated list of IP addresses and CIDR blocks of your proxies (e.g. \
             10.0.0.0/8,127.0.0.1)",
        ),
    ] {
        std::env::set_var(name, value);
        let error = factory_observability::Telemetry::builder("limits-test")
            .init_without_subscriber()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{name}=\"{value}\" is not valid: expected {accepted}")
        );
        std::env::remove_var(name);
    }

    let dir = std::env::temp_dir().join(format!("fo-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The span-specific length limit wins over the general one; the general count limit holds
    // for events' attributes, the span-specific one for spans'.
    std::env::set_var("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "500");
    std::env::set_var("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100");
    std::env::set_var("OTEL_ATTRIBUTE_COUNT_LIMIT", "1");
    std::env::set_var("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "9");
    std::env::set_var("FACTORY_OBS_HTTP_SERVER_MAX_CHARS", "512");
    std::env::set_var("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "127.0.0.1");
    let telemetry = factory_observability::Telemetry::builder("limits-test")
        .embedded_dir(&dir)
        .summary(false)
        .init_without_subscriber()
        .expect("init");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path = format!("/tasks/{}", "7".repeat(10_000));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/tasks/{id}", axum::routing::get(task))
            .layer(HttpServerLayer::new())
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        // (Both in one request would pass hyper's limit on a request's head, ~400 KB.)
        for (agent, forwarded) in [
            ("A".repeat(300_000), "203.0.113.9".to_owned()),
            ("A".repeat(300), "Z".repeat(100_000)),
        ] {
            let response = client
                .get(format!("http://{addr}{path}"))
                .header("user-agent", agent)
                .header("x-forwarded-for", forwarded)
                .send()
                .await
                .unwrap();
            assert_eq!(response.text().await.unwrap(), "ok");
        }
    });
    assert!(review(&"n".repeat(1_000)).is_err());
    let report = telemetry.shutdown();
    assert_eq!(report.undelivered(), 0, "{report}");

    let spans = spans(&dir.join("traces.jsonl"));
    let servers: Vec<&Value> = spans
        .iter()
        .filter(|span| span["name"] == "GET /tasks/{id}")
        .collect();
    assert_eq!(servers.len(), 2);
    let mut clients = Vec::new();
    for span in &servers {
        let attributes = &span["attributes"];
        assert_eq!(attributes.as_array().unwrap().len(), 9);
        // Cut to 512 by the server's bound, then to 100 by the span limit.
        let agent = attribute(attributes, "user_agent.original").unwrap();
        assert_eq!(agent, "A".repeat(100));
        let url_path = attribute(attributes, "url.path").unwrap();
        assert_eq!(url_path, path[..100]);
        // `code.function.name` and `http.response.status_code`, added at the end, are past
        // the count of 9.
        assert_eq!(dropped(span), 2);
        clients.push(attribute(attributes, "client.address"));
    }
    clients.sort();
    // The trusted peer (127.0.0.1) forwarded for 203.0.113.9; the garbage one ends at the peer.
    assert_eq!(
        clients,
        [Some("127.0.0.1".to_owned()), Some("203.0.113.9".to_owned())]
    );

    let stage = spans
        .iter()
        .find(|span| span["name"] == "pipeline.stage")
        .unwrap();
    let note = attribute(&stage["attributes"], "note").unwrap();
    assert_eq!(note, "n".repeat(100));
    let event = &stage["events"][0];
    assert_eq!(event["name"], "exception");
    // The general count limit, 1, holds for the event's attributes: the type is kept, the
    // message dropped and counted.
    assert_eq!(event["attributes"].as_array().unwrap().len(), 1);
    assert_eq!(dropped(event), 1);
    // The status's description is not an attribute: not cut by the attribute limits.
    assert_eq!(
        stage["status"]["message"].as_str().unwrap().chars().count(),
        300
    );
    let _ = std::fs::remove_dir_all(&dir);
}
