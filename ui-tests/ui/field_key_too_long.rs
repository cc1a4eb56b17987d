use factory_observability::pipeline_stage;

#[pipeline_stage(fields("app.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.very_long_segment.end" = 1))]
fn plan() {}

fn main() {}
