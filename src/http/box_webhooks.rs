//! Box-facing routes. V2: `POST /webhooks/box/{instance_id}`; V1:
//! `GET|POST /webhooks/box/{instance_id}/v1?token=…`. The raw body is read (bounded) before
//! anything else, verified as bytes, then parsed, normalized and committed; the answer comes
//! only after the commit. Every answer is counted in `relay_webhooks_received_total`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
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

/// What became of a delivery that was not refused.
enum Receipt {
    Stored(Inserted, String),
    Ignored(&'static str),
}

/// Counts the answer (by instance, when there is one), then renders it.
fn answer(
    state: &AppState,
    instance: Option<&Instance>,
    result: Result<Receipt, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let known = instance.map(|i| i.id);
    let outcome = match &result {
        Ok(Receipt::Stored(Inserted::New, _)) => "accepted",
        Ok(Receipt::Stored(Inserted::Duplicate, _)) => "duplicate",
        Ok(Receipt::Ignored(_)) => "ignored",
        Err(e) => e.code(),
    };
    state.metrics.webhook(known, outcome);
    Ok(Json(match result? {
        Receipt::Stored(Inserted::New, id) => json!({ "status": "accepted", "eventId": id }),
        Receipt::Stored(Inserted::Duplicate, id) => json!({ "status": "duplicate", "eventId": id }),
        Receipt::Ignored(reason) => json!({ "status": "ignored", "reason": reason }),
    }))
}

/// Box V2 delivery.
#[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
pub async fn v2(
    State(state): State<AppState>,
    instance_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let instance_id = path_id(instance_id);
    tracing::Span::current().record("instance_id", instance_id.as_str());
    let instance = find_instance(&state, &instance_id);
    let result = receive_v2(&state, instance.clone(), &headers, body).await;
    answer(&state, instance.as_deref(), result)
}

async fn receive_v2(
    state: &AppState,
    instance: Option<Arc<Instance>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Receipt, ApiError> {
    let body = read_body(state, headers, body).await?;
    let instance = instance.ok_or(ApiError::NotFound("no such instance"))?;
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
    if let Some(reason) = ignored(&instance) {
        return Ok(Receipt::Ignored(reason));
    }
    let normalized = normalize_v2(&instance, &state.sender, now, &event);
    let deleted_webhook = (event.trigger == "WEBHOOK.DELETED")
        .then(|| event.webhook_id.clone())
        .flatten();
    let receipt = store(state, &instance, normalized).await?;
    if let Some(id) = deleted_webhook {
        forget_webhook(state, instance.id, &id).await;
    }
    Ok(receipt)
}

/// Box deleted one of its webhooks (app removed, tokens revoked, auto clean-up): if the
/// relay created it for this instance, mark it deleted (a delivery to one instance never
/// touches another's record). The event itself is delivered as any other.
async fn forget_webhook(state: &AppState, instance_id: i64, webhook_id: &str) {
    match state
        .store
        .mark_webhook_deleted(
            instance_id,
            webhook_id,
            crate::store::now_ms(),
            "WEBHOOK.DELETED from Box",
        )
        .await
    {
        Ok(true) => tracing::info!(webhook_id, "Box deleted a webhook the relay created"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, webhook_id, "could not mark a Box webhook deleted"),
    }
}

/// Box V1 callback (query string and form body merged).
#[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
pub async fn v1(
    State(state): State<AppState>,
    instance_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let instance_id = path_id(instance_id);
    tracing::Span::current().record("instance_id", instance_id.as_str());
    let instance = find_instance(&state, &instance_id);
    let result = receive_v1(&state, instance.clone(), query, &headers, body).await;
    answer(&state, instance.as_deref(), result)
}

async fn receive_v1(
    state: &AppState,
    instance: Option<Arc<Instance>>,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Receipt, ApiError> {
    let body = read_body(state, headers, body).await?;
    let instance = instance.ok_or(ApiError::NotFound("no such instance"))?;
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
    if let Some(reason) = ignored(&instance) {
        return Ok(Receipt::Ignored(reason));
    }
    let normalized = normalize_v1(&instance, &state.sender, Utc::now(), &callback);
    store(state, &instance, normalized).await
}

/// The instance id of the path; one that does not even decode (`%FF`) names no instance.
fn path_id(path: Result<Path<String>, PathRejection>) -> String {
    path.map(|Path(id)| id).unwrap_or_default()
}

/// Why a verified delivery is not stored, if it is not.
fn ignored(instance: &Instance) -> Option<&'static str> {
    if instance.disabled {
        Some("the instance is disabled")
    } else if !instance.events_enabled {
        Some("events are disabled for this instance")
    } else {
        None
    }
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

/// The instance a path names, looked up once per request (checked after the body size).
fn find_instance(state: &AppState, raw_id: &str) -> Option<Arc<Instance>> {
    raw_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .and_then(|id| state.instances.get(id))
}

async fn store(
    state: &AppState,
    instance: &Instance,
    event: NormalizedEvent,
) -> Result<Receipt, ApiError> {
    let event_id = event.event_id.clone();
    match state.writer.submit(instance.id, event).await {
        Ok(inserted) => {
            let what = match inserted {
                Inserted::New => "accepted",
                Inserted::Duplicate => "duplicate",
            };
            tracing::info!(event_id = %event_id, "{what}");
            Ok(Receipt::Stored(inserted, event_id))
        }
        Err(e) => {
            tracing::error!(event_id = %event_id, error = %e, "could not store event");
            Err(ApiError::Unavailable)
        }
    }
}
