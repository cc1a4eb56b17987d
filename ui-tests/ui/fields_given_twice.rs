use factory_observability::pipeline_stage;

#[pipeline_stage(fields(file_count = files.len()), fields(first = files[0]))]
fn typecheck(files: &[u32]) {}

fn main() {}
