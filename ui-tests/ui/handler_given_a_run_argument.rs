use factory_observability::handler;

#[handler(run_id = 7)]
fn purge() {}

fn main() {}
