//! The browser telemetry endpoint as a stranger on the internet meets it: a running
//! `product_service` on loopback, sent what a page would never send. Each request gets its
//! status and its reason (OTLP/HTTP: 400 "Bad Data", 413 past the body limit, 429 with
//! `Retry-After` when throttled; 401, 403, 415 for the endpoint's own checks), the product
//! keeps answering its own routes between them, and at its shutdown every span of its own was
//! delivered: what the endpoint refused cost it nothing.

use crate::browser_page::{start_product, traces_delivered};
use factory_observability::names::browser::TOKEN_HEADER;
use factory_observability_tests::collector::{parse_spans, Collector};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::io::{Read, Write};
use std::time::Duration;

const TOKEN: &str = "page-token-0123456789";

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// One span of `service`, with `attributes`, as the page's exporter would send it.
fn request(service: &str, name: &str, attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0x5b; 16],
                    span_id: vec![0xee; 8],
                    name: name.to_owned(),
                    kind: 1,
                    start_time_unix_nano: 1_700_000_000_000_000_000,
                    end_time_unix_nano: 1_700_000_000_100_000_000,
                    attributes,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
}

struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `partialSuccess` of a protobuf answer: (`rejected_spans`, `error_message`).
    fn partial(&self) -> (i64, String) {
        let response = ExportTraceServiceResponse::decode(self.body.as_slice()).unwrap();
        let partial = response.partial_success.expect("a partial success");
        (partial.rejected_spans, partial.error_message)
    }
}

impl Client {
    /// Sends `body` to the endpoint from the page's origin, with the token, unless `headers`
    /// replace them (a header given an empty value is left out).
    fn send(&self, content_type: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let origin = self.base.clone();
        let mut all = vec![
            ("content-type", content_type),
            ("origin", origin.as_str()),
            (TOKEN_HEADER, TOKEN),
        ];
        for (name, value) in headers {
            all.retain(|(kept, _)| kept != name);
            all.push((name, value));
        }
        let mut builder = self.http.post(format!("{}/v1/traces", self.base));
        for (name, value) in all.into_iter().filter(|(_, value)| !value.is_empty()) {
            builder = builder.header(name, value);
        }
        let response = builder.body(body).send().expect("the endpoint answers");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().parse().unwrap());
        Answer {
            status,
            retry_after,
            body: response.bytes().unwrap().to_vec(),
        }
    }

    fn protobuf(&self, request: &ExportTraceServiceRequest) -> Answer {
        self.send("application/x-protobuf", request.encode_to_vec(), &[])
    }

    /// Sends `bytes` of body in chunks (`Transfer-Encoding: chunked`: no length announced) over
    /// a connection of its own, as long as the server reads; returns the answer's status line.
    fn streamed(&self, bytes: usize) -> String {
        let address = self.base.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nhost: {address}\r\norigin: {}\r\n{TOKEN_HEADER}: \
             {TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
            self.base
        );
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
        for _ in 0..bytes / (16 * 1024) {
            // The server stops reading once it has refused the body.
            if stream.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        answer.lines().next().unwrap_or_default().to_owned()
    }

    /// The product's own route still answers.
    fn product_serves(&self) {
        let response = self
            .http
            .get(format!("{}/health", self.base))
            .send()
            .expect("the product answers");
        assert_eq!(response.status().as_u16(), 200);
    }
}

