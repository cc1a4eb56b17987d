use factory_observability::{llm_call, Usage};

#[llm_call(provider = 3, modle = "gpt-5.3-codex", model = "x", operation = chat)]
fn ask() -> Usage {
    Usage::new(1, 1)
}

fn main() {}
