use factory_observability::pipeline_stage;

#[pipeline_stage(fields(files = files.iter().collect::<Vec<_>>()))]
fn typecheck(files: &[String]) {}

fn main() {}
