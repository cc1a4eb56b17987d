use factory_observability::pipeline_stage;

trait Stage {
    #[pipeline_stage]
    fn run(&self) -> u32;
}

fn main() {}
