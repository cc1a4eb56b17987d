use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", model = "gpt-5.3-codex", prompt = promt)]
fn ask(prompt: &str, temperature: f32) -> Usage {
    let _ = (prompt, temperature);
    Usage::new(1, 1)
}

fn main() {}
