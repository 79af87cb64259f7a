//! The event log and replays: an instance's events newest first in pages, one event with
//! every attempt, and replays, which wake delivery once queued.

use super::{AdminError, AdminResult, AdminService};
use crate::clock::now_ms;
use crate::store::records::{EventDetail, EventSummary, Replay};
use crate::store::Status;

/// Which page of an instance's log to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only events in these statuses (none: all).
    pub statuses: Vec<Status>,
    /// At most this many events.
    pub limit: u32,
    /// Only events before this cursor (a page's `next`).
    pub before: Option<i64>,
}

/// A page of events with their bodies (Cloud Elements' event list).
pub struct BodiesPage {
    /// Newest first, each with the body it is delivered with.
    pub events: Vec<(EventSummary, bytes::Bytes)>,
    /// The cursor of the next page, when there is one.
    pub next: Option<i64>,
}

/// A page of the log.
pub struct LogPage {
    /// Newest first.
    pub events: Vec<EventSummary>,
    /// The cursor of the next page, when there is one.
    pub next: Option<i64>,
}

impl AdminService {
    /// The id of an instance this replica knows; not found otherwise.
    pub fn known_instance(&self, id: i64) -> AdminResult<i64> {
        self.instances
            .get(id)
            .map(|i| i.id)
            .ok_or(AdminError::NotFound("no such instance"))
    }

    /// A page of instance `id`'s log, newest first.
    pub async fn list_events(&self, id: i64, query: &LogQuery) -> AdminResult<LogPage> {
        let id = self.known_instance(id)?;
        let mut events = self
            .store
            .list_events(id, &query.statuses, query.before, query.limit + 1)
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut next = None;
        if events.len() > query.limit as usize {
            events.truncate(query.limit as usize);
            next = events.last().map(|last| last.seq);
        }
        Ok(LogPage { events, next })
    }

    /// A page of events with their bodies, newest first: every instance's (`None`) or one
    /// known instance's, before the cursor `before`.
    pub async fn event_bodies(
        &self,
        instance: Option<i64>,
        before: Option<i64>,
        limit: u32,
    ) -> AdminResult<BodiesPage> {
        let instance = instance.map(|id| self.known_instance(id)).transpose()?;
        let mut events = self
            .store
            .event_bodies_page(instance, before, limit + 1)
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut next = None;
        if events.len() > limit as usize {
            events.truncate(limit as usize);
            next = events.last().map(|(last, _)| last.seq);
        }
        Ok(BodiesPage { events, next })
    }

    /// One event of instance `id` (not found when it is another instance's).
    pub async fn instance_event(&self, id: i64, event_id: &str) -> AdminResult<EventDetail> {
        let id = self.known_instance(id)?;
        match self.event(event_id).await {
            Ok(detail) if detail.summary.instance_id == id => Ok(detail),
            Ok(_) => Err(AdminError::NotFound("no such event")),
            Err(e) => Err(e),
        }
    }

    /// One event with every attempt and its body.
    pub async fn event(&self, event_id: &str) -> AdminResult<EventDetail> {
        self.store
            .event_detail(event_id)
            .await
            .map_err(|e| self.unavailable(e))?
            .ok_or(AdminError::NotFound("no such event"))
    }

    /// Queues one event for delivery now (same bytes, same `eventId`, a fresh retry
    /// schedule) and wakes delivery.
    pub async fn replay(&self, event_id: &str) -> AdminResult<()> {
        let replay = self
            .store
            .replay(event_id, now_ms())
            .await
            .map_err(|e| self.unavailable(e))?;
        match replay {
            Replay::Queued => {
                self.wake.notify_one();
                tracing::info!(event_id = %event_id, "event queued for redelivery");
                Ok(())
            }
            Replay::NotFound => Err(AdminError::NotFound("no such event")),
            Replay::InFlight => Err(AdminError::Conflict {
                code: "in_flight",
                detail: "the event is being delivered right now; try again when it is done".into(),
            }),
        }
    }

    /// Re-queues every event of instance `id` in `status` and wakes delivery; how many.
    pub async fn replay_all(&self, id: i64, status: Status) -> AdminResult<u64> {
        let id = self.known_instance(id)?;
        let n = self
            .store
            .replay_all(id, status, now_ms())
            .await
            .map_err(|e| self.unavailable(e))?;
        if n > 0 {
            self.wake.notify_one();
        }
        tracing::info!(
            instance_id = id,
            redelivered = n,
            "events queued for redelivery"
        );
        Ok(n)
    }
}
