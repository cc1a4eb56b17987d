//! What the HTTP server tests share: their way into the test's `Capture` (axum runs each
//! connection on a task of its own, which would not see the test's context), and waiting for the
//! spans a server ends after its client has read the response.

use factory_observability::testing::{Capture, CapturedSpan};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;
use opentelemetry::Context;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

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

/// Waits (at most 10 s) until `count` spans of `kind` ended: a server span ends when its
/// response body has been written, which may be just after the client read it.
pub(crate) async fn ended(capture: &Capture, kind: SpanKind, count: usize) -> Vec<CapturedSpan> {
    for _ in 0..1000 {
        let spans: Vec<CapturedSpan> = capture
            .spans()
            .into_iter()
            .filter(|span| span.kind == kind)
            .collect();
        if spans.len() >= count {
            assert_eq!(spans.len(), count, "more {kind:?} spans than requests");
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} {kind:?} spans did not end: {:?}", capture.spans());
}
