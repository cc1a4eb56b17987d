//! What an LLM call used, as `#[llm_call]` reads it from a response: token usage, finish reason,
//! response model and id ([`TokenUsage`], which a response type implements).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Token counts of one LLM response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, including cached ones (`gen_ai.usage.input_tokens`).
    pub input_tokens: u64,
    /// Completion tokens, including reasoning ones (`gen_ai.usage.output_tokens`).
    pub output_tokens: u64,
    /// Input tokens served from the provider's cache (`gen_ai.usage.cache_read.input_tokens`).
    pub cached_input_tokens: Option<u64>,
    /// Output tokens spent on reasoning (`gen_ai.usage.reasoning.output_tokens`).
    pub reasoning_output_tokens: Option<u64>,
}

impl Usage {
    /// Usage with input and output counts.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            cached_input_tokens: None,
            reasoning_output_tokens: None,
        }
    }

    /// The part of the input the provider read from its cache.
    pub const fn with_cached_input(mut self, tokens: u64) -> Self {
        self.cached_input_tokens = Some(tokens);
        self
    }

    /// The part of the output spent on reasoning.
    pub const fn with_reasoning_output(mut self, tokens: u64) -> Self {
        self.reasoning_output_tokens = Some(tokens);
        self
    }

    /// Input plus output tokens.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Lets `#[llm_call]` read token usage from what the call returns.
///
/// Implemented by `Result<T, E>` (an `Err` has no usage), `Option<T>`, `Box<T>` and `&T` of any
/// `T: TokenUsage`.
///
/// ```
/// use factory_observability::{TokenUsage, Usage};
///
/// struct ChatResponse { prompt_tokens: u64, completion_tokens: u64, stop: String }
///
/// impl TokenUsage for ChatResponse {
///     fn usage(&self) -> Option<Usage> {
///         Some(Usage::new(self.prompt_tokens, self.completion_tokens))
///     }
///     fn finish_reason(&self) -> Option<&str> {
///         Some(&self.stop)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[llm_call]` cannot read token usage from `{Self}`",
    label = "`{Self}` does not implement `factory_observability::TokenUsage`",
    note = "implement `factory_observability::TokenUsage` for `{Self}`, or pass `usage = <fn(&{Self}) -> Option<Usage>>` to `#[llm_call]`"
)]
pub trait TokenUsage {
    /// The response's token counts, if it reports them.
    fn usage(&self) -> Option<Usage>;

    /// Why the model stopped (`stop`, `length`, `tool_calls`, ...).
    fn finish_reason(&self) -> Option<&str> {
        None
    }

    /// The model that actually answered (`gen_ai.response.model`), when the provider says.
    fn response_model(&self) -> Option<&str> {
        None
    }

    /// The provider's id of the response (`gen_ai.response.id`).
    fn response_id(&self) -> Option<&str> {
        None
    }

    /// The completion's text, recorded as `gen_ai.output.messages` only when the call captures
    /// content (see [`crate::content`]); of a streamed call, the text of each chunk, joined.
    /// Read only when the call captures content.
    fn output_text(&self) -> Option<&str> {
        None
    }
}

impl TokenUsage for Usage {
    fn usage(&self) -> Option<Usage> {
        Some(*self)
    }
}

impl<T: TokenUsage, E> TokenUsage for Result<T, E> {
    fn usage(&self) -> Option<Usage> {
        self.as_ref().ok().and_then(T::usage)
    }
    fn finish_reason(&self) -> Option<&str> {
        self.as_ref().ok().and_then(T::finish_reason)
    }
    fn response_model(&self) -> Option<&str> {
        self.as_ref().ok().and_then(T::response_model)
    }
    fn response_id(&self) -> Option<&str> {
        self.as_ref().ok().and_then(T::response_id)
    }
    fn output_text(&self) -> Option<&str> {
        self.as_ref().ok().and_then(T::output_text)
    }
}

