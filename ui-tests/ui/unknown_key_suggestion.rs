use factory_observability::pipeline_stage;

#[pipeline_stage(nmae = "typecheck")]
fn typecheck() {}

fn main() {}
