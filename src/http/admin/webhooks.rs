//! An instance's Box V2 webhooks, as Cloud Elements' normalized `/webhooks` resource:
//! `POST /webhooks` creates the Box webhook pointing at the relay's address for the instance,
//! `GET /webhooks`, `GET|PUT|DELETE /webhooks/{id}` mirror Box's answers. Authorized as
//! `User <user_secret>, Element <instance token>`; what is done is in
//! [`crate::admin::webhooks`], which keeps tenants apart.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use crate::admin::hook_request::HookRequest;
use crate::http::error::{ApiError, ErrorBody};
use crate::instance::Instance;

/// Box's webhook object, passed through as Box answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = BoxWebhookShape)]
pub struct BoxWebhook(pub Value);

/// What Box's webhook object holds (documentation only: the answer is Box's, as it is).
#[derive(ToSchema)]
#[allow(dead_code)] // describes Box's JSON in the document; never built
struct BoxWebhookShape {
    /// Box's webhook id.
    id: String,
    /// `webhook`.
    #[schema(pattern = "^webhook$")]
    r#type: String,
    /// The file or folder whose events Box sends.
    target: crate::admin::hook_request::Target,
    /// Box's user who created it.
    #[schema(value_type = Option<Object>)]
    created_by: Option<Value>,
    /// When Box created it.
    #[schema(format = DateTime)]
    created_at: Option<String>,
    /// `server.public_url` + `/webhooks/box/{instance id}`.
    address: String,
    /// Box V2 triggers.
    triggers: Vec<String>,
}

/// Finds the instance whose token the header carries, after checking the user secret, and
/// hands it to the handler.
pub async fn require_element(
    State(admin): State<AdminState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let instance = match admin.auth.element_token(header) {
        Some(token) => admin.service.instance_by_token(token).await,
        None => None,
    };
    let Some(instance) = instance else {
        tracing::info!("webhooks request refused: bad credentials");
        return ApiError::Unauthorized.into_response();
    };
    request.extensions_mut().insert(instance);
    next.run(request).await
}

/// Create a Box webhook delivering to the relay.
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "createWebhook",
    security(("element" = [])),
    request_body = HookRequest,
    responses(
        (status = 201, description = "Box's new webhook; its address is the relay's for this instance.", body = BoxWebhook),
        (status = 200, description = "Box already had this app's webhook on the target, pointing at \
            this instance's relay address: adopted (now managed by the relay for this instance).", body = BoxWebhook),
        (status = 409, description = "`box_error`: Box's `conflict`, the target has a webhook that \
            does not point at this instance.", body = ErrorBody),
        (status = 400, description = "`invalid_value`: target or trigger (`key` names it), \
            checked before Box is called.", body = ErrorBody),
    )
)]
pub async fn create(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    body: Bytes,
) -> Result<(StatusCode, Json<BoxWebhook>), ApiError> {
    let change = HookRequest::read(&body, false, admin.service.allow_unknown_triggers)?;
    let (status, created) = admin.service.create_webhook(&instance, change).await?;
    Ok((
        StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
        Json(BoxWebhook(created)),
    ))
}

/// The query of `GET /webhooks`, passed on to Box.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A `Next-Cursor` answered before (Box's marker): the list goes on from there.
    cursor: Option<String>,
    /// Size of each of Box's pages, as Box takes it.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

/// List the instance's Box webhooks.
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "listWebhooks",
    security(("element" = [])),
    params(ListParams),
    responses((
        status = 200,
        description = "Every webhook of this instance in Box's list, a bare array: Box's pages \
            are followed through `next_marker` (`limit` each), 20 at most; past that, \
            `Next-Cursor` says where to go on.",
        body = Vec<BoxWebhook>,
        headers(("Next-Cursor" = String, description = "Box's next_marker, when 20 pages did not reach the end."))
    ))
)]
pub async fn list(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Query(params): Query<ListParams>,
) -> Result<(HeaderMap, Json<Vec<BoxWebhook>>), ApiError> {
    let page = admin
        .service
        .list_webhooks(&instance, params.cursor.as_deref(), params.limit.as_deref())
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = page.next.and_then(|m| m.parse().ok()) {
        headers.insert("next-cursor", next);
    }
    Ok((
        headers,
        Json(page.entries.into_iter().map(BoxWebhook).collect()),
    ))
}

/// Show a Box webhook.
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    operation_id = "getWebhook",
    security(("element" = [])),
    params(("id" = String, Path, description = "Box's webhook id.", pattern = "^[0-9]+$")),
    responses(
        (status = 200, description = "Box's webhook.", body = BoxWebhook),
        (status = 404, description = "`not_found`: no such webhook of this instance.", body = ErrorBody),
    )
)]
pub async fn show(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<Json<BoxWebhook>, ApiError> {
    let row = admin.service.own_webhook(&instance, &id).await?;
    let webhook = admin.service.show_webhook(&instance, &row).await?;
    Ok(Json(BoxWebhook(webhook)))
}

/// Change a Box webhook's target or triggers.
///
/// The address stays the relay's. The webhook is checked to be this instance's before the
/// body is read.
#[utoipa::path(
    put,
    path = "/webhooks/{id}",
    operation_id = "updateWebhook",
    security(("element" = [])),
    params(("id" = String, Path, description = "Box's webhook id.", pattern = "^[0-9]+$")),
    request_body = HookRequest,
    responses(
        (status = 200, description = "Box's webhook.", body = BoxWebhook),
        (status = 400, description = "`invalid_value`: target or trigger (`key` names it).", body = ErrorBody),
        (status = 404, description = "`not_found`: no such webhook of this instance.", body = ErrorBody),
    )
)]
pub async fn update(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<BoxWebhook>, ApiError> {
    let row = admin.service.own_webhook(&instance, &id).await?;
    let change = HookRequest::read(&body, true, admin.service.allow_unknown_triggers)?;
    let webhook = admin.service.update_webhook(&instance, row, change).await?;
    Ok(Json(BoxWebhook(webhook)))
}

/// Delete a Box webhook.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    operation_id = "deleteWebhook",
    security(("element" = [])),
    params(("id" = String, Path, description = "Box's webhook id.", pattern = "^[0-9]+$")),
    responses(
        (status = 204, description = "Deleted at Box, and marked deleted in the relay's records."),
        (status = 404, description = "`not_found`: no such webhook of this instance.", body = ErrorBody),
    )
)]
pub async fn delete(
    State(admin): State<AdminState>,
    Extension(instance): Extension<Arc<Instance>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = admin.service.own_webhook(&instance, &id).await?;
    admin.service.delete_webhook(&instance, &row).await?;
    Ok(StatusCode::NO_CONTENT)
}
