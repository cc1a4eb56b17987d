//! Test-quality signals: a stage that returns a [`TestReport`] records pass rate and flaky tests.

use crate::outcome::{Outcome, OutcomeKind};

/// The result of running a test suite in a stage.
///
/// A `#[pipeline_stage]` returning a `TestReport` (or `Result<TestReport, E>`, or any type that
/// implements [`TestResults`]) records `test.passed`, `test.failed`, `test.skipped`,
/// `test.pass_rate` and `test.flaky` on its span, and the metrics `test.pass_rate` and
/// `test.flaky.total`.
///
/// `test.flaky` is the runner's own count ([`with_flaky`](TestReport::with_flaky)) plus, when the
/// tests are named (`passed_test`, `failed_test`) and the stage is retried with
/// [`retry_stage`](crate::retry_stage) or [`retry_stage_async`](crate::retry_stage_async), the
/// tests that failed in an earlier attempt of the same retry loop and pass now, each counted
/// once. The memory of failed tests belongs to one loop: another candidate's call of a
/// same-named stage, a call outside the loop, or another loop (nested or concurrent) never
/// makes a test flaky. A stage called repeatedly without `retry_stage` (a hand-written loop)
/// counts only the runner's flaky tests, since nothing says that its calls retry the same
/// thing; wrap the loop in `retry_stage` to have recovered tests counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests that were skipped.
    pub skipped: u64,
    /// Tests the runner itself found flaky (passed only on a rerun within this attempt).
    pub flaky: u64,
    passed_names: Vec<String>,
    failed_names: Vec<String>,
}

impl TestReport {
    /// A report from counts.
    pub fn new(passed: u64, failed: u64, skipped: u64) -> Self {
        TestReport {
            passed,
            failed,
            skipped,
            ..TestReport::default()
        }
    }

    /// Adds tests the runner found flaky.
    pub fn with_flaky(mut self, flaky: u64) -> Self {
        self.flaky += flaky;
        self
    }

    /// Adds a passed test by name.
    pub fn passed_test(mut self, name: impl Into<String>) -> Self {
        self.passed += 1;
        self.passed_names.push(name.into());
        self
    }

    /// Adds a failed test by name.
    pub fn failed_test(mut self, name: impl Into<String>) -> Self {
        self.failed += 1;
        self.failed_names.push(name.into());
        self
    }

    /// Passed tests over executed (passed and failed) tests; `None` when none ran.
    pub fn pass_rate(&self) -> Option<f64> {
        let executed = self.passed + self.failed;
        (executed > 0).then(|| self.passed as f64 / executed as f64)
    }

    /// Names of the tests that passed.
    pub fn passed_names(&self) -> &[String] {
        &self.passed_names
    }

    /// Names of the tests that failed.
    pub fn failed_names(&self) -> &[String] {
        &self.failed_names
    }
}

/// A failing test makes the stage a failure; a suite that only skipped is a skip.
impl Outcome for TestReport {
    fn outcome(&self) -> OutcomeKind {
        if self.failed > 0 {
            OutcomeKind::Failure
        } else if self.passed == 0 && self.skipped > 0 {
            OutcomeKind::Skip
        } else {
            OutcomeKind::Success
        }
    }

    fn message(&self) -> Option<String> {
        if self.failed == 0 {
            return None;
        }
        let mut message = format!(
            "{} of {} tests failed",
            self.failed,
            self.passed + self.failed
        );
        if !self.failed_names.is_empty() {
            message.push_str(": ");
            message.push_str(&self.failed_names.join(", "));
        }
        Some(message)
    }
}

/// A value that carries a [`TestReport`], for stages returning their own types.
pub trait TestResults {
    /// The test report.
    fn test_report(&self) -> &TestReport;
}

impl TestResults for TestReport {
    fn test_report(&self) -> &TestReport {
        self
    }
}

