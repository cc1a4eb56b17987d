//! Which proxy the OTLP/HTTP client goes through: the one the environment names for the
//! endpoint's scheme, as reqwest and curl read it, unless `NO_PROXY` exempts the host.

use std::sync::atomic::{AtomicBool, Ordering};

/// One warning per process for a proxy variable that is not a URL (the signals share it).
static PROXY_WARNED: AtomicBool = AtomicBool::new(false);

/// The proxy for requests to `host` over `https` (or plain HTTP) from the process's
/// environment ([`proxy_for`]); a variable that is not a URL is warned about once and skipped.
pub(super) fn from_environment(https: bool, host: &str) -> Option<ureq::Proxy> {
    proxy_for(https, host, &|name| std::env::var(name).ok()).unwrap_or_else(|warning| {
        if !PROXY_WARNED.swap(true, Ordering::Relaxed) {
            eprintln!("{warning}");
        }
        None
    })
}

/// The proxy for requests to `host` over `https` (or plain HTTP), as reqwest reads the
/// environment: `HTTPS_PROXY` for `https://`, `HTTP_PROXY` for `http://`, else `ALL_PROXY`
/// (each also in lower case), none when `NO_PROXY` matches the host. ureq itself would take the
/// first of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` for every scheme.
///
/// ureq tunnels through the proxy with `CONNECT` for `http://` endpoints too (reqwest sent
/// their requests to the proxy as they were). A value that is not a proxy URL is skipped with
/// the warning returned as `Err`, naming the variable (never its value, which may hold
/// credentials).
fn proxy_for(
    https: bool,
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ureq::Proxy>, String> {
    use crate::names::proxy_env::{ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY};
    let lookup = |name: &str| {
        env(name)
            .or_else(|| env(&name.to_ascii_lowercase()))
            .filter(|value| !value.trim().is_empty())
    };
    let scheme_variable = if https { HTTPS_PROXY } else { HTTP_PROXY };
    let Some((name, value)) = [scheme_variable, ALL_PROXY]
        .into_iter()
        .find_map(|name| lookup(name).map(|value| (name, value)))
    else {
        return Ok(None);
    };
    if no_proxy_matches(&lookup(NO_PROXY).unwrap_or_default(), host) {
        return Ok(None);
    }
    ureq::Proxy::new(value.trim()).map(Some).map_err(|_| {
        format!(
            "factory-observability: warning: {name} is not a proxy URL (http://host:port, \
             optionally with user:password@; the value is not shown: it may hold credentials); \
             telemetry is sent without a proxy"
        )
    })
}

/// Whether `NO_PROXY` (comma-separated) exempts `host`: `*`, the host itself, a domain suffix
/// (`example.com` and `.example.com` both match `otel.example.com`), or, for an IP address, a
/// range in CIDR notation (`10.0.0.0/8`, `fd00::/8`), as reqwest reads it.
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let address = host.parse::<std::net::IpAddr>().ok();
    no_proxy
        .split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let (Some(address), Ok(range)) = (address, entry.parse::<ipnet::IpNet>()) {
                return range.contains(&address);
            }
            let domain = entry.trim_start_matches('*').trim_start_matches('.');
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn proxy_uri(https: bool, host: &str, pairs: &[(&str, &str)]) -> Option<String> {
        proxy_for(https, host, &env(pairs))
            .expect("valid")
            .map(|proxy| proxy.uri().to_string())
    }

    #[test]
    fn the_proxy_is_the_one_of_the_endpoints_scheme_as_reqwest_reads_it() {
        let both = [
            ("HTTP_PROXY", "http://plain:3128"),
            ("HTTPS_PROXY", "http://secure:3128"),
        ];
        assert_eq!(
            proxy_uri(true, "otel.example.com", &both).as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            proxy_uri(false, "otel.example.com", &both).as_deref(),
            Some("http://plain:3128/")
        );
        // Only HTTP_PROXY: an https:// endpoint is reached directly (ureq alone would use it).
        assert_eq!(
            proxy_uri(
                true,
                "otel.example.com",
                &[("HTTP_PROXY", "http://plain:3128")]
            ),
            None
        );
        assert_eq!(
            proxy_uri(
                true,
                "otel.example.com",
                &[("all_proxy", "http://any:8080")]
            )
            .as_deref(),
            Some("http://any:8080/")
        );
        assert_eq!(proxy_uri(true, "otel.example.com", &[]), None);
    }

    #[test]
    fn no_proxy_exempts_the_host_its_domain_and_everything_with_a_star() {
        let with = |no_proxy: &'static str| {
            [
                ("HTTPS_PROXY", "http://secure:3128"),
                ("NO_PROXY", no_proxy),
            ]
        };
        assert_eq!(
            proxy_uri(true, "otel.example.com", &with("localhost, example.com")),
            None
        );
        assert_eq!(
            proxy_uri(true, "otel.example.com", &with(".example.com")),
            None
        );
        assert_eq!(proxy_uri(true, "127.0.0.1", &with("127.0.0.1")), None);
        assert_eq!(proxy_uri(true, "otel.example.com", &with("*")), None);
        assert_eq!(
            proxy_uri(true, "otel.example.org", &with("example.com")).as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            proxy_uri(true, "notexample.com", &with("example.com")).as_deref(),
            Some("http://secure:3128/")
        );
    }

    #[test]
    fn no_proxy_exempts_addresses_in_its_cidr_ranges() {
        let with = |no_proxy: &'static str| {
            [
                ("HTTPS_PROXY", "http://secure:3128"),
                ("NO_PROXY", no_proxy),
            ]
        };
        let ranges = with("example.com, 10.0.0.0/8, 192.168.1.0/24, fd00::/8");
        assert_eq!(proxy_uri(true, "10.20.30.40", &ranges), None);
        assert_eq!(proxy_uri(true, "192.168.1.7", &ranges), None);
        assert_eq!(proxy_uri(true, "[fd12::1]", &ranges), None);
        for outside in ["11.0.0.1", "192.168.2.7", "[fe80::1]", "otel.example.org"] {
            assert_eq!(
                proxy_uri(true, outside, &ranges).as_deref(),
                Some("http://secure:3128/"),
                "{outside}"
            );
        }
        // A range says nothing of a host name, and a host name nothing of an address.
        assert_eq!(
            proxy_uri(true, "ten.example.org", &with("10.0.0.0/8")).as_deref(),
            Some("http://secure:3128/")
        );
    }

    #[test]
    fn a_proxy_that_is_not_a_url_is_skipped_with_a_warning_naming_the_variable_not_the_value() {
        let warning = proxy_for(
            true,
            "otel.example.com",
            &env(&[("https_proxy", "http://user:s3cret@[bad")]),
        )
        .expect_err("not a URL");
        assert!(
            warning.starts_with("factory-observability: warning: HTTPS_PROXY is not a proxy URL"),
            "{warning}"
        );
        assert!(!warning.contains("s3cret"), "{warning}");
    }
}
