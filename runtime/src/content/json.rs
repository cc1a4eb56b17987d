//! Captured JSON content: a tool's arguments and result (`gen_ai.tool.call.arguments`,
//! `gen_ai.tool.call.result`), redacted without breaking the document and cut so that what
//! remains is still valid JSON.

use super::ContentPolicy;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A value `#[tool(capture_content)]` can record among a tool's arguments: anything
/// `serde::Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded in gen_ai.tool.call.arguments: it does not implement `serde::Serialize`",
    label = "this argument is captured by `#[tool(capture_content)]`",
    note = "derive `serde::Serialize` for it, or drop `capture_content` from #[tool]"
)]
pub trait ToolArgument {
    /// The value as JSON; `None` when its `Serialize` impl fails or panics (nothing of it is
    /// recorded, and the call goes on).
    fn tool_argument_json(&self) -> Option<Value>;
}

impl<T: serde::Serialize + ?Sized> ToolArgument for T {
    fn tool_argument_json(&self) -> Option<Value> {
        to_json(self)
    }
}

/// `value` as JSON, guarded: a `Serialize` impl is the program's code, and may fail or panic.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Option<Value> {
    catch_unwind(AssertUnwindSafe(|| serde_json::to_value(value).ok()))
        .ok()
        .flatten()
}

impl ContentPolicy {
    /// `document` as the JSON text of a captured attribute: every string (keys included)
    /// redacted, then the whole text redacted too (rules that need a key and its value, such as
    /// `"password": "..."`, see them together) when that leaves valid JSON; then cut to the
    /// configured length keeping it valid JSON.
    pub(crate) fn prepare_json(&self, document: Value) -> String {
        let mut document = self.redact_strings(document);
        if let Ok(text) = serde_json::to_string(&document) {
            if let Cow::Owned(redacted) = self.redaction.redact(&text) {
                if let Ok(reparsed) = serde_json::from_str::<Value>(&redacted) {
                    document = reparsed;
                }
            }
        }
        super::cut::cut_json_value(&document, self.max_chars())
    }

    /// The tool's arguments, by name, as one JSON object, prepared as [`Self::prepare_json`].
    pub(crate) fn prepare_arguments(&self, arguments: Map<String, Value>) -> String {
        self.prepare_json(Value::Object(arguments))
    }

    fn redact_strings(&self, value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(match self.redaction.redact(&text) {
                Cow::Borrowed(_) => text,
                Cow::Owned(redacted) => redacted,
            }),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| self.redact_strings(item))
                    .collect(),
            ),
            Value::Object(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(key, item)| {
                        let key = match self.redaction.redact(&key) {
                            Cow::Borrowed(_) => key,
                            Cow::Owned(redacted) => redacted,
                        };
                        (key, self.redact_strings(item))
                    })
                    .collect(),
            ),
            scalar => scalar,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ANTHROPIC_KEY: &str = "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV";

    #[test]
    fn strings_are_redacted_and_the_document_stays_json() {
        let policy = ContentPolicy::default();
        let prepared = policy.prepare_json(json!({
            "path": "deploy.env",
            "text": format!("ANTHROPIC_API_KEY={ANTHROPIC_KEY}\nPORT=8080"),
            "lines": [1, 2],
        }));
        assert!(!prepared.contains("Xq9vL2mN8pR4"), "{prepared}");
        let parsed: Value = serde_json::from_str(&prepared).unwrap();
        assert_eq!(
            parsed["text"], "ANTHROPIC_API_KEY=[REDACTED:api_key]\nPORT=8080",
            "{prepared}"
        );
        assert_eq!(parsed["lines"], json!([1, 2]));
    }

    #[test]
    fn a_huge_document_is_cut_to_valid_json() {
        let policy = ContentPolicy {
            max_chars: Some(200),
            ..ContentPolicy::default()
        };
        let lines: Vec<String> = (0..10_000)
            .map(|i| format!("line {i} of the log"))
            .collect();
        let prepared = policy.prepare_json(json!({"exit_code": 1, "output": lines}));
        assert!(prepared.chars().count() <= 200, "{prepared}");
        let parsed: Value = serde_json::from_str(&prepared).unwrap();
        assert_eq!(parsed["exit_code"], 1);
        assert_eq!(parsed["output"][0], "line 0 of the log");
    }

    #[test]
    fn a_serialize_impl_that_fails_or_panics_records_nothing() {
        struct Fails;
        impl serde::Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        struct Panics;
        impl serde::Serialize for Panics {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                panic!("Serialize bug")
            }
        }
        assert_eq!(Fails.tool_argument_json(), None);
        assert_eq!(Panics.tool_argument_json(), None);
        assert_eq!("a".tool_argument_json(), Some(json!("a")));
    }
}
