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
//! A `#[tool]`'s arguments and result are captured only at sites with `capture_content` (whose
//! arguments must be [`ToolArgument`]s), unless the setting is `false`. They are JSON: their
//! strings are redacted, and the cut keeps the document valid JSON.
//!
//! Every captured text passes the [`Redaction`] policy (the built-in rules of
//! [`redact_secrets`], the program's own patterns, its hook), then [`cut`] at
//! `FACTORY_OBS_CAPTURE_MAX_CHARS` characters (default 8192). The same policy masks error and
//! panic messages ([`Redaction::redact`] at a call's end) and everything this crate prints
//! ([`printable`]); URLs are printed through [`shown_url`]. See `docs/security.md`.

mod cut;
pub(crate) mod fakes;
mod json;
mod messages;
mod prompt;
mod redact;
mod urls;

pub use cut::{cut, CUT_MARK};
pub(crate) use json::to_json;
pub use json::ToolArgument;
pub use messages::{ChatMessage, Messages, Role};
pub use prompt::PromptText;
pub use redact::redact_secrets;
pub(crate) use redact::{BadPattern, RuleSet};
pub use urls::{mask_urls, shown_url};

use crate::names::{agent, attr};
use opentelemetry::{Key, KeyValue};
use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

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

/// A program's own redaction, run after the rules.
type Hook = dyn for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync;

/// The one redaction policy of a process: the built-in rules and the program's own patterns
/// (one pass), then its hook. Applied to captured content, error and panic messages, what this
/// crate prints, and, when asked, every attribute and log record.
#[derive(Clone, Default)]
pub(crate) struct Redaction {
    /// The built-in rules and the program's patterns; `None`: the built-in rules alone.
    rules: Option<Arc<RuleSet>>,
    hook: Option<Arc<Hook>>,
    /// Whether every string attribute of every span and log record is redacted too
    /// (`FACTORY_OBS_REDACT_ATTRIBUTES`), not only captured content and error messages.
    pub attributes: bool,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("rules", &self.rules)
            .field("hook", &self.hook.as_ref().map(|_| "fn(&str) -> Cow<str>"))
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl Redaction {
    /// `text` with every secret the rules know masked, then passed to the hook; borrowed when
    /// neither changed it. A hook that panics loses the text, never the caller.
    pub(crate) fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let rules: &RuleSet = match &self.rules {
            Some(rules) => rules,
            None => redact::built_in(),
        };
        let masked = rules.redact(text);
        let Some(hook) = &self.hook else {
            return masked;
        };
        let hooked = catch_unwind(AssertUnwindSafe(|| match hook(&masked) {
            Cow::Borrowed(same) if std::ptr::eq(same, &*masked) => None,
            changed => Some(changed.into_owned()),
        }));
        match hooked {
            Ok(None) => masked,
            Ok(Some(changed)) => Cow::Owned(changed),
            Err(_) => Cow::Owned(HOOK_FAILED.to_owned()),
        }
    }

    /// `text` as it may be printed: redacted, then its URLs shown by [`shown_url`] (a token
    /// in a URL's user information keeps the mask that names its kind).
    pub(crate) fn printable<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.redact(text) {
            Cow::Borrowed(text) => mask_urls(text),
            Cow::Owned(redacted) => Cow::Owned(mask_urls(&redacted).into_owned()),
        }
    }
}

/// The policy of the installed telemetry, for what is printed outside any pipeline.
static PROCESS_REDACTION: OnceLock<Redaction> = OnceLock::new();

/// Makes `redaction` the policy of what this crate prints (once per process, at `init`).
pub(crate) fn install_process_redaction(redaction: Redaction) {
    let _ = PROCESS_REDACTION.set(redaction);
}

/// `text` as this crate prints it (warnings, the summary, the delivery report, `InitError`):
/// URLs without their user information and query values, secrets masked by the installed
/// policy (the built-in rules before `init`).
pub fn printable(text: &str) -> Cow<'_, str> {
    match PROCESS_REDACTION.get() {
        Some(redaction) => redaction.printable(text),
        None => Redaction::default().printable(text),
    }
}

/// How a pipeline captures content, and how it redacts.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContentPolicy {
    pub mode: ContentCapture,
    pub max_chars: Option<usize>,
    pub redaction: Redaction,
}

impl ContentPolicy {
    fn max_chars(&self) -> usize {
        self.max_chars.unwrap_or(DEFAULT_MAX_CHARS)
    }

    /// `text` redacted by the policy (not cut).
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redaction.redact(text).into_owned()
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

/// Content capture and redaction as the environment sets them (read by `config`).
#[derive(Clone, Debug, Default)]
pub(crate) struct CaptureSettings {
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, when set.
    pub mode: Option<ContentCapture>,
    /// `FACTORY_OBS_CAPTURE_MAX_CHARS`, when set.
    pub max_chars: Option<usize>,
    /// `FACTORY_OBS_REDACT_PATTERNS`, one regular expression a line (checked by `config`).
    pub redact_patterns: Vec<String>,
    /// `FACTORY_OBS_REDACT_ATTRIBUTES`, when set.
    pub redact_attributes: Option<bool>,
}

/// What `TelemetryBuilder` was told about content capture and redaction.
#[derive(Clone, Default)]
pub(crate) struct CaptureBuilder {
    pub(crate) mode: Option<ContentCapture>,
    pub(crate) max_chars: Option<usize>,
    pub(crate) hook: Option<Arc<Hook>>,
    pub(crate) patterns: Vec<String>,
    pub(crate) redact_attributes: Option<bool>,
}

impl fmt::Debug for CaptureBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The patterns may be the very secrets to mask: counted, never shown.
        f.debug_struct("CaptureBuilder")
            .field("mode", &self.mode)
            .field("max_chars", &self.max_chars)
            .field("hook", &self.hook.is_some())
            .field("patterns", &self.patterns.len())
            .field("redact_attributes", &self.redact_attributes)
            .finish()
    }
}

