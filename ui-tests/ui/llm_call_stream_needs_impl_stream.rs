use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", model = "gpt-5.3-codex", stream)]
fn ask() -> Vec<Usage> {
    vec![Usage::new(1, 1)]
}

fn main() {}
