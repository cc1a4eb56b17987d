//! What redaction costs, in criterion group `redaction`: the rules over texts without and with
//! secrets, and whole `#[pipeline_stage]` calls that succeed (no text to redact: must cost what
//! a call cost before redaction covered errors) and fail with an error message (redacted at the
//! call's end). Run: `cargo bench -p factory-observability-benches --bench redaction`.
//!
//! Only public API, so that the same file measures a commit from before and after a change.

mod common;

use common::{criterion, init_ours, ours};
use factory_observability::capture::redact_secrets;
use std::hint::black_box;

/// ~4 KB of a prompt without any secret: prose, code, a URL, ids, numbers.
fn clean_prompt() -> String {
    let paragraph = "Plan the todo app: a REST service in Rust with axum, a Postgres schema with \
        tasks(id uuid primary key, title text, done bool), and a worker that retries failed jobs \
        three times with exponential backoff. See https://docs.example.com/guide?page=3 for the \
        layout. The last commit was 3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e, the run id is \
        0b9f8e7d-6c5b-4a39-8281-706f5e4d3c2b. Keep max_tokens = 4096 and temperature 0.2.\n";
    paragraph.repeat(4096 / paragraph.len() + 1)
}

/// The same prompt with non-ASCII text in it (accents, CJK, an emoji), as real prompts have.
fn clean_prompt_unicode() -> String {
    clean_prompt().replace(
        "Plan the todo app",
        "Planifiez l’app « tâches » 待办事项 ✅",
    )
}

/// A captured argument's `Debug` text: a multi-line string, escaped (`\n`, `\"`), no secret.
fn escaped_argument() -> String {
    format!("{:?}", clean_prompt().replace("todo", "\"todo\""))
}

/// A prompt holding four secrets of different kinds.
fn prompt_with_secrets() -> String {
    let mut text = clean_prompt();
    text.insert_str(
        1000,
        " ANTHROPIC_API_KEY=sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV ",
    );
    text.insert_str(2000, " token ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12 ");
    text.insert_str(3000, " postgres://app:Tr0ub4dor-and-3@db.internal/app ");
    text.push_str("Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0\n");
    text
}

/// A stage that fails with an error message holding a secret.
#[factory_observability::pipeline_stage]
#[inline(never)]
fn failing(x: u64) -> Result<u64, String> {
    if black_box(x) > 0 {
        Err(format!(
            "deploy failed: POST https://api.example.com/v1/deploy with key \
             sk-proj-4fGh7JkL9mNpQ2rStUvWxYz0aBcDeFgHiJkLmNoPqRsTuVwX returned 401 (attempt {x})"
        ))
    } else {
        Ok(x)
    }
}

fn main() {
    let mut c = criterion();
    let texts = [
        ("clean_prompt_4k", clean_prompt()),
        ("clean_prompt_4k_unicode", clean_prompt_unicode()),
        ("escaped_argument_4k", escaped_argument()),
        ("prompt_with_4_secrets", prompt_with_secrets()),
        (
            "short_error_message",
            "connection refused (os error 111)".to_owned(),
        ),
    ];
    let mut group = c.benchmark_group("redaction");
    for (name, text) in &texts {
        group.bench_function(*name, |b| b.iter(|| redact_secrets(black_box(text)).len()));
    }
    let (telemetry, exporter) = init_ours("redaction");
    group.bench_function("stage_success", |b| b.iter(|| ours(black_box(7))));
    group.bench_function("stage_failure_with_message", |b| {
        b.iter(|| failing(black_box(7)))
    });
    group.finish();
    drop(telemetry);
    eprintln!(
        "redaction: the exporter received {} spans",
        exporter.count()
    );
    c.final_summary();
}
