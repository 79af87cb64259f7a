//! The event log and replays: `GET /instances/{id}/events` (newest first, cursor paging with
//! `Next-Cursor`), `GET /instances/events/{eventId}` (with every attempt),
//! `POST /instances/events/{eventId}/redeliver`, `POST /instances/{id}/events/redeliver`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::{instance_id, unavailable};
use crate::clock::now_ms;
use crate::event::log::{detail_json, parse_status_filter, summary_json};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::records::Replay;
use crate::store::Status;

/// Page size when `limit` is not given, and the largest accepted.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

fn known_instance(state: &AppState, raw: &str) -> Result<i64, ApiError> {
    let id = instance_id(raw)?;
    state
        .instances
        .get(id)
        .map(|i| i.id)
        .ok_or(ApiError::NotFound("no such instance"))
}

/// `GET /instances/{id}/events?status=&limit=&cursor=`: a bare array, newest first; the
/// next page's cursor, when there is one, in the `Next-Cursor` header.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<(HeaderMap, Json<Value>), ApiError> {
    let id = known_instance(&state, &id)?;
    let statuses = match params.get("status") {
        None => Vec::new(),
        Some(s) => parse_status_filter(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "one of pending, delivering, delivered, failed (or RECEIVED, DISPATCHED, NOTIFIED)",
            )
        })?,
    };
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid("limit", format!("an integer from 1 to {MAX_LIMIT}"))
            })?,
    };
    let before = match params.get("cursor") {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this API gave"))?,
        ),
    };
    let mut events = state
        .store
        .list_events(id, &statuses, before, limit + 1)
        .await
        .map_err(|e| unavailable(&state, e))?;
    let mut headers = HeaderMap::new();
    if events.len() > limit as usize {
        events.truncate(limit as usize);
        if let Some(last) = events.last() {
            headers.insert("next-cursor", last.seq.into());
        }
    }
    Ok((headers, Json(events.iter().map(summary_json).collect())))
}

/// `GET /instances/events/{eventId}`.
pub async fn show(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let detail = state
        .store
        .event_detail(&event_id)
        .await
        .map_err(|e| unavailable(&state, e))?
        .ok_or(ApiError::NotFound("no such event"))?;
    Ok(Json(detail_json(&detail)))
}

/// `POST /instances/events/{eventId}/redeliver`: same bytes, same `eventId`, delivered now
/// with a fresh retry schedule.
pub async fn replay(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state
        .store
        .replay(&event_id, now_ms())
        .await
        .map_err(|e| unavailable(&state, e))?
    {
        Replay::Queued => {
            state.wake.notify_one();
            tracing::info!(event_id = %event_id, "event queued for redelivery");
            Ok(Json(json!({ "status": "queued", "eventId": event_id })))
        }
        Replay::NotFound => Err(ApiError::NotFound("no such event")),
        Replay::InFlight => Err(ApiError::Conflict {
            code: "in_flight",
            detail: "the event is being delivered right now; try again when it is done".into(),
        }),
    }
}

/// `POST /instances/{id}/events/redeliver?status=failed` (or `delivered`): re-queues every
/// such event of the instance; answers how many.
pub async fn replay_all(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = known_instance(&state, &id)?;
    let status = match params
        .get("status")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("failed") => Status::Failed,
        Some("delivered" | "notified") => Status::Delivered,
        Some(_) => return Err(ApiError::invalid("status", "failed or delivered")),
    };
    let n = state
        .store
        .replay_all(id, status, now_ms())
        .await
        .map_err(|e| unavailable(&state, e))?;
    if n > 0 {
        state.wake.notify_one();
    }
    tracing::info!(
        instance_id = id,
        redelivered = n,
        "events queued for redelivery"
    );
    Ok(Json(json!({ "redelivered": n, "status": status.as_str() })))
}
