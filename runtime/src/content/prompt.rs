//! The text of a prompt argument: how long it is, and, when the call captures content, its
//! messages.

use super::{ChatMessage, Messages};

/// The text of a prompt argument (`#[llm_call(prompt = arg)]`), measured in characters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not prompt text",
    label = "`prompt = ...` must name an argument holding text",
    note = "name an argument of type `&str`, `String`, or a slice or `Vec` of them (chat messages); or implement `factory_observability::PromptText`"
)]
pub trait PromptText {
    /// Number of characters of the prompt.
    fn prompt_chars(&self) -> usize;

    /// Writes the prompt's text into `messages`, for `gen_ai.input.messages` and
    /// `gen_ai.system_instructions`; called only when the call captures content (see
    /// [the module](super)). Text is a user message; a [`ChatMessage`] keeps its role. A type of
    /// your own that does not implement this method captures nothing.
    fn prompt_messages(&self, messages: &mut Messages) {
        let _ = messages;
    }
}

impl PromptText for str {
    fn prompt_chars(&self) -> usize {
        self.chars().count()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        messages.user(self);
    }
}

impl PromptText for String {
    fn prompt_chars(&self) -> usize {
        self.as_str().prompt_chars()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        messages.user(self);
    }
}

impl PromptText for ChatMessage {
    fn prompt_chars(&self) -> usize {
        self.content.prompt_chars()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        messages.push(self.role, &self.content);
    }
}

impl<T: PromptText> PromptText for [T] {
    fn prompt_chars(&self) -> usize {
        self.iter().map(PromptText::prompt_chars).sum()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        for item in self {
            item.prompt_messages(messages);
        }
    }
}

impl<T: PromptText> PromptText for Vec<T> {
    fn prompt_chars(&self) -> usize {
        self.as_slice().prompt_chars()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        self.as_slice().prompt_messages(messages);
    }
}

impl<T: PromptText + ?Sized> PromptText for &T {
    fn prompt_chars(&self) -> usize {
        (**self).prompt_chars()
    }
    fn prompt_messages(&self, messages: &mut Messages) {
        (**self).prompt_messages(messages);
    }
}
