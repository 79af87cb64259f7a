//! What the store reads and writes, as types: the pipeline's events, leases and attempts,
//! and the operator's view (instances, the event log, queue statistics). Rows read from the
//! database derive [`sqlx::FromRow`]; a column that does not decode is an error.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::body::Body;
use super::Status;
use crate::secret::TokenDigest;

/// An event to insert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Deterministic `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Box event id, unique per instance.
    pub box_event_id: String,
    /// The rendered body, sent as-is on every attempt, and its stored form.
    pub body: Body,
    /// Receipt time, unix milliseconds.
    pub received_at_ms: i64,
    /// When set, the event is stored already claimed by this process until then, so that it
    /// can be delivered at once from memory.
    pub lease: Option<Lease>,
}

/// A claim on an event.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Who holds it (one id per process).
    pub owner: Arc<str>,
    /// Unix milliseconds after which others may take it.
    pub until_ms: i64,
}

/// Result of inserting one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    New,
    /// This instance already had this Box event id; nothing changed.
    Duplicate,
}

/// The outcome of each event of a batch, given the `event_id`s the store actually inserted.
/// Two requests for one Box event in the same batch: the first is new, the second a duplicate.
pub(crate) fn inserted_outcomes(
    events: &[NewEvent],
    mut new: std::collections::HashSet<String>,
) -> Vec<Inserted> {
    let outcome = |e: &NewEvent| {
        if new.remove(&e.event_id) {
            Inserted::New
        } else {
            Inserted::Duplicate
        }
    };
    events.iter().map(outcome).collect()
}

/// An event claimed for delivery.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Body bytes to send.
    pub body: Bytes,
    /// Attempts already made.
    pub attempts: u32,
}

/// A claimed row, before its body is attached (engines read bodies in one statement).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClaimedRow {
    pub seq: i64,
    pub event_id: String,
    pub instance_id: i64,
    #[sqlx(try_from = "i64")]
    pub attempts: u32,
    /// Absent when the event has no body row (a corrupt store).
    #[sqlx(default)]
    pub body: Option<Vec<u8>>,
}

/// What one delivery attempt produced, to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// `eventId`.
    pub event_id: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// Unix milliseconds when it started.
    pub at_ms: i64,
    /// HTTP status, when one was received.
    pub status_code: Option<u16>,
    /// Transport error or refusal, when there was no status.
    pub error: Option<String>,
    /// Wall time of the attempt.
    pub duration_ms: i64,
}

impl AttemptRecord {
    /// The error, or the status when it was not a 2xx; `None` for a success.
    pub fn summary(&self) -> Option<String> {
        match (&self.error, self.status_code) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(code)) if !(200..300).contains(&code) => Some(format!("HTTP {code}")),
            _ => None,
        }
    }
}

/// An attempt to record, where its event goes next, and the lease it was made under: the
/// outcome is written only while the event is still leased to that owner until that time, so
/// a replica paused past its lease cannot overwrite what the replica that took the event
/// over did.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// The event's next state.
    pub next: NextState,
    /// The lease the attempt was made under.
    pub lease: Lease,
}

/// Where the event goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState {
    /// Done.
    Delivered,
    /// Try again at this unix millisecond.
    RetryAt(i64),
    /// Give up; kept as `failed`.
    Failed,
}

impl NextState {
    /// The columns an attempt's outcome sets: (status, next_attempt_at, finished_at).
    pub fn columns(self, attempt_at_ms: i64) -> (Status, i64, Option<i64>) {
        let now = crate::clock::now_ms;
        match self {
            NextState::Delivered => (Status::Delivered, attempt_at_ms, Some(now())),
            NextState::RetryAt(t) => (Status::Pending, t, None),
            NextState::Failed => (Status::Failed, attempt_at_ms, Some(now())),
        }
    }
}

/// An instance created through the admin API, as stored.
#[derive(Debug, Clone)]
pub struct StoredInstance {
    /// Assigned by the store; never reused.
    pub id: i64,
    /// `message.instanceName`.
    pub name: String,
    /// The digest of the instance token (Cloud Elements' `Element <token>` credential); the
    /// token itself is only shown once, in the answer that creates the instance.
    pub token: TokenDigest,
    /// `message.instanceTags`.
    pub tags: Vec<String>,
    /// Cloud Elements-style configuration, as given (validated before it is stored); sealed
    /// as a whole in the store, since it holds every secret of the instance.
    pub configuration: BTreeMap<String, serde_json::Value>,
    /// A disabled instance answers Box `ignored`.
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// Unix milliseconds.
    pub updated_at_ms: i64,
}

/// One event in the log (without its body).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventSummary {
    /// Position in the store; the log's paging cursor.
    pub seq: i64,
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Box event id (V1 callbacks: a fresh id).
    pub box_event_id: String,
    /// Current status.
    pub status: Status,
    /// Attempts made in the current schedule (a replay starts a new one).
    #[sqlx(try_from = "i64")]
    pub attempts: u32,
    /// Unix milliseconds.
    #[sqlx(rename = "received_at")]
    pub received_at_ms: i64,
    /// When the next attempt is due (pending), unix milliseconds.
    #[sqlx(rename = "next_attempt_at")]
    pub next_attempt_at_ms: i64,
    /// When it was delivered or given up, unix milliseconds.
    #[sqlx(rename = "finished_at")]
    pub finished_at_ms: Option<i64>,
    /// Last error or non-2xx status.
    pub last_error: Option<String>,
}

/// One event with its body and every delivery attempt, oldest first.
#[derive(Debug, Clone)]
pub struct EventDetail {
    /// The event's state.
    pub summary: EventSummary,
    /// The stored body, sent as-is on every attempt.
    pub body: Bytes,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptRecord>,
}

/// What a replay of one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Queued for immediate delivery.
    Queued,
    /// No such event (or pruned).
    NotFound,
    /// A worker is delivering it right now; nothing changed.
    InFlight,
}

/// Counts of events by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// `pending`
    pub pending: u64,
    /// `delivering`
    pub delivering: u64,
    /// `delivered`
    pub delivered: u64,
    /// `failed`
    pub failed: u64,
}

impl StatusCounts {
    /// The count of `status`.
    pub fn get_mut(&mut self, status: Status) -> &mut u64 {
        match status {
            Status::Pending => &mut self.pending,
            Status::Delivering => &mut self.delivering,
            Status::Delivered => &mut self.delivered,
            Status::Failed => &mut self.failed,
        }
    }

    /// Every stored event.
    pub fn total(&self) -> u64 {
        self.pending + self.delivering + self.delivered + self.failed
    }
}

/// Queue depth and age, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    /// Events by status.
    pub counts: StatusCounts,
    /// Receipt time of the oldest event not yet delivered (pending or delivering).
    pub oldest_pending_received_ms: Option<i64>,
}
