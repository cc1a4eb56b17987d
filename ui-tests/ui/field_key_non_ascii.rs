use factory_observability::pipeline_stage;

#[pipeline_stage(fields(größe = size))]
fn measure(size: u64) {}

fn main() {}
