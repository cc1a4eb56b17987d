use factory_observability::pipeline_stage;

#[pipeline_stage(fields(Stage-Files = files.len()))]
fn typecheck(files: &[String]) {}

fn main() {}
