//! The span export thread: the macros' span records become `SpanData` here, off the callers'
//! threads, and are batched and exported with the SDK spans, as the SDK's thread-based batch
//! span processor would (same `OTEL_BSP_*` settings), but in one thread: records do not pass
//! through a second queue and a second thread.
//!
//! Callers never wait. Waking the thread costs the caller a system call and, on a virtual
//! machine, microseconds: the thread wakes itself, as often as the traffic asks (see [`Pace`]),
//! and a caller wakes it only once per quarter of the queue it sent, or when it found the queue
//! full.
//!
//! # What overflow sheds: whole subtrees, at their start
//!
//! A bounded queue that drops the newest span when full loses the spans that end last, and a
//! parent always ends after its children: under a burst the runs were lost and every delivered
//! stage was an orphan (issue 10: 100,000 unpaced stages from 8 threads delivered 3,584 stages
//! and none of the 8 `pipeline.run` spans). So the queue's room is taken when a sampled span
//! *starts*, not when it ends ([`Slots`]): a span that got a slot is always queued when it ends,
//! and a span that finds the queue full at its start is shed (counted as dropped, error type
//! `queue_full`) and its context is marked not sampled, so that its children are not sampled
//! either. A child is only ever sampled under a parent that holds a slot, so every delivered
//! span's ancestors are delivered too. The last eighth of the queue is left to runs, so that a
//! burst of one run's stages does not shed the runs starting beside it. What overflow sheds is
//! the newest work, as whole subtrees, and never a parent of kept spans. The descendants of a
//! shed span are not sampled, so they are neither delivered nor counted: the report counts the
//! shed span itself.
//!
//! Why not "shed leaf spans first": at its end a span does not know whether it has children
//! still to come, and a parent can be dropped only before its children were exported; reserving
//! at the start needs no such knowledge and costs one atomic add at the start of a sampled call
//! and one subtraction per collected batch on the export thread. The price: the queue's bound
//! counts spans still running as well as spans waiting for export, so 10,000 concurrent calls
//! need 10,000 slots (hence the default of 32,768, see [`crate::config::DEFAULT_QUEUE_SIZE`]).
//!
//! `tracing` spans (through tracing-opentelemetry's SDK spans) are only seen when they end; they
//! have a bound of their own and are dropped when it is full, as by the SDK's processor.
//!
//! Neither queue is allocated up front: records wait in an unbounded channel (blocks of 31
//! allocated as it fills, freed as it drains) whose length the slot count bounds, so memory
//! grows with use, up to the bound.
//!
//! # A bound in bytes as well as in spans
//!
//! A span's size is the program's (and, for an HTTP server, its clients') choice: 32,768 spans
//! of a few hundred bytes are a few MiB, of 300 KB each (a hostile `User-Agent`) 10 GB. So the
//! queue also counts the bytes of the records waiting for the export thread, estimated without
//! serialising them ([`SpanRecord::estimated_bytes`]), against
//! `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES` (64 MiB by default):
//!
//! - a sampled span that *starts* while the bytes are at their bound (seven eighths of it for
//!   spans other than runs) is shed with its subtree, exactly as when the slots are all taken,
//!   and counted the same way (dropped, `queue_full`);
//! - a span that *ends* and would take the bytes past their bound (it started while there was
//!   room) is still queued, its parent already counting on it, but without its attributes and
//!   events ([`SpanRecord::trim`]): it keeps its ids, name, times, status and what its kind
//!   derives from its call site, its `dropped_attributes_count` and dropped events count say
//!   what it lost, and the report counts it as trimmed;
//! - an SDK span (a `tracing` span) that would take the bytes past their bound is dropped and
//!   counted, as when its queue is full: it has no children waiting on it here.
//!
//! The bytes held are thus at most the bound plus a trimmed record's fixed size per slot.

