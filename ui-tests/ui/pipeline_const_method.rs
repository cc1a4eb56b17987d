use factory_observability::pipeline;

struct Factory;

#[pipeline]
impl Factory {
    const fn retries(&self) -> u32 {
        3
    }

    fn plan(&self) -> u32 {
        self.retries()
    }
}

fn main() {}
