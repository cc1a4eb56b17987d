use factory_observability::{llm_call, Usage};
use futures::stream::{self, Stream};

#[llm_call(provider = "openai", model = "gpt-5.3-codex", stream = true)]
fn ask() -> impl Stream<Item = Usage> {
    stream::iter(vec![Usage::new(1, 1)])
}

fn main() {}
