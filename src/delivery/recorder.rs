//! Group commit for delivery outcomes: attempts finished at about the same time are recorded
//! in one transaction, so a fast consumer costs one commit per batch, not per event. An
//! outcome not yet committed when the process dies leaves its event leased: it is delivered
//! again after the restart (at-least-once), never lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::metrics::Metrics;
use crate::store::health::StorageHealth;
use crate::store::{AttemptOutcome, NextState, Store};

const MAX_BATCH: usize = 512;

/// Handle to the recorder task; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<AttemptOutcome>,
}

impl Recorder {
    /// Starts the task. It ends, after recording everything queued, when every handle is
    /// dropped. `wake` is notified after a batch that scheduled a retry.
    pub fn spawn(
        store: Store,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        health: Arc<StorageHealth>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        (
            Self { tx },
            tokio::spawn(run(store, wake, metrics, health, rx)),
        )
    }

    /// Queues an outcome (waits only when the queue is full).
    pub async fn record(&self, outcome: AttemptOutcome) {
        if self.tx.send(outcome).await.is_err() {
            tracing::warn!("recorder stopped; the event stays leased and will be retried");
        }
    }
}

async fn run(
    store: Store,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    health: Arc<StorageHealth>,
    mut rx: mpsc::Receiver<AttemptOutcome>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
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
    }
}
