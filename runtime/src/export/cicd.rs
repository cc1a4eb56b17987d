//! The OpenTelemetry CI/CD conventions on a run's and a stage's span, derived when the span is
//! converted for export, beside or instead of the seed's names (`FACTORY_OBS_PIPELINE_SEMCONV`).
//!
//! Semantic conventions, `docs/cicd/cicd-spans.md`: "Pipeline run": `cicd.pipeline.result`
//! Required, name `{action} {pipeline}` and kind `SERVER` (both SHOULD); "Pipeline task run":
//! kind `INTERNAL`, `cicd.pipeline.task.name`, `.task.run.id`, `.task.run.result` and
//! `.task.run.url.full` Required (the URL where the CI system gives one). With both sets of names
//! (the default) a span keeps the seed's name and kind: the deploy kit, `factory-obs` and the
//! seed's own example (a root span of the default kind, `INTERNAL`) know runs by them; with the
//! conventions' alone it takes theirs (docs/provenance.md).

use crate::call_site::{CallKind, CallSite};
use crate::config::vcs::ProcessOrigin;
use crate::names::{attr, cicd};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{SpanContext, SpanKind};
use opentelemetry::KeyValue;
use std::borrow::Cow;

/// What the conventions change on a span besides the attributes they add.
pub(crate) struct Conventions {
    /// The span's name and kind, when they change (the conventions' alone).
    pub renamed: Option<(Cow<'static, str>, SpanKind)>,
    /// The seed's attributes the conventions' replace (the conventions' alone).
    pub replaced: &'static [&'static str],
}

/// The seed's attributes of a run that `cicd.pipeline.name`, `.result` and `.run.id` replace.
const RUN_REPLACED: &[&str] = &[attr::PIPELINE_NAME, attr::RUN_OUTCOME, attr::RUN_ID];
/// The seed's attributes of a stage that `cicd.pipeline.task.name` and `.run.result` replace.
const STAGE_REPLACED: &[&str] = &[attr::STAGE_NAME, attr::STAGE_OUTCOME];

/// Adds the CI/CD attributes of a run's or a stage's span to `derived` (what the conversion
/// derives, before the call's `own` attributes, where the run's `run.id` is), and says what
/// else changes; `None` when the conventions' names are not asked for.
pub(crate) fn pipeline_conventions(
    site: &CallSite,
    outcome: OutcomeKind,
    span_context: &SpanContext,
    origin: &ProcessOrigin,
    own: &[KeyValue],
    derived: &mut Vec<KeyValue>,
) -> Option<Conventions> {
    let semconv = origin.semconv;
    if !semconv.cicd {
        return None;
    }
    let vcs = origin.vcs.as_ref();
    let only_cicd = !semconv.seed;
    match site.kind {
        CallKind::Run => {
            derived.push(KeyValue::new(cicd::CICD_PIPELINE_NAME, site.name));
            derived.push(KeyValue::new(cicd::CICD_PIPELINE_RESULT, outcome.as_str()));
            if let Some(run_id) = own.iter().find(|kv| kv.key.as_str() == attr::RUN_ID) {
                derived.push(KeyValue::new(
                    cicd::CICD_PIPELINE_RUN_ID,
                    run_id.value.clone(),
                ));
            }
            if let Some(url) = vcs.and_then(|vcs| vcs.ci_run_url.clone()) {
                derived.push(KeyValue::new(cicd::CICD_PIPELINE_RUN_URL_FULL, url));
            }
            Some(Conventions {
                renamed: only_cicd.then(|| {
                    (
                        Cow::Owned(format!("{} {}", cicd::ACTION_BUILD, site.name)),
                        SpanKind::Server,
                    )
                }),
                replaced: if only_cicd { RUN_REPLACED } else { &[] },
            })
        }
        CallKind::Stage => {
            derived.push(KeyValue::new(cicd::CICD_PIPELINE_TASK_NAME, site.name));
            derived.push(KeyValue::new(
                cicd::CICD_PIPELINE_TASK_RUN_ID,
                span_context.span_id().to_string(),
            ));
            derived.push(KeyValue::new(
                cicd::CICD_PIPELINE_TASK_RUN_RESULT,
                outcome.as_str(),
            ));
            if let Some(url) = vcs.and_then(|vcs| vcs.ci_job_url.clone()) {
                derived.push(KeyValue::new(cicd::CICD_PIPELINE_TASK_RUN_URL_FULL, url));
            }
            // No name rule for task runs: the task's name, low-cardinality, as the general
            // guidelines for span names ask. The kind stays `INTERNAL`, as a stage's is.
            Some(Conventions {
                renamed: only_cicd.then_some((Cow::Borrowed(site.name), SpanKind::Internal)),
                replaced: if only_cicd { STAGE_REPLACED } else { &[] },
            })
        }
        _ => None,
    }
}
