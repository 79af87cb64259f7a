//! The event log as operators read it, through the admin API and `webhook-relay events`:
//! status filters in the relay's and Cloud Elements' terms, and the JSON of an event.

use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};

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

/// One event of a list.
pub fn summary_json(e: &EventSummary) -> Value {
    json!({
        "eventId": e.event_id,
        "instanceId": e.instance_id,
        "boxEventId": e.box_event_id,
        "status": e.status.as_str(),
        "elementsStatus": elements_status(e.status),
        "attemptCount": e.attempts,
        "receivedAt": time(e.received_at_ms),
        "nextAttemptAt": matches!(e.status, Status::Pending).then(|| time(e.next_attempt_at_ms)).flatten(),
        "finishedAt": e.finished_at_ms.and_then(time),
        "lastError": e.last_error,
    })
}

/// One event with every attempt (oldest first) and the body it is delivered with.
pub fn detail_json(d: &EventDetail) -> Value {
    let mut value = summary_json(&d.summary);
    value["attempts"] = d
        .attempts
        .iter()
        .map(|a| {
            json!({
                "at": time(a.at_ms),
                "statusCode": a.status_code,
                "error": a.error,
                "durationMs": a.duration_ms,
            })
        })
        .collect();
    value["body"] = serde_json::from_slice(&d.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&d.body).into_owned()));
    value
}
