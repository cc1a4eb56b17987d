//! This project installed but not sampling (`OTEL_TRACES_SAMPLER=always_off`, set before `init`),
//! next to the bare function, in criterion group `unsampled`: `#[pipeline_stage]`
//! (`ours_unsampled`) and `#[tool]` (`tool_unsampled`). A separate binary because `init` is
//! process-wide. Run: `cargo bench -p factory-observability-benches --bench unsampled`.

mod common;

fn main() {
    let mut c = common::criterion();
    common::bare_and_installed(
        &mut c,
        "unsampled",
        "ours_unsampled",
        &[("OTEL_TRACES_SAMPLER", "always_off")],
        &[("tool_unsampled", common::tool_call)],
    );
    c.final_summary();
}
