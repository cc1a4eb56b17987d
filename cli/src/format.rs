//! Numbers as people read them, percentiles, and aligned text tables.

use factory_observability_model::escape_for_terminal;
use std::time::{Duration, UNIX_EPOCH};

/// Durations: `12 ms` under a second, `1.23 s` under a minute, `2m 05s` beyond; `0.42 ms` under
/// a millisecond.
pub fn duration(nanos: u64) -> String {
    let d = Duration::from_nanos(nanos);
    if d < Duration::from_millis(1) {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// A signed difference of durations: `+12 ms`, `-1.20 s`.
pub fn duration_delta(a: u64, b: u64) -> String {
    if b >= a {
        format!("+{}", duration(b - a))
    } else {
        format!("-{}", duration(a - b))
    }
}

/// Milliseconds as a JSON number.
pub fn millis(nanos: u64) -> f64 {
    (nanos as f64 / 1e3).round() / 1e3
}

/// USD with 4 decimals, `-` when unknown.
pub fn cost(usd: Option<f64>) -> String {
    match usd {
        Some(usd) => format!("${usd:.4}"),
        None => "-".to_owned(),
    }
}

/// A ratio as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(unix_nano: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(unix_nano)).to_string()
}

/// Escapes text for XML and HTML: markup, and control characters (which XML 1.0 forbids even as
/// character references) and bidi overrides written visibly as for a terminal.
pub fn xml_escape(text: &str) -> String {
    escape_for_terminal(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Milliseconds (a [`crate::quantiles::Latency`]'s) as a duration's text.
pub fn ms(value: f64) -> String {
    duration((value * 1e6).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(420_000), "0.42 ms");
        assert_eq!(duration(12_400_000), "12 ms");
        assert_eq!(duration(1_234_000_000), "1.23 s");
        assert_eq!(duration(125_000_000_000), "2m 05s");
        assert_eq!(duration_delta(10_000_000, 4_000_000), "-6 ms");
    }

    #[test]
    fn xml_escape_escapes_markup_and_control_characters() {
        assert_eq!(
            xml_escape("<b a=\"1\">&\u{1b}[31m\u{202e}</b>"),
            "&lt;b a=&quot;1&quot;&gt;&amp;\\u{1b}[31m\\u{202e}&lt;/b&gt;"
        );
    }
}
