use factory_observability::pipeline_stage;

#[pipeline_stage]
extern "C" {
    fn abs(value: i32) -> i32;
}

fn main() {}
