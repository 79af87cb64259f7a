//! Stage four: delivery. Committed events reach the [`worker`] either straight from the
//! group-commit writer (in memory, already leased) or from the poller (due retries, events
//! left by a dead process). The [`client`] POSTs them; the [`retry`] policy decides what next.

pub mod client;
pub mod destination;
pub mod recorder;
pub mod retry;
pub mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::clock::now_ms;
use crate::store::Lease;

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
    /// When this process's lease on the event ends (unix ms). A job whose lease is nearly
    /// over is not started: the event is claimed again from the store instead, so no other
    /// replica can be delivering it at the same time.
    pub lease_until_ms: i64,
    /// Who holds that lease (this process); the outcome is written only while it still does.
    pub lease_owner: Arc<str>,
}

/// The door into the delivery workers, with bounds on how many events are held in memory
/// (queued or in flight), in all and per instance: the backlog lives in the store, not in
/// RAM, and one slow consumer cannot fill the budget and starve the others.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::UnboundedSender<Job>,
    held: Arc<AtomicUsize>,
    held_by_instance: Arc<Mutex<HashMap<i64, usize>>>,
    max_held: usize,
    max_per_instance: usize,
    owner: Arc<str>,
    lease_ms: i64,
}

impl Intake {
    /// A new intake and the receiving end for the dispatcher.
    pub fn new(
        max_held: usize,
        max_per_instance: usize,
        lease_ms: i64,
    ) -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let owner: Arc<str> = Arc::from(format!("relay-{}", uuid::Uuid::new_v4()));
        (
            Self {
                tx,
                held: Arc::new(AtomicUsize::new(0)),
                held_by_instance: Arc::default(),
                max_held,
                max_per_instance,
                owner,
                lease_ms,
            },
            rx,
        )
    }

    /// Reserves room for one event of `instance_id`; false when either budget is full.
    pub fn try_hold(&self, instance_id: i64) -> bool {
        let mut by_instance = self.lock();
        let n = by_instance.entry(instance_id).or_default();
        if *n >= self.max_per_instance || self.reserve(1) == 0 {
            return false;
        }
        *n += 1;
        true
    }

    /// Reserves room for up to `n` events of any instance (the poller, before a claim);
    /// give back what the claim did not use with [`Intake::unreserve`] and account each
    /// claimed event with [`Intake::assign`].
    pub fn reserve(&self, n: usize) -> usize {
        let mut got = 0;
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                got = n.min(self.max_held.saturating_sub(h));
                (got > 0).then_some(h + got)
            });
        got
    }

    /// Gives back `n` reserved slots.
    pub fn unreserve(&self, n: usize) {
        if n > 0 {
            self.held.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Counts a reserved slot against `instance_id`.
    pub fn assign(&self, instance_id: i64) {
        *self.lock().entry(instance_id).or_default() += 1;
    }

    /// Frees the slot of a finished (or dropped) event of `instance_id`.
    pub fn release(&self, instance_id: i64) {
        let mut by_instance = self.lock();
        if let Some(n) = by_instance.get_mut(&instance_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_instance.remove(&instance_id);
            }
        }
        drop(by_instance);
        self.unreserve(1);
    }

    /// Instances whose per-instance budget is full: the poller leaves their events alone.
    pub fn saturated(&self) -> Vec<i64> {
        self.lock()
            .iter()
            .filter(|(_, n)| **n >= self.max_per_instance)
            .map(|(id, _)| *id)
            .collect()
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

    /// Hands a job (whose slot is held) to the dispatcher.
    pub fn send(&self, job: Job) {
        if let Err(e) = self.tx.send(job) {
            // Dispatcher gone (shutdown): the event stays in the store and is released there.
            self.release(e.0.instance_id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.held_by_instance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
