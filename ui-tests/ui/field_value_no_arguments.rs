use factory_observability::pipeline_run;

#[pipeline_run(fields(spec = spec))]
fn run() {}

fn main() {}
