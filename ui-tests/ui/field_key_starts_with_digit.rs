use factory_observability::pipeline_stage;

#[pipeline_stage(fields("2nd_try" = retried))]
fn implement(retried: bool) {}

fn main() {}
