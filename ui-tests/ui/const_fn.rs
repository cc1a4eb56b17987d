use factory_observability::pipeline_stage;

#[pipeline_stage]
const fn plan() -> u32 {
    1
}

fn main() {}
