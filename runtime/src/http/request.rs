//! What the SERVER span and the metrics record of a request, per the HTTP server conventions.

use super::routes;
use crate::call::http_server::{ActiveKey, DurationKey, Request as Served};
use crate::names::http_server as names;
use axum::extract::{ConnectInfo, MatchedPath};
use http::{header, Method, Request, Version};
use opentelemetry::{KeyValue, StringValue};
use std::borrow::Cow;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::LocalKey;

/// The request's span name, labels and attributes. The route is axum's `MatchedPath` (the
/// template, `/tasks/{id}`, also under nested routers); without one the span is `{method}`
/// alone: the raw path is never a name or a label.
pub(crate) fn read<B>(request: &Request<B>) -> Served {
    let (method, original) = method(request.method());
    let https = request.uri().scheme_str() == Some("https");
    let scheme = if https { "https" } else { "http" };
    let version = protocol_version(request.version());
    let active = ActiveKey::new(method, https);
    let (route, name) = match request.extensions().get::<MatchedPath>() {
        Some(path) => {
            let (route, name) = routes::route_and_name(active, path.as_str());
            (Some(route), name)
        }
        None => (None, Cow::Borrowed(method)),
    };

    // The duration's labels go first, then the others; room for what the end adds
    // (`code.function.name`, the status code, `error.type`) and a handler's first `fields(...)`.
    let mut attributes = Vec::with_capacity(LABELS + 6 + 5);
    attributes.push(KeyValue::new(names::HTTP_REQUEST_METHOD, method));
    if let Some(route) = &route {
        attributes.push(KeyValue::new(names::HTTP_ROUTE, route.clone()));
    }
    attributes.push(KeyValue::new(names::URL_SCHEME, scheme));
    if let Some(version) = version {
        attributes.push(KeyValue::new(names::NETWORK_PROTOCOL_VERSION, version));
    }
    if let Some(original) = original {
        attributes.push(KeyValue::new(names::HTTP_REQUEST_METHOD_ORIGINAL, original));
    }
    attributes.push(KeyValue::new(
        names::URL_PATH,
        request.uri().path().to_owned(),
    ));
    if let Some((host, port)) = server_address(request) {
        attributes.push(KeyValue::new(names::SERVER_ADDRESS, host));
        if let Some(port) = port {
            attributes.push(KeyValue::new(names::SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(agent) = header_text(request, header::USER_AGENT) {
        attributes.push(KeyValue::new(
            names::USER_AGENT_ORIGINAL,
            shared(&LAST_USER_AGENT, agent),
        ));
    }
    if let Some(client) = client_address(request) {
        attributes.push(KeyValue::new(names::CLIENT_ADDRESS, client));
    }
    Served {
        name,
        active,
        duration: DurationKey {
            active,
            route,
            version,
            status: 0,
        },
        attributes,
    }
}

/// The most labels `read` records: method, route, scheme, protocol version.
const LABELS: usize = 4;

/// The method as the conventions record it, and the original when that is `_OTHER`.
fn method(method: &Method) -> (&'static str, Option<String>) {
    let known = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => return (names::METHOD_OTHER, Some(method.as_str().to_owned())),
    };
    (known, None)
}

fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

fn header_text<B>(request: &Request<B>, name: header::HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// The host and port the client addressed: the `Host` header (HTTP/1.1), else the URI's
/// authority (HTTP/2's `:authority`).
fn server_address<B>(request: &Request<B>) -> Option<(StringValue, Option<u16>)> {
    let copied = |authority: &http::uri::Authority| {
        (
            StringValue::from(authority.host().to_owned()),
            authority.port_u16(),
        )
    };
    match header_text(request, header::HOST) {
        Some(host) => match plain_host_port(host) {
            Some((host, port)) => Some((shared(&LAST_HOST, host), port)),
            None => Some(copied(&host.parse().ok()?)),
        },
        None => Some(copied(request.uri().authority()?)),
    }
}

thread_local! {
    /// The last `Host` (a plain one) and `User-Agent` this thread recorded.
    static LAST_HOST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    static LAST_USER_AGENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// `text` as an attribute value, sharing the string `last` holds when it is the same text: a
/// server's requests name the same host, and a client sends the same user agent with each of
/// its requests, so a comparison saves the copy (and its free on the span export thread). Each
/// thread keeps one string per header, the last it saw.
fn shared(last: &'static LocalKey<RefCell<Option<Arc<str>>>>, text: &str) -> StringValue {
    last.try_with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(kept) if **kept == *text => StringValue::from(Arc::clone(kept)),
            _ => {
                let kept: Arc<str> = Arc::from(text);
                *last = Some(Arc::clone(&kept));
                StringValue::from(kept)
            }
        }
    })
    // While the thread's locals are destroyed: a copy.
    .unwrap_or_else(|_| StringValue::from(text.to_owned()))
}

/// `host` or `host:port` where the host is a name or an IPv4 address (letters, digits, `.`,
/// `-`): what nearly every `Host` header is, split without parsing it into an `Authority` (a
/// copy and a validation). Anything else (IPv6, user info, a port out of range) is `None`, left
/// to `Authority`.
fn plain_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (host, Some(port.parse::<u16>().ok()?))
        }
        None => (text, None),
    };
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    plain.then_some((host, port))
}

