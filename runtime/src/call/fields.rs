//! What a call records at its start: `fields(...)` and the macro's own arguments.

use super::{agent, llm, tool};
use crate::attribute::AttributeValue;
use crate::content::{ContentCapture, Messages, PromptText, ToolArgument, MAX_CHARS_RANGE};
use opentelemetry::{Key, KeyValue, StringValue};
use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Attributes recorded at the start of a call, from `fields(...)` and macro arguments.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Fields {
    pub(super) attributes: Vec<KeyValue>,
    pub(super) run_id: Option<StringValue>,
    pub(super) llm: Option<llm::Target>,
    /// The request an HTTP server call serves.
    pub(super) http: Option<super::http_server::Request>,
    /// What an HTTP client call is sent to.
    pub(super) http_client: Option<super::http_client::HttpTarget>,
    /// What `#[agent(...)]` records (boxed: most calls are no agent).
    pub(super) agent: Option<Box<agent::Target>>,
    /// What `#[tool(...)]` records.
    pub(super) tool: Option<tool::Target>,
    /// What an MCP request is (`mcp::McpRequest`).
    pub(super) mcp: Option<super::mcp_client::McpTarget>,
    /// Content the call captures (prompts, arguments), see `crate::content`.
    pub(crate) captured: crate::content::Captured,
}

impl Fields {
    /// Records `fields(key = value)`.
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(key), value.to_value()));
    }

    /// Records `fields(key = "literal")`, without copying the literal.
    pub fn record_static(&mut self, key: &'static str, value: &'static str) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(key), value));
    }

    /// Records `#[pipeline_run(run_id = value)]`.
    pub fn run_id<V: Display + ?Sized>(&mut self, value: &V) {
        self.run_id = Some(StringValue::from(value.to_string()));
    }

    /// Records `#[llm_call(provider = ..., model = ...)]`.
    pub fn llm(&mut self, provider: StringValue, model: StringValue) {
        self.llm = Some(llm::Target {
            provider,
            model,
            prompt_chars: None,
            capture_output: false,
        });
    }

    /// The request an HTTP server call serves.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn http_request(&mut self, request: super::http_server::Request) {
        self.http = Some(request);
    }

    /// Records what an HTTP client call is sent to.
    pub fn http_target(&mut self, target: super::http_client::HttpTarget) {
        self.http_client = Some(target);
    }

    /// Records what an MCP request is.
    pub(crate) fn mcp_target(&mut self, target: super::mcp_client::McpTarget) {
        self.mcp = Some(target);
    }

    /// Records `#[llm_call(prompt = argument)]`.
    pub fn prompt<P: PromptText + ?Sized>(&mut self, prompt: &P) {
        if let Some(target) = &mut self.llm {
            target.prompt_chars = Some(prompt.prompt_chars());
        }
        self.capture_prompt(prompt);
    }
}

/// What `#[agent]` and `#[tool]` record.
impl Fields {
    /// `#[agent]`: its doc comment, `version = "..."` and `remote`.
    pub fn agent(
        &mut self,
        description: &'static str,
        version: Option<&'static str>,
        remote: bool,
    ) {
        let target = self.agent.get_or_insert_with(Box::default);
        target.description = description;
        target.version = version;
        target.remote = remote;
    }

    /// `#[agent(provider = ...)]`.
    pub fn agent_provider(&mut self, provider: StringValue) {
        self.agent.get_or_insert_with(Box::default).provider = Some(provider);
    }

    /// `#[agent(model = ...)]`.
    pub fn agent_model(&mut self, model: StringValue) {
        self.agent.get_or_insert_with(Box::default).model = Some(model);
    }

    /// `#[agent(id = ...)]`: `gen_ai.agent.id`.
    pub fn agent_id<V: Display + ?Sized>(&mut self, id: &V) {
        self.agent.get_or_insert_with(Box::default).id = Some(display(id));
    }

    /// `#[agent(conversation_id = ...)]`: `gen_ai.conversation.id`.
    pub fn conversation_id<V: Display + ?Sized>(&mut self, id: &V) {
        self.agent.get_or_insert_with(Box::default).conversation = Some(display(id));
    }

    /// `#[tool]`: its doc comment and `kind = "..."`. With `capture_content` (recorded before),
    /// the call collects its arguments when it captures content.
    pub fn tool(&mut self, description: &'static str, kind: &'static str) {
        let target = self.tool.get_or_insert_with(tool::Target::default);
        target.description = description;
        target.kind = kind;
        if self.captured.site == Some(true) && self.captured.content() {
            self.captured.tool_arguments = Some(serde_json::Map::new());
        }
    }

    /// `#[tool(call_id = ...)]`: `gen_ai.tool.call.id`.
    pub fn tool_call_id<V: Display + ?Sized>(&mut self, id: &V) {
        self.tool.get_or_insert_with(tool::Target::default).call_id = Some(display(id));
    }

    /// An argument of a `#[tool(capture_content)]`, as JSON, when the call captures content.
    pub fn tool_argument<T: ToolArgument + ?Sized>(&mut self, name: &'static str, value: &T) {
        let Some(arguments) = &mut self.captured.tool_arguments else {
            return;
        };
        if let Some(json) = value.tool_argument_json() {
            arguments.insert(name.to_owned(), json);
        }
    }
}

/// A value's `Display` text; a panic in the program's `Display` records `"<unprintable>"`.
fn display<V: Display + ?Sized>(value: &V) -> StringValue {
    let mut text = String::new();
    let written = catch_unwind(AssertUnwindSafe(|| {
        let _ = fmt::write(&mut text, format_args!("{value}"));
        text
    }));
    StringValue::from(written.unwrap_or_else(|_| "<unprintable>".to_owned()))
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
    pub(crate) fn capture_prompt<P: PromptText + ?Sized>(&mut self, prompt: &P) {
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
