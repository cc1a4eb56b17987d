//! Work that runs elsewhere and keeps its parent: the current OpenTelemetry [`Context`] carried
//! to a spawned task, a thread or a rayon job.
//!
//! The context lives in the thread or task that runs the code. Work polled inside the caller's
//! own task (`futures::join_all`, `join!`, `select!`, `FuturesUnordered`) sees it; work that runs
//! on another task or thread does not, and the calls it makes start traces of their own (a
//! `#[tool]` doing so warns once). What to write:
//!
//! | how the work runs | what to write |
//! |---|---|
//! | `futures::join_all`, `join!`, `select!` in the caller's task | nothing |
//! | `tokio::spawn` | [`spawn`]`(tool(..))` (feature `tokio`), or `tokio::spawn(tool(..).in_current_trace())` |
//! | `tokio::task::JoinSet` | `set.spawn(tool(..).in_current_trace())` |
//! | `std::thread::spawn`, `std::thread::scope` | `s.spawn(in_current_trace(\|\| tool(..)))` |
//! | rayon | `rayon::join(in_current_trace(\|\| a()), in_current_trace(\|\| b()))`, `par_iter().map(in_current_trace_fn(\|x\| tool(x)))` |
//!
//! Each helper takes the context where it is called (the agent's), not where the work runs.
//!
//! ```
//! use factory_observability::task::{in_current_trace, FutureExt as _};
//!
//! # async fn read_file(path: &str) -> usize { path.len() }
//! # async fn agent() {
//! // A future keeps the context it was given, wherever it is polled.
//! let read = read_file("src/lib.rs").in_current_trace();
//! # let _ = read.await;
//! // A closure runs in the context of the place it was made.
//! let sizes: Vec<usize> = std::thread::scope(|s| {
//!     let a = s.spawn(in_current_trace(|| "a.rs".len()));
//!     let b = s.spawn(in_current_trace(|| "bb.rs".len()));
//!     vec![a.join().unwrap(), b.join().unwrap()]
//! });
//! # let _ = sizes;
//! # }
//! ```

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::Context;
use std::future::Future;

/// Carries the current context into a future, for whoever polls it.
pub trait FutureExt: Future + Sized {
    /// This future, polled in the context current where `in_current_trace` is called: what it
    /// starts are children of the caller's span, on any task or thread.
    fn in_current_trace(self) -> WithContext<Self> {
        self.with_context(Context::current())
    }
}

impl<F: Future> FutureExt for F {}

/// `tokio::spawn` of `future` in the current context: the task's calls are children of the
/// caller's span.
#[cfg(feature = "tokio")]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_trace())
}

/// `tokio::task::spawn_blocking` of `work` in the current context.
#[cfg(feature = "tokio")]
pub fn spawn_blocking<R, W>(work: W) -> tokio::task::JoinHandle<R>
where
    W: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(in_current_trace(work))
}

/// `work`, run in the context current where `in_current_trace` is called: for a thread
/// (`std::thread::spawn`, `std::thread::scope`) or `rayon::join`.
pub fn in_current_trace<R>(work: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let cx = Context::current();
    move || {
        let _guard = cx.attach();
        work()
    }
}

/// `work`, run for each item in the context current where `in_current_trace_fn` is called: for
/// `par_iter().map(...)` and other calls that take an `Fn` shared between threads.
pub fn in_current_trace_fn<T, R>(work: impl Fn(T) -> R) -> impl Fn(T) -> R {
    let cx = Context::current();
    move |item| {
        let _guard = cx.clone().attach();
        work(item)
    }
}
