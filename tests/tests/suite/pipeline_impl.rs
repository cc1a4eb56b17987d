//! `#[pipeline]` on an impl block: every method a stage, `#[skip_stage]` opts out, and a method's
//! own `#[pipeline_stage(...)]` wins.

use factory_observability::testing::Capture;
use factory_observability::{pipeline, pipeline_run, pipeline_stage};

struct Factory {
    log: Vec<&'static str>,
}

#[pipeline]
impl Factory {
    #[skip_stage]
    fn new() -> Self {
        Factory { log: Vec::new() }
    }

    fn plan(&mut self) -> Result<(), String> {
        self.log.push("plan");
        Ok(())
    }

    #[pipeline_stage(name = "code", fields(stage.model = "codex"))]
    fn implement(&mut self) -> Result<(), String> {
        self.log.push("implement");
        Err("does not compile".into())
    }

    async fn review(&self) -> usize {
        self.log.len()
    }

    #[skip_stage]
    fn helper(&self) -> usize {
        self.log.len()
    }

    const LIMIT: usize = 3;
}

#[pipeline_run]
fn build() -> usize {
    let mut factory = Factory::new();
    factory.plan().unwrap();
    let _ = factory.implement();
    assert!(factory.helper() <= Factory::LIMIT);
    futures_lite_block_on(factory.review())
}

/// Polls a future that never waits to completion, without pulling in an executor.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

#[test]
fn every_method_is_a_stage_except_skipped_ones() {
    let capture = Capture::new();
    assert_eq!(capture.run(build), 2);
    assert_eq!(
        capture.tree(&["stage.name", "stage.outcome", "stage.model"]),
        "pipeline.run OK\n\
         \x20 pipeline.stage OK stage.name=plan stage.outcome=success\n\
         \x20 pipeline.stage ERROR stage.name=code stage.outcome=failure stage.model=codex\n\
         \x20 pipeline.stage OK stage.name=review stage.outcome=success\n"
    );
    let plan = &capture.spans_named("pipeline.stage")[0];
    assert_eq!(
        plan.attr("code.function.name").as_deref(),
        Some(concat!(module_path!(), "::Factory::plan"))
    );
    // A method's own `#[pipeline_stage(...)]` keeps the type in its function name.
    let code = &capture.spans_named("pipeline.stage")[1];
    assert_eq!(
        code.attr("code.function.name").as_deref(),
        Some(concat!(module_path!(), "::Factory::implement"))
    );
}
