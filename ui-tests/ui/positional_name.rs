use factory_observability::pipeline_stage;

#[pipeline_stage("typecheck")]
fn typecheck() {}

fn main() {}
