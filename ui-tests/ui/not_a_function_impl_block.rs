use factory_observability::pipeline_stage;

struct Factory;

#[pipeline_stage]
impl Factory {
    fn plan(&self) {}
}

fn main() {}
