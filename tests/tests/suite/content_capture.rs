//! Content capture: off by default, opted into per site (`capture_content`, `capture(args =
//! [...])`) or process-wide, forbidden per site (`capture_content = false`) or process-wide;
//! every captured text redacted and cut. The proof against a real collector is
//! `secrets_collector.rs`.

use factory_observability::capture::{ChatMessage, ContentCapture};
use factory_observability::testing::{Capture, CapturedSpan};
use factory_observability::{llm_call, pipeline_stage, TokenUsage, Usage};
use futures::StreamExt;

const ANTHROPIC_KEY: &str = "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

#[derive(Debug)]
struct Reply {
    text: String,
}

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(10, 5))
    }
    fn finish_reason(&self) -> Option<&str> {
        Some("stop")
    }
    fn output_text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

fn answer(prompt: &str) -> Reply {
    Reply {
        text: format!(
            "use {JWT} to call the API; the plan for {} is ready",
            prompt.len()
        ),
    }
}

#[llm_call(provider = "anthropic", model = "claude-test", prompt = prompt)]
fn unmarked(prompt: &str) -> Reply {
    answer(prompt)
}

#[llm_call(provider = "anthropic", model = "claude-test", prompt = prompt, capture_content)]
fn opted_in(prompt: &str) -> Reply {
    answer(prompt)
}

#[llm_call(provider = "anthropic", model = "claude-test", prompt = prompt, capture_content = false)]
fn forbidden(prompt: &str) -> Reply {
    answer(prompt)
}

