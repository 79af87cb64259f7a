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
use super::recorder::Recorder;
use super::retry::{decide, Decision, Outcome, RetryPolicy};
use super::suspension::{policy_of, Suspend};
use super::{Intake, Job};
use crate::clock::now_ms;
use crate::instance::{FailurePolicy, Instances};
use crate::metrics::Metrics;
use crate::store::{AttemptOutcome, AttemptRecord, Lease, NextState, Store};

/// What every attempt needs.
pub struct DeliveryContext {
    /// Where events and attempts are recorded.
    pub store: Store,
    /// Callback URLs and signing keys.
    pub instances: Instances,
    /// The HTTP client.
    pub client: CallbackClient,
    /// Retry schedule.
    pub policy: RetryPolicy,
    /// Commits outcomes in batches.
    pub recorder: Recorder,
    /// Counts attempts.
    pub metrics: Arc<Metrics>,
    /// `delivery.failure_policy`: what a failed event does to its instance, unless the
    /// instance says otherwise.
    pub failure_policy: FailurePolicy,
}

/// Makes one delivery attempt of `job` and records it; returns the event's next state, or
/// `None` when its instance is suspended: then nothing is attempted and the event is handed
/// back to the store as pending.
#[tracing::instrument(skip_all, fields(event_id = %job.event_id, instance_id = job.instance_id, attempt = job.attempts + 1))]
pub async fn attempt(ctx: &DeliveryContext, job: &Job) -> Option<NextState> {
    let number = job.attempts + 1;
    let at_ms = now_ms();
    let instance = ctx.instances.get(job.instance_id);
    if instance.as_ref().is_some_and(|i| i.suspended) {
        // Claimed or queued before the suspension reached this replica.
        let lease = Lease {
            owner: job.lease_owner.clone(),
            until_ms: job.lease_until_ms,
        };
        match ctx.store.release_lease(&job.event_id, &lease).await {
            Ok(_) => tracing::debug!("instance suspended: event held"),
            // The lease runs out on its own; the claim then leaves the event alone.
            Err(e) => {
                tracing::warn!(error = %e, "instance suspended: could not hand back the lease")
            }
        }
        return None;
    }
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
                    inst.standard_secret.as_ref(),
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
    let outcome = match next {
        NextState::Delivered => "delivered",
        NextState::RetryAt(_) => "retry",
        NextState::Failed => "failed",
    };
    ctx.metrics
        .delivery(job.instance_id, outcome, result.duration);
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
    let suspends = (next == NextState::Failed
        && policy_of(instance.as_deref(), ctx.failure_policy) == FailurePolicy::Queue)
        .then(|| Suspend {
            instance_id: job.instance_id,
            event_id: job.event_id.clone(),
            attempt: number,
        });
    let record = AttemptRecord {
        event_id: job.event_id.clone(),
        attempt: number,
        at_ms,
        status_code,
        error: result.error,
        duration_ms: result.duration.as_millis() as i64,
    };
    ctx.recorder
        .record(
            AttemptOutcome {
                attempt: record,
                next,
                lease: Lease {
                    owner: job.lease_owner.clone(),
                    until_ms: job.lease_until_ms,
                },
            },
            suspends,
        )
        .await;
    Some(next)
}

/// Limits of the dispatcher.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// In-flight attempts, whole process.
    pub concurrency: usize,
    /// In-flight attempts per instance.
    pub per_instance: usize,
    /// A job is started only with at least this much lease left (one attempt's timeout).
    pub min_lease_left_ms: i64,
}

/// Runs jobs until `shutdown`; then lets in-flight attempts finish (the caller bounds how
/// long) and returns. Queued jobs not started stay leased in the store for release.
pub async fn dispatch(
    ctx: Arc<DeliveryContext>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let mut queues: HashMap<i64, VecDeque<Job>> = HashMap::new();
    let mut in_flight: HashMap<i64, usize> = HashMap::new();
    // A task gives back its instance id; its job, and so its slot, is dropped with it.
    let mut running: JoinSet<i64> = JoinSet::new();
    loop {
        tokio::select! {
            job = rx.recv(), if !shutdown.is_cancelled() => {
                let Some(job) = job else { break };
                queues.entry(job.instance_id).or_default().push_back(job);
            }
            Some(done) = running.join_next() => {
                match done {
                    Ok(instance_id) => {
                        if let Some(n) = in_flight.get_mut(&instance_id) {
                            *n -= 1;
                        }
                    }
                    // Only on abort (shutdown past the grace period): the lease is released
                    // by the caller.
                    Err(e) => tracing::warn!(error = %e, "delivery task aborted"),
                }
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
                if job.lease_until_ms - now_ms() < limits.min_lease_left_ms {
                    // Waited too long in memory: the lease may end mid-attempt. Drop this
                    // copy (and its slot); the poller claims the event again under a fresh
                    // lease.
                    continue;
                }
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
    // Jobs not started are dropped with their slots; the caller releases their leases.
}

/// Claims due events into the intake, sleeping until the next one is due (or `poll_interval`
/// at most, or a wake-up). Also prunes old delivered events.
pub async fn poll(
    store: Store,
    intake: Intake,
    wake: Arc<Notify>,
    poll_interval: Duration,
    retention: Option<Duration>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    const CLAIM_BATCH: usize = 256;
    const ROOM_SETTLE: Duration = Duration::from_millis(2);
    let mut last_prune = std::time::Instant::now();
    let mut idle_backoff = Duration::ZERO;
    while !shutdown.is_cancelled() {
        // Room is reserved before the claim; what it does not use goes back when dropped.
        let mut reservation = intake.reserve(CLAIM_BATCH);
        let room = reservation.len();
        let mut claimed = 0;
        let mut skip_was_empty = true;
        if room > 0 {
            let skip = intake.saturated();
            skip_was_empty = skip.is_empty();
            let lease = intake.lease();
            match store.claim_due(now_ms(), &lease, room as u32, &skip).await {
                Ok(events) => {
                    claimed = events.len();
                    for e in events {
                        let Some(slot) = intake.slot(&mut reservation, e.instance_id) else {
                            break; // cannot happen: the claim asked for at most `room`
                        };
                        intake.send(Job {
                            event_id: e.event_id,
                            instance_id: e.instance_id,
                            body: e.body,
                            attempts: e.attempts,
                            lease_until_ms: lease.until_ms,
                            lease_owner: lease.owner.clone(),
                            slot,
                        });
                    }
                }
                Err(e) => {
                    metrics.store_error("claim");
                    tracing::warn!(error = %e, "claiming due events failed");
                }
            }
        }
        drop(reservation);
        if room > 0 && claimed == room {
            continue; // more may be due right now
        }
        // Memory budget full, or what is due may all belong to saturated instances (then a
        // claim only scans): wait until a slot is given back (backing off, up to the poll
        // interval, should it keep coming back to nothing). Otherwise sleep until the next
        // event is due.
        let starved = room == 0 || (claimed == 0 && !skip_was_empty);
        idle_backoff = if starved {
            (idle_backoff * 2).clamp(Duration::from_millis(50), poll_interval)
        } else {
            Duration::ZERO
        };
        let sleep = if starved {
            idle_backoff
        } else {
            match store.next_due_ms().await {
                Ok(Some(due)) => Duration::from_millis(
                    (due - now_ms()).clamp(5, poll_interval.as_millis() as i64) as u64,
                ),
                _ => poll_interval,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = intake.room_freed(), if starved => {
                // Let the rest of a finishing batch give its room back too, so the next
                // claim is one statement for many events, not one per freed slot.
                tokio::time::sleep(ROOM_SETTLE).await;
            }
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
