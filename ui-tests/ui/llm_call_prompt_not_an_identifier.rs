use factory_observability::{llm_call, Usage};

#[llm_call(provider = "openai", model = "gpt-5.3-codex", prompt = "write a parser")]
fn ask(task: &str) -> Usage {
    Usage::new(task.len() as u64, 1)
}

fn main() {}