/// The first address of `X-Forwarded-For` (the original client behind proxies), else the
/// peer's IP when the server was started with `into_make_service_with_connect_info`.
fn client_address<B>(request: &Request<B>) -> Option<String> {
    if let Some(forwarded) =
        header_text(request, header::HeaderName::from_static("x-forwarded-for"))
    {
        if let Some(first) = forwarded.split(',').next().map(str::trim) {
            if !first.is_empty() {
                return Some(first.to_owned());
            }
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_are_other_with_the_original() {
        assert_eq!(method(&Method::GET), ("GET", None));
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method(&custom), ("_OTHER", Some("PURGE".to_owned())));
    }

    #[test]
    fn plain_hosts_split_as_an_authority_would() {
        for text in [
            "example.test",
            "example.test:8080",
            "127.0.0.1:80",
            "a-b.example:65535",
        ] {
            let authority: http::uri::Authority = text.parse().unwrap();
            assert_eq!(
                plain_host_port(text),
                Some((authority.host(), authority.port_u16())),
                "{text}"
            );
        }
        for text in [
            "[::1]:8080",
            "user@host",
            "host:",
            "host:99999",
            "",
            "host:8x",
        ] {
            assert_eq!(plain_host_port(text), None, "{text}");
        }
    }

    #[test]
    fn host_and_user_agent_are_shared_only_when_the_text_is_the_same() {
        let request = |host: &str, agent: &str| {
            let request = Request::get("/")
                .header("host", host)
                .header("user-agent", agent)
                .body(())
                .unwrap();
            let served = read(&request);
            let value = |key: &str| {
                served
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.clone())
                    .unwrap()
            };
            (value("server.address"), value("user_agent.original"))
        };
        let text = |value: &opentelemetry::Value| value.as_str().into_owned();
        let (host_a, agent_a) = request("a.example:8080", "agent/1");
        let (host_b, agent_b) = request("b.example", "agent/2");
        let (host_b2, agent_b2) = request("b.example", "agent/2");
        assert_eq!(
            [&host_a, &agent_a, &host_b, &agent_b].map(text),
            ["a.example", "agent/1", "b.example", "agent/2"]
        );
        assert_eq!([&host_b2, &agent_b2].map(text), ["b.example", "agent/2"]);
        // The same text a second time on this thread: the same string.
        let shared = |a: &opentelemetry::Value, b: &opentelemetry::Value| match (a, b) {
            (opentelemetry::Value::String(a), opentelemetry::Value::String(b)) => {
                std::ptr::eq(a.as_str(), b.as_str())
            }
            _ => false,
        };
        assert!(shared(&host_b, &host_b2) && shared(&agent_b, &agent_b2));
        assert!(!shared(&host_a, &host_b));
    }

    #[test]
    fn without_a_route_the_name_is_the_method_alone() {
        let request = Request::get("/tasks/42?secret=1")
            .header("host", "example.test:8080")
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
            .body(())
            .unwrap();
        let served = read(&request);
        assert_eq!(served.name, "GET");
        let text: Vec<String> = served.attributes[served.duration.labels().len()..]
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        assert_eq!(
            text,
            [
                "url.path=/tasks/42",
                "server.address=example.test",
                "server.port=8080",
                "client.address=203.0.113.9",
            ]
        );
    }
}
