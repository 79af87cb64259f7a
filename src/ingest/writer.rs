//! Group commit: concurrent ingest requests share one transaction. Each request waits for the
//! commit of the batch it joined, so a 2xx always means "on disk". While batches commit,
//! the next one gathers, so batches grow with load and the fsync cost is shared.
//!
//! Two batches may be in the store at once ([`IN_FLIGHT`]): the next one is handed over
//! while the one before commits, so the store starts it the moment that commit ends instead
//! of waiting for this task to hear of it and hand the next one over (on SQLite, two thread
//! handoffs per commit on busy cores; on PostgreSQL, a second connection's statements
//! overlap the first's fsync). Rows are inserted in `event_id` order, so two batches that
//! hold the same events (Box retrying while the first try commits) take the unique index's
//! locks in the same order and cannot deadlock: the later one waits, then finds them
//! `duplicate`.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::clock::now_ms;
use crate::delivery::{Intake, Job, Slot};
use crate::event::NormalizedEvent;
use crate::metrics::Metrics;
use crate::store::body::Body;
use crate::store::health::StorageHealth;
use crate::store::{Inserted, NewEvent, Store, StoreError};

/// Most events in one transaction.
const MAX_BATCH: usize = 512;

/// Batches being committed at once.
const IN_FLIGHT: usize = 2;

/// Longest wait for one batch's commit.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

struct Request {
    instance_id: i64,
    event: NormalizedEvent,
    /// The event's body and its stored form.
    body: Body,
    reply: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    tx: mpsc::Sender<Request>,
}

impl BatchWriter {
    /// Starts the writer task. It ends when every handle is dropped and the queue is empty,
    /// so accepted requests are always committed before shutdown completes.
    pub fn spawn(
        store: Store,
        intake: Intake,
        metrics: Arc<Metrics>,
        health: Arc<StorageHealth>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        let task = tokio::spawn(run(store, intake, metrics, health, rx));
        (Self { tx }, task)
    }

    /// Stores an event; returns once its batch has committed (or failed).
    pub async fn submit(
        &self,
        instance_id: i64,
        event: NormalizedEvent,
    ) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        // Compressed here, by the request's own task, not in the writer's turn.
        let body = Body::new(event.body.clone());
        self.tx
            .send(Request {
                instance_id,
                event,
                body,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(
    store: Store,
    intake: Intake,
    metrics: Arc<Metrics>,
    health: Arc<StorageHealth>,
    mut rx: mpsc::Receiver<Request>,
) {
    let mut committing = tokio::task::JoinSet::new();
    let mut open = true;
    while open || !committing.is_empty() {
        // Grown by `recv_many` to what arrived (a turn won by a finished commit drops it
        // unused, so it reserves nothing ahead).
        let mut batch: Vec<Request> = Vec::new();
        tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH), if open && committing.len() < IN_FLIGHT => {
                if n == 0 {
                    // Every handle is gone and the queue is empty: finish what commits.
                    open = false;
                    continue;
                }
                metrics.batch("ingest", batch.len());
                let (store, intake) = (store.clone(), intake.clone());
                committing.spawn(async move { commit(&store, &intake, &mut batch).await });
            }
            Some(done) = committing.join_next() => match done {
                Ok(Ok(())) => health.ok(),
                Ok(Err(e)) => {
                    metrics.store_error("ingest_commit");
                    health.failed(&e);
                }
                // A commit task cannot panic short of a bug; its requests were answered
                // `Closed` as their reply senders dropped.
                Err(e) => tracing::error!(error = %e, "a group commit task failed"),
            },
        }
    }
}

/// Commits one batch and answers its requests; the store's error when the commit failed
/// (every request of the batch is answered with it, as [`StoreError::Commit`]).
#[tracing::instrument(skip_all, fields(batch = batch.len()))]
async fn commit(
    store: &Store,
    intake: &Intake,
    batch: &mut Vec<Request>,
) -> Result<(), Arc<StoreError>> {
    let received = now_ms();
    // The unique index's locks in one order whichever batch takes them (see the module).
    batch.sort_unstable_by(|a, b| a.event.event_id.cmp(&b.event.event_id));
    // Events the delivery workers can take now are stored already leased to this process
    // and handed over from memory, with their slots; the rest wait in the store for the
    // poller. A slot not handed over (duplicate, failed commit) is freed when dropped.
    let mut slots: Vec<Option<Slot>> = batch
        .iter()
        .map(|r| intake.try_hold(r.instance_id))
        .collect();
    let rows: Vec<NewEvent> = batch
        .iter_mut()
        .zip(&slots)
        .map(|(r, slot)| NewEvent {
            event_id: r.event.event_id.clone(),
            instance_id: r.instance_id,
            box_event_id: r.event.box_event_id.clone(),
            body: std::mem::take(&mut r.body),
            received_at_ms: received,
            lease: slot.as_ref().map(|_| intake.lease()),
        })
        .collect();
    // A database that stopped answering (network cut) must not hold Box past its 30 s:
    // give up after COMMIT_TIMEOUT and answer 503. Should the commit land anyway, Box's
    // retry is answered `duplicate`: nothing is lost or sent twice.
    let result = match tokio::time::timeout(COMMIT_TIMEOUT, store.insert_batch(&rows)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::TimedOut("group commit")),
    };
    match result {
        Ok(results) => {
            for (((req, row), result), slot) in
                batch.drain(..).zip(rows).zip(results).zip(slots.drain(..))
            {
                if let (Some(lease), Some(slot), Inserted::New) = (row.lease, slot, result) {
                    intake.send(Job {
                        event_id: row.event_id,
                        instance_id: row.instance_id,
                        body: row.body.into_raw(),
                        attempts: 0,
                        lease_until_ms: lease.until_ms,
                        lease_owner: lease.owner,
                        slot,
                    });
                }
                let _ = req.reply.send(Ok(result));
            }
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let e = Arc::new(e);
            for req in batch.drain(..) {
                let _ = req.reply.send(Err(StoreError::Commit(e.clone())));
            }
            Err(e)
        }
    }
}
