//! What a call learned from its returned value: the outcome and what its kind reads from it.

use crate::adjudication::Decision;
use crate::llm::LlmResponse;
use crate::outcome::Report;
use crate::test_report::TestReport;

/// What the macro learned from the returned value: the outcome, and what the kind reads from it.
#[doc(hidden)]
#[derive(Debug)]
pub struct Ending {
    pub report: Report,
    pub extra: Extra,
}

/// What a kind reads from the returned value besides its outcome.
#[doc(hidden)]
#[derive(Debug, Default)]
pub enum Extra {
    #[default]
    None,
    Llm(LlmResponse),
    Decision(Decision),
    Tests(TestReport),
    Http(super::http_client::HttpResponse),
}

impl From<Report> for Ending {
    fn from(report: Report) -> Self {
        Ending {
            report,
            extra: Extra::None,
        }
    }
}

impl<X: Into<Extra>> From<(Report, X)> for Ending {
    fn from((report, extra): (Report, X)) -> Self {
        Ending {
            report,
            extra: extra.into(),
        }
    }
}

impl From<LlmResponse> for Extra {
    fn from(response: LlmResponse) -> Self {
        Extra::Llm(response)
    }
}

impl From<super::http_client::HttpResponse> for Extra {
    fn from(response: super::http_client::HttpResponse) -> Self {
        Extra::Http(response)
    }
}

impl From<Decision> for Extra {
    fn from(decision: Decision) -> Self {
        Extra::Decision(decision)
    }
}

impl From<Option<TestReport>> for Extra {
    fn from(tests: Option<TestReport>) -> Self {
        tests.map_or(Extra::None, Extra::Tests)
    }
}
