use factory_observability::skip_stage;

struct Factory;

impl Factory {
    #[skip_stage]
    fn new() -> Self {
        Factory
    }
}

fn main() {}
