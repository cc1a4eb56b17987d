use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", model = model, fields(gen_ai.request.model = model))]
fn ask(model: &str) -> Usage {
    Usage::new(1, 1)
}

fn main() {}
