//! Content capture: what an instrumented call saw (prompts, completions, arguments), recorded
//! only when asked, and always redacted and cut before it leaves the calling thread.
//!
//! Off by default. Who decides:
//!
//! | process-wide setting (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, or `TelemetryBuilder::capture_content`) | `#[llm_call]` prompt and completion | `capture(args = [...])` arguments |
//! |---|---|---|
//! | unset (default) | only at sites with `capture_content` | captured |
//! | `true` | everywhere, except at sites with `capture_content = false` | captured |
//! | `false` | nowhere | nowhere |
//!
//! Every captured text passes [`redact_secrets`], then the program's own hook
//! (`TelemetryBuilder::redact_with`), then [`cut`] at `FACTORY_OBS_CAPTURE_MAX_CHARS`
//! characters (default 8192).

mod cut;
mod messages;
mod redact;

pub use cut::{cut, CUT_MARK};
pub use messages::{ChatMessage, Messages, Role};
pub use redact::redact_secrets;

use crate::call::Fields;
use crate::error::InitError;
use crate::init::TelemetryBuilder;
use crate::names::{attr, env};
use opentelemetry::{Key, KeyValue};
use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Longest captured text unless configured, in characters.
pub const DEFAULT_MAX_CHARS: usize = 8192;
/// Accepted range of the cut, in characters.
pub const MAX_CHARS_RANGE: std::ops::RangeInclusive<usize> = 16..=1_048_576;
/// What replaces a text whose redaction hook panicked: nothing of it is exported.
pub const HOOK_FAILED: &str = "[REDACTED:redaction_hook_failed]";

/// Whether content is captured, process-wide (see the [module](self) for the table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentCapture {
    /// Unset: only sites that opt in capture prompts and completions.
    #[default]
    SitesOptIn,
    /// `true`: every `#[llm_call]` captures, except sites with `capture_content = false`.
    On,
    /// `false`: nothing is captured anywhere, arguments included.
    Off,
}

/// A program's own redaction, run after the built-in rules.
type Hook = dyn for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync;

/// How a pipeline captures content.
#[derive(Clone, Default)]
pub(crate) struct ContentPolicy {
    pub mode: ContentCapture,
    pub max_chars: Option<usize>,
    pub(crate) hook: Option<Arc<Hook>>,
}

impl fmt::Debug for ContentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentPolicy")
            .field("mode", &self.mode)
            .field("max_chars", &self.max_chars())
            .field("hook", &self.hook.as_ref().map(|_| "fn(&str) -> Cow<str>"))
            .finish()
    }
}

impl ContentPolicy {
    fn max_chars(&self) -> usize {
        self.max_chars.unwrap_or(DEFAULT_MAX_CHARS)
    }

    /// `text` redacted by the built-in rules and the hook (not cut).
    pub(crate) fn redact(&self, text: &str) -> String {
        let masked = redact_secrets(text);
        let Some(hook) = &self.hook else {
            return masked.into_owned();
        };
        // The hook is the program's code: a panic in it loses this text, never the call.
        match catch_unwind(AssertUnwindSafe(|| hook(&masked).into_owned())) {
            Ok(text) => text,
            Err(_) => HOOK_FAILED.to_owned(),
        }
    }

    /// `text` cut to the configured length.
    pub(crate) fn cut(&self, text: String) -> String {
        match cut(&text, self.max_chars()) {
            Cow::Borrowed(_) => text,
            Cow::Owned(cut) => cut,
        }
    }

    /// Redacted, then cut.
    pub(crate) fn prepare(&self, text: &str) -> String {
        self.cut(self.redact(text))
    }

    /// `gen_ai.output.messages` of a completion, redacted and cut.
    pub(crate) fn output_messages(&self, text: &str, finish_reason: Option<&str>) -> String {
        self.cut(messages::output_messages(&self.redact(text), finish_reason))
    }
}

/// Content capture as configured in code and by the environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct CaptureSettings {
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, when set.
    pub mode: Option<ContentCapture>,
    /// `FACTORY_OBS_CAPTURE_MAX_CHARS`, when set.
    pub max_chars: Option<usize>,
}

impl CaptureSettings {
    /// Reads and validates the two variables through `get` (which treats blank values as unset).
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
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
        Ok(CaptureSettings { mode, max_chars })
    }
}

