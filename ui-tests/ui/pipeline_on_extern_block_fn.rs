use factory_observability::pipeline;

extern "C" {
    #[pipeline]
    fn abs(value: i32) -> i32;
}

fn main() {}
