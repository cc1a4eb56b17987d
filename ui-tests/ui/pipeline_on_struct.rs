use factory_observability::pipeline;

#[pipeline]
pub struct Factory {
    model: String,
}

fn main() {}
