use factory_observability::pipeline_run;

#[pipeline_run]
enum Run {
    Plan,
    Build,
}

fn main() {}
