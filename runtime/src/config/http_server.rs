//! What [`crate::HttpServerLayer`] takes from a request it does not trust: how long a value
//! copied from it may be (`FACTORY_OBS_HTTP_SERVER_MAX_CHARS`), and whose forwarding header
//! names the client (`FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES`,
//! `FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER`). See docs/limits.md for the reasons.

use super::Lookup;
use crate::error::InitError;
use crate::names::env;
use ipnet::IpNet;
use std::net::IpAddr;
use std::ops::RangeInclusive;

/// Longest value taken from a request unless configured, in characters.
pub const DEFAULT_HTTP_MAX_CHARS: usize = 1024;
/// Accepted range of `FACTORY_OBS_HTTP_SERVER_MAX_CHARS`.
pub const HTTP_MAX_CHARS_RANGE: RangeInclusive<usize> = 16..=1_048_576;
/// Most proxies a hop count may name; also how far back a forwarding header is read.
pub const MAX_TRUSTED_HOPS: u8 = 32;

/// What [`crate::HttpServerLayer`] takes from requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpServerSettings {
    /// Longest value copied from a request into the span (`url.path`, `user_agent.original`,
    /// `server.address`, `http.request.method_original`), in characters; longer ones are cut
    /// to it.
    pub max_value_chars: usize,
    /// Where `client.address` comes from behind proxies; `None`: the connection's peer only,
    /// and no forwarding header is read (the default: any client can write one).
    pub forwarded: Option<Forwarding>,
}

impl Default for HttpServerSettings {
    fn default() -> HttpServerSettings {
        HttpServerSettings {
            max_value_chars: DEFAULT_HTTP_MAX_CHARS,
            forwarded: None,
        }
    }
}

/// A forwarding header, and which of its entries were written by proxies of the server's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarding {
    /// The header those proxies write; the other one is never read.
    pub header: ForwardedHeader,
    /// Which entries to trust.
    pub trusted: TrustedProxies,
}

/// The forwarding headers `client.address` may come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239: `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// Which hops of a forwarding header are the server's own proxies. Each proxy appends the
/// address it received the request from; the client is the last address (from the right) that
/// no trusted proxy wrote, so that what a client writes into the header itself is never taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustedProxies {
    /// This many proxies stand in front of the server, whatever their addresses: the client is
    /// that many entries from the right. Right only when nothing reaches the server around
    /// them.
    Hops(u8),
    /// A peer in these networks is a proxy of the server's own: its entry is trusted and the
    /// walk goes one entry further left. Needs the connection's peer address
    /// (`into_make_service_with_connect_info::<SocketAddr>`).
    Networks(ProxyNetworks),
}

/// IP addresses and CIDR blocks of trusted proxies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyNetworks(Vec<IpNet>);

impl ProxyNetworks {
    /// Whether `ip` (IPv4-mapped IPv6 read as IPv4) is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// What `FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES` accepts.
const TRUSTED_PROXIES_ACCEPTED: &str = "none, a number of proxies in front of the server from \
     1 to 32, or a comma-separated list of IP addresses and CIDR blocks of your proxies (e.g. \
     10.0.0.0/8,127.0.0.1)";

impl TrustedProxies {
    /// `none` (`Ok(None)`), a hop count (`2`), or addresses and CIDR blocks
    /// (`10.0.0.0/8, 127.0.0.1, ::1`); the error says what is accepted.
    pub fn parse(text: &str) -> Result<Option<TrustedProxies>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        if let Ok(hops) = text.parse::<u8>() {
            return match hops {
                1..=MAX_TRUSTED_HOPS => Ok(Some(TrustedProxies::Hops(hops))),
                _ => Err(TRUSTED_PROXIES_ACCEPTED.to_owned()),
            };
        }
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim) {
            let network = match entry.parse::<IpNet>() {
                Ok(network) => network,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(TRUSTED_PROXIES_ACCEPTED.to_owned()),
                },
            };
            // A v4 block also holds the v4-mapped v6 addresses of a dual-stack listener, which
            // `contains` reads as v4.
            networks.push(network.trunc());
        }
        Ok(Some(TrustedProxies::Networks(ProxyNetworks(networks))))
    }
}

