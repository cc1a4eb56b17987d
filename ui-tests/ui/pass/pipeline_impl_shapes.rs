//! `#[pipeline]` compiles on inherent and trait impls, generic ones, and with `#[async_trait]`
//! in both orders; `#[skip_stage]` (which needs no import) and a method's own
//! `#[pipeline_stage(...)]` are honoured.
use async_trait::async_trait;
use factory_observability::{pipeline, pipeline_stage};

struct Factory {
    model: String,
}

#[pipeline]
impl Factory {
    #[skip_stage]
    fn new() -> Self {
        Factory {
            model: "gpt-5.3-codex".to_owned(),
        }
    }

    #[skip_stage]
    const fn retries() -> u32 {
        3
    }

    fn plan(&self, spec: &str) -> Result<String, String> {
        Ok(format!("{spec} with {}", self.model))
    }

    #[pipeline_stage(name = "implement", fields(app.model = self.model.as_str()))]
    async fn implement(&mut self, plan: String) -> Result<String, String> {
        Ok(plan)
    }

    fn consume(self) -> String {
        self.model
    }
}

trait Stage {
    fn run(&self) -> u32;
}

#[pipeline]
impl Stage for Factory {
    fn run(&self) -> u32 {
        Self::retries()
    }
}

#[async_trait]
trait Reviewer {
    async fn review(&self, code: &str) -> Result<bool, String>;
}

struct Outer;
struct Inner;

// `#[pipeline]` first: it instruments the `async fn`, then `#[async_trait]` boxes it.
#[pipeline]
#[async_trait]
impl Reviewer for Outer {
    async fn review(&self, code: &str) -> Result<bool, String> {
        Ok(!code.is_empty())
    }
}

// `#[async_trait]` first: `#[pipeline]` instruments the boxed future it returns.
#[async_trait]
#[pipeline]
impl Reviewer for Inner {
    async fn review(&self, code: &str) -> Result<bool, String> {
        Ok(code.contains("fn"))
    }
}

struct Generic<T>(T);

#[pipeline]
impl<T: Clone + Send + Sync + 'static> Generic<T>
where
    T: std::fmt::Debug,
{
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    let mut factory = Factory::new();
    let plan = factory.plan("parser").unwrap_or_default();
    drop(factory.implement(plan));
    let _ = factory.run();
    let _ = (Outer.review("fn main() {}"), Inner.review(""));
    let _ = Generic(1u8).get();
    let _ = factory.consume();
}
