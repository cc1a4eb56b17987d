use factory_observability::adjudicate;

struct Winner {
    name: String,
}

#[adjudicate]
fn choose(a: f64, b: f64) -> Winner {
    Winner { name: if a >= b { "codex".into() } else { "claude".into() } }
}

fn main() {
    let _ = choose(0.1, 0.2).name;
}
