use factory_observability::pipeline_stage;

#[pipeline_stage]
struct Plan {
    steps: u32,
}

fn main() {}
