//! `#[adjudicate]`: scores, winner, margin, evaluation events, edge cases (test-quality signals
//! are in test_quality.rs).

use factory_observability::testing::{Capture, CapturedSpan, PointValue};
use factory_observability::{adjudicate, Adjudication, CandidateScore, Verdict};
use factory_observability_tests::labels;
use opentelemetry::trace::Status;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
struct Patch(&'static str);

#[adjudicate]
fn choose(codex: f64, claude: f64) -> Verdict<Patch> {
    Verdict::highest(vec![
        (
            CandidateScore::new("codex", codex)
                .tests_passed(41)
                .tests_total(45),
            Patch("codex patch"),
        ),
        (
            CandidateScore::new("claude", claude)
                .tests_passed(43)
                .tests_total(45),
            Patch("claude patch"),
        ),
    ])
    .expect("two candidates")
}

#[adjudicate(name = "solo")]
fn only_one() -> Result<Verdict<Patch>, String> {
    Ok(Verdict::new(
        Patch("only"),
        "GPT-5.3 Codex",
        vec![CandidateScore::new("GPT-5.3 Codex", 0.7)],
    ))
}

#[adjudicate]
fn both_failed() -> Result<Verdict<Patch>, String> {
    Err("neither candidate builds".into())
}

/// A hand-written adjudication, for the edge cases `Verdict` cannot express.
struct Raw {
    candidates: Vec<CandidateScore>,
    selected: &'static str,
}

impl Adjudication for Raw {
    fn candidates(&self) -> Vec<CandidateScore> {
        self.candidates.clone()
    }
    fn selected(&self) -> &str {
        self.selected
    }
}

#[adjudicate]
fn raw(candidates: Vec<CandidateScore>, selected: &'static str) -> Raw {
    Raw {
        candidates,
        selected,
    }
}

fn event_attrs(span: &CapturedSpan) -> Vec<BTreeMap<String, String>> {
    span.events
        .iter()
        .map(|event| {
            assert_eq!(event.name, "gen_ai.evaluation.result");
            event
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_winner_scores_margin_and_evaluation_events_are_recorded() {
    let capture = Capture::new();
    let verdict = capture.run(|| choose(0.82, 0.91));
    assert_eq!(verdict.into_winner(), Patch("claude patch"));

    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(span.status, Status::Ok);
    let get = |key: &str| {
        span.attr(key)
            .unwrap_or_else(|| panic!("no {key}: {span:#?}"))
    };
    assert_eq!(get("adjudication.name"), "choose");
    assert_eq!(get("adjudication.candidates"), "2");
    assert_eq!(get("adjudication.codex_score"), "0.82");
    assert_eq!(get("adjudication.claude_score"), "0.91");
    assert_eq!(get("adjudication.codex_tests_passed"), "41");
    assert_eq!(get("adjudication.claude_tests_passed"), "43");
    assert_eq!(get("adjudication.claude_tests_total"), "45");
    assert_eq!(get("adjudication.selected"), "claude");
    let margin: f64 = get("adjudication.margin").parse().unwrap();
    assert!((margin - 0.09).abs() < 1e-9, "{margin}");
    assert_eq!(get("adjudication.tie"), "false");
    assert_eq!(
        event_attrs(span),
        [
            labels(&[
                ("adjudication.candidate", "codex"),
                ("gen_ai.evaluation.name", "choose"),
                ("gen_ai.evaluation.score.label", "rejected"),
                ("gen_ai.evaluation.score.value", "0.82"),
            ]),
            labels(&[
                ("adjudication.candidate", "claude"),
                ("gen_ai.evaluation.name", "choose"),
                ("gen_ai.evaluation.score.label", "selected"),
                ("gen_ai.evaluation.score.value", "0.91"),
            ]),
        ]
    );
}

#[test]
fn wins_scores_and_margins_feed_the_metrics() {
    let capture = Capture::new();
    capture.run(|| {
        choose(0.82, 0.91);
        choose(0.95, 0.5);
        choose(0.6, 0.7);
    });
    let wins: Vec<(String, PointValue)> = capture
        .metric("adjudication.selected.total")
        .into_iter()
        .map(|p| (p.attributes["candidate"].clone(), p.value))
        .collect();
    assert_eq!(
        wins,
        [
            ("claude".to_string(), PointValue::Sum(2.0)),
            ("codex".to_string(), PointValue::Sum(1.0))
        ]
    );
    let scores = capture.metric("adjudication.score");
    assert_eq!(scores.len(), 2);
    for point in &scores {
        match &point.value {
            PointValue::Histogram { count, .. } => assert_eq!(*count, 3),
            other => panic!("{other:?}"),
        }
    }
    match &capture.metric("adjudication.margin")[0].value {
        PointValue::Histogram { count, sum, .. } => {
            assert_eq!(*count, 3);
            assert!((sum - (0.09 + 0.45 + 0.1)).abs() < 1e-9, "{sum}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tie_selects_the_first_candidate_with_zero_margin() {
    let capture = Capture::new();
    let verdict = capture.run(|| choose(0.8, 0.8));
    assert_eq!(verdict.selected_name(), "codex");
    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(span.attr("adjudication.margin").as_deref(), Some("0"));
    assert_eq!(span.attr("adjudication.tie").as_deref(), Some("true"));
}

#[test]
fn a_single_candidate_has_no_margin_and_names_are_sanitised() {
    let capture = Capture::new();
    capture.run(only_one).unwrap();
    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(span.attr("adjudication.name").as_deref(), Some("solo"));
    assert_eq!(span.attr("adjudication.candidates").as_deref(), Some("1"));
    assert_eq!(
        span.attr("adjudication.gpt_5_3_codex_score").as_deref(),
        Some("0.7")
    );
    assert_eq!(
        span.attr("adjudication.selected").as_deref(),
        Some("GPT-5.3 Codex")
    );
    assert_eq!(span.attr("adjudication.margin"), None);
    assert_eq!(
        capture.metric("adjudication.selected.total")[0].attributes["candidate"],
        "GPT-5.3 Codex"
    );
}

#[test]
fn zero_candidates_record_a_count_of_zero_and_no_winner() {
    let capture = Capture::new();
    capture.run(|| raw(Vec::new(), ""));
    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(span.status, Status::Ok);
    assert_eq!(span.attr("adjudication.candidates").as_deref(), Some("0"));
    assert_eq!(span.attr("adjudication.selected"), None);
    assert!(capture.metric("adjudication.selected.total").is_empty());
}

#[test]
fn a_selection_outside_the_candidates_is_an_error_not_a_panic() {
    let capture = Capture::new();
    capture.run(|| raw(vec![CandidateScore::new("codex", 0.4)], "gemini"));
    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(
        span.status,
        Status::error(
            "selected candidate `gemini` is not among the candidates: the candidates are `codex`"
        )
    );
    assert_eq!(
        span.attr("error.type").as_deref(),
        Some("adjudication.unknown_selection")
    );
    assert_eq!(
        span.attr("adjudication.selected").as_deref(),
        Some("gemini")
    );
    assert!(span.events.iter().any(|e| e.name == "exception"));
    assert!(capture.metric("adjudication.selected.total").is_empty());
}

#[test]
fn an_err_is_a_failed_adjudication_without_scores() {
    let capture = Capture::new();
    assert!(capture.run(both_failed).is_err());
    let span = &capture.spans_named("pipeline.adjudicate")[0];
    assert_eq!(span.status, Status::error("neither candidate builds"));
    assert_eq!(span.attr("adjudication.candidates"), None);
    assert!(capture.metric("adjudication.score").is_empty());
}
