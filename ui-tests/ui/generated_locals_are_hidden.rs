use factory_observability::pipeline_stage;

#[pipeline_stage]
fn plan() -> u32 {
    let _ = __fo_call;
    1
}

fn main() {}
