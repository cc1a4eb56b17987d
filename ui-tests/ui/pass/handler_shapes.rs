//! Every shape `#[handler]` takes off HTTP (the axum shapes compile in `tests/http_server.rs`):
//! sync and async, `fields(...)`, `Result`, `impl Trait`, methods, generics, `?`.

use factory_observability::handler;
use std::fmt;

#[derive(Debug)]
struct JobError;

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("job failed")
    }
}

#[handler]
fn health() -> &'static str {
    "ok"
}

#[handler(name = "purge_tasks", fields(job.batch = batch, job.kind = "nightly"))]
fn purge(batch: u32) -> Result<u32, JobError> {
    let half = batch.checked_div(2).ok_or(JobError)?;
    Ok(half)
}

#[handler]
async fn export(rows: Vec<u32>) -> Result<usize, JobError> {
    Ok(rows.len())
}

#[handler]
fn titles(items: &[String]) -> impl Iterator<Item = &String> {
    items.iter()
}

#[handler]
async fn generic<T: fmt::Display + Send>(value: T) -> String {
    value.to_string()
}

struct Worker;

impl Worker {
    #[handler(fields(worker.queue = queue))]
    async fn drain(&self, queue: &str) -> Result<(), JobError> {
        let _ = queue;
        Ok(())
    }
}

fn assert_send<F: std::future::Future + Send>(_: F) {}

fn main() {
    let _ = health();
    let _ = purge(4);
    let _ = titles(&[]).count();
    assert_send(export(vec![1]));
    assert_send(generic(3));
    assert_send(Worker.drain("mail"));
}