/// What `TelemetryBuilder` was told about content capture.
#[derive(Clone, Default)]
pub(crate) struct CaptureBuilder {
    mode: Option<ContentCapture>,
    max_chars: Option<usize>,
    pub(crate) hook: Option<Arc<Hook>>,
}

impl fmt::Debug for CaptureBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureBuilder")
            .field("mode", &self.mode)
            .field("max_chars", &self.max_chars)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl CaptureBuilder {
    /// The policy: the environment wins over code, as for every other setting.
    pub(crate) fn policy(self, settings: &CaptureSettings) -> ContentPolicy {
        ContentPolicy {
            mode: settings.mode.or(self.mode).unwrap_or_default(),
            max_chars: settings.max_chars.or(self.max_chars),
            hook: self.hook,
        }
    }
}

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

    /// Masks more in captured text: `hook` runs on every captured text after the built-in rules
    /// ([`redact_secrets`]) and before the cut. Return the text borrowed when nothing changed.
    /// A hook that panics loses the text it was given (replaced by
    /// `[REDACTED:redaction_hook_failed]`), never the call.
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

/// What a call captured at its start, before the policy redacts and cuts it.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// The pipeline's setting, copied when the call starts.
    pub mode: ContentCapture,
    /// `#[llm_call(capture_content)]` (`true`) or `capture_content = false`.
    pub site: Option<bool>,
    /// The prompt, when the call captures content.
    pub prompt: Option<Messages>,
    /// `capture(args = [...])`: each argument's name and `Debug` text.
    pub arguments: Vec<(&'static str, String)>,
}

impl Captured {
    /// Whether this call captures prompts and completions.
    pub(crate) fn content(&self) -> bool {
        match self.mode {
            ContentCapture::Off => false,
            ContentCapture::On => self.site != Some(false),
            ContentCapture::SitesOptIn => self.site == Some(true),
        }
    }

    /// Adds what was captured to `attributes`, redacted and cut; returns whether the call's
    /// completion is captured too.
    pub(crate) fn record(self, policy: &ContentPolicy, attributes: &mut Vec<KeyValue>) -> bool {
        let content = self.content();
        if let Some(mut prompt) = self.prompt.filter(|_| content) {
            prompt.map_text(|text| policy.redact(text));
            if !prompt.system.is_empty() {
                let json = messages::system_instructions(&prompt.system);
                attributes.push(KeyValue::new(
                    attr::GEN_AI_SYSTEM_INSTRUCTIONS,
                    policy.cut(json),
                ));
            }
            if !prompt.messages.is_empty() {
                let json = messages::input_messages(&prompt.messages);
                attributes.push(KeyValue::new(attr::GEN_AI_INPUT_MESSAGES, policy.cut(json)));
            }
        }
        for (name, text) in self.arguments {
            attributes.push(KeyValue::new(
                Key::from(format!("{}{name}", attr::ARGUMENT_PREFIX)),
                policy.prepare(&text),
            ));
        }
        content
    }
}

/// Longest `Debug` text of an argument formatted before the cut, in bytes: enough for the
/// longest cut (4 bytes a character), so that what formatting leaves out is cut anyway.
const ARGUMENT_FORMAT_LIMIT: usize = 4 * *MAX_CHARS_RANGE.end() + 1024;

/// A `fmt::Write` that stops the formatting once it holds `limit` bytes.
struct Bounded {
    text: String,
    limit: usize,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        Err(fmt::Error)
    }
}

/// What the macros record for content capture.
impl Fields {
    /// `#[llm_call(capture_content)]` (`true`) or `#[llm_call(capture_content = false)]`.
    pub fn capture_content(&mut self, on: bool) {
        self.captured.site = Some(on);
    }

    /// `capture(args = [name])`: the argument's `Debug` text, unless capture is off.
    pub fn argument<T: fmt::Debug + ?Sized>(&mut self, name: &'static str, value: &T) {
        if self.captured.mode == ContentCapture::Off {
            return;
        }
        let mut bounded = Bounded {
            text: String::new(),
            limit: ARGUMENT_FORMAT_LIMIT,
        };
        // The `Debug` impl is the program's code: a panic in it records nothing of this
        // argument, and the call goes on.
        let formatted = catch_unwind(AssertUnwindSafe(|| {
            let _ = fmt::write(&mut bounded, format_args!("{value:?}"));
            bounded.text
        }));
        if let Ok(text) = formatted {
            self.captured.arguments.push((name, text));
        }
    }

