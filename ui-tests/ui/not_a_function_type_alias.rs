use factory_observability::adjudicate;

#[adjudicate]
type Score = f64;

fn main() {}
