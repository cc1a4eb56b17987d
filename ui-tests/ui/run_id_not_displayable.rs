use factory_observability::pipeline_run;

struct Spec {
    id: (u32, u32),
}

#[pipeline_run(run_id = spec.id)]
fn run(spec: &Spec) {}

fn main() {}