    /// The prompt's messages, when the call captures content.
    pub(crate) fn capture_prompt<P: crate::PromptText + ?Sized>(&mut self, prompt: &P) {
        if !self.captured.content() {
            return;
        }
        let mut messages = Messages::default();
        let written = catch_unwind(AssertUnwindSafe(|| prompt.prompt_messages(&mut messages)));
        if written.is_ok() && !messages.is_empty() {
            self.captured.prompt = Some(messages);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_and_the_site_decide_together() {
        let decide = |mode, site| {
            Captured {
                mode,
                site,
                ..Captured::default()
            }
            .content()
        };
        use ContentCapture::*;
        assert_eq!(
            [None, Some(true), Some(false)].map(|site| decide(SitesOptIn, site)),
            [false, true, false]
        );
        assert_eq!(
            [None, Some(true), Some(false)].map(|site| decide(On, site)),
            [true, true, false]
        );
        assert_eq!(
            [None, Some(true), Some(false)].map(|site| decide(Off, site)),
            [false, false, false]
        );
    }

    #[test]
    fn settings_from_the_environment() {
        let settings = |value: &'static str| {
            CaptureSettings::from_lookup(|name| {
                (name == env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
                    .then(|| value.to_owned())
            })
        };
        assert_eq!(settings("TRUE").unwrap().mode, Some(ContentCapture::On));
        assert_eq!(settings(" false ").unwrap().mode, Some(ContentCapture::Off));
        let error = settings("yes").unwrap_err().to_string();
        assert_eq!(
            error,
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=\"yes\" is not valid: expected \
             true (capture prompts and completions at every #[llm_call]) or false (capture no \
             content anywhere); unset: only sites with `capture_content`"
        );
        let length = |value: &'static str| {
            CaptureSettings::from_lookup(|name| {
                (name == env::FACTORY_OBS_CAPTURE_MAX_CHARS).then(|| value.to_owned())
            })
        };
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
    fn the_environment_wins_over_code() {
        let builder = CaptureBuilder {
            mode: Some(ContentCapture::On),
            max_chars: Some(100),
            hook: None,
        };
        let policy = builder.clone().policy(&CaptureSettings {
            mode: Some(ContentCapture::Off),
            max_chars: None,
        });
        assert_eq!(
            (policy.mode, policy.max_chars()),
            (ContentCapture::Off, 100)
        );
        let policy = builder.policy(&CaptureSettings::default());
        assert_eq!(policy.mode, ContentCapture::On);
        assert_eq!(ContentPolicy::default().max_chars(), DEFAULT_MAX_CHARS);
    }

    #[test]
    fn hooks_run_after_the_rules_and_a_panicking_hook_loses_the_text() {
        let mut policy = ContentPolicy {
            hook: Some(Arc::new(|text: &str| {
                Cow::Owned(text.replace("ACME-7", "[REDACTED:acme]"))
            })),
            ..ContentPolicy::default()
        };
        assert_eq!(
            policy.prepare("ACME-7 with sk-ant-api03-AAAABBBBCCCCDDDDEEEE"),
            "[REDACTED:acme] with [REDACTED:api_key]"
        );
        policy.hook = Some(Arc::new(|_: &str| -> Cow<'_, str> { panic!("hook bug") }));
        assert_eq!(policy.prepare("ACME-7"), HOOK_FAILED);
    }

    #[test]
    fn argument_formatting_is_bounded_and_survives_a_panicking_debug() {
        struct Panics;
        impl fmt::Debug for Panics {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("Debug bug")
            }
        }
        let mut fields = Fields::default();
        fields.argument("bad", &Panics);
        fields.argument("spec", &vec!["a", "b"]);
        assert_eq!(
            fields.captured.arguments,
            vec![("spec", r#"["a", "b"]"#.to_owned())]
        );
        let mut bounded = Bounded {
            text: String::new(),
            limit: 5,
        };
        assert!(fmt::write(&mut bounded, format_args!("{}", "ééé")).is_err());
        assert_eq!(bounded.text, "éé");
    }
}
