//! What the browser telemetry endpoint (`BrowserTelemetry`, feature `axum`) accepts: the
//! `FACTORY_OBS_BROWSER_*` variables. It is a public ingestion point, so every bound is on by
//! default at a value safe on the internet; docs/browser.md gives the reasons.

use super::batching::Limit;
use super::Lookup;
use crate::error::InitError;
use crate::names::browser::DEFAULT_PATH;
use crate::names::env;
use std::fmt;

/// Defaults: a body the size of the browsers' own `keepalive` limit, a batch the size of the
/// JavaScript batch span processor's default, two requests a second per client.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
pub const DEFAULT_MAX_SPANS: usize = 512;
pub const DEFAULT_MAX_ATTRIBUTES: usize = 32;
pub const DEFAULT_MAX_ATTRIBUTE_CHARS: usize = 1024;
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 120;
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
pub const DEFAULT_QUEUE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The ranges accepted. The body's largest is OTLP's recommended default limit (OTLP/HTTP
/// Request: "It is RECOMMENDED to use 20 MiB as the default limit").
const MAX_BODY_BYTES: Limit = Limit {
    min: 1024,
    max: 20 * 1024 * 1024,
    unit: "bytes",
};
const MAX_SPANS: Limit = Limit {
    min: 1,
    max: 65_536,
    unit: "spans",
};
const MAX_ATTRIBUTES: Limit = Limit {
    min: 0,
    max: 1024,
    unit: "attributes",
};
const MAX_ATTRIBUTE_CHARS: Limit = Limit {
    min: 16,
    max: 65_536,
    unit: "characters",
};
const RATE_LIMIT: Limit = Limit {
    min: 1,
    max: 1_000_000,
    unit: "requests a minute",
};
const MAX_CLIENTS: Limit = Limit {
    min: 1,
    max: 10_000_000,
    unit: "clients",
};
const MAX_IN_FLIGHT: Limit = Limit {
    min: 1,
    max: 4096,
    unit: "requests",
};
const QUEUE_MAX_BYTES: Limit = Limit {
    min: 65_536,
    max: 1 << 40,
    unit: "bytes",
};
/// Longest path, service name and token accepted.
const MAX_PATH_CHARS: usize = 256;
const MAX_SERVICE_NAME_CHARS: usize = 255;
const TOKEN_CHARS: std::ops::RangeInclusive<usize> = 16..=256;

/// The browser telemetry endpoint's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserSettings {
    /// The path it serves (`FACTORY_OBS_BROWSER_PATH`, default `/v1/traces`).
    pub path: String,
    /// The `service.name` values accepted (`FACTORY_OBS_BROWSER_SERVICE_NAMES`); `None`: the
    /// ones the program names in code.
    pub service_names: Option<Vec<String>>,
    /// Origins accepted besides the page's own, as `scheme://host[:port]` in lower case.
    pub allowed_origins: Vec<String>,
    /// The token requests must carry, if any. Never printed (`Debug` shows whether it is set).
    pub token: Option<String>,
    /// Largest body, after decompression.
    pub max_body_bytes: usize,
    /// Spans kept from one request.
    pub max_spans: usize,
    /// Attributes a span, event or link keeps.
    pub max_attributes: usize,
    /// Longest string kept, in characters.
    pub max_attribute_chars: usize,
    /// Requests one client may send a minute.
    pub rate_limit_per_minute: u32,
    /// Clients the rate limit tracks apart.
    pub max_clients: usize,
    /// Requests read and decoded at once.
    pub max_in_flight: usize,
    /// Bytes of accepted spans waiting for export.
    pub queue_max_bytes: usize,
}

impl Default for BrowserSettings {
    fn default() -> BrowserSettings {
        BrowserSettings {
            path: DEFAULT_PATH.to_owned(),
            service_names: None,
            allowed_origins: Vec::new(),
            token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_spans: DEFAULT_MAX_SPANS,
            max_attributes: DEFAULT_MAX_ATTRIBUTES,
            max_attribute_chars: DEFAULT_MAX_ATTRIBUTE_CHARS,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            queue_max_bytes: DEFAULT_QUEUE_MAX_BYTES,
        }
    }
}

impl fmt::Debug for BrowserSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSettings")
            .field("path", &self.path)
            .field("service_names", &self.service_names)
            .field("allowed_origins", &self.allowed_origins)
            .field("token", &self.token.as_ref().map(|_| "<set, not shown>"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_spans", &self.max_spans)
            .field("max_attributes", &self.max_attributes)
            .field("max_attribute_chars", &self.max_attribute_chars)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("max_clients", &self.max_clients)
            .field("max_in_flight", &self.max_in_flight)
            .field("queue_max_bytes", &self.queue_max_bytes)
            .finish()
    }
}

