use factory_observability::pipeline_stage;

#[pipeline_stage(fields(stage.name = "typecheck"))]
fn typecheck() {}

fn main() {}
