//! `fields(...)` keys in every accepted spelling, values naming arguments bound by patterns,
//! constants and expressions, and more function shapes: `extern "C"` fns with a body,
//! `self: Box<Self>`, `impl Trait` arguments, `async unsafe fn`, where clauses.
use factory_observability::{pipeline_run, pipeline_stage};

const LIMIT: u32 = 3;

#[pipeline_stage(fields(
    count = count,
    stage.files = files.len(),
    "app.quoted_key" = true,
    r#type = "raw identifier key",
    app.v2.retries = LIMIT,
    a1.b2 = 1.5,
))]
fn keys(count: u32, files: &[String]) -> u32 {
    count + u32::try_from(files.len()).unwrap_or(u32::MAX)
}

struct Point {
    x: i64,
    y: i64,
}

#[pipeline_stage(fields(x = x, second = second, first = first))]
fn patterns(Point { x, y }: Point, (first, second): (u8, u8)) -> i64 {
    x + y + i64::from(first) + i64::from(second)
}

#[pipeline_stage]
extern "C" fn callback(value: i32) -> i32 {
    value + 1
}

struct Boxed(u32);

impl Boxed {
    #[pipeline_stage]
    fn boxed_self(self: Box<Self>) -> u32 {
        self.0
    }
}

#[pipeline_stage]
fn impl_argument(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[pipeline_stage]
async unsafe fn async_unsafe(pointer: *const u32) -> u32 {
    unsafe { *pointer }
}

#[pipeline_stage]
fn where_clause<T>(value: T) -> String
where
    T: std::fmt::Display,
{
    value.to_string()
}

#[pipeline_run(name = "more_shapes", run_id = format!("run-{id}"), fields(app.spec = spec))]
fn run(id: u32, spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec".to_owned());
    }
    let _ = keys(id, &[spec.to_owned()]);
    Ok(())
}

fn main() {
    let _ = run(1, "spec");
    let _ = patterns(Point { x: 1, y: 2 }, (3, 4));
    let _ = callback(1);
    let _ = Box::new(Boxed(1)).boxed_self();
    let _ = impl_argument([1, 2]);
    drop(unsafe { async_unsafe(&1) });
    let _ = where_clause(1);
}
