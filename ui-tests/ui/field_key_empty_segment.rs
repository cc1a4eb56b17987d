use factory_observability::pipeline_stage;

#[pipeline_stage(fields("stage..files" = files.len()))]
fn typecheck(files: &[String]) {}

fn main() {}
