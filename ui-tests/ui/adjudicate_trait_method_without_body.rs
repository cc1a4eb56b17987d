use factory_observability::{adjudicate, Verdict};

trait Judge {
    #[adjudicate]
    fn pick(&self, patches: Vec<String>) -> Verdict<String>;
}

fn main() {}
