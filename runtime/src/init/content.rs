//! The builder's content-capture and redaction settings: what calls capture, how long a
//! captured text may be, and what is masked besides the built-in rules.

use super::TelemetryBuilder;
use crate::content::{ContentCapture, MAX_CHARS_RANGE};
use std::borrow::Cow;
use std::sync::Arc;

impl TelemetryBuilder {
    /// Captures prompts and completions of every `#[llm_call]` (`true`; a site with
    /// `capture_content = false` still does not), or no content at all, arguments included
    /// (`false`). Unset, only sites with `capture_content` capture. The environment variable
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` wins when set.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture.mode = Some(if on {
            ContentCapture::On
        } else {
            ContentCapture::Off
        });
        self
    }

    /// Cuts every captured text at `max_chars` characters (default 8192; at least 16, at most
    /// 1,048,576), unless `FACTORY_OBS_CAPTURE_MAX_CHARS` is set.
    pub fn capture_max_chars(mut self, max_chars: usize) -> Self {
        self.capture.max_chars =
            Some(max_chars.clamp(*MAX_CHARS_RANGE.start(), *MAX_CHARS_RANGE.end()));
        self
    }

    /// Masks more: text matching `pattern` (a regular expression in the `regex` crate's syntax)
    /// is replaced by `[REDACTED:custom]` wherever the built-in rules apply (captured content,
    /// error and panic messages, what is printed). When the pattern has a group named `secret`,
    /// only that group is masked: `token: (?P<secret>[a-z0-9]{32})`. Call it once per pattern;
    /// the patterns of `FACTORY_OBS_REDACT_PATTERNS` apply too. A pattern that does not compile
    /// makes `init` fail, naming the pattern by its number, never showing it.
    ///
    /// ```no_run
    /// let telemetry = factory_observability::Telemetry::builder("factory")
    ///     .redact_pattern(r"ACME-[0-9]{6}")
    ///     .redact_pattern(r"license: (?P<secret>[A-Z0-9-]{20,})")
    ///     .init();
    /// ```
    pub fn redact_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.capture.patterns.push(pattern.into());
        self
    }

    /// Redacts every string attribute of every exported span and log record as well (`fields(...)`,
    /// `tracing` spans' fields and events, log bodies), on the export threads, and the `tracing`
    /// events printed on stderr. Off by default: captured content, error and panic messages and
    /// what this crate prints are always redacted; the rest is the program's own data, and
    /// scanning it costs on every call. `FACTORY_OBS_REDACT_ATTRIBUTES` wins when set.
    pub fn redact_attributes(mut self, on: bool) -> Self {
        self.capture.redact_attributes = Some(on);
        self
    }

    /// Masks more in captured text: `hook` runs on every captured text after the built-in rules
    /// ([`redact_secrets`](crate::content::redact_secrets)) and the patterns, and before the cut; on error and panic messages
    /// and printed text too. Return the text borrowed when nothing changed. A hook that panics
    /// loses the text it was given (replaced by `[REDACTED:redaction_hook_failed]`), never the
    /// call.
    ///
    /// ```no_run
    /// use std::borrow::Cow;
    /// let telemetry = factory_observability::Telemetry::builder("factory")
    ///     .redact_with(|text| {
    ///         if text.contains("ACME-") {
    ///             Cow::Owned(text.replace("ACME-", "[REDACTED:acme]-"))
    ///         } else {
    ///             Cow::Borrowed(text)
    ///         }
    ///     })
    ///     .init();
    /// ```
    pub fn redact_with<F>(mut self, hook: F) -> Self
    where
        F: for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync + 'static,
    {
        self.capture.hook = Some(Arc::new(hook));
        self
    }
}
