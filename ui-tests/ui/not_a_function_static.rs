use factory_observability::pipeline_stage;

#[pipeline_stage]
static MODEL: &str = "gpt-5.3-codex";

fn main() {}