use crate::config::{Batching, SpanLimits};
use crate::export::counting::Delivery;
use crate::export::foreign::{ForeignBatch, ForeignBytes, ForeignQueue};
use crate::export::span_record::{self, SpanRecord};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// The export thread's shortest and longest sleeps.
const MIN_SLEEP: Duration = Duration::from_micros(100);
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// How long `force_flush` waits for the export thread.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The span queue's room, taken by a sampled call as it starts and given back by the export
/// thread as it collects the call's record (see the module's documentation); and the bytes its
/// records hold.
#[derive(Debug)]
pub(crate) struct Slots {
    /// What every calling thread writes, on one cache line of its own.
    counts: CacheAligned<Counts>,
    capacity: usize,
    /// `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES`.
    max_bytes: usize,
    delivery: Arc<Delivery>,
    /// The export thread, woken when the queue is found full.
    worker: OnceLock<Thread>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Slots taken: sampled calls running plus records waiting for the export thread.
    taken: AtomicUsize,
    /// Estimated bytes of the records and SDK spans waiting for the export thread.
    bytes: AtomicUsize,
}

/// Keeps counters every calling thread writes off the cache lines of its neighbours.
#[derive(Debug, Default)]
#[repr(align(64))]
struct CacheAligned<T>(T);

impl Slots {
    pub(crate) fn new(capacity: usize, max_bytes: usize, delivery: Arc<Delivery>) -> Slots {
        Slots {
            counts: CacheAligned(Counts::default()),
            capacity,
            max_bytes,
            delivery,
            worker: OnceLock::new(),
        }
    }

    /// Takes a slot for a sampled call that starts; false (the call is shed, and counted as
    /// dropped) when the queue is full, in spans or in bytes. Runs may take the last eighth of
    /// the queue, which other calls leave to them: a burst of stages does not shed the runs that
    /// start after it.
    pub fn take(&self, is_run: bool) -> bool {
        let Counts { taken, bytes } = &self.counts.0;
        let (limit, byte_limit) = if is_run {
            (self.capacity, self.max_bytes)
        } else {
            (
                self.capacity - self.capacity / 8,
                self.max_bytes - self.max_bytes / 8,
            )
        };
        // Read first: a full queue is not written to by every shed call.
        if taken.load(Ordering::Relaxed) < limit && bytes.load(Ordering::Relaxed) < byte_limit {
            if taken.fetch_add(1, Ordering::Relaxed) < limit {
                return true;
            }
            taken.fetch_sub(1, Ordering::Relaxed);
        }
        self.delivery.dropped_queue_full(1);
        self.wake_worker();
        false
    }

    fn wake_worker(&self) {
        if let Some(worker) = self.worker.get() {
            worker.unpark();
        }
    }

    fn give_back(&self, count: usize) {
        if count > 0 {
            self.counts.0.taken.fetch_sub(count, Ordering::Relaxed);
        }
    }

    /// Adds `size` to the bytes held, unless that takes them past the bound (false, nothing
    /// added). A lone item larger than the whole bound is refused too.
    fn hold_bytes(&self, size: usize) -> bool {
        let bytes = &self.counts.0.bytes;
        let before = bytes.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) <= self.max_bytes {
            return true;
        }
        bytes.fetch_sub(size, Ordering::Relaxed);
        false
    }

    /// Adds `size` to the bytes held, past the bound if need be: a trimmed record, whose fixed
    /// size the slot it holds bounds.
    fn hold_bytes_anyway(&self, size: usize) {
        self.counts.0.bytes.fetch_add(size, Ordering::Relaxed);
    }

    fn release_bytes(&self, size: usize) {
        if size > 0 {
            self.counts.0.bytes.fetch_sub(size, Ordering::Relaxed);
        }
    }

    /// Slots taken now: spans running or waiting for export.
    pub fn taken(&self) -> usize {
        self.counts.0.taken.load(Ordering::Relaxed)
    }

    /// Estimated bytes of the spans waiting for the export thread now.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.counts.0.bytes.load(Ordering::Relaxed)
    }

    /// The queue's bound, `OTEL_BSP_MAX_QUEUE_SIZE`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The callers' end of the channel.
#[derive(Debug)]
pub(crate) struct RecordQueue {
    sender: Sender<SpanRecord>,
    worker: Thread,
    delivery: Arc<Delivery>,
    slots: Arc<Slots>,
    /// A calling thread wakes the export thread once per this many records it sent (a quarter
    /// of the queue), in case the thread's pace lags behind a burst.
    wake_every: u32,
    /// Spans from outside the program, in a queue of their own (`export::foreign`).
    foreign: ForeignQueue,
}

