//! Every function shape the macros accept compiles, with `?`, early return and generics.
#![deny(unused_braces)]
use factory_observability::{pipeline, pipeline_run, pipeline_stage, Outcome, OutcomeKind};

#[pipeline_stage]
fn unit() {}

#[pipeline_stage(name = "renamed", fields(count = items.len(), stage.flag = true))]
fn with_fields(items: &[u8]) -> usize {
    items.len()
}

#[pipeline_stage]
fn question_mark(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.parse()?;
    if value == 0 {
        return Ok(1);
    }
    Ok(value)
}

#[pipeline_stage]
async fn async_question_mark(text: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let value: u32 = text.parse()?;
    Ok(value)
}

#[pipeline_stage]
fn generic<T: Clone + std::fmt::Debug, const N: usize>(items: [T; N]) -> Vec<T> {
    items.to_vec()
}

#[pipeline_stage]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[pipeline_stage]
fn lifetimes<'a>(a: &'a str, _b: &str) -> &'a str {
    a
}

#[pipeline_stage]
fn mutable_argument(mut count: u32) -> u32 {
    count += 1;
    count
}

#[pipeline_stage]
fn pattern_argument((a, b): (u32, u32)) -> u32 {
    a + b
}

#[pipeline_stage]
#[allow(clippy::unused_unit)]
unsafe fn unsafe_fn(pointer: *const u32) -> u32 {
    unsafe { *pointer }
}

#[pipeline_stage]
fn returns_future() -> impl std::future::Future<Output = u32> {
    async move { 3 }
}

enum Decision {
    Go,
}

impl Outcome for Decision {
    fn outcome(&self) -> OutcomeKind {
        OutcomeKind::Success
    }
}

#[pipeline_run(name = "shapes", run_id = "fixed-id")]
fn custom_outcome() -> Decision {
    Decision::Go
}

struct Worker {
    done: u32,
}

impl Worker {
    #[pipeline_stage]
    fn by_ref(&self) -> u32 {
        self.done
    }

    #[pipeline_stage]
    fn by_mut(&mut self) {
        self.done += 1;
    }

    #[pipeline_stage]
    fn by_value(self) -> u32 {
        self.done
    }

    #[pipeline_stage]
    async fn async_by_ref(&self) -> u32 {
        self.done
    }

    #[pipeline_stage]
    fn associated() -> Self {
        Worker { done: 0 }
    }
}

trait Stage {
    #[pipeline_stage]
    fn default_method(&self) -> u32 {
        1
    }

    async fn native_async(&self) -> u32;
}

impl Stage for Worker {
    #[pipeline_stage]
    async fn native_async(&self) -> u32 {
        self.done
    }
}

#[async_trait::async_trait]
trait Boxed {
    async fn boxed(&self) -> Result<u32, String>;
}

#[async_trait::async_trait]
impl Boxed for Worker {
    #[pipeline_stage(fields(done = self.done))]
    async fn boxed(&self) -> Result<u32, String> {
        Ok(self.done)
    }
}

struct Generic<T>(T);

#[pipeline]
impl<T: Clone + Send + Sync> Generic<T> {
    fn get(&self) -> T {
        self.0.clone()
    }

    async fn get_async(&self) -> T {
        self.0.clone()
    }

    #[factory_observability::skip_stage]
    const fn inner(&self) -> &T {
        &self.0
    }
}

fn main() {
    let _ = (
        unit(),
        with_fields(&[1]),
        question_mark("1"),
        generic([1, 2]),
    );
    let _ = (
        returns_impl_trait(2),
        lifetimes("a", "b"),
        mutable_argument(1),
        pattern_argument((1, 2)),
    );
    let _ = (
        unsafe { unsafe_fn(&1) },
        returns_future(),
        custom_outcome(),
        async_question_mark("1"),
    );
    let mut worker = Worker::associated();
    worker.by_mut();
    let _ = (
        worker.by_ref(),
        worker.async_by_ref(),
        worker.default_method(),
        worker.native_async(),
    );
    drop(worker.boxed());
    let _ = worker.by_value();
    let generic = Generic(1u8);
    let _ = (generic.get(), generic.get_async(), generic.inner());
}

/// Single-expression bodies must not draw `unused_braces` (denied at the top of this file).
#[pipeline_stage]
async fn single_expression(x: u64) -> u64 {
    x + 1
}

#[pipeline_stage]
fn single_expression_sync(x: u64) -> u64 {
    x + 1
}

#[allow(dead_code)]
fn use_single_expressions() {
    let _ = (single_expression(1), single_expression_sync(1));
}

#[factory_observability::pipeline_stage]
pub async fn single_method_call(x: u64) -> u64 {
    x.wrapping_add(1)
}

#[factory_observability::pipeline_stage]
pub fn single_method_call_sync(x: u64) -> u64 {
    x.wrapping_add(1)
}

#[factory_observability::pipeline_stage]
pub fn single_if_else(x: u64) -> Result<u64, String> {
    if x % 7 == 3 { Err(x.to_string()) } else { Ok(x.wrapping_mul(3)) }
}
