//! The span export thread: the macros' span records become `SpanData` here, off the callers'
//! threads, and go on to the SDK's batch processor.
//!
//! Callers put records into a bounded channel and never wait: a full channel drops the record
//! (counted as submitted, never delivered). The thread sleeps until a caller has sent
//! [`WAKE_EVERY`] records, a flush or shutdown asks for it, or [`IDLE_WAKE`] passes, so that a
//! call does not pay for waking it (a system call) each time.

use crate::call::span::SpanRecord;
use crate::export::counting::Delivery;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{BatchSpanProcessor, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::cell::Cell;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// A calling thread wakes the export thread once per this many records it sent.
const WAKE_EVERY: u32 = 64;
/// The export thread's longest sleep when no caller wakes it.
const IDLE_WAKE: Duration = Duration::from_millis(50);

/// The callers' end of the channel.
#[derive(Debug)]
pub(crate) struct RecordQueue {
    sender: SyncSender<SpanRecord>,
    worker: Thread,
    delivery: Arc<Delivery>,
}

impl RecordQueue {
    /// Hands `record` to the export thread, or drops it if the queue is full.
    pub fn submit(&self, record: SpanRecord) {
        thread_local! {
            static SENT: Cell<u32> = const { Cell::new(0) };
        }
        self.delivery.submitted(1);
        // A full queue or a shut-down pipeline loses the record; the report counts it.
        let _ = self.sender.try_send(record);
        let wake = SENT.with(|sent| {
            let count = sent.get().wrapping_add(1);
            sent.set(count);
            count % WAKE_EVERY == 0
        });
        if wake {
            self.worker.unpark();
        }
    }
}

enum Control {
    /// Convert everything queued so far, then answer.
    Flush(mpsc::SyncSender<()>),
    /// Convert everything queued so far, answer and stop.
    Shutdown(mpsc::SyncSender<()>),
}

/// The trace pipeline's span processor. SDK spans (`tracing` spans, through
/// tracing-opentelemetry) are counted and batched at once; the macros' records arrive through
/// the [`RecordQueue`] and are batched by the export thread.
#[derive(Debug)]
pub(crate) struct SpanExport {
    batch: Arc<BatchSpanProcessor>,
    delivery: Arc<Delivery>,
    control: Mutex<Sender<Control>>,
    worker: Thread,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// Starts the export thread in front of `batch`; returns the processor to install and the queue
/// for the callers. `capacity` bounds the queue (the batch processor's queue size).
pub(crate) fn start(
    batch: BatchSpanProcessor,
    delivery: Arc<Delivery>,
    capacity: usize,
    scope: InstrumentationScope,
) -> std::io::Result<(SpanExport, Arc<RecordQueue>)> {
    let batch = Arc::new(batch);
    let (sender, records) = mpsc::sync_channel(capacity);
    let (control, requests) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("factory-obs-spans".into())
        .spawn({
            let batch = Arc::clone(&batch);
            move || convert(records, requests, &batch, &scope)
        })?;
    let worker = handle.thread().clone();
    let queue = Arc::new(RecordQueue {
        sender,
        worker: worker.clone(),
        delivery: Arc::clone(&delivery),
    });
    let export = SpanExport {
        batch,
        delivery,
        control: Mutex::new(control),
        worker,
        handle: Mutex::new(Some(handle)),
    };
    Ok((export, queue))
}

fn convert(
    records: Receiver<SpanRecord>,
    requests: Receiver<Control>,
    batch: &BatchSpanProcessor,
    scope: &InstrumentationScope,
) {
    let drain = || {
        while let Ok(record) = records.try_recv() {
            batch.on_end(record.into_span_data(scope));
        }
    };
    loop {
        std::thread::park_timeout(IDLE_WAKE);
        drain();
        loop {
            match requests.try_recv() {
                // Drained again: records sent before the request may have arrived since.
                Ok(Control::Flush(done)) => {
                    drain();
                    let _ = done.send(());
                }
                Ok(Control::Shutdown(done)) => {
                    drain();
                    let _ = done.send(());
                    return;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
}

impl SpanExport {
    /// Asks the export thread for `request` and waits at most `timeout` for its answer.
    fn ask(&self, request: fn(SyncSender<()>) -> Control, timeout: Duration) -> OTelSdkResult {
        let (done, answer) = mpsc::sync_channel(1);
        let sent = self
            .control
            .lock()
            .map_err(|_| OTelSdkError::InternalFailure("span export control poisoned".into()))?
            .send(request(done));
        if sent.is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.worker.unpark();
        answer
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

impl SpanProcessor for SpanExport {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.delivery.submitted(1);
        }
        self.batch.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Control::Flush, Duration::from_secs(5))?;
        self.batch.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        self.ask(Control::Shutdown, timeout)?;
        if let Ok(mut handle) = self.handle.lock() {
            if let Some(handle) = handle.take() {
                let _ = handle.join();
            }
        }
        self.batch
            .shutdown_with_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// The exporter was given the resource before the batch processor was built: the batch
    /// processor is shared with the export thread, so it cannot be reached mutably here.
    fn set_resource(&mut self, _resource: &Resource) {}
}
