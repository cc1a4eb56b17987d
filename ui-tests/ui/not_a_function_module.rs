use factory_observability::pipeline_stage;

#[pipeline_stage]
mod stages {
    pub fn plan() {}
}

fn main() {}
