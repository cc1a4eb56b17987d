use factory_observability::{adjudicate, CandidateScore, Verdict};

#[adjudicate(fields(adjudication.candidates = 1))]
fn pick(codex: f64) -> Verdict<&'static str> {
    Verdict::new("patch", "codex", vec![CandidateScore::new("codex", codex)])
}

fn main() {}
