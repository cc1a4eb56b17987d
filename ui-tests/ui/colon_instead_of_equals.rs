use factory_observability::{adjudicate, CandidateScore, Verdict};

#[adjudicate(name: "pick_patch")]
fn pick(codex: f64) -> Verdict<&'static str> {
    Verdict::new("patch", "codex", vec![CandidateScore::new("codex", codex)])
}

fn main() {}