impl HttpServerSettings {
    /// Reads and validates the three variables; a forwarding header named while no proxy is
    /// trusted is a warning (the header is not read).
    pub(super) fn from_lookup(
        get: Lookup<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<HttpServerSettings, InitError> {
        let max_value_chars = match get(env::FACTORY_OBS_HTTP_SERVER_MAX_CHARS) {
            None => DEFAULT_HTTP_MAX_CHARS,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if HTTP_MAX_CHARS_RANGE.contains(&n) => n,
                _ => {
                    return Err(InitError::invalid_env(
                        env::FACTORY_OBS_HTTP_SERVER_MAX_CHARS,
                        &text,
                        &format!(
                            "a whole number of characters from {} to {}",
                            HTTP_MAX_CHARS_RANGE.start(),
                            HTTP_MAX_CHARS_RANGE.end()
                        ),
                    ))
                }
            },
        };
        let header_text = get(env::FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER);
        let header = match header_text.as_deref().map(str::trim) {
            None => ForwardedHeader::XForwardedFor,
            Some(name) if name.eq_ignore_ascii_case("x-forwarded-for") => {
                ForwardedHeader::XForwardedFor
            }
            Some(name) if name.eq_ignore_ascii_case("forwarded") => ForwardedHeader::Forwarded,
            Some(_) => {
                return Err(InitError::invalid_env(
                    env::FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER,
                    header_text.as_deref().unwrap_or_default(),
                    "x-forwarded-for or forwarded",
                ))
            }
        };
        let trusted = match get(env::FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES) {
            None => None,
            Some(text) => TrustedProxies::parse(&text).map_err(|accepted| {
                InitError::invalid_env(
                    env::FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES,
                    &text,
                    &accepted,
                )
            })?,
        };
        if trusted.is_none() && header_text.is_some() {
            warnings.push(format!(
                "{} is set but {} is not: no forwarding header is read, client.address is the \
                 connection's peer",
                env::FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER,
                env::FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES
            ));
        }
        Ok(HttpServerSettings {
            max_value_chars,
            forwarded: trusted.map(|trusted| Forwarding { header, trusted }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<(HttpServerSettings, Vec<String>), InitError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let get = |name: &str| map.get(name).map(|v| v.to_string());
        let mut warnings = Vec::new();
        HttpServerSettings::from_lookup(&get, &mut warnings).map(|s| (s, warnings))
    }

    #[test]
    fn by_default_values_are_cut_at_1024_and_no_forwarding_header_is_read() {
        let (defaults, warnings) = settings(&[]).unwrap();
        assert_eq!(defaults, HttpServerSettings::default());
        assert_eq!(defaults.max_value_chars, 1024);
        assert_eq!(defaults.forwarded, None);
        assert!(warnings.is_empty());
    }

    #[test]
    fn trusted_proxies_are_a_hop_count_or_networks() {
        let (hops, _) = settings(&[("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "2")]).unwrap();
        assert_eq!(
            hops.forwarded,
            Some(Forwarding {
                header: ForwardedHeader::XForwardedFor,
                trusted: TrustedProxies::Hops(2)
            })
        );
        let (networks, _) = settings(&[
            (
                "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES",
                "10.0.0.0/8, 127.0.0.1,::1 , 2001:db8::/32",
            ),
            ("FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER", "Forwarded"),
        ])
        .unwrap();
        let Some(Forwarding {
            header: ForwardedHeader::Forwarded,
            trusted: TrustedProxies::Networks(networks),
        }) = networks.forwarded
        else {
            panic!("{networks:?}");
        };
        for inside in [
            "10.1.2.3",
            "127.0.0.1",
            "::1",
            "2001:db8:1::5",
            "::ffff:10.9.9.9",
        ] {
            assert!(networks.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "11.0.0.1",
            "127.0.0.2",
            "::2",
            "2001:db9::1",
            "::ffff:11.0.0.1",
        ] {
            assert!(!networks.contains(outside.parse().unwrap()), "{outside}");
        }
        let (none, _) = settings(&[("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "NONE")]).unwrap();
        assert_eq!(none.forwarded, None);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_accepted_values() {
        let cases = [
            (("FACTORY_OBS_HTTP_SERVER_MAX_CHARS", "8"), "FACTORY_OBS_HTTP_SERVER_MAX_CHARS=\"8\" is not valid: expected a whole number of characters from 16 to 1048576"),
            (("FACTORY_OBS_HTTP_SERVER_MAX_CHARS", "1k"), "FACTORY_OBS_HTTP_SERVER_MAX_CHARS=\"1k\" is not valid: expected a whole number of characters from 16 to 1048576"),
            (("FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER", "x-real-ip"), "FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER=\"x-real-ip\" is not valid: expected x-forwarded-for or forwarded"),
            (("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "0"), "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES=\"0\" is not valid: expected none, a number of proxies in front of the server from 1 to 32, or a comma-separated list of IP addresses and CIDR blocks of your proxies (e.g. 10.0.0.0/8,127.0.0.1)"),
            (("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "33"), "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES=\"33\" is not valid: expected none, a number of proxies in front of the server from 1 to 32, or a comma-separated list of IP addresses and CIDR blocks of your proxies (e.g. 10.0.0.0/8,127.0.0.1)"),
            (("FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"), "FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES=\"10.0.0.0/8,proxy.internal\" is not valid: expected none, a number of proxies in front of the server from 1 to 32, or a comma-separated list of IP addresses and CIDR blocks of your proxies (e.g. 10.0.0.0/8,127.0.0.1)"),
        ];
        for ((name, value), expected) in cases {
            assert_eq!(
                settings(&[(name, value)]).unwrap_err().to_string(),
                expected
            );
        }
    }

    #[test]
    fn a_header_without_trusted_proxies_is_a_warning() {
        let (settings, warnings) =
            settings(&[("FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER", "forwarded")]).unwrap();
        assert_eq!(settings.forwarded, None);
        assert_eq!(
            warnings,
            ["FACTORY_OBS_HTTP_SERVER_FORWARDED_HEADER is set but \
              FACTORY_OBS_HTTP_SERVER_TRUSTED_PROXIES is not: no forwarding header is read, \
              client.address is the connection's peer"]
        );
    }
}
