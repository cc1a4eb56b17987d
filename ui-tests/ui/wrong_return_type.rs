use factory_observability::pipeline_stage;

#[pipeline_stage]
fn plan() -> Result<u32, String> {
    "not a result"
}

fn main() {}
