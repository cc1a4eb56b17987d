//! Every shape `#[llm_call]` accepts compiles: sync and async fns, methods whose provider and
//! model are evaluated at call time, prompts, usage functions, operations, fields, and streams
//! (`impl Stream` and `Result<impl Stream, E>`, sync and async).
use factory_observability::{llm_call, pipeline_stage, TokenUsage, Usage};
use futures::stream::{self, Stream};

struct Reply {
    text: String,
    usage: Usage,
}

impl TokenUsage for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(self.usage)
    }
}

#[llm_call(provider = "openai", model = "gpt-5.3-codex")]
fn sync_call() -> Usage {
    Usage::new(1, 2)
}

#[llm_call(
    provider = "openai",
    model = "gpt-5.3-codex",
    prompt = prompt,
    operation = "text_completion",
    fields(app.temperature = temperature, app.prompt_words = prompt.split(' ').count())
)]
async fn async_call(prompt: &str, temperature: f64) -> Result<Reply, std::io::Error> {
    if prompt.is_empty() {
        return Err(std::io::Error::other("empty prompt"));
    }
    Ok(Reply {
        text: prompt.to_owned(),
        usage: Usage::new(3, 4),
    })
}

struct Client {
    provider: String,
    model: &'static str,
}

impl Client {
    #[llm_call(provider = self.provider.as_str(), model = self.model, prompt = messages)]
    fn ask(&self, messages: &[String]) -> Option<Reply> {
        messages.first().map(|text| Reply {
            text: text.clone(),
            usage: Usage::new(5, 6),
        })
    }

    #[llm_call(provider = self.provider, model = model, prompt = prompt)]
    async fn ask_model(&self, model: &str, prompt: String) -> Box<Reply> {
        Box::new(Reply {
            text: format!("{model}: {prompt}"),
            usage: Usage::new(7, 8),
        })
    }
}

struct Raw(u64, u64);

fn read_usage(raw: &Raw) -> Option<Usage> {
    Some(Usage::new(raw.0, raw.1))
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", usage = |raw: &Raw| Usage::new(raw.0, raw.1))]
fn usage_closure() -> Raw {
    Raw(1, 2)
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", usage = read_usage)]
fn usage_function() -> Raw {
    Raw(3, 4)
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", stream)]
fn stream_sync() -> impl Stream<Item = Usage> {
    stream::iter(vec![Usage::new(1, 0), Usage::new(0, 1)])
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", stream)]
async fn stream_async() -> impl Stream<Item = Usage> {
    stream::iter(vec![Usage::new(1, 1)])
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", stream)]
fn stream_result(fail: bool) -> Result<impl Stream<Item = Result<Usage, String>>, String> {
    if fail {
        return Err("connection refused".to_owned());
    }
    Ok(stream::iter(vec![Ok(Usage::new(1, 1))]))
}

#[llm_call(provider = "anthropic", model = "claude-opus-4.6", stream)]
async fn stream_result_async(fail: bool) -> Result<impl Stream<Item = Usage>, std::io::Error> {
    if fail {
        return Err(std::io::Error::other("connection refused"));
    }
    Ok(stream::iter(vec![Usage::new(1, 1)]))
}

#[pipeline_stage]
async fn implement(client: &Client) -> Result<String, std::io::Error> {
    let reply = async_call("write the parser", 0.2).await?;
    let _ = client.ask(std::slice::from_ref(&reply.text));
    Ok(client.ask_model("gpt-5.3-codex", reply.text).await.text)
}

fn main() {
    let client = Client {
        provider: "openai".to_owned(),
        model: "gpt-5.3-codex",
    };
    let _ = (
        sync_call(),
        implement(&client),
        usage_closure(),
        usage_function(),
    );
    let _ = (
        stream_sync(),
        stream_async(),
        stream_result(false),
        stream_result_async(true),
    );
}
