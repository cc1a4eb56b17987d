//! Tests that need a process of their own, inside a test binary shared with many others.
//!
//! The integration tests are grouped into few binaries (each binary links the whole runtime, and
//! linking dominated the suite's time). A test that calls `init` (process-wide state), sets
//! `OTEL_*` variables or measures the process's memory cannot share its process with the tests
//! running beside it: it runs its body in the same test binary started again with only itself
//! selected ([`run_in_own_process`]), or starts an ignored scenario test of its file
//! ([`test_command`]).

use std::process::Command;

/// Set in the child process to the name of the one test it runs.
const ISOLATED_ENV: &str = "FO_TEST_ISOLATED";

/// The name libtest gives the test `name` of the module `module_path` (pass `module_path!()`):
/// the module path without the crate's name, e.g. `faults_healthy::child`.
pub fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    }
}

/// A command running exactly the test `test` (a name from [`test_name`]) of this test binary,
/// ignored or not, with its output shown. (No `--test-threads=1`: with it libtest would print
/// `test name ... ` before the test's first line of output, on that line.)
pub fn test_command(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([test, "--exact", "--include-ignored", "--nocapture"]);
    command
}

/// Whether the test `name` of `module_path` (pass `module_path!()` and the test function's name)
/// was run in a process of its own: false in that process, where the test goes on; true in
/// the process that started it, after the child succeeded (its output is shown when it fails).
/// A test that needs its own process begins with
/// `if run_in_own_process(module_path!(), "name") { return; }`.
pub fn run_in_own_process(module_path: &str, name: &str) -> bool {
    let test = test_name(module_path, name);
    if std::env::var(ISOLATED_ENV).as_deref() == Ok(test.as_str()) {
        return false;
    }
    let output = test_command(&test)
        .env(ISOLATED_ENV, &test)
        .output()
        .expect("start the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test} failed in its own process ({})\n--- stdout\n{stdout}--- stderr\n{stderr}",
        output.status
    );
    // The child must have run the test: a filter that matched nothing also exits 0.
    assert!(
        stdout.contains("1 passed"),
        "{test} did not run in its own process\n--- stdout\n{stdout}--- stderr\n{stderr}"
    );
    print!("{stdout}");
    eprint!("{stderr}");
    true
}