impl RecordQueue {
    /// Hands the record of a call that took a slot at its start to the export thread; trimmed
    /// when its bytes would take the queue past its bound (see the module's documentation).
    pub fn submit(&self, mut record: SpanRecord) {
        self.delivery.submitted(1);
        record.queued_bytes = record.estimated_bytes();
        if !self.slots.hold_bytes(record.queued_bytes) {
            record.trim();
            record.queued_bytes = record.estimated_bytes();
            self.slots.hold_bytes_anyway(record.queued_bytes);
            self.delivery.trimmed(1);
            self.slots.wake_worker();
        }
        // The slot taken at the start bounds the channel. Only a shut-down pipeline refuses the
        // record; the report counts it as undelivered.
        let _ = self.sender.send(record);
        if sent_another(self.wake_every) {
            self.worker.unpark();
        }
    }

    /// The queue's room, which sampled calls take as they start.
    pub fn slots(&self) -> &Arc<Slots> {
        &self.slots
    }

    /// The queue of spans from outside the program, exported by the same thread.
    pub fn foreign(&self) -> &ForeignQueue {
        &self.foreign
    }
}

/// Counts a record sent by the calling thread; true once per `every`.
fn sent_another(every: u32) -> bool {
    thread_local! {
        static SENT: Cell<u32> = const { Cell::new(0) };
    }
    // `try_with`: a call ending while the thread's locals are being destroyed wakes nobody
    // rather than panicking.
    SENT.try_with(|sent| {
        let count = sent.get().wrapping_add(1);
        sent.set(count);
        count % every == 0
    })
    .unwrap_or(false)
}

/// How long the export thread sleeps between collections: from the rate it last saw, long
/// enough for the fullest channel to fill to an eighth, between [`MIN_SLEEP`] and [`MAX_SLEEP`];
/// twice as long as before when it found nothing.
struct Pace {
    sleep: Duration,
    capacity: usize,
}

impl Pace {
    fn new(capacity: usize) -> Pace {
        Pace {
            sleep: MAX_SLEEP,
            capacity,
        }
    }

    /// Takes note of a collection that found `most_in_one_channel` spans in one channel,
    /// `elapsed` after the one before.
    fn collected(&mut self, most_in_one_channel: usize, elapsed: Duration) {
        self.sleep = match u32::try_from(most_in_one_channel) {
            Ok(0) => (self.sleep * 2).min(MAX_SLEEP),
            Ok(taken) => {
                let eighth = u32::try_from(self.capacity / 8).unwrap_or(u32::MAX).max(1);
                elapsed
                    .checked_mul(eighth)
                    .map_or(MAX_SLEEP, |time| time / taken)
                    .clamp(MIN_SLEEP, MAX_SLEEP)
            }
            Err(_) => MIN_SLEEP,
        };
    }
}

enum Control {
    /// Export everything queued so far, then answer.
    Flush(SyncSender<()>),
    /// Export everything queued so far, shut the exporter down (within the duration), answer
    /// and stop.
    Shutdown(SyncSender<()>, Duration),
}

