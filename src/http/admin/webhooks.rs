//! An instance's Box V2 webhooks, as Cloud Elements' normalized `/webhooks` resource:
//! `POST /webhooks` creates the Box webhook pointing at the relay's address for the instance
//! (`server.public_url` + `/webhooks/box/{id}`), `GET /webhooks`, `GET|PUT|DELETE
//! /webhooks/{id}` mirror Box's. Authorized as `User <user_secret>, Element <instance token>`;
//! Box is called with the instance's token, refreshed and retried once on a 401.

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
use serde_json::{json, Map, Value};

use crate::box_api::triggers;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::instance::Instance;
use crate::secret::TokenDigest;
use crate::store::box_api::WebhookRow;
use crate::store::now_ms;

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
        if let Err(e) = state.instances.refresh(&*state.store, false).await {
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

/// A Box id in a path: digits only (Box's ids are numeric strings).
fn box_id(raw: &str) -> Result<&str, ApiError> {
    (!raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then_some(raw)
        .ok_or(ApiError::NotFound("no such webhook"))
}

/// A Box file or folder.
struct Target {
    id: String,
    kind: String,
}

/// The checked fields of a create or update body (both required to create).
struct HookRequest {
    target: Option<Target>,
    triggers: Option<Vec<String>>,
}

/// Reads and checks a create (`partial` false) or update body.
fn read_body(body: &Bytes, partial: bool) -> Result<HookRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("not JSON ({e})")))?;
    let Value::Object(body) = value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let target = match body.get("target") {
        None if partial => None,
        Some(Value::Object(t)) => Some(read_target(t)?),
        _ => {
            return Err(ApiError::invalid(
                "target",
                "required: {\"id\", \"type\": \"file\"|\"folder\"}",
            ))
        }
    };
    let list = match body.get("triggers") {
        None if partial => None,
        Some(Value::Array(list)) if !list.is_empty() => Some(list),
        _ => {
            return Err(ApiError::invalid(
                "triggers",
                "required: a non-empty array of Box triggers",
            ))
        }
    };
    let triggers = list
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, t)| match t.as_str() {
                    Some(t) if triggers::is_known(t) => Ok(t.to_string()),
                    _ => Err(ApiError::invalid(
                        format!("triggers[{i}]"),
                        format!("{t} is not a Box webhook trigger"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(HookRequest { target, triggers })
}

fn read_target(t: &Map<String, Value>) -> Result<Target, ApiError> {
    let id = match t.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ApiError::invalid(
                "target.id",
                "required: the Box file or folder id",
            ))
        }
    };
    let kind = match t.get("type").and_then(Value::as_str) {
        Some(k @ ("file" | "folder")) => k.to_string(),
        _ => return Err(ApiError::invalid("target.type", "\"file\" or \"folder\"")),
    };
    if kind == "folder" && id == "0" {
        return Err(ApiError::invalid(
            "target.id",
            "Box does not allow webhooks on the root folder (id 0)",
        ));
    }
    Ok(Target { id, kind })
}

/// The address Box calls for `instance`.
fn address(state: &AppState, instance: &Instance) -> Result<String, ApiError> {
    let base = state
        .public_url
        .as_deref()
        .ok_or_else(|| ApiError::Conflict {
            code: "not_configured",
            detail:
                "server.public_url is not configured: the relay does not know its public address"
                    .into(),
        })?;
    Ok(format!(
        "{}/webhooks/box/{}",
        base.trim_end_matches('/'),
        instance.id
    ))
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
    if let Err(e) = state.store.insert_webhook(&row).await {
        // Box has the webhook; its deliveries are accepted whether or not it is recorded.
        tracing::error!(error = %e, webhook_id = %id, "could not record a created Box webhook");
    }
    tracing::info!(instance_id = instance.id, webhook_id = %id, "Box webhook created");
    Ok((
        StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
        Json(created),
    ))
}

/// `GET /webhooks`: Box's list as a bare array; Box's `next_marker` as `Next-Cursor`.
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
    Ok((
        headers,
        Json(page.get("entries").cloned().unwrap_or_else(|| json!([]))),
    ))
}

/// `GET /webhooks/{id}`: Box's webhook.
pub async fn show(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let path = format!("webhooks/{}", box_id(&id)?);
    let (_, webhook) = call_box(&state, &instance, Method::GET, &path, &[], None).await?;
    Ok(Json(webhook))
}

/// `PUT /webhooks/{id}`: new target and/or triggers (the address stays the relay's).
pub async fn update(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = box_id(&id)?;
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
    if let Ok(Some(mut row)) = state.store.get_webhook(id).await {
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
    }
    Ok(Json(webhook))
}

/// `DELETE /webhooks/{id}`: deletes Box's webhook (204, as Box).
pub async fn delete(
    State(state): State<AppState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = box_id(&id)?;
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
        .mark_webhook_deleted(id, now_ms(), "deleted through the relay")
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
