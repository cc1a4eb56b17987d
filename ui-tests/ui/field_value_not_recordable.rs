use factory_observability::pipeline_stage;

struct Config;

#[pipeline_stage(fields(config = Config))]
fn plan() {}

fn main() {}
