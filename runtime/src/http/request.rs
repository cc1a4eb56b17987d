//! What the SERVER span and the metrics record of a request, per the HTTP server conventions.
//!
//! A request is the client's to write: every value copied from it is cut at
//! [`HttpServerSettings::max_value_chars`], and `client.address` is an IP address, from the
//! connection or, behind proxies the settings trust, from their forwarding header.

use super::routes;
use crate::call::http_server::{ActiveKey, DurationKey, Request as Served};
use crate::config::{
    ForwardedHeader, Forwarding, HttpServerSettings, TrustedProxies, MAX_TRUSTED_HOPS,
};
use crate::export::span_record::char_boundary_after;
use crate::names::http_server as names;
use axum::extract::{ConnectInfo, MatchedPath};
use http::header::HeaderName;
use http::{header, HeaderMap, Method, Request, Version};
use opentelemetry::{KeyValue, StringValue};
use std::borrow::Cow;
use std::cell::RefCell;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::thread::LocalKey;

/// The request's span name, labels and attributes. The route is axum's `MatchedPath` (the
/// template, `/tasks/{id}`, also under nested routers); without one the span is `{method}`
/// alone: the raw path is never a name or a label. Values taken from the request are cut at
/// `settings.max_value_chars` characters.
pub(crate) fn read<B>(request: &Request<B>, settings: &HttpServerSettings) -> Served {
    let max_chars = settings.max_value_chars;
    let (method, original) = method(request.method(), max_chars);
    let https = request.uri().scheme_str() == Some("https");
    let scheme = if https { "https" } else { "http" };
    let version = protocol_version(request.version());
    let active = ActiveKey::new(method, https);
    let (route, name) = match request.extensions().get::<MatchedPath>() {
        Some(path) => {
            let (route, name) = routes::route_and_name(active, path.as_str());
            (Some(route), name)
        }
        None => (None, Cow::Borrowed(routes::span_method(method))),
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
        cut(request.uri().path(), max_chars).to_owned(),
    ));
    if let Some((host, port)) = server_address(request, max_chars) {
        attributes.push(KeyValue::new(names::SERVER_ADDRESS, host));
        if let Some(port) = port {
            attributes.push(KeyValue::new(names::SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(agent) = header_text(request, header::USER_AGENT) {
        attributes.push(KeyValue::new(
            names::USER_AGENT_ORIGINAL,
            shared(&LAST_USER_AGENT, cut(agent, max_chars)),
        ));
    }
    if let Some(client) = client_address(request, settings) {
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

/// `text` cut at `max_chars` characters, on a character boundary.
#[inline]
fn cut(text: &str, max_chars: usize) -> &str {
    match char_boundary_after(text, max_chars) {
        Some(end) => &text[..end],
        None => text,
    }
}

/// The method as the conventions record it, and the original (cut at `max_chars`) when that is
/// `_OTHER`.
fn method(method: &Method, max_chars: usize) -> (&'static str, Option<String>) {
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
        _ => {
            let original = cut(method.as_str(), max_chars).to_owned();
            return (names::METHOD_OTHER, Some(original));
        }
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
/// authority (HTTP/2's `:authority`); the host cut at `max_chars`.
fn server_address<B>(request: &Request<B>, max_chars: usize) -> Option<(StringValue, Option<u16>)> {
    let copied = |authority: &http::uri::Authority| {
        (
            StringValue::from(cut(authority.host(), max_chars).to_owned()),
            authority.port_u16(),
        )
    };
    match header_text(request, header::HOST) {
        Some(host) => match plain_host_port(host) {
            Some((host, port)) => Some((shared(&LAST_HOST, cut(host, max_chars)), port)),
            None => Some(copied(&host.parse().ok()?)),
        },
        None => Some(copied(request.uri().authority()?)),
    }
}

thread_local! {
    /// The last `Host` (a plain one) and `User-Agent` this thread recorded.
    static LAST_HOST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    static LAST_USER_AGENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    /// The last `client.address` this thread recorded, and its text.
    static LAST_CLIENT: RefCell<Option<(IpAddr, Arc<str>)>> = const { RefCell::new(None) };
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
    // By byte rather than `split_once(':')`, whose char searcher is not always inlined.
    let colon = text.bytes().position(|b| b == b':');
    let (host, port) = match colon.map(|at| (&text[..at], &text[at + 1..])) {
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

/// `client.address`: the connection's peer (with `into_make_service_with_connect_info`), or,
/// when the settings trust a forwarding header, the client its trusted proxies name. Always an
/// IP address; `None` when none is known.
fn client_address<B>(request: &Request<B>, settings: &HttpServerSettings) -> Option<StringValue> {
    Some(shared_address(client_ip(request, settings)?))
}

/// The client's IP address, as `client.address` records it (the browser telemetry endpoint's
/// rate limit is keyed by it too).
pub(crate) fn client_ip<B>(request: &Request<B>, settings: &HttpServerSettings) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_canonical());
    match &settings.forwarded {
        None => peer,
        Some(forwarding) => forwarded_client(request.headers(), forwarding, peer),
    }
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static(names::X_FORWARDED_FOR);
static FORWARDED: HeaderName = HeaderName::from_static(names::FORWARDED);

/// The client behind the proxies `forwarding` trusts. Each proxy appends the address it got the
/// request from, so the header is walked from the right, starting at the peer: while the hop
/// at hand is a trusted proxy, the entry it appended (the next one to the left) is believed and
/// becomes the hop at hand. The walk stops at the first hop that is not trusted (the client: what
/// it wrote further left is never read), at an entry that is not an IP address, or after
/// [`MAX_TRUSTED_HOPS`]; the last address reached is the client. The conventions' `client.address`
/// is "the IP address of the original client behind all proxies, if known (e.g. from
/// Forwarded#for, X-Forwarded-For, or a similar header). Otherwise, the immediate client peer
/// address" (HTTP spans, note on `client.address`).
fn forwarded_client(
    headers: &HeaderMap,
    forwarding: &Forwarding,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let name = match forwarding.header {
        ForwardedHeader::XForwardedFor => &X_FORWARDED_FOR,
        ForwardedHeader::Forwarded => &FORWARDED,
    };
    let mut current = peer;
    let mut hops: u8 = 0;
    // Several header lines are one list, in order: the last line holds the nearest hops.
    'walk: for value in headers.get_all(name).iter().rev() {
        let Ok(text) = value.to_str() else {
            break;
        };
        for entry in text.rsplit(',') {
            let trusted = hops < MAX_TRUSTED_HOPS
                && match &forwarding.trusted {
                    TrustedProxies::Hops(count) => hops < *count,
                    TrustedProxies::Networks(networks) => {
                        current.is_some_and(|ip| networks.contains(ip))
                    }
                };
            if !trusted {
                break 'walk;
            }
            let address = match forwarding.header {
                ForwardedHeader::XForwardedFor => node_address(entry),
                ForwardedHeader::Forwarded => forwarded_for(entry).and_then(node_address),
            };
            match address {
                Some(ip) => {
                    current = Some(ip);
                    hops += 1;
                }
                None => break 'walk,
            }
        }
    }
    current
}

/// The `for` parameter of one element of a `Forwarded` header (RFC 7239: `for=192.0.2.60;
/// proto=http`, `for="[2001:db8:cafe::17]:4711"`), unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    let value = element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then_some(value.trim())
    })?;
    Some(
        value
            .strip_prefix('"')
            .and_then(|quoted| quoted.strip_suffix('"'))
            .unwrap_or(value),
    )
}

/// The IP address of a forwarding header's node: `192.0.2.60`, `2001:db8::1`, with a port
/// (`192.0.2.60:4711`, `[2001:db8::1]:4711`) or bracketed (`[2001:db8::1]`); IPv4-mapped IPv6
/// as IPv4. Anything else (`unknown`, an obfuscated `_hidden`, a name, garbage) is `None`.
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    // The longest address with brackets and a port is 53 characters: no parse for a longer one.
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let ip = match text.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match text.parse::<SocketAddr>() {
            Ok(socket) => socket.ip(),
            Err(_) => IpAddr::V6(
                text.strip_prefix('[')?
                    .strip_suffix(']')?
                    .parse::<Ipv6Addr>()
                    .ok()?,
            ),
        },
    };
    Some(ip.to_canonical())
}

/// `address` as an attribute value, sharing the text of the last address this thread recorded
/// when it is the same (a client sends its requests from one address).
fn shared_address(address: IpAddr) -> StringValue {
    LAST_CLIENT
        .try_with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some((kept, text)) if *kept == address => StringValue::from(Arc::clone(text)),
                _ => {
                    let text: Arc<str> = Arc::from(address.to_string());
                    *last = Some((address, Arc::clone(&text)));
                    StringValue::from(text)
                }
            }
        })
        .unwrap_or_else(|_| StringValue::from(address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_are_other_with_the_original() {
        assert_eq!(method(&Method::GET, 1024), ("GET", None));
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method(&custom, 1024), ("_OTHER", Some("PURGE".to_owned())));
        assert_eq!(method(&custom, 3), ("_OTHER", Some("PUR".to_owned())));
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
            let served = read(&request, &HttpServerSettings::default());
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

    /// The attributes after the labels, as `key=value`.
    fn recorded<B>(request: &Request<B>, settings: &HttpServerSettings) -> Vec<String> {
        let served = read(request, settings);
        served.attributes[served.duration.labels().len()..]
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect()
    }

    #[test]
    fn without_a_route_the_name_is_the_method_alone() {
        let request = Request::get("/tasks/42?secret=1")
            .header("host", "example.test:8080")
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
            .body(())
            .unwrap();
        assert_eq!(read(&request, &HttpServerSettings::default()).name, "GET");
        // By default no forwarding header is read, and without the connection's peer there is
        // no client address.
        assert_eq!(
            recorded(&request, &HttpServerSettings::default()),
            [
                "url.path=/tasks/42",
                "server.address=example.test",
                "server.port=8080",
            ]
        );
        // Behind two proxies of the server's own, the client is the second entry from the
        // right: 10.0.0.1 is the outer proxy, appended by the inner one.
        let two_hops = forwarding(ForwardedHeader::XForwardedFor, "2");
        assert_eq!(
            recorded(&request, &two_hops).last().unwrap(),
            "client.address=203.0.113.9"
        );
    }

    fn forwarding(header: ForwardedHeader, trusted: &str) -> HttpServerSettings {
        HttpServerSettings {
            forwarded: Some(Forwarding {
                header,
                trusted: TrustedProxies::parse(trusted).unwrap().unwrap(),
            }),
            ..HttpServerSettings::default()
        }
    }

    /// The client a request names, behind `peer`, with `settings`.
    fn client(
        headers: &[(&str, &str)],
        peer: Option<&str>,
        settings: &HttpServerSettings,
    ) -> Option<String> {
        let mut request = Request::get("/").body(()).unwrap();
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        if let Some(peer) = peer {
            let peer: SocketAddr = peer.parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        client_address(&request, settings).map(|value| value.as_str().to_owned())
    }

    #[test]
    fn by_default_the_client_is_the_peer_and_forwarding_headers_are_not_read() {
        let defaults = HttpServerSettings::default();
        let spoofed = [
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ];
        assert_eq!(
            client(&spoofed, Some("192.0.2.10:5000"), &defaults).as_deref(),
            Some("192.0.2.10")
        );
        assert_eq!(client(&spoofed, None, &defaults), None);
        // A dual-stack listener's IPv4-mapped peer is recorded as IPv4.
        assert_eq!(
            client(&[], Some("[::ffff:192.0.2.10]:5000"), &defaults).as_deref(),
            Some("192.0.2.10")
        );
        assert_eq!(
            client(&[], Some("[2001:db8::7]:5000"), &defaults).as_deref(),
            Some("2001:db8::7")
        );
    }

    #[test]
    fn trusted_networks_are_walked_from_the_right_to_the_first_untrusted_hop() {
        let proxies = forwarding(ForwardedHeader::XForwardedFor, "10.0.0.0/8");
        let from_proxy = Some("10.0.0.2:40000");
        // The client wrote 6.6.6.6 itself; the proxies appended 198.51.100.7 and 10.0.0.1.
        let chain = [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.1")];
        assert_eq!(
            client(&chain, from_proxy, &proxies).as_deref(),
            Some("198.51.100.7")
        );
        // Several header lines are one list.
        let lines = [
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.1"),
        ];
        assert_eq!(
            client(&lines, from_proxy, &proxies).as_deref(),
            Some("198.51.100.7")
        );
        // A peer that is not a trusted proxy is the client, whatever it wrote.
        assert_eq!(
            client(&chain, Some("203.0.113.5:1"), &proxies).as_deref(),
            Some("203.0.113.5")
        );
        // Without the peer, nothing can be trusted.
        assert_eq!(client(&chain, None, &proxies), None);
        // Every hop trusted: the leftmost.
        assert_eq!(
            client(
                &[("x-forwarded-for", "10.1.1.1, 10.2.2.2")],
                from_proxy,
                &proxies
            )
            .as_deref(),
            Some("10.1.1.1")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_ends_the_walk_and_is_never_recorded() {
        let proxies = forwarding(ForwardedHeader::XForwardedFor, "10.0.0.0/8");
        let long = "x".repeat(300_000);
        for garbage in [
            "not-an-ip",
            "unknown",
            "",
            "999.1.1.1",
            "1.2.3.4.5",
            "<script>",
            long.as_str(),
        ] {
            // The proxy at 10.0.0.2 forwarded garbage: the client is not known beyond it, and the
            // nearest known hop (the peer) is recorded, as the conventions say.
            assert_eq!(
                client(
                    &[("x-forwarded-for", garbage)],
                    Some("10.0.0.2:1"),
                    &proxies
                )
                .as_deref(),
                Some("10.0.0.2"),
                "{garbage:.20}"
            );
            let hop = forwarding(ForwardedHeader::XForwardedFor, "1");
            assert_eq!(
                client(&[("x-forwarded-for", garbage)], None, &hop),
                None,
                "{garbage:.20}"
            );
        }
        // Addresses with ports and brackets, as some proxies write them.
        let hop = forwarding(ForwardedHeader::XForwardedFor, "1");
        for (entry, address) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::17]:4711", "2001:db8::17"),
            ("[2001:db8::17]", "2001:db8::17"),
            (" 2001:db8::17 ", "2001:db8::17"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
        ] {
            assert_eq!(
                client(&[("x-forwarded-for", entry)], None, &hop).as_deref(),
                Some(address),
                "{entry}"
            );
        }
    }

    /// RFC 7239 section 4 (`for` parameter) and section 6 (node names).
    #[test]
    fn the_forwarded_header_is_read_only_when_it_is_the_configured_one() {
        let forwarded = forwarding(ForwardedHeader::Forwarded, "1");
        let headers = [
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1",
            ),
        ];
        assert_eq!(
            client(&headers, None, &forwarded).as_deref(),
            Some("2001:db8:cafe::17")
        );
        let two = forwarding(ForwardedHeader::Forwarded, "2");
        assert_eq!(client(&headers, None, &two).as_deref(), Some("6.6.6.6"));
        for element in ["for=unknown", "for=_hidden", "proto=https", "For=\"_x\""] {
            assert_eq!(
                client(&[("forwarded", element)], None, &forwarded),
                None,
                "{element}"
            );
        }
        assert_eq!(
            client(
                &[("forwarded", "by=10.0.0.1;FOR=192.0.2.60")],
                None,
                &forwarded
            )
            .as_deref(),
            Some("192.0.2.60")
        );
        // X-Forwarded-For is not read when Forwarded is the configured header.
        assert_eq!(
            client(&[("x-forwarded-for", "198.51.100.7")], None, &forwarded),
            None
        );
    }

    #[test]
    fn values_from_the_request_are_cut_at_the_bound() {
        let long_path = format!("/{}", "a".repeat(5_000));
        let request = Request::get(long_path.as_str())
            .header("host", "h".repeat(3_000))
            .header("user-agent", "u".repeat(300_000))
            .body(())
            .unwrap();
        let settings = HttpServerSettings {
            max_value_chars: 64,
            ..HttpServerSettings::default()
        };
        let served = read(&request, &settings);
        let value = |key: &str| {
            served
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.as_str().into_owned())
                .unwrap()
        };
        assert_eq!(value("url.path"), long_path[..64]);
        assert_eq!(value("server.address"), "h".repeat(64));
        assert_eq!(value("user_agent.original"), "u".repeat(64));
        // The default bound: 1,024 characters.
        let served = read(&request, &HttpServerSettings::default());
        let path = served
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "url.path")
            .unwrap();
        assert_eq!(path.value.as_str().chars().count(), 1024);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("日本語テキスト", 3), "日本語");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abc", 10), "abc");
    }
}