#[llm_call(provider = "anthropic", model = "claude-test", prompt = messages, capture_content)]
fn chat(messages: &[ChatMessage]) -> Reply {
    answer(&messages[messages.len() - 1].content)
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug` only
struct Spec {
    name: &'static str,
    database_url: &'static str,
}

#[pipeline_stage(capture(args = [spec, attempt]))]
fn plan(spec: &Spec, attempt: u32, secret_note: &str) -> usize {
    spec.name.len() + attempt as usize + secret_note.len()
}

fn prompt() -> String {
    format!("Plan the todo app. Deploy with ANTHROPIC_API_KEY={ANTHROPIC_KEY} and {AWS_KEY_ID}.")
}

fn only_span(capture: &Capture) -> CapturedSpan {
    let spans = capture.spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    spans.into_iter().next().unwrap()
}

const CONTENT_KEYS: [&str; 3] = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
];

fn assert_nothing_captured(span: &CapturedSpan) {
    for key in CONTENT_KEYS {
        assert_eq!(span.attr(key), None, "{key} on {span:#?}");
    }
    let everything = format!("{span:?}");
    for secret in [ANTHROPIC_KEY, JWT, AWS_KEY_ID, "Plan the todo app"] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
}

#[test]
fn nothing_is_captured_by_default() {
    let capture = Capture::new();
    capture.run(|| unmarked(&prompt()));
    let span = only_span(&capture);
    assert_nothing_captured(&span);
    assert_eq!(span.attr("llm.prompt_length"), Some("135".into()));
}

#[test]
fn a_site_that_opts_in_captures_redacted_messages() {
    let capture = Capture::new();
    capture.run(|| opted_in(&prompt()));
    let span = only_span(&capture);
    assert_eq!(
        span.attr("gen_ai.input.messages").as_deref(),
        Some(
            r#"[{"parts":[{"content":"Plan the todo app. Deploy with ANTHROPIC_API_KEY=[REDACTED:api_key] and [REDACTED:aws_access_key_id].","type":"text"}],"role":"user"}]"#
        )
    );
    assert_eq!(
        span.attr("gen_ai.output.messages").as_deref(),
        Some(
            r#"[{"finish_reason":"stop","parts":[{"content":"use [REDACTED:jwt] to call the API; the plan for 135 is ready","type":"text"}],"role":"assistant"}]"#
        )
    );
    assert_eq!(span.attr("gen_ai.system_instructions"), None);
}

#[test]
fn the_process_wide_setting_captures_everywhere_but_where_forbidden() {
    let capture = Capture::new().with_content_capture(ContentCapture::On, 8192);
    capture.run(|| {
        unmarked("hello");
        forbidden(&prompt());
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        spans[0].attr("gen_ai.input.messages").as_deref(),
        Some(r#"[{"parts":[{"content":"hello","type":"text"}],"role":"user"}]"#)
    );
    assert_nothing_captured(&spans[1]);
}

#[test]
fn the_process_wide_off_wins_over_sites_and_arguments() {
    let capture = Capture::new().with_content_capture(ContentCapture::Off, 8192);
    capture.run(|| {
        opted_in(&prompt());
        plan(
            &Spec {
                name: "todo",
                database_url: "postgres://app:hunter2hunter2@db/app",
            },
            1,
            "x",
        );
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    assert_nothing_captured(&spans[0]);
    assert_eq!(spans[1].attr("argument.spec"), None);
    assert_eq!(spans[1].attr("argument.attempt"), None);
}

#[test]
fn chat_messages_keep_their_roles_and_system_instructions_are_apart() {
    let capture = Capture::new();
    let messages = [
        ChatMessage::system(format!("You review code. Never print {ANTHROPIC_KEY}.")),
        ChatMessage::user("Review the diff."),
        ChatMessage::assistant("Which diff?"),
        ChatMessage::user("The last one."),
    ];
    capture.run(|| chat(&messages));
    let span = only_span(&capture);
    assert_eq!(
        span.attr("gen_ai.system_instructions").as_deref(),
        Some(r#"[{"content":"You review code. Never print [REDACTED:api_key].","type":"text"}]"#)
    );
    let input: serde_json::Value =
        serde_json::from_str(&span.attr("gen_ai.input.messages").unwrap()).unwrap();
    let roles: Vec<&str> = input
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(input[2]["parts"][0]["content"], "The last one.");
}

#[test]
fn opted_in_arguments_are_recorded_as_their_redacted_debug_text() {
    let capture = Capture::new();
    let total = capture.run(|| {
        plan(
            &Spec {
                name: "todo",
                database_url: "postgres://app:hunter2hunter2@db/app",
            },
            2,
            "not captured",
        )
    });
    assert_eq!(total, 4 + 2 + 12);
    let span = only_span(&capture);
    assert_eq!(
        span.attr("argument.spec").as_deref(),
        Some(
            r#"Spec { name: "todo", database_url: "postgres://app:[REDACTED:url_password]@db/app" }"#
        )
    );
    assert_eq!(span.attr("argument.attempt").as_deref(), Some("2"));
    assert_eq!(span.attr("argument.secret_note"), None);
}

#[test]
fn captured_text_is_cut_and_json_stays_json() {
    let capture = Capture::new().with_content_capture(ContentCapture::On, 120);
    let long = format!("{} {ANTHROPIC_KEY} {}", "é".repeat(300), "z".repeat(300));
    capture.run(|| unmarked(&long));
    let span = only_span(&capture);
    for key in ["gen_ai.input.messages", "gen_ai.output.messages"] {
        let text = span.attr(key).unwrap();
        assert!(text.chars().count() <= 120, "{key}: {text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let content = parsed[0]["parts"][0]["content"].as_str().unwrap();
        assert!(content.ends_with('…'), "{content}");
        assert!(!text.contains("sk-ant"), "{text}");
    }
}

struct Chunk {
    text: &'static str,
    usage: Option<Usage>,
}

impl TokenUsage for Chunk {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn output_text(&self) -> Option<&str> {
        Some(self.text)
    }
}

#[llm_call(provider = "openai", model = "gpt-test", prompt = prompt, stream, capture_content)]
fn streamed(prompt: &str) -> impl futures::Stream<Item = Chunk> {
    let _ = prompt;
    futures::stream::iter([
        Chunk {
            text: "Here is the key: sk-proj-",
            usage: None,
        },
        Chunk {
            text: "4fGh7JkL9mNpQ2rStUvWxYz0aB",
            usage: None,
        },
        Chunk {
            text: " and nothing more.",
            usage: Some(Usage::new(3, 9)),
        },
    ])
}

#[test]
fn a_streamed_completion_is_joined_before_it_is_redacted() {
    let capture = Capture::new();
    // The stream records into the capture wherever it is polled: its call started there.
    let stream = capture.run(|| streamed("go"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let chunks = runtime.block_on(stream.collect::<Vec<_>>());
    assert_eq!(chunks.len(), 3);
    let span = only_span(&capture);
    assert_eq!(
        span.attr("gen_ai.output.messages").as_deref(),
        Some(
            r#"[{"parts":[{"content":"Here is the key: [REDACTED:api_key] and nothing more.","type":"text"}],"role":"assistant"}]"#
        )
    );
}
