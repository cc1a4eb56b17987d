use factory_observability::pipeline;

struct Factory;

#[pipeline(name = "factory")]
impl Factory {
    fn plan(&self) {}
}

fn main() {}
