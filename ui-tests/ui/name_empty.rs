use factory_observability::pipeline_run;

#[pipeline_run(name = "")]
fn run() {}

fn main() {}
