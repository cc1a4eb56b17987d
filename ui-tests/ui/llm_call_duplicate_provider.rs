use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", provider = "anthropic", model = "gpt-5.3-codex")]
fn ask() -> Usage {
    Usage::new(1, 1)
}

fn main() {}
