use factory_observability::llm_call;

struct Reply {
    text: String,
}

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
async fn ask(prompt: &str) -> Result<Reply, std::io::Error> {
    Ok(Reply { text: prompt.to_owned() })
}

fn main() {
    let _ = ask("hi");
}
