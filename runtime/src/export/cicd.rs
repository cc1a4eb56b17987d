//! The OpenTelemetry CI/CD conventions on a run's and a stage's span, derived when the span is
//! converted for export, beside or instead of the seed's names (`FACTORY_OBS_PIPELINE_SEMCONV`).
//!
//! Semantic conventions, `docs/cicd/cicd-spans.md`: "Pipeline run": kind SERVER, name
//! `{action} {pipeline}`, `cicd.pipeline.result` Required; "Pipeline task run": kind INTERNAL,
//! `cicd.pipeline.task.name`, `.task.run.id`, `.task.run.result` and `.task.run.url.full`
//! Required (the URL where the CI system gives one). The seed's span names stay with both sets
//! of names: the deploy kit and `factory-obs` find runs by them.

use crate::call_site::{CallKind, CallSite};
use crate::config::vcs::ProcessOrigin;
use crate::names::{attr, cicd};
use crate::outcome::OutcomeKind;
use opentelemetry::trace::{SpanContext, SpanKind};
use opentelemetry::KeyValue;
use std::borrow::Cow;

/// Adds the CI/CD attributes a run's or a stage's span carries, removes the seed's that they
/// replace when only the conventions' are asked for, and returns the span's name and kind when
/// they change.
pub(crate) fn pipeline_conventions(
    site: &CallSite,
    outcome: OutcomeKind,
    span_context: &SpanContext,
    origin: &ProcessOrigin,
    attributes: &mut Vec<KeyValue>,
) -> Option<(Cow<'static, str>, SpanKind)> {
    let semconv = origin.semconv;
    if !semconv.cicd {
        return None;
    }
    let vcs = origin.vcs.as_ref();
    match site.kind {
        CallKind::Run => {
            let run_id = attributes
                .iter()
                .find(|kv| kv.key.as_str() == attr::RUN_ID)
                .map(|kv| kv.value.clone());
            attributes.push(KeyValue::new(cicd::CICD_PIPELINE_NAME, site.name));
            attributes.push(KeyValue::new(cicd::CICD_PIPELINE_RESULT, outcome.as_str()));
            if let Some(run_id) = run_id {
                attributes.push(KeyValue::new(cicd::CICD_PIPELINE_RUN_ID, run_id));
            }
            if let Some(url) = vcs.and_then(|vcs| vcs.ci_run_url.clone()) {
                attributes.push(KeyValue::new(cicd::CICD_PIPELINE_RUN_URL_FULL, url));
            }
            if semconv.seed {
                return Some((
                    Cow::Borrowed(crate::names::span::PIPELINE_RUN),
                    SpanKind::Server,
                ));
            }
            attributes.retain(|kv| {
                ![attr::PIPELINE_NAME, attr::RUN_OUTCOME, attr::RUN_ID].contains(&kv.key.as_str())
            });
            Some((
                Cow::Owned(format!("{} {}", cicd::ACTION_BUILD, site.name)),
                SpanKind::Server,
            ))
        }
        CallKind::Stage => {
            attributes.push(KeyValue::new(cicd::CICD_PIPELINE_TASK_NAME, site.name));
            attributes.push(KeyValue::new(
                cicd::CICD_PIPELINE_TASK_RUN_ID,
                span_context.span_id().to_string(),
            ));
            attributes.push(KeyValue::new(
                cicd::CICD_PIPELINE_TASK_RUN_RESULT,
                outcome.as_str(),
            ));
            if let Some(url) = vcs.and_then(|vcs| vcs.ci_job_url.clone()) {
                attributes.push(KeyValue::new(cicd::CICD_PIPELINE_TASK_RUN_URL_FULL, url));
            }
            if semconv.seed {
                return None;
            }
            attributes
                .retain(|kv| ![attr::STAGE_NAME, attr::STAGE_OUTCOME].contains(&kv.key.as_str()));
            // No name rule for task runs: the task's name, low-cardinality, as the general
            // guidelines for span names ask.
            Some((Cow::Borrowed(site.name), SpanKind::Internal))
        }
        _ => None,
    }
}
