use factory_observability::pipeline_stage;

fn main() {
    let plan = #[pipeline_stage] || 1;
    let _ = plan();
}
