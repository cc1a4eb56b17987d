//! Every way of asking for content capture compiles.

use factory_observability::capture::ChatMessage;
use factory_observability::{adjudicate, llm_call, pipeline, pipeline_run, pipeline_stage};
use factory_observability::{TokenUsage, Usage, Verdict};

struct Reply;
impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        None
    }
    fn output_text(&self) -> Option<&str> {
        Some("done")
    }
}

#[llm_call(provider = "openai", model = "m", prompt = prompt, capture_content)]
fn ask(prompt: &str) -> Reply {
    let _ = prompt;
    Reply
}

#[llm_call(provider = "openai", model = "m", prompt = messages, capture_content = false)]
async fn chat(messages: Vec<ChatMessage>) -> Reply {
    let _ = messages;
    Reply
}

#[llm_call(provider = "openai", model = "m", capture_content = true, capture(args = [temperature]))]
fn tuned(temperature: f32) -> Reply {
    let _ = temperature;
    Reply
}

#[derive(Debug)]
struct Spec;

#[pipeline_run(capture(args = [spec]))]
fn run(spec: &Spec) {
    let _ = spec;
}

#[adjudicate(capture(args = [round]))]
fn choose(round: u32) -> Result<Verdict<u32>, String> {
    let _ = round;
    Verdict::highest(Vec::new()).ok_or_else(|| "no candidates".to_owned())
}

#[derive(Debug)]
struct Factory;

#[pipeline]
impl Factory {
    #[pipeline_stage(capture(args = [self, spec]))]
    fn plan(&self, spec: &Spec) {
        let _ = spec;
    }
}

fn main() {
    let _ = (ask("x"), chat(Vec::new()), tuned(0.2));
    run(&Spec);
    let _ = choose;
    Factory.plan(&Spec);
}
