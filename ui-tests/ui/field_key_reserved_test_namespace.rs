use factory_observability::pipeline_stage;

#[pipeline_stage(fields(test.retries = retries))]
fn run_tests(retries: u32) {}

fn main() {}
