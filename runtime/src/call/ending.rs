//! What a call learned from its returned value: the outcome and what its kind reads from it.

use super::Call;
use crate::adjudication::Decision;
use crate::outcome::Report;
use crate::test_report::TestReport;
use crate::usage::LlmResponse;

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
    Tool(super::tool::ToolOutput),
    Mcp(super::mcp_client::McpResponse),
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

impl From<super::tool::ToolOutput> for Extra {
    fn from(output: super::tool::ToolOutput) -> Self {
        Extra::Tool(output)
    }
}

impl From<super::mcp_client::McpResponse> for Extra {
    fn from(response: super::mcp_client::McpResponse) -> Self {
        Extra::Mcp(response)
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

impl Call {
    /// The call's ending, read from `value` by `classify` (see [`classify_guarded`]).
    #[inline]
    pub(crate) fn classify<T, E: Into<Ending>>(
        &self,
        value: &T,
        classify: impl FnOnce(&T) -> E,
    ) -> Ending {
        classify_guarded(self.captures_output(), value, classify)
    }
}

/// The ending of a call, read from `value` by `classify`. A panic in the program's code that
/// `classify` runs ends the call as `error` with `error.type`
/// [`UNREADABLE`](crate::faults::UNREADABLE); it does not reach the caller, which gets its
/// value. `capturing` says whether the call captures its completion.
#[inline]
pub(crate) fn classify_guarded<T, E: Into<Ending>>(
    capturing: bool,
    value: &T,
    classify: impl FnOnce(&T) -> E,
) -> Ending {
    crate::faults::read_guarded(capturing, || classify(value).into()).unwrap_or_else(Ending::from)
}
