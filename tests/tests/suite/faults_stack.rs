//! The stack an instrumented sync call takes, against the same function uninstrumented and under
//! `#[tracing::instrument]`, and whether a stage recursing 2,000 deep runs on the 2 MiB stack of
//! a `std::thread`.
//!
//! Measured as the distance between the addresses of a local of consecutive recursion levels,
//! with telemetry installed and every call sampled (the path a real program takes). Each
//! scenario runs in a child process: `init` installs process-wide state, and a stack overflow
//! aborts the process. Figures (debug build, as `cargo test` builds): `cargo test -p
//! factory-observability-tests --test suite faults_stack:: -- --nocapture`; add `--release` for the
//! optimized build.

use factory_observability::pipeline_stage;
use factory_observability_tests::faults::{figure, scenario, ChildRun, Scenarios};
use std::hint::black_box;

/// This file's scenarios, each run by its ignored `child` test in a child process.
const SCENARIOS: Scenarios = Scenarios::of(module_path!());

/// Levels measured.
const LEVELS: u64 = 64;
/// The depth that must run on a 2 MiB thread.
const DEEP: u64 = 2_000;
/// A `std::thread`'s default stack.
const THREAD_STACK: usize = 2 << 20;

/// The address of a local of this level.
#[inline(never)]
fn here() -> usize {
    let local = 0u8;
    black_box(&local) as *const u8 as usize
}

fn plain(depth: u64, probe: &mut Vec<usize>) -> u64 {
    probe.push(here());
    if depth == 0 {
        0
    } else {
        black_box(plain(depth - 1, probe)) + 1
    }
}

#[pipeline_stage]
fn staged(depth: u64, probe: &mut Vec<usize>) -> u64 {
    probe.push(here());
    if depth == 0 {
        0
    } else {
        black_box(staged(depth - 1, probe)) + 1
    }
}

#[tracing::instrument(skip(probe))]
fn traced(depth: u64, probe: &mut Vec<usize>) -> u64 {
    probe.push(here());
    if depth == 0 {
        0
    } else {
        black_box(traced(depth - 1, probe)) + 1
    }
}

/// The stack one level of `recursion` takes: the mean distance between consecutive levels.
fn bytes_per_level(recursion: fn(u64, &mut Vec<usize>) -> u64) -> usize {
    let mut probe = Vec::with_capacity(LEVELS as usize + 1);
    assert_eq!(recursion(LEVELS, &mut probe), LEVELS);
    // The stack grows down: each level's local is below the one before.
    (probe[0] - probe[LEVELS as usize]) / LEVELS as usize
}

/// Runs `recursion` `DEEP` levels deep on a thread with a 2 MiB stack.
fn deep_on_a_small_thread(recursion: fn(u64, &mut Vec<usize>) -> u64) {
    let depth = std::thread::Builder::new()
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let mut probe = Vec::with_capacity(DEEP as usize + 1);
            recursion(DEEP, &mut probe)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(depth, DEEP);
    figure("completed_depth", depth);
}

#[test]
#[ignore = "a scenario run in a child process by the other tests of this file"]
fn child() {
    let _telemetry = factory_observability::Telemetry::builder("faults-stack")
        .summary(false)
        .embedded_dir(std::env::temp_dir().join(format!("fo-faults-stack-{}", std::process::id())))
        .init()
        .expect("init");
    match scenario().as_str() {
        "measure" => {
            // What the expansion keeps on the stack while a sync body runs (`SyncCall`), and
            // what stays off it (the call's state, as `Call` holds it for async bodies; the
            // ending; the fields): see docs/reliability.md, "Stack".
            use factory_observability::__private::{Call, Ending, Extra, Fields, SyncCall};
            figure("size_of_sync_call", std::mem::size_of::<SyncCall>());
            figure("size_of_call", std::mem::size_of::<Call>());
            figure("size_of_ending", std::mem::size_of::<Ending>());
            figure("size_of_extra", std::mem::size_of::<Extra>());
            figure("size_of_fields", std::mem::size_of::<Fields>());
            for (name, recursion) in [
                ("plain", plain as fn(u64, &mut Vec<usize>) -> u64),
                ("pipeline_stage", staged),
                ("tracing_instrument", traced),
            ] {
                let bytes = bytes_per_level(recursion);
                figure(&format!("{name}_bytes_per_level"), bytes);
                figure(&format!("{name}_max_depth_on_2mib"), THREAD_STACK / bytes);
            }
        }
        "deep_plain" => deep_on_a_small_thread(plain),
        "deep_staged" => deep_on_a_small_thread(staged),
        "deep_traced" => deep_on_a_small_thread(traced),
        other => panic!("unknown scenario {other}"),
    }
}

fn run(scenario: &str) -> ChildRun {
    SCENARIOS.run(scenario, &[])
}

#[test]
fn measures_the_stack_of_an_instrumented_call() {
    let run = run("measure");
    let plain = run.number("plain_bytes_per_level");
    let staged = run.number("pipeline_stage_bytes_per_level");
    let traced = run.number("tracing_instrument_bytes_per_level");
    // The instrumentation costs stack; the figures go to docs/reliability.md, "Stack".
    assert!(plain > 0.0 && staged > plain && traced > plain, "{run}");
    // Within the budget of `DEEP` levels on a 2 MiB thread, the test's own locals included.
    assert!(staged * (DEEP as f64) < THREAD_STACK as f64, "{run}");
    // What the instrumented function holds while its body runs (the call's state is elsewhere).
    assert!(run.number("size_of_sync_call") <= 32.0, "{run}");
}

#[test]
fn uninstrumented_recursion_2000_deep_runs_on_a_2_mib_thread() {
    run("deep_plain");
}

#[test]
fn a_stage_recursing_2000_deep_runs_on_a_2_mib_thread() {
    run("deep_staged");
}

#[test]
#[ignore = "a comparison, run by name: #[tracing::instrument] 2,000 deep on a 2 MiB thread"]
fn tracing_instrument_2000_deep_on_a_2_mib_thread() {
    run("deep_traced");
}
