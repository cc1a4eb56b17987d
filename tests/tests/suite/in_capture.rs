//! The HTTP server tests' way into the test's `Capture`: axum runs each connection on a task of
//! its own, which would not see the test's context.

use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use std::task::{Context as TaskContext, Poll};

/// Runs every request of a server in `cx`: the test's `Capture`.
#[derive(Clone)]
pub(crate) struct InCapture<S> {
    pub(crate) inner: S,
    pub(crate) cx: Context,
}

impl<S, R> tower::Service<R> for InCapture<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = opentelemetry::context::WithContext<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let _cx = self.cx.clone().attach();
        self.inner.call(request).with_context(self.cx.clone())
    }
}
