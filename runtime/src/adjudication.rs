//! Tournament adjudication: which candidate won, by how much, and with what test results.

/// One candidate's result in an adjudication.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateScore {
    /// The candidate's name (`codex`, `claude`, ...), as returned by [`Adjudication::selected`].
    pub name: String,
    /// Its score; higher is better.
    pub score: f64,
    /// Tests its implementation passed.
    pub tests_passed: Option<u64>,
    /// Tests its implementation ran.
    pub tests_total: Option<u64>,
}

impl CandidateScore {
    /// A candidate and its score.
    pub fn new(name: impl Into<String>, score: f64) -> Self {
        CandidateScore {
            name: name.into(),
            score,
            tests_passed: None,
            tests_total: None,
        }
    }

    /// The number of tests the candidate passed.
    pub fn tests_passed(mut self, passed: u64) -> Self {
        self.tests_passed = Some(passed);
        self
    }

    /// The number of tests the candidate ran.
    pub fn tests_total(mut self, total: u64) -> Self {
        self.tests_total = Some(total);
        self
    }
}

/// What `#[adjudicate]` reads from the value an adjudicating function returns.
///
/// Implemented by [`Verdict`], and by `Result<T, E>` and `&T` of a `T: Adjudication` (an `Err` is
/// a failed adjudication with no candidates).
#[diagnostic::on_unimplemented(
    message = "`#[adjudicate]` cannot read a verdict from `{Self}`",
    label = "`{Self}` does not implement `factory_observability::Adjudication`",
    note = "return a `factory_observability::Verdict<T>` (the winner with every candidate's score), or implement `Adjudication` for `{Self}`"
)]
pub trait Adjudication {
    /// Every candidate with its score.
    fn candidates(&self) -> Vec<CandidateScore>;

    /// The name of the selected candidate.
    fn selected(&self) -> &str;

    /// Whether there is a verdict at all; false for an `Err`.
    fn is_decided(&self) -> bool {
        true
    }
}

impl<T: Adjudication, E> Adjudication for Result<T, E> {
    fn candidates(&self) -> Vec<CandidateScore> {
        self.as_ref().map(T::candidates).unwrap_or_default()
    }
    fn selected(&self) -> &str {
        self.as_ref().map_or("", T::selected)
    }
    fn is_decided(&self) -> bool {
        self.as_ref().is_ok_and(T::is_decided)
    }
}

impl<T: Adjudication + ?Sized> Adjudication for &T {
    fn candidates(&self) -> Vec<CandidateScore> {
        (**self).candidates()
    }
    fn selected(&self) -> &str {
        (**self).selected()
    }
    fn is_decided(&self) -> bool {
        (**self).is_decided()
    }
}

/// The winner of an adjudication together with every candidate's score.
///
/// ```
/// use factory_observability::{CandidateScore, Verdict};
///
/// let verdict = Verdict::highest(vec![
///     (CandidateScore::new("codex", 0.82).tests_passed(41), "codex's patch"),
///     (CandidateScore::new("claude", 0.91).tests_passed(43), "claude's patch"),
/// ])
/// .expect("two candidates");
/// assert_eq!(verdict.selected_name(), "claude");
/// assert_eq!(verdict.into_winner(), "claude's patch");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict<T> {
    winner: T,
    selected: String,
    candidates: Vec<CandidateScore>,
}

impl<T> Verdict<T> {
    /// A verdict whose `winner` is the candidate named `selected`.
    pub fn new(winner: T, selected: impl Into<String>, candidates: Vec<CandidateScore>) -> Self {
        Verdict {
            winner,
            selected: selected.into(),
            candidates,
        }
    }

    /// Selects the candidate with the highest score; on a tie, the first of them (the seed's
    /// `codexScore >= claudeScore` rule). `None` when there are no candidates.
    pub fn highest(candidates: Vec<(CandidateScore, T)>) -> Option<Self> {
        let mut best: Option<usize> = None;
        for (index, (score, _)) in candidates.iter().enumerate() {
            if best.is_none_or(|b| score.score > candidates[b].0.score) {
                best = Some(index);
            }
        }
        let best = best?;
        let mut scores = Vec::with_capacity(candidates.len());
        let mut winner = None;
        for (index, (score, artifact)) in candidates.into_iter().enumerate() {
            if index == best {
                winner = Some((score.name.clone(), artifact));
            }
            scores.push(score);
        }
        let (selected, winner) = winner?;
        Some(Verdict::new(winner, selected, scores))
    }

    /// The winning artifact.
    pub fn winner(&self) -> &T {
        &self.winner
    }

    /// The winning artifact, by value.
    pub fn into_winner(self) -> T {
        self.winner
    }

    /// The selected candidate's name.
    pub fn selected_name(&self) -> &str {
        &self.selected
    }

    /// Every candidate's score.
    pub fn scores(&self) -> &[CandidateScore] {
        &self.candidates
    }
}

impl<T> Adjudication for Verdict<T> {
    fn candidates(&self) -> Vec<CandidateScore> {
        self.candidates.clone()
    }
    fn selected(&self) -> &str {
        &self.selected
    }
}

/// What the macro read from a verdict.
#[doc(hidden)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub decided: bool,
    pub candidates: Vec<CandidateScore>,
    pub selected: String,
}

impl Decision {
    /// Reads an `Adjudication` value.
    pub fn of<T: Adjudication + ?Sized>(value: &T) -> Self {
        Decision {
            decided: value.is_decided(),
            candidates: value.candidates(),
            selected: value.selected().to_owned(),
        }
    }
}

/// `name` as the middle of an attribute key: lowercase ASCII letters, digits and `_`.
pub(crate) fn attribute_key_part(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_matches('_').to_owned();
    if key.is_empty() {
        "candidate".to_owned()
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_names_become_attribute_keys() {
        assert_eq!(attribute_key_part("codex"), "codex");
        assert_eq!(attribute_key_part("GPT-5.3 Codex"), "gpt_5_3_codex");
        assert_eq!(attribute_key_part("  claude/opus!! "), "claude_opus");
        assert_eq!(attribute_key_part("✨"), "candidate");
    }

    #[test]
    fn highest_prefers_the_first_on_a_tie_and_needs_a_candidate() {
        let verdict = Verdict::highest(vec![
            (CandidateScore::new("codex", 0.5), 1),
            (CandidateScore::new("claude", 0.5), 2),
        ])
        .unwrap();
        assert_eq!(verdict.selected_name(), "codex");
        assert_eq!(*verdict.winner(), 1);
        assert_eq!(verdict.scores().len(), 2);
        assert!(Verdict::<u8>::highest(Vec::new()).is_none());
    }

    #[test]
    fn an_err_is_undecided() {
        let err: Result<Verdict<u8>, String> = Err("both failed to build".into());
        assert!(!err.is_decided());
        assert!(err.candidates().is_empty());
        assert_eq!(err.selected(), "");
    }
}
