use factory_observability::pipeline_stage;

#[pipeline_stage]
use std::collections::HashMap;

fn main() {
    let _ = HashMap::<u8, u8>::new();
}