#[test]
fn every_abuse_gets_its_status_and_the_product_loses_nothing_of_its_own() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let collector = Collector::start();
    let product = start_product(
        &collector,
        &[
            ("FACTORY_OBS_BROWSER_TOKEN", TOKEN),
            // Room for 10,000 attributes, so that they reach the attribute limit.
            ("FACTORY_OBS_BROWSER_MAX_BODY_BYTES", "1048576"),
        ],
    );
    let client = Client {
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .unwrap(),
        base: product.base.clone(),
    };
    let mut product_requests = 0;
    let mut serves = |client: &Client| {
        client.product_serves();
        product_requests += 1;
    };
    let valid = request("product-webapp", "user.create_task", vec![]);

    // Another site's page, and no page at all: 403.
    let answer = client.send(
        "application/x-protobuf",
        valid.encode_to_vec(),
        &[("origin", "https://evil.example")],
    );
    assert_eq!(answer.status, 403, "{}", answer.text());
    let answer = client.send(
        "application/json",
        b"{}".to_vec(),
        &[("origin", "https://evil.example")],
    );
    assert_eq!(
        answer.text(),
        r#"{"message":"Origin \"https://evil.example\" is not this site's nor one of FACTORY_OBS_BROWSER_ALLOWED_ORIGINS"}"#
    );
    let answer = client.send("application/json", b"{}".to_vec(), &[("origin", "")]);
    assert_eq!(answer.status, 403, "{}", answer.text());
    serves(&client);

    // No token, and a wrong one: 401.
    for token in ["", "page-token-9876543210"] {
        let answer = client.send(
            "application/x-protobuf",
            valid.encode_to_vec(),
            &[(TOKEN_HEADER, token)],
        );
        assert_eq!(answer.status, 401, "{}", answer.text());
    }
    serves(&client);

    // Past the body limit (1 MiB here): announced, streamed without a length, and a gzip bomb
    // whose 8 MiB inflate from a few KiB. 413, never read whole.
    let answer = client.send("application/json", vec![b' '; 2 << 20], &[]);
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(
        answer.text().contains("larger than 1048576 bytes"),
        "{}",
        answer.text()
    );
    assert_eq!(client.streamed(2 << 20), "HTTP/1.1 413 Payload Too Large");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&vec![b' '; 8 << 20]).unwrap();
    let bomb = gzip.finish().unwrap();
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let answer = client.send("application/json", bomb, &[("content-encoding", "gzip")]);
    assert_eq!(answer.status, 413, "{}", answer.text());
    serves(&client);

    // Not OTLP: 400 with the decoder's reason, in the request's encoding; 415 for other types.
    let answer = client.send("application/json", b"{\"resourceSpans\": 5".to_vec(), &[]);
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .text()
            .starts_with(r#"{"message":"not an OTLP/JSON ExportTraceServiceRequest: "#),
        "{}",
        answer.text()
    );
    let answer = client.send("application/x-protobuf", vec![0xff; 64], &[]);
    assert_eq!(answer.status, 400);
    let status = decode_status(&answer.body);
    assert!(
        status.starts_with("not a protobuf ExportTraceServiceRequest: "),
        "{status}"
    );
    let answer = client.send("text/plain", b"hello".to_vec(), &[]);
    assert_eq!(answer.status, 415, "{}", answer.text());
    serves(&client);

    // 10,000 attributes: the span is kept with the first 32, and the answer says how many were
    // dropped (a partial success with nothing rejected: a warning).
    let attributes = (0..10_000).map(|i| string(&format!("a{i}"), "v")).collect();
    let answer = client.protobuf(&request("product-webapp", "crowded", attributes));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.partial(), (0, "9968 attributes dropped".to_owned()));
    // A service the product does not allow: refused, counted in `rejected_spans`.
    let answer = client.protobuf(&request("evil-service", "user.create_task", vec![]));
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.partial(),
        (
            1,
            "1 spans of service.name \"evil-service\" refused (allowed: product-webapp)".to_owned()
        )
    );
    serves(&client);

    // A burst from one client past its rate limit (120 a minute, bursts of 30): the first are
    // taken, the rest get 429 with a Retry-After, and the product answers throughout.
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let answer = client.protobuf(&valid);
        if answer.status == 429 {
            assert!(answer.retry_after.is_some_and(|seconds| seconds >= 1));
        }
        statuses.push(answer.status);
    }
    let taken = statuses.iter().filter(|status| **status == 200).count();
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(taken + throttled, 60, "{statuses:?}");
    assert!((1..=30).contains(&taken), "{taken} taken: {statuses:?}");
    serves(&client);

    let stderr = product.stop();
    let (delivered, submitted) = traces_delivered(&stderr);
    assert_eq!(delivered, submitted, "{stderr}");
    let spans = parse_spans(&collector.output());
    let own: Vec<_> = spans
        .iter()
        .filter(|span| span.resource["service.name"] == "Str(product-api)")
        .collect();
    assert_eq!(own.len(), product_requests, "{own:#?}");
    assert!(own.iter().all(|span| span.name == "GET /health"));
    let crowded: Vec<_> = spans.iter().filter(|span| span.name == "crowded").collect();
    assert_eq!(crowded.len(), 1);
    assert_eq!(crowded[0].attributes.len(), 32);
    let from_page = spans
        .iter()
        .filter(|span| span.resource["service.name"] == "Str(product-webapp)")
        .count();
    // The crowded span, and the burst's taken ones; nothing else passed.
    assert_eq!(from_page, 1 + taken, "{statuses:?}");
    assert_eq!(delivered as usize, spans.len());
}

/// The `message` of a protobuf `google.rpc.Status` (field 2).
fn decode_status(body: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Status {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    Status::decode(body).unwrap().message
}
