use factory_observability::pipeline_stage;

#[pipeline_stage]
unsafe extern "C" fn log(format: *const u8, args: ...) {}

fn main() {}
