//! `factory-obs report --html` loaded in a real headless browser (Debian's `chromium`, installed
//! by `scripts/install-chromium.sh`; `CHROMIUM` names another binary). The page's script writes
//! `ok N tables` into `#script-status` once it ran, and `window.onerror` writes any error into
//! `#script-errors`: the DOM the browser dumps tells whether the page rendered and its script
//! ran without error.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    assert!(
        !path.is_empty(),
        "chromium is not installed: run scripts/install-chromium.sh (or set CHROMIUM)"
    );
    PathBuf::from(path)
}

/// Runs headless chromium on the page with no network of its own; returns stdout.
fn browse(page: &Path, profile: &Path, mode: &[&str]) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the DOM"))
        + start.len();
    let to = text[from..].find(end).expect("closing tag") + from;
    &text[from..to]
}

#[test]
fn the_html_report_renders_in_chromium_with_its_script_and_no_error() {
    let dir = std::env::temp_dir().join(format!("factory-obs-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("telemetry")).unwrap();
    let mut file = std::fs::File::create(dir.join("telemetry/traces.jsonl")).unwrap();
    factory_obs::synthetic::write_runs(&mut file, 6, u64::MAX).unwrap();
    let page = dir.join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_factory-obs"))
        .args(["report", "--html"])
        .arg(&page)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Self-contained: nothing to fetch.
    let html = std::fs::read_to_string(&page).unwrap();
    for reference in ["src=", "href=", "@import", "url(", "https://"] {
        assert!(!html.contains(reference), "the page references {reference}");
    }

    let dom = browse(&page, &dir.join("profile"), &["--dump-dom"]);
    assert_eq!(
        between(&dom, "<div id=\"script-status\">", "<"),
        "ok 9 tables"
    );
    assert_eq!(between(&dom, "<div id=\"script-errors\">", "<"), "");
    for id in [
        "pipelines",
        "runs",
        "stages",
        "failures",
        "models",
        "candidates",
        "tests",
        "routes",
        "builds",
        "chart-stage-durations",
        "chart-cost-per-run",
        "waterfalls",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "no #{id} in the DOM");
    }
    assert_eq!(dom.matches("class=\"waterfall\"").count(), 6);
    assert_eq!(
        dom.matches("<g class=\"bar\">").count(),
        6 + 6,
        "6 stages, 6 runs"
    );
    let runs = between(&dom, "<table id=\"runs\"", "</table>");
    assert_eq!(
        runs.matches("<tr class=\"failed\">").count(),
        2,
        "runs 2 and 5 failed"
    );
    assert!(dom.contains("<td class=\"text\">POST /tasks</td>"));

    // A screenshot proves it paints (report.png in the temp directory, to look at).
    let screenshot = dir.join("report.png");
    browse(
        &page,
        &dir.join("profile"),
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", screenshot.display()),
        ],
    );
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 50_000,
        "a screenshot of a rendered page ({} bytes)",
        png.len()
    );
}
