use factory_observability::llm_call;

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
trait Model {
    fn ask(&self, prompt: &str) -> String;
}

fn main() {}
