use factory_observability::pipeline_stage;

#[pipeline_stage(name = stage_name)]
fn plan(stage_name: &str) {}

fn main() {}
