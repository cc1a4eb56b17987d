use factory_observability::pipeline_stage;

#[pipeline_stage(run_id = "run-1")]
fn plan() {}

fn main() {}
