use factory_observability::pipeline;

struct Factory;

#[pipeline]
impl Factory {
    #[skip_stage]
    #[skip_stage]
    fn new() -> Self {
        Factory
    }
}

fn main() {}