impl<T: TokenUsage> TokenUsage for Option<T> {
    fn usage(&self) -> Option<Usage> {
        self.as_ref().and_then(T::usage)
    }
    fn finish_reason(&self) -> Option<&str> {
        self.as_ref().and_then(T::finish_reason)
    }
    fn response_model(&self) -> Option<&str> {
        self.as_ref().and_then(T::response_model)
    }
    fn response_id(&self) -> Option<&str> {
        self.as_ref().and_then(T::response_id)
    }
    fn output_text(&self) -> Option<&str> {
        self.as_ref().and_then(T::output_text)
    }
}

macro_rules! forward_token_usage {
    ($($wrapper:ty),*) => {$(
        impl<T: TokenUsage + ?Sized> TokenUsage for $wrapper {
            fn usage(&self) -> Option<Usage> {
                (**self).usage()
            }
            fn finish_reason(&self) -> Option<&str> {
                (**self).finish_reason()
            }
            fn response_model(&self) -> Option<&str> {
                (**self).response_model()
            }
            fn response_id(&self) -> Option<&str> {
                (**self).response_id()
            }
            fn output_text(&self) -> Option<&str> {
                (**self).output_text()
            }
        }
    )*};
}
forward_token_usage!(Box<T>, &T);

/// Estimated tokens of a prompt of `chars` characters: about four characters a token for English
/// text with the common BPE tokenizers, rounded up. Only used when the response reports no usage,
/// and always marked `llm.tokens_estimated = true`.
pub(crate) fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// What the macro read from a response.
#[doc(hidden)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LlmResponse {
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    pub response_model: Option<String>,
    pub response_id: Option<String>,
    /// For streamed responses: from the start of the call to the first chunk.
    pub time_to_first_chunk: Option<std::time::Duration>,
    /// The completion's text (`TokenUsage::output_text`).
    pub output_text: Option<String>,
}

/// `read(value)`, or `None` when it panics: a `TokenUsage` implementation is the program's code,
/// and a bug in it loses what it would have said, never the call or its span.
pub(crate) fn guarded<T: ?Sized, R>(value: &T, read: impl FnOnce(&T) -> Option<R>) -> Option<R> {
    catch_unwind(AssertUnwindSafe(|| read(value))).unwrap_or(None)
}

impl LlmResponse {
    /// Reads a `TokenUsage` value; what a panicking method would have said is left out.
    pub fn of<T: TokenUsage + ?Sized>(value: &T) -> Self {
        LlmResponse {
            usage: guarded(value, T::usage),
            finish_reason: guarded(value, |v| v.finish_reason().map(str::to_owned)),
            response_model: guarded(value, |v| v.response_model().map(str::to_owned)),
            response_id: guarded(value, |v| v.response_id().map(str::to_owned)),
            time_to_first_chunk: None,
            // Copied only when the call captures its completion.
            output_text: if crate::faults::capturing_output() {
                guarded(value, |v| v.output_text().map(str::to_owned))
            } else {
                None
            },
        }
    }

    /// Usage read by the function given as `#[llm_call(usage = ...)]`.
    pub fn read_with<R: ?Sized, U: Into<Option<Usage>>>(
        value: &R,
        read: impl FnOnce(&R) -> U,
    ) -> Self {
        LlmResponse {
            usage: catch_unwind(AssertUnwindSafe(|| read(value).into())).unwrap_or(None),
            ..LlmResponse::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::PromptText;

    #[test]
    fn blanket_impls_reach_the_inner_usage() {
        let ok: Result<Usage, String> = Ok(Usage::new(3, 4));
        assert_eq!(ok.usage(), Some(Usage::new(3, 4)));
        assert_eq!(ok.usage().unwrap().total_tokens(), 7);
        let err: Result<Usage, String> = Err("rate limited".into());
        assert_eq!(err.usage(), None);
        assert_eq!(
            Some(Box::new(Usage::new(1, 1))).usage(),
            Some(Usage::new(1, 1))
        );
        assert_eq!((&&Usage::new(2, 0)).usage(), Some(Usage::new(2, 0)));
    }

    #[test]
    fn prompt_estimates_round_up() {
        assert_eq!(estimate_tokens("abcd".prompt_chars()), 1);
        assert_eq!(estimate_tokens("abcde".prompt_chars()), 2);
        assert_eq!(estimate_tokens(vec!["ab", "cdé"].prompt_chars()), 2);
        assert_eq!(estimate_tokens(0), 0);
    }
}
