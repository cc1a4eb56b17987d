//! Hostile clients against a real axum server with `HttpServerLayer` on loopback (issue 24,
//! "Untrusted input that is not bounded"): header values and paths of any length are cut before
//! they reach a span, `client.address` is an IP address and never what a client wrote into a
//! forwarding header unless the server trusts the proxy that wrote it, and OpenTelemetry's span
//! limits apply to the request's span. Requests go over real TCP: reqwest, or a raw `TcpStream`
//! for what a well-behaved client would not send.
//!
//! The server's connection tasks run in the test's `Capture` context, so that parallel tests each
//! see their own requests.

use crate::http_harness::{ended, InCapture};
use axum::routing::get;
use axum::Router;
use factory_observability::config::{
    ForwardedHeader, Forwarding, HttpServerSettings, SpanLimits, TrustedProxies,
};
use factory_observability::testing::{Capture, CapturedSpan};
use factory_observability::HttpServerLayer;
use opentelemetry::trace::SpanKind;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[factory_observability::handler]
async fn task() -> &'static str {
    "ok"
}

fn app(settings: HttpServerSettings) -> Router {
    Router::new()
        .route("/tasks/{id}", get(task))
        .layer(HttpServerLayer::with_settings(settings))
}

/// Serves `app(settings)` on a free loopback port inside `capture`; with `connect_info`, the
/// server knows each connection's peer (`into_make_service_with_connect_info`).
async fn serve(capture: &Capture, settings: HttpServerSettings, connect_info: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = InCapture {
        inner: app(settings),
        cx: capture.context(),
    };
    let service = tower::ServiceBuilder::new().service(service);
    if connect_info {
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            SocketAddr,
        >(service);
        tokio::spawn(async move { axum::serve(listener, make).await });
    } else {
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
        tokio::spawn(async move { axum::serve(listener, make).await });
    }
    addr
}

/// Sends `head` (a request line and headers, without the blank line) on a fresh connection and
/// returns the response's status line.
async fn raw(addr: SocketAddr, head: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        response.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn chars(span: &CapturedSpan, key: &str) -> usize {
    span.attr(key)
        .unwrap_or_else(|| panic!("no {key}: {span:?}"))
        .chars()
        .count()
}

fn trusting(header: ForwardedHeader, trusted: &str) -> HttpServerSettings {
    HttpServerSettings {
        forwarded: Some(Forwarding {
            header,
            trusted: TrustedProxies::parse(trusted).unwrap().unwrap(),
        }),
        ..HttpServerSettings::default()
    }
}

/// The probe of issue 24: a `User-Agent` of 300,000 characters and a path of 10,000 were copied
/// whole into the span. Now each is cut at the default bound, 1,024 characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_header_values_and_paths_are_cut_at_the_default_bound() {
    let capture = Capture::new();
    let addr = serve(&capture, HttpServerSettings::default(), true).await;
    let path = format!("/tasks/{}", "7".repeat(10_000));
    let agent = "A".repeat(300_000);
    let status = raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}"),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let host = "h".repeat(5_000);
    let status = raw(
        addr,
        format!("GET /tasks/1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: probe"),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    // An extension method of 2,000 characters (recorded as `_OTHER` plus the original).
    let method = "P".repeat(2_000);
    let status = raw(
        addr,
        format!("{method} /tasks/1 HTTP/1.1\r\nHost: 127.0.0.1"),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");

    let spans = ended(&capture, SpanKind::Server, 3).await;
    let long = spans
        .iter()
        .find(|span| {
            span.attr("user_agent.original")
                .is_some_and(|a| a.starts_with('A'))
        })
        .unwrap();
    assert_eq!(chars(long, "user_agent.original"), 1024);
    assert_eq!(chars(long, "url.path"), 1024);
    assert_eq!(
        long.attr("url.path").unwrap(),
        &path[..1024],
        "the path's first 1,024 characters"
    );
    // The route is the server's template, never the client's path.
    assert_eq!(long.name, "GET /tasks/{id}");
    let hosted = spans
        .iter()
        .find(|span| span.attr("user_agent.original").as_deref() == Some("probe"))
        .unwrap();
    assert_eq!(hosted.attr("server.address").unwrap(), "h".repeat(1024));
    let other = spans
        .iter()
        .find(|span| span.attr("http.request.method").as_deref() == Some("_OTHER"))
        .unwrap();
    // HTTP spans, "Name": `{method}` is `HTTP` for `_OTHER`.
    assert_eq!(other.name, "HTTP /tasks/{id}");
    assert_eq!(chars(other, "http.request.method_original"), 1024);
    for span in &spans {
        assert_eq!(span.attr("client.address").as_deref(), Some("127.0.0.1"));
    }
}

/// `FACTORY_OBS_HTTP_SERVER_MAX_CHARS` in code: a smaller bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_is_a_setting() {
    let capture = Capture::new();
    let settings = HttpServerSettings {
        max_value_chars: 32,
        ..HttpServerSettings::default()
    };
    let addr = serve(&capture, settings, true).await;
    let response = client()
        .get(format!("http://{addr}/tasks/{}", "9".repeat(100)))
        .header("user-agent", "u".repeat(100))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let span = &ended(&capture, SpanKind::Server, 1).await[0];
    assert_eq!(span.attr("user_agent.original").unwrap(), "u".repeat(32));
    assert_eq!(
        span.attr("url.path").unwrap(),
        format!("/tasks/{}", "9".repeat(25))
    );
}

