//! What a call records at its start: `fields(...)` and the macro's own arguments.

use super::llm;
use crate::attribute::AttributeValue;
use crate::llm::PromptText;
use opentelemetry::{Key, KeyValue, StringValue};
use std::fmt::Display;

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
    /// Content the call captures (prompts, arguments), see `crate::capture`.
    pub(crate) captured: crate::capture::Captured,
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

    /// Records `#[llm_call(prompt = argument)]`.
    pub fn prompt<P: PromptText + ?Sized>(&mut self, prompt: &P) {
        if let Some(target) = &mut self.llm {
            target.prompt_chars = Some(prompt.prompt_chars());
        }
        self.capture_prompt(prompt);
    }
}