/// The trace pipeline's span processor. The macros' records arrive through the [`RecordQueue`],
/// SDK spans (`tracing` spans, through tracing-opentelemetry) through [`SpanProcessor::on_end`];
/// one thread converts, batches and exports both.
#[derive(Debug)]
pub(crate) struct SpanExport {
    spans: Sender<SpanData>,
    /// SDK spans waiting for the export thread, at most the queue size.
    spans_queued: Arc<AtomicUsize>,
    /// The queue's bytes, which SDK spans count in too.
    slots: Arc<Slots>,
    capacity: usize,
    delivery: Arc<Delivery>,
    control: Mutex<Sender<Control>>,
    worker: Thread,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// Starts the export thread in front of `exporter`, which was given `resource`; returns the
/// processor to install and the queue for the callers.
pub(crate) fn start<E: SpanExporter + 'static>(
    exporter: E,
    delivery: Arc<Delivery>,
    settings: QueueSettings,
    scope: InstrumentationScope,
    resource: Resource,
) -> std::io::Result<(SpanExport, Arc<RecordQueue>)> {
    let QueueSettings {
        batching,
        max_bytes,
        limits,
        foreign_max_bytes,
    } = settings;
    let (records, record_receiver) = mpsc::channel();
    let (spans, span_receiver) = mpsc::channel();
    let (foreign, foreign_receiver) = mpsc::channel();
    let foreign_bytes = Arc::new(ForeignBytes::new(foreign_max_bytes));
    let (control, requests) = mpsc::channel();
    let slots = Arc::new(Slots::new(
        batching.queue_size,
        max_bytes,
        Arc::clone(&delivery),
    ));
    let spans_queued = Arc::new(AtomicUsize::new(0));
    let worker = Worker {
        records: record_receiver,
        spans: span_receiver,
        slots: Arc::clone(&slots),
        spans_queued: Arc::clone(&spans_queued),
        requests,
        exporter,
        scope,
        limits,
        batch: Vec::new(),
        last_batch: 0,
        batching,
        foreign: foreign_receiver,
        foreign_bytes: Arc::clone(&foreign_bytes),
        foreign_batches: Vec::new(),
        resource: resource.clone(),
    };
    let handle = std::thread::Builder::new()
        .name("factory-obs-spans".into())
        .spawn(move || worker.run())?;
    let thread = handle.thread().clone();
    let _ = slots.worker.set(thread.clone());
    let queue = Arc::new(RecordQueue {
        sender: records,
        worker: thread.clone(),
        delivery: Arc::clone(&delivery),
        slots,
        wake_every: u32::try_from(batching.queue_size / 4)
            .unwrap_or(u32::MAX)
            .max(1),
        foreign: ForeignQueue::new(
            foreign,
            foreign_bytes,
            Arc::clone(&delivery),
            thread.clone(),
            resource,
        ),
    });
    let export = SpanExport {
        spans,
        spans_queued,
        slots: Arc::clone(&queue.slots),
        capacity: batching.queue_size,
        delivery,
        control: Mutex::new(control),
        worker: thread,
        handle: Mutex::new(Some(handle)),
    };
    Ok((export, queue))
}

/// How the span queue is bounded and what its spans may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueSettings {
    /// `OTEL_BSP_*`.
    pub batching: Batching,
    /// `FACTORY_OBS_SPAN_QUEUE_MAX_BYTES`.
    pub max_bytes: usize,
    /// OpenTelemetry's span limits, applied as records become `SpanData`.
    pub limits: SpanLimits,
    /// `FACTORY_OBS_BROWSER_QUEUE_MAX_BYTES`: the bound of the queue of spans from outside.
    pub foreign_max_bytes: usize,
}

