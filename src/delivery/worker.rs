//! The delivery workers: a dispatcher that runs jobs within the global and per-instance
//! concurrency limits, [`attempt`] (one try of one event, recorded), and the poller that
//! claims due retries and abandoned events from the store, sleeping until the next is due.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::CallbackClient;
use super::retry::{decide, Decision, Outcome, RetryPolicy};
use super::{Intake, Job};
use crate::instance::Instances;
use crate::store::{now_ms, AttemptRecord, NextState, Store};

/// What every attempt needs.
pub struct DeliveryContext {
    /// Where events and attempts are recorded.
    pub store: Arc<dyn Store>,
    /// Callback URLs and signing keys.
    pub instances: Instances,
    /// The HTTP client.
    pub client: CallbackClient,
    /// Retry schedule.
    pub policy: RetryPolicy,
    /// Woken when a retry is scheduled, so the poller re-reads the next due time.
    pub wake: Arc<Notify>,
}

/// Makes one delivery attempt of `job` and records it; returns the event's next state.
#[tracing::instrument(skip_all, fields(event_id = %job.event_id, instance_id = job.instance_id, attempt = job.attempts + 1))]
pub async fn attempt(ctx: &DeliveryContext, job: &Job) -> NextState {
    let number = job.attempts + 1;
    let at_ms = now_ms();
    let instance = ctx.instances.get(job.instance_id);
    let target = instance
        .as_ref()
        .and_then(|i| i.callback_url.as_ref().map(|u| (i, u)));
    let result = match target {
        Some((inst, url)) => {
            ctx.client
                .post(
                    url,
                    &job.event_id,
                    job.body.clone(),
                    inst.signature_key.as_ref(),
                )
                .await
        }
        None => super::client::PostResult {
            outcome: Outcome::Error,
            error: Some("instance unknown or has no callback URL".into()),
            duration: Duration::ZERO,
        },
    };
    let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
    let next = match decide(&ctx.policy, number, result.outcome, jitter) {
        Decision::Delivered => NextState::Delivered,
        Decision::GiveUp => NextState::Failed,
        Decision::RetryIn(d) => NextState::RetryAt(now_ms() + d.as_millis() as i64),
    };
    let status_code = match result.outcome {
        Outcome::Status { code, .. } => Some(code),
        Outcome::Error => None,
    };
    match next {
        NextState::Delivered => tracing::info!(status = status_code, "delivered"),
        NextState::Failed => tracing::warn!(
            status = status_code,
            error = result.error.as_deref(),
            "delivery failed for good"
        ),
        NextState::RetryAt(_) => tracing::info!(
            status = status_code,
            error = result.error.as_deref(),
            "delivery failed, will retry"
        ),
    }
    let record = AttemptRecord {
        event_id: job.event_id.clone(),
        attempt: number,
        at_ms,
        status_code,
        error: result.error,
        duration_ms: result.duration.as_millis() as i64,
    };
    // The outcome must reach the store; if it cannot, the event stays leased and is picked
    // up again after a restart (or lease expiry), so it is delayed, not lost.
    for pause in [50u64, 200, 1000, 0] {
        match ctx.store.record_attempt(&record, next).await {
            Ok(()) => break,
            Err(e) if pause > 0 => {
                tracing::warn!(error = %e, "recording attempt failed, retrying");
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => tracing::error!(error = %e, "recording attempt failed; event stays leased"),
        }
    }
    if matches!(next, NextState::RetryAt(_)) {
        ctx.wake.notify_one();
    }
    next
}

/// Limits of the dispatcher.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// In-flight attempts, whole process.
    pub concurrency: usize,
    /// In-flight attempts per instance.
    pub per_instance: usize,
}