/// Reading a `TestReport` out of any returned value, by autoref specialisation as in
/// [`crate::classify`]: `(&&&TestsOf(&value)).__fo_tests()`.
#[doc(hidden)]
pub mod detect {
    use super::{TestReport, TestResults};

    pub struct TestsOf<'a, R: ?Sized>(pub &'a R);

    pub trait ViaResultTests {
        fn __fo_tests(&self) -> Option<TestReport>;
    }
    impl<T: TestResults, E> ViaResultTests for &&TestsOf<'_, Result<T, E>> {
        fn __fo_tests(&self) -> Option<TestReport> {
            self.0
                .as_ref()
                .ok()
                .map(|value| value.test_report().clone())
        }
    }

    pub trait ViaTests {
        fn __fo_tests(&self) -> Option<TestReport>;
    }
    impl<T: TestResults + ?Sized> ViaTests for &TestsOf<'_, T> {
        fn __fo_tests(&self) -> Option<TestReport> {
            Some(self.0.test_report().clone())
        }
    }

    pub trait ViaNoTests {
        fn __fo_tests(&self) -> Option<TestReport>;
    }
    impl<T: ?Sized> ViaNoTests for TestsOf<'_, T> {
        fn __fo_tests(&self) -> Option<TestReport> {
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the autoref levels are the point
mod tests {
    use super::detect::*;
    use super::*;

    #[test]
    fn pass_rate_and_outcome() {
        let report = TestReport::new(3, 1, 2);
        assert_eq!(report.pass_rate(), Some(0.75));
        assert_eq!(report.outcome(), OutcomeKind::Failure);
        assert_eq!(TestReport::new(0, 0, 4).outcome(), OutcomeKind::Skip);
        assert_eq!(TestReport::new(0, 0, 4).pass_rate(), None);
        let named = TestReport::default().passed_test("a").failed_test("b");
        assert_eq!((named.passed, named.failed), (1, 1));
        assert_eq!(named.failed_names(), ["b"]);
    }

    #[test]
    fn reports_are_found_in_results_and_plain_values_only() {
        let report = TestReport::new(1, 0, 0);
        assert_eq!((&&&TestsOf(&report)).__fo_tests(), Some(report.clone()));
        let ok: Result<TestReport, String> = Ok(report.clone());
        assert_eq!((&&&TestsOf(&ok)).__fo_tests(), Some(report));
        let err: Result<TestReport, String> = Err("runner crashed".into());
        assert_eq!((&&&TestsOf(&err)).__fo_tests(), None);
        assert_eq!((&&&TestsOf(&3u8)).__fo_tests(), None);
    }

    /// The model reads back the failed tests' names a report words in its status message:
    /// `factory-obs` and the summary name flaky and failed tests from it.
    #[test]
    fn failed_test_names_read_back_what_a_test_report_describes() {
        let report = TestReport::default()
            .passed_test("list tasks")
            .failed_test("complete task: undo")
            .failed_test("add task");
        let description = report.message().expect("a failing report has a message");
        assert_eq!(
            crate::model::failed_test_names(&description),
            Some(vec![
                "complete task: undo".to_owned(),
                "add task".to_owned()
            ])
        );
        let one = TestReport::default().failed_test("a, b").message().unwrap();
        assert_eq!(
            crate::model::failed_test_names(&one),
            Some(vec!["a, b".to_owned()])
        );
        let ambiguous = TestReport::default()
            .failed_test("a, b")
            .failed_test("c")
            .message()
            .unwrap();
        assert_eq!(crate::model::failed_test_names(&ambiguous), None);
        assert_eq!(crate::model::failed_test_names("3 tests failed"), None);
        assert_eq!(
            crate::model::failed_test_names("compile error: expected `;`"),
            None
        );
        let unnamed = TestReport::new(1, 2, 0).message().unwrap();
        assert_eq!(crate::model::failed_test_names(&unnamed), None);
    }
}
