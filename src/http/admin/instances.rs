//! `POST|GET /instances`, `GET|PATCH|DELETE /instances/{id}`. Instances of the config file
//! are listed but read-only (409). Every change is validated as a config file's instance is,
//! plus the callback's destination, then stored, and this replica's registry reloaded. An
//! instance created with `providerData.code` (or `box.auth = "client_credentials"`) gets
//! its Box tokens first: if Box refuses, nothing is created.

use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use rand::RngCore;
use serde_json::Value;

use super::{instance_id, unavailable};
use crate::box_api::client::Grant;
use crate::box_api::keys as box_keys;
use crate::box_api::tokens::BoxAuth;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::instance::{api, Instance, Origin};
use crate::secret::{Secret, TokenDigest};
use crate::store::records::StoredInstance;

/// A new instance token: 32 random bytes, URL-safe base64.
fn new_token() -> Secret {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid("body", format!("not JSON ({e})")))
}

/// Validates a stored form as the registry will load it, and its callback's destination.
async fn validate(state: &AppState, stored: &StoredInstance) -> Result<Instance, ApiError> {
    // The id is not known yet for a new instance; any positive one validates alike.
    let probe = StoredInstance {
        id: stored.id.max(1),
        ..stored.clone()
    };
    let instance = Instance::from_stored(&probe).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    if let Some(url) = &instance.callback_url {
        crate::destination::check_destination(url, &state.destinations)
            .await
            .map_err(|reason| {
                ApiError::invalid(
                    format!("configuration.\"{}\"", crate::instance::keys::CALLBACK_URL),
                    reason,
                )
            })?;
    }
    Ok(instance)
}

/// Box tokens for a new instance, when its body asks for them: an OAuth `providerData.code`,
/// or Client Credentials (`box.auth`).
async fn box_grant(
    state: &AppState,
    instance: &Instance,
    body: &Value,
) -> Result<Option<Grant>, ApiError> {
    let code = match body.pointer("/providerData/code") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if !c.is_empty() => Some(c.as_str()),
        Some(_) => {
            return Err(ApiError::invalid(
                "providerData.code",
                "must be a non-empty string",
            ))
        }
    };
    let Some(form) = BoxAuth::provisioning_grant(instance, code) else {
        return Ok(None);
    };
    let mut required = vec![box_keys::CLIENT_ID, box_keys::CLIENT_SECRET];
    if code.is_none() {
        required.push(box_keys::ENTERPRISE_ID);
    }
    for key in required {
        let set = instance
            .configuration
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        if !set {
            return Err(ApiError::invalid(
                format!("configuration.\"{key}\""),
                "required to authorize with Box",
            ));
        }
    }
    let grant = state.box_auth.obtain(&form).await?;
    tracing::info!("Box authorization obtained");
    Ok(Some(grant))
}

/// Reloads this replica's registry after a write (others pick it up within a second).
async fn reload(state: &AppState) {
    if let Err(e) = state.instances.refresh(&state.store, true).await {
        tracing::warn!(error = %e, "could not reload instances after a change");
    }
}

/// `POST /instances`: Cloud Elements' body; answers the new instance with its token, the only
/// time the token is shown (the store keeps its digest).
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = json_body(&body)?;
    let mut new = api::new_instance(&body).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    let token = new_token();
    new.token = TokenDigest::of(token.expose());
    let probe = validate(&state, &new).await?;
    let grant = box_grant(&state, &probe, &body).await?;
    let stored = state
        .store
        .create_instance(&new, state.instances.config_max_id())
        .await
        .map_err(|e| unavailable(&state, e))?;
    if let Some(grant) = grant {
        if let Err(e) = state.box_auth.store_grant(stored.id, &grant).await {
            // Without its tokens the instance is not what was asked for: take it back.
            let _ = state.store.delete_instance(stored.id).await;
            return Err(e.into());
        }
    }
    reload(&state).await;
    tracing::info!(instance_id = stored.id, "instance created");
    let instance =
        Instance::from_stored(&stored).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    let mut answer = api::render(&instance);
    answer["token"] = Value::String(token.expose().to_string());
    Ok(Json(answer))
}

/// `GET /instances`: every instance, by id.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(
        state
            .instances
            .all()
            .iter()
            .map(|i| api::render(i))
            .collect(),
    )
}

/// `GET /instances/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = find(&state, &id).await?;
    Ok(Json(api::render(&instance)))
}

/// The instance, reading the store when this replica has not seen it yet.
async fn find(state: &AppState, raw: &str) -> Result<std::sync::Arc<Instance>, ApiError> {
    let id = instance_id(raw)?;
    if let Some(instance) = state.instances.get(id) {
        return Ok(instance);
    }
    match state.store.get_instance(id).await {
        Ok(Some(_)) => {
            reload(state).await;
            state
                .instances
                .get(id)
                .ok_or(ApiError::NotFound("no such instance"))
        }
        Ok(None) => Err(ApiError::NotFound("no such instance")),
        Err(e) => Err(unavailable(state, e)),
    }
}

/// The stored form of an API instance; 409 for the config file's, 404 when there is none.
async fn stored(state: &AppState, raw: &str) -> Result<StoredInstance, ApiError> {
    let id = instance_id(raw)?;
    if state
        .instances
        .get(id)
        .is_some_and(|i| i.origin == Origin::Config)
    {
        return Err(ApiError::Conflict {
            code: "read_only",
            detail: "this instance is defined in the configuration file; change it there".into(),
        });
    }
    state
        .store
        .get_instance(id)
        .await
        .map_err(|e| unavailable(state, e))?
        .ok_or(ApiError::NotFound("no such instance"))
}

/// `PATCH /instances/{id}`: fields given replace; configuration keys given as `null` go.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = json_body(&body)?;
    let mut instance = stored(&state, &id).await?;
    api::patch_instance(&mut instance, &body).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    validate(&state, &instance).await?;
    let found = state
        .store
        .update_instance(&instance)
        .await
        .map_err(|e| unavailable(&state, e))?;
    if !found {
        return Err(ApiError::NotFound("no such instance"));
    }
    reload(&state).await;
    tracing::info!(instance_id = instance.id, "instance updated");
    let instance =
        Instance::from_stored(&instance).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    Ok(Json(api::render(&instance)))
}

/// `DELETE /instances/{id}`: answers the instance as it was. Its stored events stay readable
/// by `eventId`; pending ones end as failed, since there is no callback any more.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = stored(&state, &id).await?;
    let found = state
        .store
        .delete_instance(instance.id)
        .await
        .map_err(|e| unavailable(&state, e))?;
    if !found {
        return Err(ApiError::NotFound("no such instance"));
    }
    reload(&state).await;
    tracing::info!(instance_id = instance.id, "instance deleted");
    let instance =
        Instance::from_stored(&instance).map_err(|e| ApiError::invalid(e.key, e.reason))?;
    Ok(Json(api::render(&instance)))
}