impl BrowserSettings {
    /// Reads and validates the `FACTORY_OBS_BROWSER_*` variables.
    pub(super) fn from_lookup(get: Lookup<'_>) -> Result<BrowserSettings, InitError> {
        let defaults = BrowserSettings::default();
        let number = |name: &str, limit: Limit, default: usize| -> Result<usize, InitError> {
            match get(name) {
                None => Ok(default),
                // In range, so it fits a usize on every platform with 32-bit or wider pointers.
                Some(text) => Ok(usize::try_from(limit.parse(name, &text)?).unwrap_or(usize::MAX)),
            }
        };
        Ok(BrowserSettings {
            path: match get(env::FACTORY_OBS_BROWSER_PATH) {
                None => defaults.path,
                Some(text) => parse_path(&text)?,
            },
            service_names: get(env::FACTORY_OBS_BROWSER_SERVICE_NAMES)
                .map(|text| parse_service_names(&text))
                .transpose()?,
            allowed_origins: match get(env::FACTORY_OBS_BROWSER_ALLOWED_ORIGINS) {
                None => Vec::new(),
                Some(text) => parse_origins(&text)?,
            },
            token: get(env::FACTORY_OBS_BROWSER_TOKEN)
                .map(|text| parse_token(&text))
                .transpose()?,
            max_body_bytes: number(
                env::FACTORY_OBS_BROWSER_MAX_BODY_BYTES,
                MAX_BODY_BYTES,
                defaults.max_body_bytes,
            )?,
            max_spans: number(
                env::FACTORY_OBS_BROWSER_MAX_SPANS,
                MAX_SPANS,
                defaults.max_spans,
            )?,
            max_attributes: number(
                env::FACTORY_OBS_BROWSER_MAX_ATTRIBUTES,
                MAX_ATTRIBUTES,
                defaults.max_attributes,
            )?,
            max_attribute_chars: number(
                env::FACTORY_OBS_BROWSER_MAX_ATTRIBUTE_CHARS,
                MAX_ATTRIBUTE_CHARS,
                defaults.max_attribute_chars,
            )?,
            rate_limit_per_minute: u32::try_from(number(
                env::FACTORY_OBS_BROWSER_RATE_LIMIT,
                RATE_LIMIT,
                defaults.rate_limit_per_minute as usize,
            )?)
            .unwrap_or(u32::MAX),
            max_clients: number(
                env::FACTORY_OBS_BROWSER_MAX_CLIENTS,
                MAX_CLIENTS,
                defaults.max_clients,
            )?,
            max_in_flight: number(
                env::FACTORY_OBS_BROWSER_MAX_IN_FLIGHT,
                MAX_IN_FLIGHT,
                defaults.max_in_flight,
            )?,
            queue_max_bytes: number(
                env::FACTORY_OBS_BROWSER_QUEUE_MAX_BYTES,
                QUEUE_MAX_BYTES,
                defaults.queue_max_bytes,
            )?,
        })
    }
}

/// An absolute path of plain characters: axum's route syntax (`{`, `}`, `*`) is not one.
fn parse_path(text: &str) -> Result<String, InitError> {
    let path = text.trim();
    let plain = path.starts_with('/')
        && path.chars().count() <= MAX_PATH_CHARS
        && path
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '{' | '}' | '*' | '?' | '#'));
    if plain {
        Ok(path.to_owned())
    } else {
        Err(InitError::invalid_env(
            env::FACTORY_OBS_BROWSER_PATH,
            text,
            &format!(
                "an absolute path of at most {MAX_PATH_CHARS} printable characters without \
                 '{{', '}}', '*', '?' or '#', e.g. {DEFAULT_PATH}"
            ),
        ))
    }
}

fn parse_service_names(text: &str) -> Result<Vec<String>, InitError> {
    let names: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty()
        || names
            .iter()
            .any(|name| name.chars().count() > MAX_SERVICE_NAME_CHARS)
    {
        return Err(InitError::invalid_env(
            env::FACTORY_OBS_BROWSER_SERVICE_NAMES,
            text,
            &format!(
                "service names of at most {MAX_SERVICE_NAME_CHARS} characters, comma-separated, \
                 e.g. product-webapp"
            ),
        ));
    }
    Ok(names)
}

