//! Cloud Elements' compatibility surface, `/elements/api-v2`: the admin API answering as Cloud
//! Elements did (its platform tests, churros, pin the shapes), while the root routes keep the
//! relay's own. A thin adapter over the same [`crate::admin::AdminService`]: where Cloud
//! Elements differs it has a route of its own here ([`element`], [`instances`],
//! [`configuration`], [`events`], and Box's V1 intake [`intake`]), rendered by [`view`];
//! every other request falls through to the admin routes unchanged. On this surface an error
//! is also `{requestId, message}`, and an Element token of a disabled instance is refused (403).

pub mod configuration;
pub mod element;
pub mod events;
pub mod instances;
pub mod intake;
pub mod view;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;
use utoipa::ToSchema;

use super::admin::AdminState;
use super::error::{json_errors, ApiError};
use super::IngestState;
use crate::instance::Instance;

/// The compatibility routes over `admin` (the admin routes, with their state), which answer
/// whatever is not Cloud Elements-specific; Box's V1 intake uses `ingest`.
pub fn routes(state: AdminState, ingest: IngestState, admin: Router) -> Router {
    // A method a compatibility route lacks is the admin route's (e.g. POST
    // /instances/{id}/events/redeliver beside GET /instances/{id}/events/{eventId}), asked
    // afresh: without this route's path parameters, which the admin route would read too.
    let forward = {
        let admin = admin.clone();
        tower::service_fn(move |request: Request| {
            let (parts, body) = request.into_parts();
            let mut fresh = Request::new(body);
            *fresh.method_mut() = parts.method;
            *fresh.uri_mut() = parts.uri;
            *fresh.version_mut() = parts.version;
            *fresh.headers_mut() = parts.headers;
            admin.clone().oneshot(fresh)
        })
    };
    let on = |route: MethodRouter<AdminState>| route.fallback_service(forward.clone());
    let instance = || {
        get(instances::show)
            .put(instances::replace)
            .patch(instances::patch)
            .delete(instances::delete)
    };
    let instances = || get(instances::list).post(instances::create);
    let compat = Router::new()
        .route("/elements/{element}", on(get(element::show)))
        .route("/elements/{element}/instances", on(instances()))
        .route("/elements/{element}/instances/{id}", on(instance()))
        .route("/instances", on(instances().patch(instances::own_patch)))
        .route("/instances/{id}", on(instance()))
        .route(
            "/instances/enabled",
            on(put(instances::own_enable).delete(instances::own_disable)),
        )
        .route(
            "/instances/{id}/enabled",
            on(put(instances::enable).delete(instances::disable)),
        )
        .route("/instances/configuration", on(get(configuration::own_list)))
        .route(
            "/instances/configuration/{configId}",
            on(get(configuration::own_show).patch(configuration::own_patch)),
        )
        .route(
            "/instances/{id}/configuration",
            on(get(configuration::list)),
        )
        .route(
            "/instances/{id}/configuration/{configId}",
            on(get(configuration::show).patch(configuration::patch)),
        )
        .route("/instances/events", on(get(events::list_all)))
        .route("/instances/{id}/events", on(get(events::list)))
        .route("/instances/{id}/events/{eventId}", on(get(events::show)))
        .with_state(state.clone());
    let intake = Router::new()
        .route("/events/box", post(intake::box_v1))
        .with_state(ingest);
    compat
        .merge(intake)
        .fallback_service(admin)
        .layer(middleware::from_fn_with_state(state, refuse_disabled))
        .layer(middleware::map_response(cloud_elements_errors))
}

/// Platform credentials (`User …, Organization …`), checked before anything else is read.
pub struct Platform;

impl FromRequestParts<AdminState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, ApiError> {
        let allowed = authorization(parts).is_some_and(|v| state.auth.allows(v));
        if !allowed {
            tracing::info!("compat request refused: bad credentials");
            return Err(ApiError::Unauthorized);
        }
        Ok(Platform)
    }
}

/// The instance whose Element token is sent (`User …, Element <token>`).
pub struct Element(pub Arc<Instance>);

impl FromRequestParts<AdminState> for Element {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, ApiError> {
        match element_instance(authorization(parts), state).await {
            Some(instance) => Ok(Element(instance)),
            None => {
                tracing::info!("compat request refused: bad credentials");
                Err(ApiError::Unauthorized)
            }
        }
    }
}

fn authorization(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The instance of an `Element` credential whose user secret matches.
async fn element_instance(header: Option<&str>, state: &AdminState) -> Option<Arc<Instance>> {
    let token = state.auth.element_token(header?)?;
    state.service.instance_by_token(token).await
}

/// As Cloud Elements: a call made with a disabled instance's Element token is refused with
/// 403, whatever the route (the instance's Box webhooks included).
async fn refuse_disabled(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let instance = match header {
        Some(h) if h.to_ascii_lowercase().contains("element") => {
            element_instance(Some(h), &state).await
        }
        _ => None,
    };
    // Re-enabling with the instance's own token is the one call it may still make.
    let enabling =
        request.method() == Method::PUT && request.uri().path().ends_with("/instances/enabled");
    if let Some(instance) = instance.filter(|i| i.disabled && !enabling) {
        tracing::info!(
            instance_id = instance.id,
            "compat request refused: the instance is disabled"
        );
        return ApiError::Forbidden("the instance is disabled").into_response();
    }
    next.run(request).await
}

/// An error answer on this surface: the relay's `{code, detail}` (and `key`, `box`), plus
/// Cloud Elements' `requestId` and `message`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CompatError)]
pub struct CompatErrorBody {
    /// An id for this answer (also in the relay's log line), as Cloud Elements gave one.
    pub request_id: String,
    /// What went wrong, for a person (the same text as `detail`).
    pub message: String,
    /// Stable code, as on the root routes.
    pub code: String,
    /// As on the root routes.
    pub detail: String,
}

/// Adds `requestId` and `message` to every error answer of this surface (after making it
/// the relay's JSON error, should the framework have written it).
async fn cloud_elements_errors(response: Response) -> Response {
    if response.status().as_u16() < 400 {
        return response;
    }
    let response = json_errors(response).await;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        let detail = parts.status.canonical_reason().unwrap_or("error");
        serde_json::json!({"code": "server_error", "detail": detail.to_lowercase()})
    });
    if let Some(map) = value.as_object_mut() {
        let request_id = uuid::Uuid::new_v4().to_string();
        let message = map.get("detail").cloned().unwrap_or(Value::Null);
        tracing::info!(request_id = %request_id, status = parts.status.as_u16(), "compat error answer");
        map.insert("requestId".into(), Value::String(request_id));
        map.insert("message".into(), message);
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    let status = parts.status;
    let mut answer = (status, Json(value)).into_response();
    for (name, v) in parts.headers.iter() {
        if name != CONTENT_TYPE {
            answer.headers_mut().insert(name.clone(), v.clone());
        }
    }
    answer
}

/// A positive path id, else 404.
fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("no such instance"))
}
