use factory_observability::pipeline;

struct Factory;

#[pipeline]
impl Factory {
    #[skip_stage(reason = "constructor")]
    fn new() -> Self {
        Factory
    }
}

fn main() {}
