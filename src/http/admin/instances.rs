//! `POST|GET /instances` (`GET` filtered by `tags[]`), `GET|PUT|PATCH|DELETE /instances/{id}`: the body read as an
//! [`InstanceRequest`], the [`crate::admin::instances`] operation called, the instance
//! answered as an [`InstanceAnswer`].

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use bytes::Bytes;

use super::{instance_id, AdminState};
use crate::http::error::{ApiError, ErrorBody};
use crate::input;
use crate::instance::api::{InstanceAnswer, InstanceRequest};

/// Create an instance.
///
/// Answers the new instance with its token, the only time the token is shown (the store
/// keeps its digest). With `providerData.code` (or `box.auth = "client_credentials"`) Box
/// tokens are obtained first: if Box refuses, nothing is created.
#[utoipa::path(
    post,
    path = "/instances",
    operation_id = "createInstance",
    request_body(
        content = InstanceRequest,
        description = "Cloud Elements' body. `element.key` must be `box`; `providerData` is \
            accepted and ignored unless it carries an OAuth `code`."
    ),
    responses(
        (status = 200, description = "The new instance, with its id and token.", body = InstanceAnswer),
        (status = 400, description = "`invalid_value`: `key` names the offending value; nothing \
            created. Or `box_error`: Box refused the OAuth code.", body = ErrorBody),
    )
)]
pub async fn create(
    State(admin): State<AdminState>,
    body: Bytes,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let request: InstanceRequest = input::read(&body)?;
    let created = admin.service.create_instance(&request).await?;
    Ok(Json(
        InstanceAnswer::of(&created.instance).with_token(created.token.expose()),
    ))
}

/// List instances.
#[utoipa::path(
    get,
    path = "/instances",
    operation_id = "listInstances",
    params((
        "tags[]" = Option<Vec<String>>,
        Query,
        description = "Only instances carrying any of these tags (repeat it: \
            `tags[]=a&tags[]=b`; `tags` is read alike)."
    )),
    responses((
        status = 200,
        description = "Every instance, by id: the configuration file's (readOnly) and the API's.",
        body = Vec<InstanceAnswer>
    ))
)]
pub async fn list(
    State(admin): State<AdminState>,
    RawQuery(query): RawQuery,
) -> Json<Vec<InstanceAnswer>> {
    let tags: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "tags[]" || name == "tags")
        .map(|(_, tag)| tag.into_owned())
        .collect();
    let instances = admin.service.instances_tagged(&tags);
    Json(instances.iter().map(|i| InstanceAnswer::of(i)).collect())
}

/// Show an instance.
#[utoipa::path(
    get,
    path = "/instances/{id}",
    operation_id = "getInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "The instance.", body = InstanceAnswer),
        (status = 404, description = "No such instance.", body = ErrorBody),
    )
)]
pub async fn show(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let instance = admin.service.instance(instance_id(&id)?).await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}

/// Change an instance.
///
/// Fields given replace; configuration keys given as `null` go; the rest stays.
#[utoipa::path(
    patch,
    path = "/instances/{id}",
    operation_id = "patchInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    request_body(
        content = InstanceRequest,
        description = "Fields given replace; configuration keys given as null are removed; \
            others stay."
    ),
    responses(
        (status = 200, description = "The changed instance.", body = InstanceAnswer),
        (status = 400, description = "`invalid_value`; nothing changed.", body = ErrorBody),
        (status = 404, description = "No such instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn patch(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let request: InstanceRequest = input::read(&body)?;
    let instance = admin
        .service
        .patch_instance(instance_id(&id)?, &request)
        .await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}

/// Replace an instance.
///
/// The whole instance, as `POST /instances` reads it; its id, token and creation date stay.
/// With `providerData.code` the instance is re-provisioned: new Box tokens first, and if Box
/// refuses, nothing changes.
#[utoipa::path(
    put,
    path = "/instances/{id}",
    operation_id = "replaceInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    request_body(
        content = InstanceRequest,
        description = "Cloud Elements' body, whole (`element.key` and `name` required); keys \
            left out are removed."
    ),
    responses(
        (status = 200, description = "The instance as replaced.", body = InstanceAnswer),
        (status = 400, description = "`invalid_value`, or `box_error`: Box refused the OAuth \
            code; nothing changed.", body = ErrorBody),
        (status = 404, description = "No such instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn replace(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let request: InstanceRequest = input::read(&body)?;
    let instance = admin
        .service
        .replace_instance(instance_id(&id)?, &request)
        .await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}

/// Delete an instance.
#[utoipa::path(
    delete,
    path = "/instances/{id}",
    operation_id = "deleteInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "The instance as it was. Its events stay readable by \
            eventId; pending ones end as failed.", body = InstanceAnswer),
        (status = 404, description = "No such instance.", body = ErrorBody),
        (status = 409, description = "`read_only`: defined in the configuration file.", body = ErrorBody),
    )
)]
pub async fn delete(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let instance = admin.service.delete_instance(instance_id(&id)?).await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}
