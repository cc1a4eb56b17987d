use factory_observability::pipeline_run;

#[pipeline_run(timeout = 30)]
fn run() {}

fn main() {}
