use factory_observability::pipeline_run;

#[pipeline_run(fields(specTitle = title))]
fn run(title: &str) {}

fn main() {}
