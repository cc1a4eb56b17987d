use factory_observability::pipeline_stage;

#[pipeline_stage(fields(file_count = count))]
fn typecheck(files: &[String], cont: usize) {}

fn main() {}