/// `client.address` is never what a client wrote into `X-Forwarded-For` unless configured: by
/// default the connection's peer, and without the peer nothing. The probe sent 300,000
/// characters of garbage, which used to be recorded whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_header_is_not_trusted_by_default() {
    let capture = Capture::new();
    let with_peer = serve(&capture, HttpServerSettings::default(), true).await;
    let without_peer = serve(&capture, HttpServerSettings::default(), false).await;
    let garbage = "Z".repeat(300_000);
    for addr in [with_peer, without_peer] {
        for forwarded in [garbage.as_str(), "203.0.113.9"] {
            let status = raw(
                addr,
                format!(
                    "GET /tasks/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {forwarded}\r\nForwarded: for=203.0.113.9"
                ),
            )
            .await;
            assert_eq!(status, "HTTP/1.1 200 OK");
        }
    }
    let spans = ended(&capture, SpanKind::Server, 4).await;
    let addresses: Vec<Option<String>> = spans
        .iter()
        .map(|span| span.attr("client.address"))
        .collect();
    let from_peer = addresses
        .iter()
        .filter(|a| a.as_deref() == Some("127.0.0.1"))
        .count();
    let absent = addresses.iter().filter(|a| a.is_none()).count();
    assert_eq!((from_peer, absent), (2, 2), "{addresses:?}");
}

