use factory_observability::{llm_call, pipeline_stage, TokenUsage, Usage};

#[pipeline_stage(capture(args = [spec, flies]))]
fn plan(spec: &str, files: &[String]) -> usize {
    spec.len() + files.len()
}

#[pipeline_stage(capture(files))]
fn check(files: &[String]) -> usize {
    files.len()
}

struct Reply;
impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        None
    }
}

#[llm_call(provider = "openai", model = "m", capture_content = "yes")]
fn ask(prompt: &str) -> Reply {
    let _ = prompt;
    Reply
}

fn main() {}
