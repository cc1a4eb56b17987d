//! This project installed with neither traces nor metrics (`OTEL_TRACES_EXPORTER=none`,
//! `OTEL_METRICS_EXPORTER=none`, set before `init`): the macros have nothing to record and run
//! the body alone. Next to the bare function, in criterion group `nothing_recorded`: a separate
//! binary because `init` is process-wide.
//! Run: `cargo bench -p factory-observability-benches --bench nothing_recorded`.

mod common;

fn main() {
    let mut c = common::criterion();
    common::bare_and_installed(
        &mut c,
        "nothing_recorded",
        "ours_nothing_recorded",
        &[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
        &[],
    );
    c.final_summary();
}
