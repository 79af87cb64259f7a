//! Box-facing routes. V2: `POST /webhooks/box/{instance_id}`; V1:
//! `GET|POST /webhooks/box/{instance_id}/v1?token=…`. What can be refused without the body
//! is refused first (unknown instance 404, no signature headers or a wrong V1 token 401);
//! then the raw body is read under the size limit and the shared body budget, verified as
//! bytes, parsed, normalized and committed; the answer comes only after the commit. Every
//! answer is counted in `relay_webhooks_received_total`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::IngestState;
use crate::box_webhook::payload::{parse_v2, V1Callback};
use crate::box_webhook::verify::{verify, Keys, SignatureHeaders, Verified};
use crate::event::normalize::{normalize_v1, normalize_v2};
use crate::event::{selection, NormalizedEvent};
use crate::instance::Instance;
use crate::secret::Secret;
use crate::store::Inserted;

/// What became of a delivery that was not refused.
enum Receipt {
    Stored(Inserted, String),
    Ignored(&'static str),
}

/// Counts the answer (by instance, when there is one), then renders it.
fn answer(
    state: &IngestState,
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
    if let Ok(Receipt::Ignored(reason)) = &result {
        state.metrics.event_ignored(ignored_label(reason));
    }
    Ok(Json(match result? {
        Receipt::Stored(Inserted::New, id) => json!({ "status": "accepted", "eventId": id }),
        Receipt::Stored(Inserted::Duplicate, id) => json!({ "status": "duplicate", "eventId": id }),
        Receipt::Ignored(reason) => json!({ "status": "ignored", "reason": reason }),
    }))
}

/// Box V2 delivery. (The request is taken whole, not as a `HeaderMap` extractor, which
/// would clone the headers.)
#[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
pub async fn v2(
    State(state): State<IngestState>,
    instance_id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let instance_id = path_id(instance_id);
    tracing::Span::current().record("instance_id", instance_id.as_str());
    let instance = find_instance(&state, &instance_id);
    let (parts, body) = request.into_parts();
    let result = receive_v2(&state, instance.clone(), &parts.headers, body).await;
    answer(&state, instance.as_deref(), result)
}

async fn receive_v2(
    state: &IngestState,
    instance: Option<Arc<Instance>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Receipt, ApiError> {
    let instance = admit(state, instance)?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sig_headers = SignatureHeaders {
        timestamp: text("box-delivery-timestamp"),
        primary: text("box-signature-primary"),
        secondary: text("box-signature-secondary"),
        version: text("box-signature-version"),
        algorithm: text("box-signature-algorithm"),
    };
    sig_headers.require().map_err(|e| {
        tracing::info!(reason = %e, "refused Box V2 delivery");
        ApiError::Signature(e)
    })?;
    let body = state.bodies.read(headers, body, state.body_limit).await?;
    let keys = Keys {
        primary: instance.box_primary_key.as_ref(),
        secondary: instance.box_secondary_key.as_ref(),
    };
    let now = Utc::now();
    let verified = verify(&body.bytes, &sig_headers, keys, state.freshness, now).map_err(|e| {
        let keyless = keys.primary.is_none() && keys.secondary.is_none();
        // The operator learns why; the caller gets the same answer either way.
        tracing::info!(reason = %e, keyless, "refused Box V2 delivery");
        ApiError::Signature(e)
    })?;
    let event = parse_v2(verified).map_err(|e| ApiError::Malformed(e.0))?;
    if let Some(reason) = ignored(&instance) {
        return Ok(Receipt::Ignored(reason));
    }
    let deleted_webhook = (event.trigger == "WEBHOOK.DELETED")
        .then(|| event.webhook_id.clone())
        .flatten();
    if !selected(&instance, &event.trigger) {
        // Not delivered, but Box deleting a managed webhook is still recorded.
        if let Some(id) = deleted_webhook {
            forget_webhook(state, &instance, id, event.reason.as_deref()).await;
        }
        return Ok(Receipt::Ignored(selection::NOT_SELECTED));
    }
    let normalized = normalize_v2(&instance, &state.sender, now, &event);
    let receipt = store(state, &instance, normalized).await?;
    if let Some(id) = deleted_webhook {
        forget_webhook(state, &instance, id, event.reason.as_deref()).await;
    }
    Ok(receipt)
}

/// Box's reason as recorded: at most 100 characters, control characters dropped.
fn recorded_reason(reason: Option<&str>) -> String {
    match reason {
        Some(r) if !r.trim().is_empty() => {
            r.chars().filter(|c| !c.is_control()).take(100).collect()
        }
        _ => "WEBHOOK.DELETED without a reason".to_string(),
    }
}

/// Box deleted one of its webhooks (app removed, tokens revoked, auto clean-up): if the
/// relay manages it for this instance, mark it deleted with Box's reason, count it once (Box's
/// retries find it already deleted), and with `box.webhook.recreate` create it again, in a
/// task of its own: Box's answer never waits for Box's API. A delivery to one instance
/// never touches another's record. The event itself is delivered as any other.
async fn forget_webhook(
    state: &IngestState,
    instance: &Arc<Instance>,
    webhook_id: String,
    reason: Option<&str>,
) {
    let recorded = recorded_reason(reason);
    let label = crate::metrics::deleted_reason_label(reason);
    let id = webhook_id.as_str();
    match state
        .store
        .mark_webhook_deleted(instance.id, id, crate::clock::now_ms(), &recorded)
        .await
    {
        Ok(true) => {
            state.metrics.box_webhook_deleted(label);
            tracing::info!(
                webhook_id = id,
                reason = ?recorded,
                recreate = instance.box_webhook_recreate,
                "Box deleted a webhook the relay manages"
            );
            if instance.box_webhook_recreate {
                let service = state.service.clone();
                let instance = instance.clone();
                tokio::spawn(async move {
                    service.recreate_webhook(&instance, &webhook_id).await;
                });
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, webhook_id = id, "could not mark a Box webhook deleted")
        }
    }
}

/// Box V1 callback (query string and form body merged).
#[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
pub async fn v1(
    State(state): State<IngestState>,
    instance_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let instance_id = path_id(instance_id);
    tracing::Span::current().record("instance_id", instance_id.as_str());
    let instance = find_instance(&state, &instance_id);
    let (parts, body) = request.into_parts();
    let result = receive_v1(&state, instance.clone(), query, &parts.headers, body).await;
    answer(&state, instance.as_deref(), result)
}

async fn receive_v1(
    state: &IngestState,
    instance: Option<Arc<Instance>>,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Receipt, ApiError> {
    let instance = admit(state, instance)?;
    let query = query.unwrap_or_default();
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    if !v1_token_matches(instance.v1_token.as_ref(), token.as_deref()) {
        tracing::info!(
            keyless = instance.v1_token.is_none(),
            "refused Box V1 callback: bad token"
        );
        return Err(ApiError::InvalidToken);
    }
    let body = state.bodies.read(headers, body, state.body_limit).await?;
    let form = Verified::by_token(&body.bytes);
    let callback = V1Callback::parse(query.as_bytes(), form.body());
    ingest_v1(state, &instance, &callback).await
}

/// A V1 callback admitted for `instance`: ignored when the instance takes no events, else
/// normalized and committed.
async fn ingest_v1(
    state: &IngestState,
    instance: &Instance,
    callback: &V1Callback,
) -> Result<Receipt, ApiError> {
    if let Some(reason) = ignored(instance) {
        return Ok(Receipt::Ignored(reason));
    }
    let trigger = selection::v1_trigger(callback.item_type(), callback.event());
    if !selected(instance, &trigger) {
        return Ok(Receipt::Ignored(selection::NOT_SELECTED));
    }
    let normalized = normalize_v1(instance, &state.sender, Utc::now(), callback);
    store(state, instance, normalized).await
}

/// A Box V1 callback whose instance is found from its own parameters, not from the path
/// (Cloud Elements' public intake, `POST /elements/api-v2/events/box`): the body is read
/// under the same limits, parsed as the V1 route parses it, and `find` names the instance
/// (none: 404, whatever the reason); then it is ingested, answered and counted exactly as
/// `/webhooks/box/{id}/v1` would. `find` is the only authentication: V1 has no signature.
pub async fn v1_found_by(
    state: &IngestState,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
    find: impl FnOnce(&V1Callback) -> Option<Arc<Instance>>,
) -> Result<Json<Value>, ApiError> {
    let mut found = None;
    let result = async {
        if state.shutdown.is_cancelled() {
            return Err(ApiError::ShuttingDown);
        }
        let body = state.bodies.read(headers, body, state.body_limit).await?;
        // Admitted by the caller's opt-in match, the V1 route's token's counterpart.
        let form = Verified::by_token(&body.bytes);
        let query = query.unwrap_or_default();
        let callback = V1Callback::parse(query.as_bytes(), form.body());
        let instance = find(&callback).ok_or(ApiError::NotFound("no such instance"))?;
        tracing::Span::current().record("instance_id", instance.id);
        found = Some(instance.clone());
        ingest_v1(state, &instance, &callback).await
    }
    .await;
    answer(state, found.as_deref(), result)
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

/// Whether the instance's event selection takes a delivery of `trigger` (every delivery,
/// without one).
fn selected(instance: &Instance, trigger: &str) -> bool {
    instance
        .selection
        .as_ref()
        .is_none_or(|s| selection::selects(s, trigger))
}

/// The `reason` label of `relay_events_ignored_total` for an `ignored` answer.
fn ignored_label(reason: &str) -> &'static str {
    match reason {
        selection::NOT_SELECTED => "not_selected",
        "the instance is disabled" => "disabled",
        _ => "events_disabled",
    }
}

/// The instance, unless the relay is shutting down or there is none (checked before the
/// body is read: an unknown instance costs the caller nothing but a 404).
fn admit(state: &IngestState, instance: Option<Arc<Instance>>) -> Result<Arc<Instance>, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::ShuttingDown);
    }
    instance.ok_or(ApiError::NotFound("no such instance"))
}

/// Compares a V1 URL token with the instance's in constant time, lengths included (both
/// sides are hashed first); an instance without one compares too, and matches nothing.
fn v1_token_matches(expected: Option<&Secret>, given: Option<&str>) -> bool {
    let digest = |s: &str| -> [u8; 32] { Sha256::digest(s.as_bytes()).into() };
    let given = digest(given.unwrap_or_default());
    let (expected, known) = match expected {
        Some(t) => (digest(t.expose()), true),
        None => (digest("webhook-relay: no V1 token configured"), false),
    };
    bool::from(expected.ct_eq(&given)) & known
}

/// The instance a path names, looked up once per request.
fn find_instance(state: &IngestState, raw_id: &str) -> Option<Arc<Instance>> {
    raw_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .and_then(|id| state.instances.get(id))
}

async fn store(
    state: &IngestState,
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
