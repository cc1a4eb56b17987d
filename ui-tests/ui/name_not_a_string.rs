use factory_observability::pipeline_stage;

#[pipeline_stage(name = 3)]
fn plan() {}

fn main() {}
