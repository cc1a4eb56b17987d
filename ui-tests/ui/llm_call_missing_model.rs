use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai")]
fn ask() -> Usage {
    Usage::new(1, 1)
}

fn main() {}