/// The export thread's state.
struct Worker<E> {
    records: Receiver<SpanRecord>,
    spans: Receiver<SpanData>,
    slots: Arc<Slots>,
    spans_queued: Arc<AtomicUsize>,
    requests: Receiver<Control>,
    exporter: E,
    scope: InstrumentationScope,
    limits: SpanLimits,
    batch: Vec<SpanData>,
    /// The size of the last batch exported: the next one is allocated that large at its first
    /// span rather than grown (and copied) one doubling at a time.
    last_batch: usize,
    batching: Batching,
    /// Spans from outside the program, and their batches by resource waiting for export.
    foreign: Receiver<ForeignBatch>,
    foreign_bytes: Arc<ForeignBytes>,
    foreign_batches: Vec<(Arc<Resource>, Vec<SpanData>)>,
    /// The program's own resource, which the exporter is given back after a foreign batch.
    resource: Resource,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        yield_to_the_program();
        let mut deadline = Instant::now() + self.batching.schedule_delay;
        let mut pace = Pace::new(self.batching.queue_size);
        let mut last_collection = Instant::now();
        loop {
            let now = Instant::now();
            if now >= deadline {
                self.export_due();
                deadline = now + self.batching.schedule_delay;
            }
            std::thread::park_timeout(pace.sleep.min(deadline - now));
            let collected = self.collect();
            let now = Instant::now();
            pace.collected(collected, now - last_collection);
            last_collection = now;
            loop {
                match self.requests.try_recv() {
                    // Collected again: spans sent before the request may have arrived since.
                    Ok(Control::Flush(done)) => {
                        self.collect();
                        self.export_due();
                        let _ = self.exporter.force_flush();
                        let _ = done.send(());
                    }
                    Ok(Control::Shutdown(done, timeout)) => {
                        self.collect();
                        self.export_due();
                        let _ = self.exporter.shutdown_with_timeout(timeout);
                        let _ = done.send(());
                        return;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
        }
    }

    /// Takes everything queued, exporting each batch as it fills; returns the most spans
    /// taken from one channel.
    fn collect(&mut self) -> usize {
        let mut records = 0;
        let mut bytes = 0;
        while let Ok(record) = self.records.try_recv() {
            bytes += record.queued_bytes;
            let span = record.into_span_data(&self.scope, &self.limits);
            self.push(span);
            records += 1;
            // Given back as each batch fills, so that a long collection does not shed calls.
            if records % self.batching.max_batch == 0 {
                self.slots.give_back(self.batching.max_batch);
                self.slots.release_bytes(std::mem::take(&mut bytes));
            }
        }
        self.slots.give_back(records % self.batching.max_batch);
        self.slots.release_bytes(bytes);
        let mut spans = 0;
        while let Ok(mut span) = self.spans.try_recv() {
            self.spans_queued.fetch_sub(1, Ordering::Relaxed);
            self.slots
                .release_bytes(span_record::estimated_span_data_bytes(&span));
            span_record::cut_span_data_values(&mut span, &self.limits);
            self.push(span);
            spans += 1;
        }
        let mut foreign = 0;
        while let Ok(batch) = self.foreign.try_recv() {
            self.foreign_bytes.release(batch.bytes);
            foreign += batch.spans.len();
            self.push_foreign(batch);
        }
        records.max(spans).max(foreign)
    }

    /// Adds spans from outside to the batch of their resource, exported once it is full.
    fn push_foreign(&mut self, batch: ForeignBatch) {
        let ForeignBatch {
            resource, spans, ..
        } = batch;
        let index = match self
            .foreign_batches
            .iter()
            .position(|(kept, _)| Arc::ptr_eq(kept, &resource))
        {
            Some(index) => index,
            None => {
                self.foreign_batches.push((resource, Vec::new()));
                self.foreign_batches.len() - 1
            }
        };
        self.foreign_batches[index].1.extend(spans);
        if self.foreign_batches[index].1.len() >= self.batching.max_batch {
            let (resource, spans) = self.foreign_batches.swap_remove(index);
            self.export_foreign(&resource, spans);
        }
    }

    /// Exports what is waiting: the program's batch and the batches from outside.
    fn export_due(&mut self) {
        self.export();
        for (resource, spans) in std::mem::take(&mut self.foreign_batches) {
            self.export_foreign(&resource, spans);
        }
    }

    /// Exports spans from outside under their resource, then gives the exporter the program's
    /// own back. The batch is cut at the batch size, as the program's are.
    fn export_foreign(&mut self, resource: &Resource, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        let max_batch = self.batching.max_batch;
        let exporter = &mut self.exporter;
        let own = &self.resource;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            exporter.set_resource(resource);
            let mut spans = spans.into_iter().peekable();
            while spans.peek().is_some() {
                let batch: Vec<SpanData> = spans.by_ref().take(max_batch).collect();
                let _ = futures_executor::block_on(exporter.export(batch));
            }
        }));
        // Given back even after a panic in the exporter: the program's spans keep their resource.
        let _ = catch_unwind(AssertUnwindSafe(|| exporter.set_resource(own)));
    }

    fn push(&mut self, span: SpanData) {
        if self.batch.capacity() == 0 {
            self.batch.reserve(self.last_batch);
        }
        self.batch.push(span);
        if self.batch.len() >= self.batching.max_batch {
            self.export();
        }
    }

    /// Exports the batch; the exporter's wrapper counts what it delivered or failed.
    fn export(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        // Sized to what was collected, not to the largest batch: memory follows use.
        let batch = std::mem::take(&mut self.batch);
        self.last_batch = batch.len();
        // The exporter may be the program's own (`TelemetryBuilder::span_exporter`): a panic in
        // it loses this batch (counted as undelivered), not the export thread with every later
        // span.
        let exporter = &mut self.exporter;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            futures_executor::block_on(exporter.export(batch))
        }));
    }
}

