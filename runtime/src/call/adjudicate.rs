//! `#[adjudicate]`: every candidate's score and tests, the selected candidate and its margin, as
//! span attributes, GenAI evaluation events and adjudication metrics.

use super::span::CallSpan;
use super::{saturating_i64, Active, KindState, Opening};
use crate::adjudication::{attribute_key_part, Decision};
use crate::names::{attr, event};
use crate::outcome::{ErrorDetails, OutcomeKind, Report};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue};
use std::borrow::Cow;

/// `adjudication.name` is derived from the call site when the span is exported.
pub(crate) fn open() -> Opening {
    Opening {
        name: Cow::Borrowed(crate::names::span::PIPELINE_ADJUDICATE),
        span_kind: SpanKind::Internal,
        state: KindState::Adjudicate,
        context_value: None,
        opens_span: true,
    }
}

fn candidate_key(candidate: &str, suffix: &str) -> Key {
    Key::from(format!(
        "{}{}_{suffix}",
        attr::ADJUDICATION_PREFIX,
        attribute_key_part(candidate)
    ))
}

/// Records the decision; returns an error report when the selection is not a candidate.
pub(crate) fn end(active: &Active, span: &mut CallSpan, decision: Decision) -> Option<Report> {
    if !decision.decided {
        // An `Err`: the outcome already says the adjudication failed; there is nothing to score.
        return None;
    }
    let Decision {
        candidates,
        selected,
        ..
    } = decision;
    if let Some(run) = active.cx.get::<super::run::RunState>() {
        let mut produced = run.produced();
        if !produced.marked && !selected.is_empty() {
            produced.candidate = Some(selected.to_string());
        }
    }
    let instruments = &active.dispatch.instruments;
    span.set_attribute(KeyValue::new(
        attr::ADJUDICATION_CANDIDATES,
        saturating_i64(candidates.len()),
    ));
    for candidate in &candidates {
        span.set_attribute(KeyValue::new(
            candidate_key(&candidate.name, "score"),
            candidate.score,
        ));
        if let Some(passed) = candidate.tests_passed {
            span.set_attribute(KeyValue::new(
                candidate_key(&candidate.name, "tests_passed"),
                saturating_i64(passed),
            ));
        }
        if let Some(total) = candidate.tests_total {
            span.set_attribute(KeyValue::new(
                candidate_key(&candidate.name, "tests_total"),
                saturating_i64(total),
            ));
        }
        let label = if candidate.name == selected {
            "selected"
        } else {
            "rejected"
        };
        span.add_event(
            event::GEN_AI_EVALUATION_RESULT,
            vec![
                KeyValue::new(attr::GEN_AI_EVALUATION_NAME, active.site.name),
                KeyValue::new(attr::GEN_AI_EVALUATION_SCORE_VALUE, candidate.score),
                KeyValue::new(attr::GEN_AI_EVALUATION_SCORE_LABEL, label),
                KeyValue::new(attr::ADJUDICATION_CANDIDATE, candidate.name.clone()),
            ],
        );
        instruments.adjudication_score.record(
            candidate.score,
            &[KeyValue::new(attr::CANDIDATE, candidate.name.clone())],
        );
    }
    if selected.is_empty() && candidates.is_empty() {
        return None;
    }
    span.set_attribute(KeyValue::new(attr::ADJUDICATION_SELECTED, selected.clone()));
    let Some(winner) = candidates.iter().find(|c| c.name == selected) else {
        let names: Vec<String> = candidates.iter().map(|c| format!("`{}`", c.name)).collect();
        let among = if names.is_empty() {
            "there are no candidates".to_owned()
        } else {
            format!("the candidates are {}", names.join(", "))
        };
        return Some(Report {
            outcome: OutcomeKind::Error,
            error: Some(ErrorDetails {
                type_name: Cow::Borrowed("adjudication.unknown_selection"),
                message: format!(
                    "selected candidate `{selected}` is not among the candidates: {among}"
                ),
            }),
            message: None,
        });
    };
    instruments
        .adjudication_selected
        .add(1, &[KeyValue::new(attr::CANDIDATE, selected.clone())]);
    let runner_up = candidates
        .iter()
        .filter(|c| !std::ptr::eq(*c, winner))
        .map(|c| c.score)
        .fold(None, |best: Option<f64>, score| {
            Some(best.map_or(score, |b| b.max(score)))
        });
    if let Some(runner_up) = runner_up {
        let margin = winner.score - runner_up;
        span.set_attribute(KeyValue::new(attr::ADJUDICATION_MARGIN, margin));
        span.set_attribute(KeyValue::new(attr::ADJUDICATION_TIE, margin == 0.0));
        instruments.adjudication_margin.record(margin, &[]);
    }
    None
}
