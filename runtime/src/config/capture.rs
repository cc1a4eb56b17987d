//! Content capture's and redaction's variables: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`,
//! `FACTORY_OBS_CAPTURE_MAX_CHARS`, `FACTORY_OBS_REDACT_PATTERNS`,
//! `FACTORY_OBS_REDACT_ATTRIBUTES` (what they do: `crate::content`, `docs/security.md`).

use super::values::parse_bool;
use super::Lookup;
use crate::content::{
    CaptureSettings, ContentCapture, RuleSet, DEFAULT_MAX_CHARS, MAX_CHARS_RANGE,
};
use crate::error::InitError;
use crate::names::env;

/// Reads and validates the variables through `get` (which treats blank values as unset). Every
/// pattern of `FACTORY_OBS_REDACT_PATTERNS` is compiled here, so that a bad one stops `init`
/// with the variable's name and the pattern's number (never the pattern: it may be a secret).
pub(super) fn capture_settings(get: Lookup<'_>) -> Result<CaptureSettings, InitError> {
    let name = env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    let mode = match get(name) {
        None => None,
        Some(value) => Some(match value.trim().to_ascii_lowercase().as_str() {
            "true" => ContentCapture::On,
            "false" => ContentCapture::Off,
            _ => {
                return Err(InitError::invalid_env(
                    name,
                    &value,
                    "true (capture prompts and completions at every #[llm_call]) or false \
                     (capture no content anywhere); unset: only sites with `capture_content`",
                ))
            }
        }),
    };
    let name = env::FACTORY_OBS_CAPTURE_MAX_CHARS;
    let max_chars = match get(name) {
        None => None,
        Some(value) => match value.trim().parse::<usize>() {
            Ok(n) if MAX_CHARS_RANGE.contains(&n) => Some(n),
            _ => {
                return Err(InitError::invalid_env(
                    name,
                    &value,
                    &format!(
                        "a whole number of characters from {} to {}, e.g. {DEFAULT_MAX_CHARS}",
                        MAX_CHARS_RANGE.start(),
                        MAX_CHARS_RANGE.end()
                    ),
                ))
            }
        },
    };
    let redact_patterns = match get(env::FACTORY_OBS_REDACT_PATTERNS) {
        None => Vec::new(),
        Some(value) => {
            let patterns: Vec<String> = value
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect();
            RuleSet::new(&patterns).map_err(|bad| InitError::RedactPattern {
                origin: env::FACTORY_OBS_REDACT_PATTERNS.to_owned(),
                number: bad.number,
                reason: bad.reason,
            })?;
            patterns
        }
    };
    let redact_attributes = match get(env::FACTORY_OBS_REDACT_ATTRIBUTES) {
        None => None,
        Some(value) => Some(parse_bool(env::FACTORY_OBS_REDACT_ATTRIBUTES, &value)?),
    };
    Ok(CaptureSettings {
        mode,
        max_chars,
        redact_patterns,
        redact_attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &'static str, value: &'static str) -> Result<CaptureSettings, InitError> {
        let get = move |asked: &str| (asked == name).then(|| value.to_owned());
        capture_settings(&get)
    }

    #[test]
    fn capture_from_the_environment() {
        let mode = |value| {
            settings(
                env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
                value,
            )
        };
        assert_eq!(mode("TRUE").unwrap().mode, Some(ContentCapture::On));
        assert_eq!(mode(" false ").unwrap().mode, Some(ContentCapture::Off));
        assert_eq!(
            mode("yes").unwrap_err().to_string(),
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=\"yes\" is not valid: expected \
             true (capture prompts and completions at every #[llm_call]) or false (capture no \
             content anywhere); unset: only sites with `capture_content`"
        );
        let length = |value| settings(env::FACTORY_OBS_CAPTURE_MAX_CHARS, value);
        assert_eq!(length("4096").unwrap().max_chars, Some(4096));
        for bad in ["0", "15", "-1", "2000000", "lots"] {
            assert_eq!(
                length(bad).unwrap_err().to_string(),
                format!(
                    "FACTORY_OBS_CAPTURE_MAX_CHARS=\"{bad}\" is not valid: expected a whole \
                     number of characters from 16 to 1048576, e.g. 8192"
                )
            );
        }
    }

    #[test]
    fn redaction_from_the_environment() {
        let patterns = settings(
            env::FACTORY_OBS_REDACT_PATTERNS,
            "ACME-[0-9]{6}\n\n  license: (?P<secret>[A-Z0-9]{20})  \n",
        )
        .unwrap();
        assert_eq!(
            patterns.redact_patterns,
            ["ACME-[0-9]{6}", "license: (?P<secret>[A-Z0-9]{20})"]
        );
        let bad = settings(env::FACTORY_OBS_REDACT_PATTERNS, "ACME-[0-9]{6}\nhunter2(x");
        let error = bad.unwrap_err();
        assert_eq!(
            error.to_string(),
            "FACTORY_OBS_REDACT_PATTERNS=\"<not shown: patterns may be secrets>\" is not valid: \
             pattern 2 is not a valid regular expression: unclosed group (at character 8); give \
             one regular expression per line, in the syntax of the regex crate (the pattern is not shown: it may be the secret itself)"
        );
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        let attributes = |value| settings(env::FACTORY_OBS_REDACT_ATTRIBUTES, value);
        assert_eq!(attributes("true").unwrap().redact_attributes, Some(true));
        assert_eq!(
            attributes("all").unwrap_err().to_string(),
            "FACTORY_OBS_REDACT_ATTRIBUTES=\"all\" is not valid: expected true or false"
        );
    }
}