/// Lowers the calling thread's scheduling priority (Linux `nice` +10): when the program keeps
/// every core busy, it keeps its CPU, and spans the export thread cannot keep up with are dropped
/// and counted rather than slowing the program down. An idle core still runs the thread at once.
fn yield_to_the_program() {
    #[cfg(target_os = "linux")]
    // SAFETY: `setpriority` reads its integer arguments only; `gettid` has no preconditions.
    // On Linux a thread id names one thread for PRIO_PROCESS, so only this thread is lowered.
    unsafe {
        let thread = libc::gettid() as libc::id_t;
        let _ = libc::setpriority(libc::PRIO_PROCESS, thread, 10);
    }
}

impl SpanExport {
    /// Asks the export thread for `request` and waits at most `timeout` for its answer.
    fn ask(&self, request: Control, answer: Receiver<()>, timeout: Duration) -> OTelSdkResult {
        let sent = self
            .control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(request);
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

    fn on_end(&self, mut span: SpanData) {
        if span.span_context.is_sampled() {
            crate::tracer::mark_random_root(&mut span);
            if self.spans_queued.fetch_add(1, Ordering::Relaxed) >= self.capacity {
                self.spans_queued.fetch_sub(1, Ordering::Relaxed);
                self.delivery.dropped_queue_full(1);
                self.worker.unpark();
                return;
            }
            if !self
                .slots
                .hold_bytes(span_record::estimated_span_data_bytes(&span))
            {
                self.spans_queued.fetch_sub(1, Ordering::Relaxed);
                self.delivery.dropped_queue_full(1);
                self.worker.unpark();
                return;
            }
            self.delivery.submitted(1);
            // A shut-down pipeline loses the span; the report counts it as undelivered.
            let _ = self.spans.send(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let (done, answer) = mpsc::sync_channel(1);
        self.ask(Control::Flush(done), answer, FLUSH_TIMEOUT)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let (done, answer) = mpsc::sync_channel(1);
        self.ask(Control::Shutdown(done, timeout), answer, timeout)?;
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        Ok(())
    }

    /// The exporter was given the resource before the export thread took it.
    fn set_resource(&mut self, _resource: &Resource) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::span_record::tests::record;
    use opentelemetry::KeyValue;
    use std::sync::Condvar;

    /// An exporter that holds its first export until released, so that what is submitted
    /// meanwhile waits in the queue; it keeps every span it got.
    #[derive(Clone, Debug, Default)]
    struct Gate(Arc<(Mutex<GateState>, Condvar)>);

    #[derive(Debug, Default)]
    struct GateState {
        entered: bool,
        released: bool,
        spans: Vec<SpanData>,
    }

    impl Gate {
        fn wait_entered(&self) {
            let (state, changed) = &*self.0;
            let mut state = state.lock().unwrap();
            while !state.entered {
                state = changed.wait(state).unwrap();
            }
        }

        fn release(&self) {
            let (state, changed) = &*self.0;
            state.lock().unwrap().released = true;
            changed.notify_all();
        }

        fn spans(&self) -> Vec<SpanData> {
            self.0 .0.lock().unwrap().spans.clone()
        }
    }

    impl SpanExporter for Gate {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let (state, changed) = &*self.0;
            let mut state = state.lock().unwrap();
            state.entered = true;
            changed.notify_all();
            while !state.released {
                state = changed.wait(state).unwrap();
            }
            state.spans.extend(batch);
            Ok(())
        }
    }

    /// A stage's record holding `chars` characters in one attribute.
    fn big(chars: usize) -> SpanRecord {
        record(
            vec![KeyValue::new("payload", "x".repeat(chars))],
            Vec::new(),
        )
    }

    /// Many big spans against a small bound in bytes: the bytes held never pass it, spans that
    /// start past seven eighths of it are shed and counted as dropped, a span that ends when
    /// its bytes would pass it is queued trimmed and counted as trimmed, and every byte is given
    /// back as the export thread collects.
    #[test]
    fn the_queue_holds_at_most_its_bytes_and_counts_what_it_sheds() {
        let gate = Gate::default();
        let delivery = Arc::new(Delivery::default());
        let first = big(10).estimated_bytes();
        let each = big(10_000).estimated_bytes();
        let max_bytes = first + 10 * each;
        let (export, queue) = start(
            gate.clone(),
            Arc::clone(&delivery),
            QueueSettings {
                batching: Batching {
                    queue_size: 1000,
                    max_batch: 1,
                    schedule_delay: Duration::from_secs(3600),
                },
                max_bytes,
                limits: SpanLimits::default(),
                foreign_max_bytes: 65_536,
            },
            InstrumentationScope::builder("test").build(),
            Resource::builder_empty().build(),
        )
        .unwrap();
        let slots = Arc::clone(queue.slots());
        // The first span: the export thread takes it and is held in its export (its bytes are
        // given back once that export returns).
        assert!(slots.take(false));
        queue.submit(big(10));
        gate.wait_entered();
        assert_eq!(slots.bytes(), first);

        // 20 spans one after another: 9 start before the bytes reach seven eighths of the bound,
        // then every start is shed.
        let mut started = 0;
        for _ in 0..20 {
            if slots.take(false) {
                started += 1;
                queue.submit(big(10_000));
            }
        }
        assert_eq!(started, 9);
        assert_eq!(slots.bytes(), first + 9 * each);
        // A run may use the last eighth.
        assert!(slots.take(true));
        queue.submit(big(10_000));
        assert_eq!(slots.bytes(), max_bytes);
        // Spans that started in time and end past the bound: queued without their attributes.
        let trimmed_bytes = {
            let mut trimmed = big(10_000);
            trimmed.trim();
            trimmed.estimated_bytes()
        };
        for _ in 0..3 {
            // (Taken directly: the bytes are past every start's limit.)
            slots.counts.0.taken.fetch_add(1, Ordering::Relaxed);
            queue.submit(big(10_000));
        }
        assert_eq!(slots.bytes(), max_bytes + 3 * trimmed_bytes);
        let counts = delivery.counts();
        assert_eq!(counts.submitted, 1 + 9 + 1 + 3 + 11);
        assert_eq!(counts.dropped, 11);
        assert_eq!(counts.trimmed, 3);

        gate.release();
        export.force_flush().unwrap();
        assert_eq!(slots.bytes(), 0, "every byte given back");
        assert_eq!(slots.taken(), 0);
        let spans = gate.spans();
        assert_eq!(spans.len(), 1 + 9 + 1 + 3);
        let trimmed: Vec<&SpanData> = spans
            .iter()
            .filter(|span| span.dropped_attributes_count > 0)
            .collect();
        assert_eq!(trimmed.len(), 3);
        for span in trimmed {
            assert_eq!(span.dropped_attributes_count, 1);
            assert!(span
                .attributes
                .iter()
                .all(|kv| kv.key.as_str() != "payload"));
        }
        export
            .shutdown_with_timeout(Duration::from_secs(5))
            .unwrap();
    }

    #[test]
    fn the_pace_follows_the_rate_it_saw() {
        let mut pace = Pace::new(2048);
        // 1,024 spans in 10 ms: an eighth of the queue (256) arrives in 2.5 ms.
        pace.collected(1024, Duration::from_millis(10));
        assert_eq!(pace.sleep, Duration::from_micros(2500));
        // Nothing: twice as long, up to the longest sleep.
        pace.collected(0, Duration::from_micros(2500));
        assert_eq!(pace.sleep, Duration::from_millis(5));
        for _ in 0..10 {
            pace.collected(0, Duration::from_millis(50));
        }
        assert_eq!(pace.sleep, MAX_SLEEP);
        // A flood: the shortest sleep.
        pace.collected(2048, Duration::from_micros(10));
        assert_eq!(pace.sleep, MIN_SLEEP);
        // No overflow for a huge queue and a long export.
        let mut huge = Pace::new(usize::MAX);
        huge.collected(1, Duration::from_secs(3600));
        assert_eq!(huge.sleep, MAX_SLEEP);
        huge.collected(usize::MAX, Duration::from_secs(1));
        assert_eq!(huge.sleep, MIN_SLEEP);
    }
}
