//! Parsers of the value syntaxes the `OTEL_*` variables share.

use crate::error::InitError;

/// A variable set to an empty or blank value counts as unset, as the OpenTelemetry specification
/// asks of SDK configuration.
pub(super) fn is_set(value: &str) -> bool {
    !value.trim().is_empty()
}

pub(super) fn parse_bool(name: &str, value: &str) -> Result<bool, InitError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(InitError::invalid_env(name, value, "true or false")),
    }
}

/// Parses the W3C-baggage-like `key=value,key=value` lists of `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`, percent-decoding keys and values. `show_value` is false for
/// headers, whose values are never put into an error.
pub(super) fn parse_key_values(
    name: &str,
    value: &str,
    show_value: bool,
) -> Result<Vec<(String, String)>, InitError> {
    let shown = if show_value {
        value
    } else {
        "<not shown: headers may hold secrets>"
    };
    let mut pairs = Vec::new();
    for (index, entry) in value.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let accepted = format!(
            "a comma-separated list of key=value pairs (entry {} is not)",
            index + 1
        );
        let Some((key, val)) = entry.split_once('=') else {
            return Err(InitError::invalid_env(name, shown, &accepted));
        };
        let key = percent_decode(key.trim());
        let val = percent_decode(val.trim());
        match (key, val) {
            (Some(key), Some(val)) if !key.is_empty() => pairs.push((key, val)),
            _ => return Err(InitError::invalid_env(name, shown, &accepted)),
        }
    }
    Ok(pairs)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}
