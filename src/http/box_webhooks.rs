//! Box-facing routes. V2: `POST /webhooks/box/{instance_id}`; V1:
//! `GET|POST /webhooks/box/{instance_id}/v1?token=…`. The raw body is read (bounded) before
//! anything else, verified as bytes, then parsed, normalized and committed; the answer comes
//! only after the commit.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Limited};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::box_webhook::payload::{parse_v2, V1Callback};
use crate::box_webhook::verify::{verify, Keys, SignatureHeaders, Verified};
use crate::event::normalize::{normalize_v1, normalize_v2};
use crate::event::NormalizedEvent;
use crate::instance::Instance;
use crate::store::Inserted;

/// Box V2 delivery.
#[tracing::instrument(skip_all, fields(instance_id = %instance_id))]
pub async fn v2(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = read_body(&state, &headers, body).await?;
    let instance = find_instance(&state, &instance_id)?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sig_headers = SignatureHeaders {
        timestamp: text("box-delivery-timestamp"),
        primary: text("box-signature-primary"),
        secondary: text("box-signature-secondary"),
        version: text("box-signature-version"),
        algorithm: text("box-signature-algorithm"),
    };
    let keys = Keys {
        primary: instance.box_primary_key.as_ref(),
        secondary: instance.box_secondary_key.as_ref(),
    };
    let now = Utc::now();
    let verified = verify(&body, &sig_headers, keys, state.freshness, now).map_err(|e| {
        tracing::info!(reason = %e, "refused Box V2 delivery");
        ApiError::Signature(e)
    })?;
    let event = parse_v2(verified).map_err(|e| ApiError::Malformed(e.0))?;
    if !instance.events_enabled {
        return Ok(ignored());
    }
    let normalized = normalize_v2(&instance, &state.sender, now, &event);
    store(&state, &instance, normalized).await
}

/// Box V1 callback (query string and form body merged).
#[tracing::instrument(skip_all, fields(instance_id = %instance_id))]
pub async fn v1(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = read_body(&state, &headers, body).await?;
    let instance = find_instance(&state, &instance_id)?;
    let query = query.unwrap_or_default();
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let authorized = match (&instance.v1_token, token) {
        (Some(expected), Some(given)) => {
            bool::from(expected.expose().as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    };
    if !authorized {
        tracing::info!("refused Box V1 callback: bad token");
        return Err(ApiError::InvalidToken);
    }
    let form = Verified::by_token(&body);
    let callback = V1Callback::parse(query.as_bytes(), form.body());
    if !instance.events_enabled {
        return Ok(ignored());
    }
    let normalized = normalize_v1(&instance, &state.sender, Utc::now(), &callback);
    store(&state, &instance, normalized).await
}

fn ignored() -> Json<Value> {
    Json(json!({ "status": "ignored", "reason": "events are disabled for this instance" }))
}

/// Reads the body up to the limit (413 beyond it; a `Content-Length` over it is refused
/// before reading anything).
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::ShuttingDown);
    }
    let limit = state.body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::TooLarge(limit)),
        Err(e) => Err(ApiError::BadRequest(format!(
            "could not read the body: {e}"
        ))),
    }
}

fn find_instance(state: &AppState, raw_id: &str) -> Result<Arc<Instance>, ApiError> {
    raw_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .and_then(|id| state.instances.get(id))
        .ok_or(ApiError::NotFound("no such instance"))
}

async fn store(
    state: &AppState,
    instance: &Instance,
    event: NormalizedEvent,
) -> Result<Json<Value>, ApiError> {
    let event_id = event.event_id.clone();
    match state.writer.submit(instance.id, event).await {
        Ok(Inserted::New) => {
            tracing::info!(event_id = %event_id, "accepted");
            Ok(Json(json!({ "status": "accepted", "eventId": event_id })))
        }
        Ok(Inserted::Duplicate) => {
            tracing::info!(event_id = %event_id, "duplicate");
            Ok(Json(json!({ "status": "duplicate", "eventId": event_id })))
        }
        Err(e) => {
            tracing::error!(event_id = %event_id, error = %e, "could not store event");
            Err(ApiError::Unavailable)
        }
    }
}