impl CaptureBuilder {
    /// The policy: the environment wins over code, as for every other setting; the patterns of
    /// both apply (code's first). A pattern given in code that does not compile is the error
    /// (the environment's were checked by `config`), numbered among the code's patterns.
    pub(crate) fn policy(self, settings: &CaptureSettings) -> Result<ContentPolicy, BadPattern> {
        let rules = if self.patterns.is_empty() && settings.redact_patterns.is_empty() {
            None
        } else {
            let patterns: Vec<String> = self
                .patterns
                .iter()
                .chain(&settings.redact_patterns)
                .cloned()
                .collect();
            Some(Arc::new(RuleSet::new(&patterns)?))
        };
        Ok(ContentPolicy {
            mode: settings.mode.or(self.mode).unwrap_or_default(),
            max_chars: settings.max_chars.or(self.max_chars),
            redaction: Redaction {
                rules,
                hook: self.hook,
                attributes: settings
                    .redact_attributes
                    .or(self.redact_attributes)
                    .unwrap_or(false),
            },
        })
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
    /// A `#[tool(capture_content)]`'s arguments by name, as JSON, when the call captures
    /// content (`gen_ai.tool.call.arguments`).
    pub tool_arguments: Option<serde_json::Map<String, serde_json::Value>>,
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
        if let Some(arguments) = self.tool_arguments.filter(|_| content) {
            attributes.push(KeyValue::new(
                agent::GEN_AI_TOOL_CALL_ARGUMENTS,
                policy.prepare_arguments(arguments),
            ));
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
    fn the_environment_wins_over_code() {
        let builder = CaptureBuilder {
            mode: Some(ContentCapture::On),
            max_chars: Some(100),
            redact_attributes: Some(true),
            ..CaptureBuilder::default()
        };
        let policy = builder
            .clone()
            .policy(&CaptureSettings {
                mode: Some(ContentCapture::Off),
                redact_attributes: Some(false),
                ..CaptureSettings::default()
            })
            .unwrap();
        assert_eq!(
            (policy.mode, policy.max_chars(), policy.redaction.attributes),
            (ContentCapture::Off, 100, false)
        );
        let policy = builder.policy(&CaptureSettings::default()).unwrap();
        assert_eq!(policy.mode, ContentCapture::On);
        assert!(policy.redaction.attributes);
        assert_eq!(ContentPolicy::default().max_chars(), DEFAULT_MAX_CHARS);
    }

    #[test]
    fn patterns_of_code_and_environment_both_apply_and_a_bad_one_is_numbered() {
        let builder = crate::Telemetry::builder("t")
            .redact_pattern("ACME-[0-9]{6}")
            .capture;
        let policy = builder
            .clone()
            .policy(&CaptureSettings {
                redact_patterns: vec!["INT-[a-z]{4}".to_owned()],
                ..CaptureSettings::default()
            })
            .unwrap();
        assert_eq!(
            policy
                .prepare("ACME-123456 and INT-abcd and ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12"),
            "[REDACTED:custom] and [REDACTED:custom] and [REDACTED:github_token]"
        );
        let mut bad = builder;
        bad.patterns.push("[unclosed".to_owned());
        let error = bad.policy(&CaptureSettings::default()).unwrap_err();
        assert_eq!(error.number, 2);
    }

    #[test]
    fn hooks_run_after_the_rules_and_a_panicking_hook_loses_the_text() {
        let mut policy = ContentPolicy::default();
        policy.redaction.hook = Some(Arc::new(|text: &str| {
            Cow::Owned(text.replace("ACME-7", "[REDACTED:acme]"))
        }));
        assert_eq!(
            policy.prepare("ACME-7 with sk-ant-api03-AAAABBBBCCCCDDDDEEEE"),
            "[REDACTED:acme] with [REDACTED:api_key]"
        );
        // A hook that returns its text borrowed leaves it borrowed.
        policy.redaction.hook = Some(Arc::new(|text: &str| Cow::Borrowed(text)));
        assert!(matches!(
            policy.redaction.redact("plain"),
            Cow::Borrowed("plain")
        ));
        policy.redaction.hook = Some(Arc::new(|_: &str| -> Cow<'_, str> { panic!("hook bug") }));
        assert_eq!(policy.prepare("ACME-7"), HOOK_FAILED);
    }

    #[test]
    fn printable_text_shows_urls_without_secrets_and_masks_the_rest() {
        let redaction = Redaction::default();
        assert_eq!(
            redaction.printable(
                "POST http://ci:s3cret@h:4318/v1/traces?api_key=k3y: 401; key was glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm"
            ),
            "POST http://***@h:4318/v1/traces?api_key=***: 401; key was [REDACTED:gitlab_token]"
        );
    }
}
