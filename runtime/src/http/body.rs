//! The response body of a served request: the request's call ends when the body ends, so that
//! `http.server.request.duration` covers the whole response, not only its head.

use crate::call::Call;
use crate::outcome::{OutcomeKind, Report};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// A response body that ends its request's span and duration when its last frame is read,
    /// or when it is dropped (a client that went away).
    pub struct ObservedBody<B> {
        #[pin]
        body: B,
        call: Call,
    }
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(body: B, call: Call) -> ObservedBody<B> {
        ObservedBody { body, call }
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let polled = this.body.as_mut().poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => Some(OutcomeKind::Success),
            Poll::Ready(Some(Err(_))) => Some(OutcomeKind::Error),
            // The last frame: hyper may not poll again once the body says it has ended.
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => Some(OutcomeKind::Success),
            _ => None,
        };
        if let Some(outcome) = ended {
            if this.call.is_recording() {
                this.call.take().finish(Report::of(outcome).into());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
