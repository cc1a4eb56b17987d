use factory_observability::pipeline_stage;

#[pipeline_stage(fields = count)]
fn plan(count: u32) {}

fn main() {}
