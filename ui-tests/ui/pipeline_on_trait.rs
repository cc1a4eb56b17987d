use factory_observability::pipeline;

#[pipeline]
trait Factory {
    fn plan(&self) -> u32;
}

fn main() {}
