//! Host lookups for the OTLP/HTTP client, once per period instead of once per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a host's addresses are reused before it is looked up again.
const RESOLVED_FOR: Duration = Duration::from_secs(30);

/// ureq's own resolver, asked once per [`RESOLVED_FOR`]. ureq looks the host up before every
/// request, a kept-alive connection or not, and with a timeout (ours) it does so on a new
/// thread: a thread per export. On loopback that lost spans from 300,000 spans/s on where
/// reqwest lost none (BENCHMARKS.md, "The OTLP/HTTP client").
#[derive(Debug, Default)]
pub(super) struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    last: Mutex<Option<Resolved>>,
}

/// The addresses of `authority` (`scheme://host:port`) looked up at `at`.
#[derive(Debug)]
struct Resolved {
    authority: String,
    at: Instant,
    addresses: ureq::unversioned::resolver::ResolvedSocketAddrs,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let authority = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        if let Ok(last) = self.last.lock() {
            if let Some(resolved) = last.as_ref().filter(|resolved| {
                resolved.authority == authority && resolved.at.elapsed() < RESOLVED_FOR
            }) {
                return Ok(resolved.addresses.clone());
            }
        }
        let addresses = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Resolved {
                authority,
                at: Instant::now(),
                addresses: addresses.clone(),
            });
        }
        Ok(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ureq would look the host up (on a thread of its own) before every request: ours does once
    /// per period and host, and again after it or for another host.
    #[test]
    fn a_host_is_looked_up_once_per_period_not_per_request() {
        use ureq::unversioned::resolver::Resolver as _;
        use ureq::unversioned::transport::NextTimeout;
        let resolver = CachingResolver::default();
        let config = ureq::Agent::config_builder().build();
        let timeout = NextTimeout {
            after: Duration::from_secs(5).into(),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        let collector: http::Uri = "http://127.0.0.1:4318/v1/traces".parse().unwrap();
        let resolve = |uri: &http::Uri| -> Vec<std::net::SocketAddr> {
            resolver
                .resolve(uri, &config, timeout)
                .expect("resolved")
                .to_vec()
        };
        let looked_up = "127.0.0.1:4318".parse().unwrap();
        assert_eq!(resolve(&collector), vec![looked_up]);
        // What the next request gets is the kept answer (marked here so as to tell them apart).
        let marked: std::net::SocketAddr = "10.0.0.1:1".parse().unwrap();
        let mark = |age: Duration| {
            let mut last = resolver.last.lock().unwrap();
            let kept = last.as_mut().expect("kept");
            kept.addresses = resolver.empty();
            kept.addresses.push(marked);
            kept.at = Instant::now() - age;
        };
        mark(Duration::ZERO);
        assert_eq!(resolve(&collector), vec![marked]);
        mark(RESOLVED_FOR);
        assert_eq!(resolve(&collector), vec![looked_up], "looked up again");
        mark(Duration::ZERO);
        assert_eq!(
            resolve(&"https://127.0.0.1:4318/v1/logs".parse().unwrap()),
            vec![looked_up],
            "another scheme or host is looked up"
        );
    }
}
