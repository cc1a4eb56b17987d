//! What reading `vcs.*` costs `init` (issue 20: "never slow `init` noticeably"), in criterion
//! group `init`: `Vcs::detect` alone (in this git checkout: `.git/HEAD`, the ref's file or
//! `packed-refs`, the remote in `.git/config`, no `git` process; outside any checkout; from a
//! CI system's variables), and `init` itself side by side with `FACTORY_OBS_VCS=off` (what
//! `init` did before it read `vcs.*`) and `auto` (the default), one call per process.
//! Run: `cargo bench -p factory-observability-benches --bench init`.

mod common;

use common::criterion;
use factory_observability::config::vcs::Vcs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn github_actions(name: &str) -> Option<String> {
    let value = match name {
        "GITHUB_ACTIONS" => "true",
        "GITHUB_SERVER_URL" => "https://github.com",
        "GITHUB_REPOSITORY" => "acme/shop",
        "GITHUB_SHA" => "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_REF" => "refs/heads/main",
        "GITHUB_REF_NAME" => "main",
        "GITHUB_REF_TYPE" => "branch",
        "GITHUB_RUN_ID" => "42",
        _ => return None,
    };
    Some(value.to_owned())
}

fn bench(c: &mut criterion::Criterion) {
    // `cargo bench` runs the binary in the package's directory, inside the checkout.
    let checkout = std::env::current_dir().expect("current directory");
    if Vcs::from_checkout(&checkout).is_none_or(|vcs| vcs.revision.is_none()) {
        eprintln!(
            "init: {} is not in a git checkout: \"git checkout\" measures what \"no checkout\" does",
            checkout.display()
        );
    }
    let outside = fo_benches::temp_dir("init-no-checkout");
    assert!(
        Vcs::from_checkout(&outside).is_none(),
        "{}",
        outside.display()
    );

    let mut group = c.benchmark_group("init");
    group.bench_function("vcs detect, git checkout", |b| {
        b.iter(|| Vcs::detect(&|_| None, black_box(&checkout)))
    });
    group.bench_function("vcs detect, no checkout", |b| {
        b.iter(|| Vcs::detect(&|_| None, black_box(Path::new(&outside))))
    });
    group.bench_function("vcs detect, GitHub Actions variables", |b| {
        b.iter(|| Vcs::detect(&github_actions, black_box(&checkout)))
    });
    // `init` once per process (a second call is refused): each iteration starts this binary
    // again to call it once, and counts only the time of the call, measured in the child.
    let exe = std::env::current_exe().expect("this bench's binary");
    group.sample_size(20);
    for (name, mode, vcs) in [
        ("vcs detect, first call in a process", "detect", "auto"),
        ("init, FACTORY_OBS_VCS=off", "1", "off"),
        ("init, FACTORY_OBS_VCS=auto", "1", "auto"),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let output = std::process::Command::new(&exe)
                            .env(INIT_ONCE_ENV, mode)
                            .env("FACTORY_OBS_VCS", vcs)
                            .current_dir(&checkout)
                            .output()
                            .expect("start this bench's binary again");
                        let text = String::from_utf8_lossy(&output.stdout);
                        let nanos: u64 = text.trim().parse().unwrap_or_else(|_| {
                            panic!(
                                "init once: {}{}",
                                text,
                                String::from_utf8_lossy(&output.stderr)
                            )
                        });
                        Duration::from_nanos(nanos)
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

/// Set in the child that calls `init` once and prints how many nanoseconds the call took.
const INIT_ONCE_ENV: &str = "FO_BENCH_INIT_ONCE";

fn init_once() {
    if std::env::var(INIT_ONCE_ENV).as_deref() == Ok("detect") {
        // The first detection in a fresh process, as `init` runs it: cold code and files.
        let started = Instant::now();
        let here = std::env::current_dir().unwrap_or_default();
        let vcs = Vcs::detect(&|name| std::env::var(name).ok(), &here);
        let took = started.elapsed();
        black_box(vcs);
        println!("{}", took.as_nanos());
        return;
    }
    let dir = fo_benches::temp_dir("init-once");
    let started = Instant::now();
    let telemetry = factory_observability::Telemetry::builder("bench")
        .span_exporter(fo_benches::Discard::default())
        .summary(false)
        .embedded_dir(&dir)
        .init_without_subscriber()
        .expect("init");
    let took = started.elapsed();
    telemetry.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", took.as_nanos());
}

fn main() {
    if std::env::var_os(INIT_ONCE_ENV).is_some() {
        init_once();
        return;
    }
    let mut c = criterion();
    bench(&mut c);
    c.final_summary();
}
