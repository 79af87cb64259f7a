//! An instance's Box V2 webhooks, as Cloud Elements' normalized `/webhooks` resource:
//! `POST /webhooks` creates the Box webhook pointing at the relay's address for the instance
//! (`server.public_url` + `/webhooks/box/{id}`), `GET /webhooks`, `GET|PUT|DELETE
//! /webhooks/{id}` mirror Box's. Authorized as `User <user_secret>, Element <instance token>`;
//! Box is called with the instance's token, refreshed and retried once on a 401.
//!
//! Tenants are kept apart by the relay's records, not by Box: several instances often share
//! one Box account, so Box would let one act on another's webhooks. `GET|PUT|DELETE
//! /webhooks/{id}` act only on a live record of this instance (404 otherwise, before Box is
//! called), and the list keeps only this instance's webhooks.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use reqwest::Method;
use serde_json::{json, Value};

use super::unavailable;
use super::webhook_body::{read_body, HookRequest, Target};
use crate::clock::now_ms;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::instance::Instance;
use crate::secret::TokenDigest;
use crate::store::box_api::WebhookRow;

/// The routes, behind the Element credentials.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).put(update).delete(delete))
        .route_layer(middleware::from_fn_with_state(state, require_element))
}

/// The instance whose token this is: the given token's digest is compared with every
/// instance's stored digest, each in constant time, without stopping at a match.
fn by_token(state: &AppState, token: &str) -> Option<Arc<Instance>> {
    let given = TokenDigest::of(token);
    let mut found = None;
    for i in state.instances.all() {
        if i.token.is_some_and(|digest| digest.same_as(&given)) {
            found = Some(i);
        }
    }
    found
}

/// Finds the instance whose token the header carries, after checking the user secret. An
/// instance created on another replica a moment ago is found by checking the store for
/// changes (only for callers that know the user secret).
async fn require_element(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = state.admin.as_ref().and_then(|a| a.element_token(header));
    let mut instance = token.and_then(|t| by_token(&state, t));
    if let (None, Some(t)) = (&instance, token) {
        if let Err(e) = state.instances.refresh(&state.store, false).await {
            tracing::warn!(error = %e, "could not refresh instances");
        }
        instance = by_token(&state, t);
    }
    let Some(instance) = instance else {
        tracing::info!("webhooks request refused: bad credentials");
        return ApiError::Unauthorized.into_response();
    };
    request.extensions_mut().insert(instance);
    next.run(request).await
}

