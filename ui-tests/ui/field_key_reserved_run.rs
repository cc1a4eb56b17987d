use factory_observability::pipeline_run;

#[pipeline_run(fields(run.outcome = "planned"))]
fn run() {}

fn main() {}
