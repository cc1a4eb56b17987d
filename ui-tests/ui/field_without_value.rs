use factory_observability::pipeline_stage;

#[pipeline_stage(fields(files))]
fn typecheck(files: &[String]) {}

fn main() {}
