//! Spans from outside the program (a browser's, through `http::browser`), forwarded through the
//! program's own export thread and exporter under a resource the program stamps.
//!
//! They wait in a queue of their own, bounded in bytes, apart from the program's span queue: a
//! flood of them can fill this queue and be refused, never take the room of the program's own
//! spans. The export thread ([`super::records`]) exports them in batches by resource, switching
//! the exporter's resource for each batch (`SpanExporter::set_resource`) and back, so that they
//! pass through the same wrappers (redaction, delivery counting) and the same connection as the
//! program's own spans, and are counted in the same delivery report and exporter-health metrics.

use crate::export::counting::Delivery;
use crate::export::span_record::estimated_span_data_bytes;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::Thread;

/// Spans of one sender, with the resource they are exported under.
#[derive(Debug)]
pub(crate) struct ForeignBatch {
    pub resource: Arc<Resource>,
    pub spans: Vec<SpanData>,
    /// The bytes the queue counts for them, given back when the export thread takes them.
    pub bytes: usize,
}

/// The queue's bytes, shared by its senders and the export thread.
#[derive(Debug)]
pub(crate) struct ForeignBytes {
    held: AtomicUsize,
    max: usize,
}

impl ForeignBytes {
    pub fn new(max: usize) -> ForeignBytes {
        ForeignBytes {
            held: AtomicUsize::new(0),
            max,
        }
    }

    fn hold(&self, size: usize) -> bool {
        let before = self.held.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) <= self.max {
            return true;
        }
        self.held.fetch_sub(size, Ordering::Relaxed);
        false
    }

    pub fn release(&self, size: usize) {
        if size > 0 {
            self.held.fetch_sub(size, Ordering::Relaxed);
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// The queue is full: the sender should try again later (503 with `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueFull;

/// The senders' end of the queue.
#[derive(Debug)]
pub(crate) struct ForeignQueue {
    sender: Sender<ForeignBatch>,
    bytes: Arc<ForeignBytes>,
    delivery: Arc<Delivery>,
    worker: Thread,
    /// The program's own resource, which stamped resources start from.
    resource: Resource,
}

impl ForeignQueue {
    pub(crate) fn new(
        sender: Sender<ForeignBatch>,
        bytes: Arc<ForeignBytes>,
        delivery: Arc<Delivery>,
        worker: Thread,
        resource: Resource,
    ) -> ForeignQueue {
        ForeignQueue {
            sender,
            bytes,
            delivery,
            worker,
            resource,
        }
    }

    /// The program's own resource.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// Queues each batch of spans for export under its resource, all or none: none when they
    /// would take the queue past its bytes. Queued spans are counted as submitted, like the
    /// program's own.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub fn submit(&self, batches: Vec<(Arc<Resource>, Vec<SpanData>)>) -> Result<(), QueueFull> {
        let sizes: Vec<usize> = batches
            .iter()
            .map(|(_, spans)| spans.iter().map(estimated_span_data_bytes).sum())
            .collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Ok(());
        }
        if !self.bytes.hold(total) {
            return Err(QueueFull);
        }
        // Counted before the export thread can see them, so that it never counts more
        // delivered than submitted.
        let count: usize = batches.iter().map(|(_, spans)| spans.len()).sum();
        self.delivery.submitted(count as u64);
        for ((resource, spans), bytes) in batches.into_iter().zip(sizes) {
            if spans.is_empty() {
                continue;
            }
            let batch = ForeignBatch {
                resource,
                spans,
                bytes,
            };
            if self.sender.send(batch).is_err() {
                // The export thread has stopped (shutdown): nothing will take them, and the
                // report counts them as not delivered.
                self.bytes.release(bytes);
                return Err(QueueFull);
            }
        }
        self.worker.unpark();
        Ok(())
    }

    /// Bytes of spans waiting for export now.
    #[allow(dead_code)]
    pub fn held_bytes(&self) -> usize {
        self.bytes.held()
    }
}
