use factory_observability::pipeline_stage;

// Four mistakes, four errors in one build.
#[pipeline_stage(nmae = "typecheck", fields(Files = files.len(), stage.outcome = "ok", mode = mdoe))]
fn typecheck(files: &[String], mode: &str) {}

fn main() {}
