use factory_observability::handler;

#[handler(name = "a", name = "b")]
fn purge() {}

fn main() {}
