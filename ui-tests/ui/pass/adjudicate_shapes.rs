//! Every shape `#[adjudicate]` accepts compiles: a `Verdict`, a `Result<Verdict, E>`, a
//! hand-written `Adjudication`, async methods, names and fields.
use factory_observability::{adjudicate, Adjudication, CandidateScore, Verdict};

#[adjudicate]
fn highest(codex: f64, claude: f64) -> Verdict<&'static str> {
    Verdict::new(
        if codex >= claude {
            "codex patch"
        } else {
            "claude patch"
        },
        if codex >= claude { "codex" } else { "claude" },
        vec![
            CandidateScore::new("codex", codex),
            CandidateScore::new("claude", claude),
        ],
    )
}

#[adjudicate(name = "pick_patch", fields(app.candidates = patches.len()))]
fn fallible(patches: Vec<(String, f64)>) -> Result<Verdict<String>, String> {
    let candidates = patches
        .into_iter()
        .map(|(name, score)| {
            (
                CandidateScore::new(name.clone(), score)
                    .tests_passed(3)
                    .tests_total(4),
                name,
            )
        })
        .collect();
    Verdict::highest(candidates).ok_or_else(|| "no candidates".to_owned())
}

struct Raw {
    scores: Vec<CandidateScore>,
}

impl Adjudication for Raw {
    fn candidates(&self) -> Vec<CandidateScore> {
        self.scores.clone()
    }

    fn selected(&self) -> &str {
        self.scores.first().map_or("", |score| score.name.as_str())
    }
}

struct Judge;

impl Judge {
    #[adjudicate]
    async fn judge(&self, scores: Vec<CandidateScore>) -> Raw {
        Raw { scores }
    }
}

fn main() {
    let _ = highest(0.9, 0.4).into_winner();
    let _ = fallible(vec![("codex".into(), 0.5)]);
    drop(Judge.judge(vec![CandidateScore::new("codex", 0.5)]));
}
