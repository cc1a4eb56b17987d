use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
const fn ask() -> Usage {
    Usage::new(1, 1)
}

fn main() {}
