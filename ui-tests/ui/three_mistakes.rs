use factory_observability::pipeline_run;

#[pipeline_run(nmae = "x", run_id, fields(a = 1, a = 2))]
fn run() {}

fn main() {}
