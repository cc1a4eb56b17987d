use factory_observability::llm_call;

struct Reply {
    text: String,
}

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
fn ask(prompt: &str) -> Reply {
    Reply { text: prompt.to_owned() }
}

fn main() {
    let _ = ask("hi").text;
}
