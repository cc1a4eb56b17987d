use factory_observability::pipeline_stage;

#[pipeline_stage]
const RETRIES: u32 = 3;

fn main() {}
