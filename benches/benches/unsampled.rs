//! This project installed but not sampling (`OTEL_TRACES_SAMPLER=always_off`, set before `init`),
//! next to the bare function, in criterion group `unsampled`: a separate binary because `init` is
//! process-wide. Run: `cargo bench -p factory-observability-benches --bench unsampled`.

mod common;

fn main() {
    let mut c = common::criterion();
    common::bare_and_installed(
        &mut c,
        "unsampled",
        "ours_unsampled",
        &[("OTEL_TRACES_SAMPLER", "always_off")],
    );
    c.final_summary();
}
