use factory_observability::pipeline_stage;

struct Factory {
    model: String,
}

impl Factory {
    #[pipeline_stage(fields(model = model))]
    fn plan(&self, spec: &str) {}
}

fn main() {}
