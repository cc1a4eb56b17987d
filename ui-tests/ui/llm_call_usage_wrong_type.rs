use factory_observability::llm_call;

struct Reply {
    tokens: u64,
}

#[llm_call(provider = "openai", model = "gpt-5.3-codex", usage = |reply: &Reply| reply.tokens)]
fn ask() -> Reply {
    Reply { tokens: 3 }
}

fn main() {}