/// Origins as a browser writes them in `Origin` (RFC 6454: `scheme://host[:port]`, no path),
/// in lower case. `*` is refused: the list says which other sites' pages may send.
fn parse_origins(text: &str) -> Result<Vec<String>, InitError> {
    let mut origins = Vec::new();
    for entry in text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let origin = entry.trim_end_matches('/').to_ascii_lowercase();
        let valid = ["http://", "https://"].iter().any(|scheme| {
            origin.strip_prefix(scheme).is_some_and(|authority| {
                !authority.is_empty()
                    && authority.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
            })
        });
        if !valid {
            return Err(InitError::invalid_env(
                env::FACTORY_OBS_BROWSER_ALLOWED_ORIGINS,
                text,
                "origins as scheme://host[:port], comma-separated (e.g. \
                 https://shop.example.com); no '*', no path",
            ));
        }
        origins.push(origin);
    }
    Ok(origins)
}

/// A token a header can carry unchanged. The value is never put into an error.
fn parse_token(text: &str) -> Result<String, InitError> {
    let token = text.trim();
    let valid = TOKEN_CHARS.contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if valid {
        Ok(token.to_owned())
    } else {
        Err(InitError::invalid_env(
            env::FACTORY_OBS_BROWSER_TOKEN,
            "<not shown: a token>",
            &format!(
                "{} to {} characters of A-Z, a-z, 0-9, '-', '_', '.', '~'",
                TOKEN_CHARS.start(),
                TOKEN_CHARS.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<BrowserSettings, InitError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let get = |name: &str| map.get(name).map(|v| v.to_string());
        BrowserSettings::from_lookup(&get)
    }

    #[test]
    fn every_bound_is_on_by_default() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults, BrowserSettings::default());
        assert_eq!(defaults.path, "/v1/traces");
        assert_eq!(defaults.max_body_bytes, 65_536);
        assert_eq!(defaults.max_spans, 512);
        assert_eq!(defaults.max_attributes, 32);
        assert_eq!(defaults.max_attribute_chars, 1024);
        assert_eq!(defaults.rate_limit_per_minute, 120);
        assert_eq!(defaults.token, None);
        assert!(defaults.allowed_origins.is_empty());
    }

    #[test]
    fn each_variable_is_read_and_checked_against_its_range() {
        let read = settings(&[
            (env::FACTORY_OBS_BROWSER_PATH, "/telemetry/traces"),
            (env::FACTORY_OBS_BROWSER_SERVICE_NAMES, "web, admin-web"),
            (
                env::FACTORY_OBS_BROWSER_ALLOWED_ORIGINS,
                "https://Shop.Example.com/, http://localhost:5173",
            ),
            (env::FACTORY_OBS_BROWSER_TOKEN, "abcdefghijklmnop-0123"),
            (env::FACTORY_OBS_BROWSER_MAX_BODY_BYTES, "1048576"),
            (env::FACTORY_OBS_BROWSER_RATE_LIMIT, "6"),
        ])
        .unwrap();
        assert_eq!(read.path, "/telemetry/traces");
        assert_eq!(
            read.service_names,
            Some(vec!["web".to_owned(), "admin-web".to_owned()])
        );
        assert_eq!(
            read.allowed_origins,
            ["https://shop.example.com", "http://localhost:5173"]
        );
        assert_eq!(read.token.as_deref(), Some("abcdefghijklmnop-0123"));
        assert_eq!(read.max_body_bytes, 1_048_576);
        assert_eq!(read.rate_limit_per_minute, 6);

        let error = settings(&[(env::FACTORY_OBS_BROWSER_MAX_BODY_BYTES, "100")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("FACTORY_OBS_BROWSER_MAX_BODY_BYTES"),
            "{error}"
        );
        assert!(error.contains("1024 to 20971520"), "{error}");
        let error = settings(&[(env::FACTORY_OBS_BROWSER_ALLOWED_ORIGINS, "*")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("no '*'"), "{error}");
        let error = settings(&[(env::FACTORY_OBS_BROWSER_PATH, "/v1/{signal}")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("FACTORY_OBS_BROWSER_PATH"), "{error}");
    }

    #[test]
    fn a_token_is_never_shown_in_an_error_or_debug_output() {
        let error = settings(&[(env::FACTORY_OBS_BROWSER_TOKEN, "short secret!")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("FACTORY_OBS_BROWSER_TOKEN"), "{error}");
        assert!(!error.contains("short secret"), "{error}");
        let set = settings(&[(env::FACTORY_OBS_BROWSER_TOKEN, "abcdefghijklmnop-0123")]).unwrap();
        let debug = format!("{set:?}");
        assert!(!debug.contains("abcdefghijklmnop"), "{debug}");
        assert!(debug.contains("<set, not shown>"), "{debug}");
    }
}
