//! Cloud Elements' instance configuration and state calls: `GET /instances/{id}/configuration`,
//! `GET|PATCH /instances/{id}/configuration/{configId}` and `PUT|DELETE
//! /instances/{id}/enabled` (platform credentials), and `GET /instances/configuration`,
//! `GET|PATCH /instances/configuration/{configId}` acting on the instance whose Element token
//! is sent. What is done is in [`crate::admin::configuration`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use bytes::Bytes;

use super::{instance_id, AdminState};
use crate::http::error::{ApiError, ErrorBody};
use crate::input;
use crate::instance::api::InstanceAnswer;
use crate::instance::entries::{ConfigEntry, PropertyPatch};
use crate::instance::Instance;

/// List an instance's configuration.
#[utoipa::path(
    get,
    path = "/instances/{id}/configuration",
    operation_id = "getInstanceConfiguration",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "Every entry, by key: the keys the relay knows (null when \
            unset) and every key set; secrets masked as `********`.", body = Vec<ConfigEntry>),
        (status = 404, description = "No such instance.", body = ErrorBody),
    )
)]
pub async fn list(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    Ok(Json(admin.service.configuration(instance_id(&id)?).await?))
}

/// Show one configuration entry.
#[utoipa::path(
    get,
    path = "/instances/{id}/configuration/{configId}",
    operation_id = "getInstanceConfigurationEntry",
    params(
        ("id" = i64, Path, description = "Instance id.", minimum = 1),
        ("configId" = String, Path, description = "The entry's numeric id, or its key."),
    ),
    responses(
        (status = 200, description = "The entry.", body = ConfigEntry),
        (status = 404, description = "No such instance or entry.", body = ErrorBody),
    )
)]
pub async fn show(
    State(admin): State<AdminState>,
    Path((id, config_id)): Path<(String, String)>,
) -> Result<Json<ConfigEntry>, ApiError> {
    let id = instance_id(&id)?;
    Ok(Json(
        admin.service.configuration_entry(id, &config_id).await?,
    ))
}

/// Change one configuration entry.
#[utoipa::path(
    patch,
    path = "/instances/{id}/configuration/{configId}",
    operation_id = "patchInstanceConfigurationEntry",
    params(
        ("id" = i64, Path, description = "Instance id.", minimum = 1),
        ("configId" = String, Path, description = "The entry's numeric id, or its key."),
    ),
    request_body(content = PropertyPatch, description = "`propertyValue`, validated as \
        `PATCH /instances/{id}` validates that key; the answered entry may be sent back whole."),
    responses(
        (status = 200, description = "The entry as changed.", body = ConfigEntry),
        (status = 400, description = "`invalid_value`, `key` naming the configuration key; \
            nothing changed.", body = ErrorBody),
        (status = 404, description = "No such instance or entry.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn patch(
    State(admin): State<AdminState>,
    Path((id, config_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<ConfigEntry>, ApiError> {
    let id = instance_id(&id)?;
    let body = input::object(&body)?;
    Ok(Json(
        admin
            .service
            .patch_configuration(id, &config_id, body)
            .await?,
    ))
}

/// List the configuration of the instance whose Element token is sent.
#[utoipa::path(
    get,
    path = "/instances/configuration",
    operation_id = "getOwnConfiguration",
    security(("element" = [])),
    responses((status = 200, description = "Every entry of the caller's instance; secrets \
        masked.", body = Vec<ConfigEntry>))
)]
pub async fn own_list(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
) -> Result<Json<Vec<ConfigEntry>>, ApiError> {
    Ok(Json(admin.service.configuration(instance.id).await?))
}

/// Show one configuration entry of the instance whose Element token is sent.
#[utoipa::path(
    get,
    path = "/instances/configuration/{configId}",
    operation_id = "getOwnConfigurationEntry",
    security(("element" = [])),
    params(("configId" = String, Path, description = "The entry's numeric id, or its key.")),
    responses(
        (status = 200, description = "The entry.", body = ConfigEntry),
        (status = 404, description = "No such entry on the caller's instance.", body = ErrorBody),
    )
)]
pub async fn own_show(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(config_id): Path<String>,
) -> Result<Json<ConfigEntry>, ApiError> {
    let entry = admin
        .service
        .configuration_entry(instance.id, &config_id)
        .await?;
    Ok(Json(entry))
}

/// Change one configuration entry of the instance whose Element token is sent.
#[utoipa::path(
    patch,
    path = "/instances/configuration/{configId}",
    operation_id = "patchOwnConfigurationEntry",
    security(("element" = [])),
    params(("configId" = String, Path, description = "The entry's numeric id, or its key.")),
    request_body(content = PropertyPatch, description = "`propertyValue`, validated as an \
        instance PATCH validates that key."),
    responses(
        (status = 200, description = "The entry as changed.", body = ConfigEntry),
        (status = 400, description = "`invalid_value`, `key` naming the configuration key; \
            nothing changed.", body = ErrorBody),
        (status = 404, description = "No such entry on the caller's instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn own_patch(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(config_id): Path<String>,
    body: Bytes,
) -> Result<Json<ConfigEntry>, ApiError> {
    let body = input::object(&body)?;
    let entry = admin
        .service
        .patch_configuration(instance.id, &config_id, body)
        .await?;
    Ok(Json(entry))
}

/// Enable an instance.
#[utoipa::path(
    put,
    path = "/instances/{id}/enabled",
    operation_id = "enableInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "The instance, enabled: Box deliveries are accepted again.", body = InstanceAnswer),
        (status = 404, description = "No such instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn enable(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let instance = admin.service.set_enabled(instance_id(&id)?, true).await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}

/// Disable an instance.
#[utoipa::path(
    delete,
    path = "/instances/{id}/enabled",
    operation_id = "disableInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "The instance, disabled (`\"disabled\": true`): Box \
            deliveries are answered `ignored`.", body = InstanceAnswer),
        (status = 404, description = "No such instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn disable(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let instance = admin.service.set_enabled(instance_id(&id)?, false).await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}
