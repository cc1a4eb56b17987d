use factory_observability::pipeline_stage;

extern "C" {
    #[pipeline_stage]
    pub fn abs(value: i32) -> i32;
}

fn main() {}
