use factory_observability::pipeline_run;

#[pipeline_run(name = "a", name = "b")]
fn run() {}

fn main() {}
