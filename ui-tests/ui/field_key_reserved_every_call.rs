use factory_observability::pipeline_stage;

#[pipeline_stage(fields("run.id" = id, code.function.name = "plan"))]
fn plan(id: &str) {}

fn main() {}
