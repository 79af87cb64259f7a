//! The event log as operators read it, through the admin API and `webhook-relay events`:
//! status filters in the relay's and Cloud Elements' terms, and the JSON of an event.

use chrono::{SecondsFormat, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::store::records::{EventDetail, EventSummary};
use crate::store::Status;

/// The statuses a `status=` filter selects; names are the relay's (`pending`, `delivering`,
/// `delivered`, `failed`) or Cloud Elements' (`RECEIVED`, `DISPATCHED`, `NOTIFIED`), in any
/// case. `pending` means "not delivered yet" and includes events being delivered.
pub fn parse_status_filter(name: &str) -> Option<Vec<Status>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "pending" | "received" => vec![Status::Pending, Status::Delivering],
        "delivering" | "dispatched" => vec![Status::Delivering],
        "delivered" | "notified" => vec![Status::Delivered],
        "failed" => vec![Status::Failed],
        _ => return None,
    })
}

/// A status in Cloud Elements' terms (`FAILED` has no counterpart there).
pub fn elements_status(status: Status) -> &'static str {
    match status {
        Status::Pending => "RECEIVED",
        Status::Delivering => "DISPATCHED",
        Status::Delivered => "NOTIFIED",
        Status::Failed => "FAILED",
    }
}

fn time(ms: i64) -> Option<String> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// One event of the log, as the admin API and `webhook-relay events` answer it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Event)]
pub struct EventView {
    /// The event's id (also `Elements-Webhook-Id`).
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Box's event id (V1 callbacks: a fresh id).
    pub box_event_id: String,
    /// `pending`, `delivering`, `delivered` or `failed`.
    #[schema(pattern = "^(pending|delivering|delivered|failed)$")]
    pub status: &'static str,
    /// The status in Cloud Elements' terms: `RECEIVED`, `DISPATCHED`, `NOTIFIED` (or
    /// `FAILED`, which has no counterpart there).
    #[schema(pattern = "^(RECEIVED|DISPATCHED|NOTIFIED|FAILED)$")]
    pub elements_status: &'static str,
    /// Attempts in the current retry schedule (a replay starts a new one).
    pub attempt_count: u32,
    /// When Box's delivery was committed (RFC 3339).
    #[schema(required = true, format = DateTime)]
    pub received_at: Option<String>,
    /// When the next attempt is due (pending events only).
    #[schema(required = true, format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// When it was delivered or given up.
    #[schema(required = true, format = DateTime)]
    pub finished_at: Option<String>,
    /// Last error or non-2xx status.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Attempt)]
pub struct AttemptView {
    /// When it started (RFC 3339).
    #[schema(required = true, format = DateTime)]
    pub at: Option<String>,
    /// The callback's HTTP status, when one was received.
    #[schema(required = true)]
    pub status_code: Option<u16>,
    /// Transport error or refusal, when there was no status.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Wall time of the attempt.
    pub duration_ms: i64,
}

/// One event with every attempt (oldest first) and the body it is delivered with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventDetail)]
pub struct EventDetailView {
    /// The event.
    #[serde(flatten)]
    pub event: EventView,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// The Cloud Elements notification, as delivered (text, should it not be JSON).
    #[schema(value_type = Object)]
    pub body: Value,
}

impl From<&EventSummary> for EventView {
    fn from(e: &EventSummary) -> Self {
        Self {
            event_id: e.event_id.clone(),
            instance_id: e.instance_id,
            box_event_id: e.box_event_id.clone(),
            status: e.status.as_str(),
            elements_status: elements_status(e.status),
            attempt_count: e.attempts,
            received_at: time(e.received_at_ms),
            next_attempt_at: matches!(e.status, Status::Pending)
                .then(|| time(e.next_attempt_at_ms))
                .flatten(),
            finished_at: e.finished_at_ms.and_then(time),
            last_error: e.last_error.clone(),
        }
    }
}

impl From<&EventDetail> for EventDetailView {
    fn from(d: &EventDetail) -> Self {
        Self {
            event: EventView::from(&d.summary),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at: time(a.at_ms),
                    status_code: a.status_code,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            body: serde_json::from_slice(&d.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&d.body).into_owned())),
        }
    }
}

/// One event of a list, as JSON.
pub fn summary_json(e: &EventSummary) -> Value {
    serde_json::to_value(EventView::from(e)).unwrap_or_default()
}

/// One event with every attempt, as JSON.
pub fn detail_json(d: &EventDetail) -> Value {
    serde_json::to_value(EventDetailView::from(d)).unwrap_or_default()
}
