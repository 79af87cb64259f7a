//! An instance's configuration on Cloud Elements' surface: `GET /instances/{id}/configuration`,
//! `GET|PATCH /instances/{id}/configuration/{configId}`, and the same without the id for the
//! instance whose Element token is sent. Entries are the relay's `{id, key, name,
//! propertyValue}` with the default entries filled in ([`super::view::DEFAULTS`]), so a
//! default can be read and changed by its id as Cloud Elements' scripts do; a PATCH answers
//! the entry with its `id`. The change itself is the admin service's.

use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;

use super::view::{entries, entry};
use super::{path_id, Element, Platform};
use crate::http::admin::AdminState;
use crate::http::error::ApiError;
use crate::input;
use crate::instance::entries::ConfigEntry;

const NO_SUCH_ENTRY: ApiError = ApiError::NotFound("no such configuration entry");

async fn list_of(admin: &AdminState, id: i64) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    Ok(Json(entries(&*admin.service.instance(id).await?)))
}

async fn show_of(
    admin: &AdminState,
    id: i64,
    config_id: &str,
) -> Result<Json<ConfigEntry>, ApiError> {
    let instance = admin.service.instance(id).await?;
    entry(&instance, config_id).map(Json).ok_or(NO_SUCH_ENTRY)
}

async fn patch_of(
    admin: &AdminState,
    id: i64,
    config_id: &str,
    body: &[u8],
) -> Result<Json<ConfigEntry>, ApiError> {
    let instance = admin.service.instance(id).await?;
    let key = entry(&instance, config_id).ok_or(NO_SUCH_ENTRY)?.key;
    let body = input::object(body)?;
    admin.service.set_configuration(id, &key, body).await?;
    show_of(admin, id, &key).await
}

/// List an instance's configuration.
pub async fn list(
    _: Platform,
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    list_of(&admin, path_id(&id)?).await
}

/// Show one entry, by id or key.
pub async fn show(
    _: Platform,
    State(admin): State<AdminState>,
    Path((id, config_id)): Path<(String, String)>,
) -> Result<Json<ConfigEntry>, ApiError> {
    show_of(&admin, path_id(&id)?, &config_id).await
}

/// Change one entry (`{"propertyValue": …}`; the entry may be sent back whole).
pub async fn patch(
    _: Platform,
    State(admin): State<AdminState>,
    Path((id, config_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<ConfigEntry>, ApiError> {
    patch_of(&admin, path_id(&id)?, &config_id, &body).await
}

/// List the configuration of the Element token's instance.
pub async fn own_list(
    Element(instance): Element,
    State(admin): State<AdminState>,
) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    list_of(&admin, instance.id).await
}

/// Show one entry of the Element token's instance.
pub async fn own_show(
    Element(instance): Element,
    State(admin): State<AdminState>,
    Path(config_id): Path<String>,
) -> Result<Json<ConfigEntry>, ApiError> {
    show_of(&admin, instance.id, &config_id).await
}

/// Change one entry of the Element token's instance.
pub async fn own_patch(
    Element(instance): Element,
    State(admin): State<AdminState>,
    Path(config_id): Path<String>,
    body: Bytes,
) -> Result<Json<ConfigEntry>, ApiError> {
    patch_of(&admin, instance.id, &config_id, &body).await
}
