//! What the operator side reads and writes: instances created through the admin API, the
//! event log, replays and queue statistics. The pipeline's own records live in `store/mod.rs`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{AttemptRecord, Status};
use crate::secret::TokenDigest;

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
#[derive(Debug, Clone)]
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
    pub attempts: u32,
    /// Unix milliseconds.
    pub received_at_ms: i64,
    /// When the next attempt is due (pending), unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// When it was delivered or given up, unix milliseconds.
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

/// Queue depth and age, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    /// Events by status.
    pub counts: super::StatusCounts,
    /// Receipt time of the oldest event not yet delivered (pending or delivering).
    pub oldest_pending_received_ms: Option<i64>,
}
