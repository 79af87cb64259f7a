//! The event log and replays: `GET /instances/{id}/events` (newest first, cursor paging with
//! `Next-Cursor`), `GET /instances/events/{eventId}` (with every attempt),
//! `POST /instances/events/{eventId}/redeliver`, `POST /instances/{id}/events/redeliver`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{instance_id, AdminState};
use crate::admin::events::LogQuery;
use crate::event::log::{parse_status_filter, EventDetailView, EventView};
use crate::http::error::{ApiError, ErrorBody};
use crate::invalid::InvalidValue;
use crate::store::Status;

/// Page size when `limit` is not given, and the largest accepted.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// The query of `GET /instances/{id}/events`, as given (checked by `LogParams::check`, so
/// that a wrong value is named).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// `pending` (includes `delivering`), `delivering`, `delivered`, `failed`, or Cloud
    /// Elements' `RECEIVED`, `DISPATCHED`, `NOTIFIED`.
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `Next-Cursor` of the previous page.
    cursor: Option<String>,
}

impl LogParams {
    fn check(self) -> Result<LogQuery, InvalidValue> {
        let statuses = match self.status {
            None => Vec::new(),
            Some(s) => parse_status_filter(&s).ok_or_else(|| {
                InvalidValue::new(
                    "status",
                    "one of pending, delivering, delivered, failed (or RECEIVED, DISPATCHED, NOTIFIED)",
                )
            })?,
        };
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    InvalidValue::new("limit", format!("an integer from 1 to {MAX_LIMIT}"))
                })?,
        };
        let before = match self.cursor {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| InvalidValue::new("cursor", "not a cursor this API gave"))?,
            ),
        };
        Ok(LogQuery {
            statuses,
            limit,
            before,
        })
    }
}

/// An instance's event log, newest first.
#[utoipa::path(
    get,
    path = "/instances/{id}/events",
    operation_id = "listEvents",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1), LogParams),
    responses(
        (status = 200, description = "A page of events, a bare array.", body = Vec<EventView>,
            headers(("Next-Cursor" = String, description = "Cursor of the next page; absent on the last page."))),
        (status = 400, description = "`invalid_value`: status, limit or cursor.", body = ErrorBody),
        (status = 404, description = "No such instance.", body = ErrorBody),
    )
)]
pub async fn list(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<(HeaderMap, Json<Vec<EventView>>), ApiError> {
    let id = admin.service.known_instance(instance_id(&id)?)?;
    let page = admin.service.list_events(id, &params.check()?).await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = page.next {
        headers.insert("next-cursor", next.into());
    }
    Ok((
        headers,
        Json(page.events.iter().map(EventView::from).collect()),
    ))
}

/// An event with every delivery attempt.
#[utoipa::path(
    get,
    path = "/instances/events/{eventId}",
    operation_id = "getEvent",
    params(("eventId" = String, Path, description = "The event's `eventId` (also `Elements-Webhook-Id`).")),
    responses(
        (status = 200, description = "The event.", body = EventDetailView),
        (status = 404, description = "No such event.", body = ErrorBody),
    )
)]
pub async fn show(
    State(admin): State<AdminState>,
    Path(event_id): Path<String>,
) -> Result<Json<EventDetailView>, ApiError> {
    let detail = admin.service.event(&event_id).await?;
    Ok(Json(EventDetailView::from(&detail)))
}

/// What a replay of one event answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Replay)]
pub struct ReplayAnswer {
    /// `queued`.
    #[schema(pattern = "^queued$")]
    pub status: &'static str,
    /// The event.
    pub event_id: String,
}

/// Replay one event.
#[utoipa::path(
    post,
    path = "/instances/events/{eventId}/redeliver",
    operation_id = "redeliverEvent",
    params(("eventId" = String, Path, description = "The event's `eventId` (also `Elements-Webhook-Id`).")),
    responses(
        (status = 200, description = "Queued for immediate delivery: same body bytes, same \
            eventId, a fresh retry schedule.", body = ReplayAnswer),
        (status = 404, description = "No such event.", body = ErrorBody),
        (status = 409, description = "`in_flight`: being delivered right now.", body = ErrorBody),
    )
)]
pub async fn replay(
    State(admin): State<AdminState>,
    Path(event_id): Path<String>,
) -> Result<Json<ReplayAnswer>, ApiError> {
    admin.service.replay(&event_id).await?;
    Ok(Json(ReplayAnswer {
        status: "queued",
        event_id,
    }))
}

/// The query of `POST /instances/{id}/events/redeliver`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplayParams {
    /// `failed` (default) or `delivered` (also `notified`).
    status: Option<String>,
}

/// What a bulk replay answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BulkReplay)]
pub struct BulkReplayAnswer {
    /// How many events were queued.
    pub redelivered: u64,
    /// Which: `failed` or `delivered`.
    pub status: &'static str,
}

/// Replay every failed (or delivered) event of an instance.
#[utoipa::path(
    post,
    path = "/instances/{id}/events/redeliver",
    operation_id = "redeliverEvents",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1), ReplayParams),
    responses(
        (status = 200, description = "How many events were queued.", body = BulkReplayAnswer),
        (status = 400, description = "`invalid_value`: status.", body = ErrorBody),
        (status = 404, description = "No such instance.", body = ErrorBody),
    )
)]
pub async fn replay_all(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
    Query(params): Query<ReplayParams>,
) -> Result<Json<BulkReplayAnswer>, ApiError> {
    let id = admin.service.known_instance(instance_id(&id)?)?;
    let status = match params.status.map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("failed") => Status::Failed,
        Some("delivered" | "notified") => Status::Delivered,
        Some(_) => return Err(ApiError::invalid("status", "failed or delivered")),
    };
    let redelivered = admin.service.replay_all(id, status).await?;
    Ok(Json(BulkReplayAnswer {
        redelivered,
        status: status.as_str(),
    }))
}