/// Runs jobs until `shutdown`; then lets in-flight attempts finish (the caller bounds how
/// long) and returns. Queued jobs not started stay leased in the store for release.
pub async fn dispatch(
    ctx: Arc<DeliveryContext>,
    intake: Intake,
    mut rx: mpsc::UnboundedReceiver<Job>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let mut queues: HashMap<i64, VecDeque<Job>> = HashMap::new();
    let mut in_flight: HashMap<i64, usize> = HashMap::new();
    let mut running: JoinSet<i64> = JoinSet::new();
    // Jobs beyond this per instance go back to the store, so one slow consumer cannot fill
    // the memory budget and starve the others.
    let queue_cap = limits.per_instance * 8;
    loop {
        tokio::select! {
            job = rx.recv(), if !shutdown.is_cancelled() => {
                let Some(job) = job else { break };
                let queue = queues.entry(job.instance_id).or_default();
                if queue.len() >= queue_cap {
                    defer(&ctx, &intake, job);
                } else {
                    queue.push_back(job);
                }
            }
            Some(done) = running.join_next() => {
                let instance_id = done.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "delivery task ended abnormally");
                    -1
                });
                if let Some(n) = in_flight.get_mut(&instance_id) {
                    *n -= 1;
                }
                intake.unhold(1);
            }
            _ = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
            else => break,
        }
        if shutdown.is_cancelled() {
            if running.is_empty() {
                break;
            }
            continue;
        }
        // Start what the limits allow, instance by instance.
        for (instance_id, queue) in queues.iter_mut() {
            let n = in_flight.entry(*instance_id).or_default();
            while *n < limits.per_instance && running.len() < limits.concurrency {
                let Some(job) = queue.pop_front() else { break };
                *n += 1;
                let ctx = ctx.clone();
                running.spawn(async move {
                    attempt(&ctx, &job).await;
                    job.instance_id
                });
            }
        }
        queues.retain(|_, q| !q.is_empty());
        in_flight.retain(|_, n| *n > 0);
    }
    // Not started: leave them leased; the caller releases this process's leases.
    let unstarted: usize = queues.values().map(VecDeque::len).sum();
    intake.unhold(unstarted);
}

fn defer(ctx: &Arc<DeliveryContext>, intake: &Intake, job: Job) {
    intake.unhold(1);
    let store = ctx.store.clone();
    let owner = intake.owner().to_string();
    tokio::spawn(async move {
        let ids = [job.event_id];
        if let Err(e) = store.release(&owner, &ids, now_ms() + 1_000).await {
            tracing::warn!(error = %e, "could not defer event");
        }
    });
}

/// Claims due events into the intake, sleeping until the next one is due (or `poll_interval`
/// at most, or a wake-up). Also prunes old delivered events.
pub async fn poll(
    store: Arc<dyn Store>,
    intake: Intake,
    wake: Arc<Notify>,
    poll_interval: Duration,
    retention: Option<Duration>,
    shutdown: CancellationToken,
) {
    const CLAIM_BATCH: usize = 256;
    let mut last_prune = std::time::Instant::now();
    while !shutdown.is_cancelled() {
        let room = intake.hold_up_to(CLAIM_BATCH);
        let mut claimed = 0;
        if room > 0 {
            match store
                .claim_due(now_ms(), &intake.lease(), room as u32)
                .await
            {
                Ok(events) => {
                    claimed = events.len();
                    intake.unhold(room - claimed);
                    for e in events {
                        intake.send(Job {
                            event_id: e.event_id,
                            instance_id: e.instance_id,
                            body: e.body,
                            attempts: e.attempts,
                        });
                    }
                }
                Err(e) => {
                    intake.unhold(room);
                    tracing::warn!(error = %e, "claiming due events failed");
                }
            }
        }
        if room > 0 && claimed == room {
            continue; // more may be due right now
        }
        let sleep = if room == 0 {
            Duration::from_millis(50) // memory budget full: wait for workers to free it
        } else {
            match store.next_due_ms(intake.owner()).await {
                Ok(Some(due)) => Duration::from_millis(
                    (due - now_ms()).clamp(5, poll_interval.as_millis() as i64) as u64,
                ),
                _ => poll_interval,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = shutdown.cancelled() => {}
        }
        if let Some(keep) = retention {
            if last_prune.elapsed() > Duration::from_secs(600) {
                last_prune = std::time::Instant::now();
                let before = now_ms() - keep.as_millis() as i64;
                match store.prune_delivered(before).await {
                    Ok(n) if n > 0 => tracing::info!(pruned = n, "pruned delivered events"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning failed"),
                }
            }
        }
    }
}
