//! Prompts and completions as the OpenTelemetry GenAI conventions shape them:
//! `gen_ai.system_instructions` (`[{"type":"text","content":...}]`), `gen_ai.input.messages`
//! (`[{"role":...,"parts":[{"type":"text","content":...}]}]`) and `gen_ai.output.messages`
//! (the same, with `finish_reason`), each a JSON string.

use serde_json::{json, Value};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Instructions to the model: recorded as `gen_ai.system_instructions`, not as a message.
    System,
    /// The user's turn.
    User,
    /// The model's turn (an earlier answer in a conversation).
    Assistant,
    /// A tool's result.
    Tool,
}

impl Role {
    /// The role as the GenAI conventions write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of a chat prompt, for `#[llm_call(prompt = messages)]` with
/// `messages: &[ChatMessage]` or `Vec<ChatMessage>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl ChatMessage {
    /// A message of `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
    /// System instructions.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::System, content)
    }
    /// The user's turn.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::User, content)
    }
    /// The model's turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::Assistant, content)
    }
}

/// The text of a prompt, as a [`PromptText`](super::PromptText) writes it when content is captured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Messages {
    pub(crate) system: Vec<String>,
    pub(crate) messages: Vec<(Role, String)>,
}

impl Messages {
    /// Adds a message; a `System` message goes to the system instructions.
    pub fn push(&mut self, role: Role, text: &str) {
        match role {
            Role::System => self.system.push(text.to_owned()),
            _ => self.messages.push((role, text.to_owned())),
        }
    }

    /// Adds system instructions.
    pub fn system(&mut self, text: &str) {
        self.push(Role::System, text);
    }

    /// Adds the user's turn.
    pub fn user(&mut self, text: &str) {
        self.push(Role::User, text);
    }

    /// Adds the model's turn.
    pub fn assistant(&mut self, text: &str) {
        self.push(Role::Assistant, text);
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.system.is_empty() && self.messages.is_empty()
    }

    /// Every text, redacted with `redact`.
    pub(crate) fn map_text(&mut self, mut redact: impl FnMut(&str) -> String) {
        for text in &mut self.system {
            *text = redact(text);
        }
        for (_, text) in &mut self.messages {
            *text = redact(text);
        }
    }
}

fn text_part(text: &str) -> Value {
    json!({ "type": "text", "content": text })
}

/// `gen_ai.system_instructions`: the system texts as parts.
pub(crate) fn system_instructions(system: &[String]) -> String {
    Value::Array(system.iter().map(|text| text_part(text)).collect()).to_string()
}

/// `gen_ai.input.messages`.
pub(crate) fn input_messages(messages: &[(Role, String)]) -> String {
    Value::Array(
        messages
            .iter()
            .map(|(role, text)| json!({ "role": role.as_str(), "parts": [text_part(text)] }))
            .collect(),
    )
    .to_string()
}

/// `gen_ai.output.messages`: the completion as one assistant message.
pub(crate) fn output_messages(text: &str, finish_reason: Option<&str>) -> String {
    let mut message = json!({ "role": "assistant", "parts": [text_part(text)] });
    if let Some(reason) = finish_reason {
        message["finish_reason"] = Value::from(reason);
    }
    Value::Array(vec![message]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_genai_conventions() {
        let mut messages = Messages::default();
        messages.system("Be brief.");
        messages.user("Plan the \"todo\" app");
        assert_eq!(
            system_instructions(&messages.system),
            r#"[{"content":"Be brief.","type":"text"}]"#
        );
        assert_eq!(
            input_messages(&messages.messages),
            r#"[{"parts":[{"content":"Plan the \"todo\" app","type":"text"}],"role":"user"}]"#
        );
        assert_eq!(
            output_messages("Done.", Some("stop")),
            r#"[{"finish_reason":"stop","parts":[{"content":"Done.","type":"text"}],"role":"assistant"}]"#
        );
        assert_eq!(
            output_messages("Done.", None),
            r#"[{"parts":[{"content":"Done.","type":"text"}],"role":"assistant"}]"#
        );
    }
}
