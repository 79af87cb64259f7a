//! The door into the delivery workers, with bounds on how many events are held in memory
//! (queued or in flight), in all and per instance: the backlog lives in the store, not in
//! RAM, and one slow consumer cannot fill the budget and starve the others.
//!
//! Room is a [`Slot`]: a permit of the whole budget and one of the instance's budget. It
//! travels with the [`Job`] and is given back when the job is dropped — attempted, refused
//! by a full dispatcher, left behind at shutdown — so no path has to remember to release it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use super::Job;
use crate::clock::now_ms;
use crate::instance::Instances;
use crate::store::Lease;

/// Room for one event in memory: dropping it gives the room back.
#[derive(Debug)]
pub struct Slot {
    _held: OwnedSemaphorePermit,
    /// `None` only when the poller claimed an event of an instance whose budget filled
    /// between the claim's `skip` list and its answer: the event is held anyway (it is
    /// leased to this process), over that instance's budget by at most one claim.
    _instance: Option<OwnedSemaphorePermit>,
    /// Told when this room is given back (the poller waits on it while the budget is full).
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The permits go back as the fields drop, right after this.
        self.freed.notify_one();
    }
}

/// Room reserved in the whole budget before a claim; what the claim does not use goes back
/// when this is dropped.
#[derive(Debug)]
pub struct Reservation {
    permits: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    /// How many events it still has room for.
    pub fn len(&self) -> usize {
        self.permits.as_ref().map_or(0, |p| p.num_permits())
    }

    /// Whether it has no room left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hands events to the dispatcher, within the memory budgets; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::UnboundedSender<Job>,
    held: Arc<Semaphore>,
    by_instance: Arc<Mutex<HashMap<i64, Arc<Semaphore>>>>,
    max_per_instance: usize,
    owner: Arc<str>,
    lease_ms: i64,
    /// Read for suspended instances, whose events are not held (see [`Intake::try_hold`]).
    instances: Option<Instances>,
    /// Told whenever a slot is given back.
    freed: Arc<Notify>,
}

impl Intake {
    /// A new intake holding at most `max_held` events, `max_per_instance` of one instance,
    /// and the receiving end for the dispatcher.
    pub fn new(
        max_held: usize,
        max_per_instance: usize,
        lease_ms: i64,
    ) -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let owner: Arc<str> = Arc::from(lease_owner_id());
        (
            Self {
                tx,
                held: Arc::new(Semaphore::new(max_held)),
                by_instance: Arc::default(),
                max_per_instance,
                owner,
                lease_ms,
                instances: None,
                freed: Arc::default(),
            },
            rx,
        )
    }

    /// This intake, refusing room to the events of instances that `instances` says are
    /// suspended: they are stored pending, and the claim leaves them there.
    pub fn holding_back_suspended(mut self, instances: Instances) -> Self {
        self.instances = Some(instances);
        self
    }

    /// Room for one event of `instance_id`, or `None` when either budget is full or the
    /// instance is suspended (the event then waits in the store for the poller).
    pub fn try_hold(&self, instance_id: i64) -> Option<Slot> {
        if let Some(instances) = &self.instances {
            if instances.get(instance_id).is_some_and(|i| i.suspended) {
                return None;
            }
        }
        let instance = self.instance(instance_id).try_acquire_owned().ok()?;
        let held = self.held.clone().try_acquire_owned().ok()?;
        Some(Slot {
            _held: held,
            _instance: Some(instance),
            freed: self.freed.clone(),
        })
    }

    /// Reserves room for up to `n` events of any instance (the poller, before a claim);
    /// [`Intake::slot`] turns one unit of it into a claimed event's [`Slot`].
    pub fn reserve(&self, n: usize) -> Reservation {
        let n = n.min(self.held.available_permits());
        let permits = u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| self.held.clone().try_acquire_many_owned(n).ok());
        Reservation { permits }
    }

    /// A slot for a claimed event of `instance_id`, taken from `reservation` (`None` when it
    /// is used up).
    pub fn slot(&self, reservation: &mut Reservation, instance_id: i64) -> Option<Slot> {
        let permits = reservation.permits.as_mut()?;
        let held = if permits.num_permits() == 1 {
            reservation.permits.take()?
        } else {
            permits.split(1)?
        };
        Some(Slot {
            _held: held,
            _instance: self.instance(instance_id).try_acquire_owned().ok(),
            freed: self.freed.clone(),
        })
    }

    /// Instances whose budget is full: the poller leaves their events alone. Budgets no one
    /// holds are forgotten here: a slot or a `try_hold` in progress keeps its semaphore
    /// alive (its `Arc`), so a budget is never split in two.
    pub fn saturated(&self) -> Vec<i64> {
        let mut by_instance = self.lock();
        by_instance.retain(|_, s| Arc::strong_count(s) > 1);
        by_instance
            .iter()
            .filter(|(_, s)| s.available_permits() == 0)
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

    /// Returns once a slot has been given back since the last call (at once if one was):
    /// the poller waits here, rather than on a timer, while the budget it needs is full.
    pub async fn room_freed(&self) {
        self.freed.notified().await;
    }

    /// Hands a job to the dispatcher. Should the dispatcher be gone (shutdown), the job is
    /// dropped with its slot: the event stays leased in the store and is released there.
    pub fn send(&self, job: Job) {
        let _ = self.tx.send(job);
    }

    fn instance(&self, instance_id: i64) -> Arc<Semaphore> {
        self.lock()
            .entry(instance_id)
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_instance)))
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Semaphore>>> {
        self.by_instance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// This process's lease owner id: 96 random bits, 16 characters. Every event row leased to
/// this process holds it, and on PostgreSQL the leased row version stays on disk after the
/// outcome's update (until its space is reused), so it is kept short: a 42-character
/// `relay-<uuid>` cost 20–27 bytes more per event at rest there (issue 15, BENCHMARKS.md).
fn lease_owner_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_come_back_when_their_jobs_are_dropped() {
        let (intake, _rx) = Intake::new(3, 2, 1000);
        let a = intake.try_hold(1).expect("room");
        let b = intake.try_hold(1).expect("room");
        assert!(intake.try_hold(1).is_none(), "instance 1 is at its budget");
        assert_eq!(intake.saturated(), vec![1]);
        let c = intake.try_hold(2).expect("room for another instance");
        assert!(intake.try_hold(3).is_none(), "the whole budget is used");
        drop(a);
        assert!(intake.saturated().is_empty());
        drop((b, c));
        let mut r = intake.reserve(10);
        assert_eq!(r.len(), 3, "a reservation takes what is free, no more");
        let s = intake.slot(&mut r, 7).expect("room");
        assert_eq!(r.len(), 2);
        assert!(intake.try_hold(8).is_none(), "reserved room is not free");
        drop(r);
        assert!(
            intake.try_hold(8).is_some(),
            "an unused reservation goes back"
        );
        drop(s);
        assert_eq!(intake.reserve(10).len(), 3, "every permit is back");
    }
}