/// Calls Box for `instance`; on a 401, refreshes the token once and retries.
async fn call_box(
    state: &AppState,
    instance: &Instance,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<(u16, Value), ApiError> {
    let auth = &state.box_auth;
    let token = auth.token(instance, None).await?;
    let first = auth
        .client()
        .call(method.clone(), path, &token.token, query, body)
        .await;
    match first {
        Err(e) if e.is_unauthorized() => {
            tracing::info!(
                instance_id = instance.id,
                "Box answered 401; refreshing the token"
            );
            let token = auth.token(instance, Some(token.version)).await?;
            Ok(auth
                .client()
                .call(method, path, &token.token, query, body)
                .await?)
        }
        other => Ok(other?),
    }
}

/// The answer for a webhook this instance may not see: the same whether it does not exist
/// or belongs to another instance.
const NO_SUCH_WEBHOOK: ApiError = ApiError::NotFound("no such webhook");

/// A Box id in a path: digits only (Box's ids are numeric strings).
fn box_id(raw: &str) -> Result<&str, ApiError> {
    (!raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then_some(raw)
        .ok_or(NO_SUCH_WEBHOOK)
}

/// The live record of the webhook `raw` names, when it belongs to `instance`; 404 otherwise.
async fn owned(state: &AppState, instance: &Instance, raw: &str) -> Result<WebhookRow, ApiError> {
    let id = box_id(raw)?;
    match state.store.get_webhook(id).await {
        Ok(Some(row)) if row.instance_id == instance.id && row.deleted_at_ms.is_none() => Ok(row),
        Ok(Some(_)) => {
            tracing::info!(
                instance_id = instance.id,
                webhook_id = id,
                "webhook request refused: not this instance's webhook"
            );
            Err(NO_SUCH_WEBHOOK)
        }
        Ok(None) => Err(NO_SUCH_WEBHOOK),
        Err(e) => Err(unavailable(state, e)),
    }
}

/// The address Box calls for `instance`, when `server.public_url` is set.
fn own_address(state: &AppState, instance: &Instance) -> Option<String> {
    let base = state.public_url.as_deref()?;
    Some(format!(
        "{}/webhooks/box/{}",
        base.trim_end_matches('/'),
        instance.id
    ))
}

/// The address Box calls for `instance`; 409 without `server.public_url`.
fn address(state: &AppState, instance: &Instance) -> Result<String, ApiError> {
    own_address(state, instance).ok_or_else(|| ApiError::Conflict {
        code: "not_configured",
        detail: "server.public_url is not configured: the relay does not know its public address"
            .into(),
    })
}

/// `POST /webhooks`: creates the Box webhook; answers Box's (201).
pub async fn create(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = read_body(&body, false)?;
    let (Some(target), Some(triggers)) = (request.target, request.triggers) else {
        return Err(ApiError::invalid(
            "body",
            "target and triggers are required",
        ));
    };
    let Target {
        id: target_id,
        kind: target_type,
    } = target;
    let address = address(&state, &instance)?;
    let request = json!({
        "target": { "id": target_id, "type": target_type },
        "address": address,
        "triggers": triggers,
    });
    let (status, created) = call_box(
        &state,
        &instance,
        Method::POST,
        "webhooks",
        &[],
        Some(&request),
    )
    .await?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let row = WebhookRow {
        id: id.clone(),
        instance_id: instance.id,
        target_id,
        target_type,
        triggers,
        address,
        created_at_ms: now_ms(),
        deleted_at_ms: None,
        deleted_reason: None,
    };
    match state.store.insert_webhook(&row).await {
        Ok(true) => {}
        // Box ids are unique: only a confused Box (or store) gets here. The record keeps its
        // owner; this instance cannot manage that webhook through the relay.
        Ok(false) => tracing::error!(
            instance_id = instance.id,
            webhook_id = %id,
            "Box returned a webhook id recorded for another instance; its owner is unchanged"
        ),
        // Box has the webhook; its deliveries are accepted whether or not it is recorded.
        Err(e) => {
            tracing::error!(error = %e, webhook_id = %id, "could not record a created Box webhook")
        }
    }
    tracing::info!(instance_id = instance.id, webhook_id = %id, "Box webhook created");
    Ok((
        StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
        Json(created),
    ))
}

/// `GET /webhooks`: Box's list as a bare array, keeping only this instance's webhooks (its
/// live records, or those whose address is this instance's); Box's `next_marker` as
/// `Next-Cursor`. A page may hold fewer entries than `limit`, or none, before the last.
pub async fn list(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<(HeaderMap, Json<Value>), ApiError> {
    let mut query = Vec::new();
    if let Some(c) = params.get("cursor") {
        query.push(("marker", c.as_str()));
    }
    if let Some(l) = params.get("limit") {
        query.push(("limit", l.as_str()));
    }
    let (_, page) = call_box(&state, &instance, Method::GET, "webhooks", &query, None).await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = page
        .get("next_marker")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .and_then(|m| m.parse().ok())
    {
        headers.insert("next-cursor", next);
    }
    let entries = match page.get("entries") {
        Some(Value::Array(entries)) => entries.clone(),
        _ => Vec::new(),
    };
    Ok((
        headers,
        Json(Value::Array(only_own(&state, &instance, entries).await?)),
    ))
}

/// Of Box's `entries`, those of `instance`.
async fn only_own(
    state: &AppState,
    instance: &Instance,
    entries: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let id_of = |w: &Value| w.get("id").and_then(Value::as_str).map(str::to_string);
    let ids: Vec<String> = entries.iter().filter_map(id_of).collect();
    let recorded = state
        .store
        .owned_webhook_ids(instance.id, &ids)
        .await
        .map_err(|e| unavailable(state, e))?;
    let address = own_address(state, instance);
    Ok(entries
        .into_iter()
        .filter(|w| {
            let ours =
                address.is_some() && w.get("address").and_then(Value::as_str) == address.as_deref();
            ours || id_of(w).is_some_and(|id| recorded.contains(&id))
        })
        .collect())
}

/// `GET /webhooks/{id}`: Box's webhook, when it is this instance's.
pub async fn show(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = owned(&state, &instance, &id).await?;
    let path = format!("webhooks/{}", row.id);
    let (_, webhook) = call_box(&state, &instance, Method::GET, &path, &[], None).await?;
    Ok(Json(webhook))
}

/// `PUT /webhooks/{id}`: new target and/or triggers (the address stays the relay's), when it
/// is this instance's.
pub async fn update(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut row = owned(&state, &instance, &id).await?;
    let id = row.id.clone();
    let HookRequest { target, triggers } = read_body(&body, true)?;
    let address = address(&state, &instance)?;
    let mut request = json!({ "address": address });
    if let Some(t) = &target {
        request["target"] = json!({ "id": t.id, "type": t.kind });
    }
    if let Some(t) = &triggers {
        request["triggers"] = json!(t);
    }
    let path = format!("webhooks/{id}");
    let (_, webhook) = call_box(&state, &instance, Method::PUT, &path, &[], Some(&request)).await?;
    if let Some(t) = target {
        row.target_id = t.id;
        row.target_type = t.kind;
    }
    if let Some(t) = triggers {
        row.triggers = t;
    }
    row.address = address;
    if let Err(e) = state.store.update_webhook(&row).await {
        tracing::warn!(error = %e, webhook_id = id, "could not record a Box webhook change");
    }
    Ok(Json(webhook))
}

/// `DELETE /webhooks/{id}`: deletes Box's webhook (204, as Box), when it is this instance's.
pub async fn delete(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = owned(&state, &instance, &id).await?;
    let id = row.id.as_str();
    call_box(
        &state,
        &instance,
        Method::DELETE,
        &format!("webhooks/{id}"),
        &[],
        None,
    )
    .await?;
    if let Err(e) = state
        .store
        .mark_webhook_deleted(instance.id, id, now_ms(), "deleted through the relay")
        .await
    {
        tracing::warn!(error = %e, webhook_id = id, "could not record a Box webhook deletion");
    }
    tracing::info!(
        instance_id = instance.id,
        webhook_id = id,
        "Box webhook deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}
