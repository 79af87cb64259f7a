//! Group commit for delivery outcomes: attempts finished at about the same time are recorded
//! in one transaction, so a fast consumer costs one commit per batch, not per event. An
//! outcome not yet committed when the process dies leaves its event leased: it is delivered
//! again after the restart (at-least-once), never lost. Under the `queue` failure policy, an
//! outcome that fails its event for good suspends its instance once it is committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use super::suspension::{suspend, Suspend};
use crate::instance::Instances;
use crate::metrics::Metrics;
use crate::store::health::StorageHealth;
use crate::store::{AttemptOutcome, NextState, Store};

const MAX_BATCH: usize = 512;

/// Handle to the recorder task; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<(AttemptOutcome, Option<Suspend>)>,
}

impl Recorder {
    /// Starts the task. It ends, after recording everything queued, when every handle is
    /// dropped. `wake` is notified after a batch that scheduled a retry.
    pub fn spawn(
        store: Store,
        instances: Instances,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        health: Arc<StorageHealth>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let parts = Parts {
            store,
            instances,
            wake,
            metrics,
            health,
        };
        (Self { tx }, tokio::spawn(run(parts, rx)))
    }

    /// Queues an outcome (waits only when the queue is full), and the suspension it causes
    /// once committed, if any.
    pub async fn record(&self, outcome: AttemptOutcome, suspends: Option<Suspend>) {
        if self.tx.send((outcome, suspends)).await.is_err() {
            tracing::warn!("recorder stopped; the event stays leased and will be retried");
        }
    }
}

struct Parts {
    store: Store,
    instances: Instances,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    health: Arc<StorageHealth>,
}

async fn run(parts: Parts, mut rx: mpsc::Receiver<(AttemptOutcome, Option<Suspend>)>) {
    let Parts {
        store,
        instances,
        wake,
        metrics,
        health,
    } = parts;
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut suspensions = Vec::new();
    while rx.recv_many(&mut received, MAX_BATCH).await > 0 {
        for (outcome, suspends) in received.drain(..) {
            batch.push(outcome);
            suspensions.extend(suspends);
        }
        // The outcomes must reach the store: retry with a growing pause while it is down.
        metrics.batch("outcomes", batch.len());
        let mut pause = Duration::from_millis(50);
        let stale = loop {
            match store.record_attempts(&batch).await {
                Ok(stale) => break stale,
                Err(e) => {
                    metrics.store_error("record_outcomes");
                    health.failed(&e);
                    tracing::warn!(error = %e, batch = batch.len(), "recording attempts failed, retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        };
        if stale > 0 {
            // This replica was paused past its leases; another took the events over.
            metrics.stale_outcomes(stale);
            tracing::warn!(
                stale,
                "dropped delivery outcomes of events whose lease this replica no longer held"
            );
        }
        if batch
            .iter()
            .any(|o| matches!(o.next, NextState::RetryAt(_)))
        {
            wake.notify_one();
        }
        batch.clear();
        // Only now is the failure committed: the store suspends only on a failed event.
        for s in suspensions.drain(..) {
            if let Err(e) = suspend(&store, &instances, &metrics, &s).await {
                metrics.store_error("suspend");
                tracing::error!(
                    error = %e,
                    instance_id = s.instance_id,
                    event_id = %s.event_id,
                    "could not suspend the instance (failure policy queue)"
                );
            }
        }
    }
}
