//! Stage four: delivery. Committed events reach the [`worker`] either straight from the
//! group-commit writer (in memory, already leased) or from the poller (due retries, events
//! left by a dead process). The [`client`] POSTs them; the [`retry`] policy decides what next.

pub mod client;
pub mod retry;
pub mod worker;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::store::{now_ms, Lease};

/// One event to attempt.
#[derive(Debug, Clone)]
pub struct Job {
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Stored body bytes.
    pub body: Bytes,
    /// Attempts already made.
    pub attempts: u32,
}

/// The door into the delivery workers, with a bound on how many events are held in memory
/// (queued or in flight): the backlog lives in the store, not in RAM.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::UnboundedSender<Job>,
    held: Arc<AtomicUsize>,
    max_held: usize,
    owner: Arc<str>,
    lease_ms: i64,
}

impl Intake {
    /// A new intake and the receiving end for the dispatcher.
    pub fn new(max_held: usize, lease_ms: i64) -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let owner: Arc<str> = Arc::from(format!("relay-{}", uuid::Uuid::new_v4()));
        (
            Self {
                tx,
                held: Arc::new(AtomicUsize::new(0)),
                max_held,
                owner,
                lease_ms,
            },
            rx,
        )
    }

    /// Reserves room for one event; false when memory is full.
    pub fn try_hold(&self) -> bool {
        self.hold_up_to(1) == 1
    }

    /// Reserves room for up to `n` events; returns how many were reserved.
    pub fn hold_up_to(&self, n: usize) -> usize {
        let mut got = 0;
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                got = n.min(self.max_held.saturating_sub(h));
                (got > 0).then_some(h + got)
            });
        got
    }

    /// Gives back room reserved but not used, or freed by a finished job.
    pub fn unhold(&self, n: usize) {
        if n > 0 {
            self.held.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Events currently held in memory.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// A fresh lease for this process.
    pub fn lease(&self) -> Lease {
        Lease {
            owner: self.owner.clone(),
            until_ms: now_ms() + self.lease_ms,
        }
    }

    /// This process's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Hands a job (whose room was reserved) to the dispatcher.
    pub fn send(&self, job: Job) {
        if self.tx.send(job).is_err() {
            // Dispatcher gone (shutdown): the event stays in the store and is released there.
            self.unhold(1);
        }
    }
}
