use factory_observability::pipeline;

#[pipeline]
fn plan() {}

fn main() {}
