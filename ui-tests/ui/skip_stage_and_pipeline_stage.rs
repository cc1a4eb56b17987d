use factory_observability::{pipeline, pipeline_stage};

struct Factory;

#[pipeline]
impl Factory {
    #[skip_stage]
    #[pipeline_stage(name = "plan")]
    fn plan(&self) {}
}

fn main() {}