/// Trusted proxies by network: the server's peer (127.0.0.1, the "proxy") is trusted, so the
/// entry it appended names the client; what the client wrote further left is not read, and an
/// entry that is not an address ends the walk at the last known hop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_trusted_proxies_the_client_is_the_first_untrusted_hop_from_the_right() {
    let capture = Capture::new();
    let settings = trusting(ForwardedHeader::XForwardedFor, "127.0.0.0/8, 10.0.0.0/8");
    let addr = serve(&capture, settings, true).await;
    let cases = [
        ("203.0.113.9", "203.0.113.9"),
        // The client wrote 6.6.6.6 itself; the proxies appended 203.0.113.9 and 10.0.0.1.
        ("6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        ("[2001:db8::17]:4711", "2001:db8::17"),
        ("198.51.100.1:8080", "198.51.100.1"),
        // Not an address: the walk stops at the peer.
        ("not-an-address", "127.0.0.1"),
        ("203.0.113.9, <script>", "127.0.0.1"),
    ];
    for (index, (forwarded, _)) in cases.iter().enumerate() {
        let response = client()
            .get(format!("http://{addr}/tasks/{index}"))
            .header("x-forwarded-for", *forwarded)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let spans = ended(&capture, SpanKind::Server, cases.len()).await;
    for (index, (forwarded, expected)) in cases.iter().enumerate() {
        let path = format!("/tasks/{index}");
        let span = spans
            .iter()
            .find(|span| span.attr("url.path").as_deref() == Some(path.as_str()))
            .unwrap();
        assert_eq!(
            span.attr("client.address").as_deref(),
            Some(*expected),
            "X-Forwarded-For: {forwarded}"
        );
    }
}

/// A hop count works without the peer: one proxy in front, whose entry is the rightmost.
/// `Forwarded` (RFC 7239) is read only when it is the configured header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_count_and_the_forwarded_header() {
    let capture = Capture::new();
    let xff = serve(
        &capture,
        trusting(ForwardedHeader::XForwardedFor, "1"),
        false,
    )
    .await;
    let forwarded = serve(&capture, trusting(ForwardedHeader::Forwarded, "1"), false).await;
    let send = |addr: SocketAddr, id: u32, headers: &'static [(&'static str, &'static str)]| {
        let mut request = client().get(format!("http://{addr}/tasks/{id}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { assert_eq!(request.send().await.unwrap().status(), 200) }
    };
    send(xff, 1, &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]).await;
    send(xff, 2, &[("x-forwarded-for", "unknown")]).await;
    send(xff, 3, &[("forwarded", "for=198.51.100.7")]).await;
    send(
        forwarded,
        4,
        &[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
        )],
    )
    .await;
    send(forwarded, 5, &[("forwarded", "for=_hidden")]).await;
    send(forwarded, 6, &[("x-forwarded-for", "198.51.100.7")]).await;
    let spans = ended(&capture, SpanKind::Server, 6).await;
    let address = |id: u32| {
        let path = format!("/tasks/{id}");
        spans
            .iter()
            .find(|span| span.attr("url.path").as_deref() == Some(path.as_str()))
            .unwrap()
            .attr("client.address")
    };
    assert_eq!(address(1).as_deref(), Some("198.51.100.7"));
    assert_eq!(address(2), None, "not an address, and no peer known");
    assert_eq!(address(3), None, "Forwarded is not the configured header");
    assert_eq!(address(4).as_deref(), Some("2001:db8:cafe::17"));
    assert_eq!(address(5), None, "an obfuscated node is not an address");
    assert_eq!(
        address(6),
        None,
        "X-Forwarded-For is not the configured header"
    );
}

/// OpenTelemetry's span limits on a request's span (specification `common/README.md`,
/// "Attribute Limits": string values truncated "counting any character in it as 1", attributes
/// past the count discarded and counted), on top of the request bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_limits_apply_to_the_request_span() {
    let capture = Capture::new().with_span_limits(SpanLimits {
        attribute_value_length: Some(10),
        attribute_count: 4,
        ..SpanLimits::default()
    });
    let addr = serve(&capture, HttpServerSettings::default(), true).await;
    let response = client()
        .get(format!("http://{addr}/tasks/123456789012345"))
        .header("user-agent", "x".repeat(300))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let span = &ended(&capture, SpanKind::Server, 1).await[0];
    // The request's labels come first: method, route, scheme, protocol version.
    let keys: Vec<&str> = span.attributes.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "http.request.method",
            "http.route",
            "network.protocol.version",
            "url.scheme"
        ]
    );
    assert_eq!(span.attr("http.route").unwrap(), "/tasks/{id");
    // url.path, server.address, server.port, user_agent.original, client.address,
    // code.function.name, http.response.status_code.
    assert_eq!(span.dropped_attributes_count, 7);
}
