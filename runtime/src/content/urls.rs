//! URLs as a human may read them: `scheme://host:port/path?key=***`, never a password, a user
//! name or a query value. Endpoints carry tokens (`http://user:token@host/`,
//! `…/?api_key=…`), and the text of the HTTP and gRPC clients' errors may quote the URL they
//! failed on: everything this crate prints (warnings, the delivery report, `InitError`) shows
//! URLs through [`shown_url`], and any other text through [`mask_urls`].

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What replaces user information, query values and fragments.
pub const HIDDEN: &str = "***";

/// `url` for a human: user information replaced by `***`, every query value and the fragment
/// by `***` (the query's keys stay, to say what was set), and the built-in redaction rules over
/// the rest (a webhook's path is its secret). Works on any text, URL or not: what does not
/// parse as a URL is shown with the same masking applied to what looks like its parts.
///
/// ```
/// use factory_observability::content::shown_url;
///
/// assert_eq!(
///     shown_url("https://ci:glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm@otlp.example:4318/v1/traces?api_key=k3y&team=a#frag"),
///     "https://***@otlp.example:4318/v1/traces?api_key=***&team=***#***"
/// );
/// assert_eq!(shown_url("http://localhost:4318/v1/traces"), "http://localhost:4318/v1/traces");
/// ```
pub fn shown_url(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, _)) => (rest, Some(HIDDEN)),
        None => (url, None),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (scheme, after_scheme) = match before_query.split_once("://") {
        Some((scheme, after)) => (Some(scheme), after),
        None => (None, before_query),
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(slash) => after_scheme.split_at(slash),
        None => (after_scheme, ""),
    };
    let host = match authority.rsplit_once('@') {
        // Masked already (`https://[REDACTED:github_token]@host`): the mask says more.
        Some((user, _)) if is_mask(user) => Cow::Borrowed(authority),
        Some((_, host)) => Cow::Owned(format!("{HIDDEN}@{host}")),
        None => Cow::Borrowed(authority),
    };
    let mut shown = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    shown.push_str(&host);
    shown.push_str(path);
    if let Some(query) = query {
        shown.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                // A mask (its `]` may be past the end of a URL found in text) says more.
                Some((key, value)) if value.starts_with("[REDACTED:") => format!("{key}={value}"),
                Some((key, _)) => format!("{key}={HIDDEN}"),
                None if pair.is_empty() => String::new(),
                // A bare value may be a token itself.
                None => HIDDEN.to_owned(),
            })
            .collect();
        shown.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(fragment);
    }
    match super::redact::built_in().redact(&shown) {
        Cow::Borrowed(_) => shown,
        Cow::Owned(redacted) => redacted,
    }
}

/// Whether `text` is one mask of the redaction rules, or [`HIDDEN`].
fn is_mask(text: &str) -> bool {
    text == HIDDEN
        || (text.starts_with("[REDACTED:") && text.ends_with(']') && !text[1..].contains('['))
}

/// URLs in running text: a scheme, `://`, and what follows up to a space or a quote, not
/// counting punctuation that ends a sentence (`http://h/x: refused` keeps its colon).
static URL_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)[a-z][a-z0-9+.\-]*://[^\s"'<>\\`]*[^\s"'<>\\`:.,;!?)\]}]"#)
        .expect("URL pattern")
});

/// `text` with every URL in it shown as [`shown_url`] shows it; borrowed when it has none that
/// changes.
pub fn mask_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut changed = false;
    let masked = URL_IN_TEXT.replace_all(text, |found: &regex::Captures<'_>| {
        let url = &found[0];
        let shown = shown_url(url);
        changed |= shown != url;
        shown
    });
    if changed {
        Cow::Owned(masked.into_owned())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_query_values_and_fragments_are_hidden() {
        for (url, shown) in [
            (
                "http://user:pass@collector:4318/",
                "http://***@collector:4318/",
            ),
            ("https://token@h/v1/traces", "https://***@h/v1/traces"),
            (
                "http://h:4318/v1/traces?api_key=x&team=factory",
                "http://h:4318/v1/traces?api_key=***&team=***",
            ),
            ("http://h:4318/?sk-ant-api03-AAAABBBB", "http://h:4318/?***"),
            ("http://h/#access_token=abc", "http://h/#***"),
            ("user:pass@h:4317", "***@h:4317"),
            ("http://[::1]:4318/v1/logs", "http://[::1]:4318/v1/logs"),
            ("localhost:4317", "localhost:4317"),
            (
                "https://[REDACTED:github_token]@github.com/o/r",
                "https://[REDACTED:github_token]@github.com/o/r",
            ),
            ("https://ann:[REDACTED:url_password]@h/", "https://***@h/"),
            (
                "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
                "https://[REDACTED:slack_token]",
            ),
        ] {
            assert_eq!(shown_url(url), shown, "{url}");
        }
    }

    #[test]
    fn urls_in_text_are_masked_and_the_punctuation_after_them_kept() {
        assert_eq!(
            mask_urls(
                "POST http://u:p@h:4318/v1/traces?api_key=k: 401 Unauthorized (via \"https://t@proxy:3128\")."
            ),
            "POST http://***@h:4318/v1/traces?api_key=***: 401 Unauthorized (via \"https://***@proxy:3128\")."
        );
        assert!(matches!(
            mask_urls("POST http://localhost:4318/v1/traces: 404 Not Found"),
            Cow::Borrowed(_)
        ));
        // What is already masked stays as it is.
        let once = mask_urls("see http://h/?a=1&b=2, then").into_owned();
        assert_eq!(once, "see http://h/?a=***&b=***, then");
        assert_eq!(mask_urls(&once), once);
    }
}
