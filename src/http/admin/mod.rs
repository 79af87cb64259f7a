//! The admin API, in Cloud Elements' platform shape: instances ([`instances`]), the event log
//! and replays ([`events`]), event analytics ([`analytics`]), an instance's configuration
//! entries and state ([`configuration`]), resuming a suspended instance ([`suspension`]),
//! Box's authorize URL ([`oauth`]), and its OpenAPI document ([`doc`], generated from the
//! routes and types), behind `Authorization: User <user_secret>, Organization <organization_secret>`;
//! and an instance's Box webhooks ([`webhooks`]), behind `User <user_secret>, Element
//! <instance token>`. With no secrets configured none of these routes exist (404). Handlers
//! read typed input, call the [`AdminService`] and render a typed answer.

pub mod analytics;
pub mod configuration;
pub mod doc;
pub mod events;
pub mod instances;
pub mod oauth;
pub mod suspension;
pub mod webhooks;

use std::sync::{Arc, LazyLock};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use crate::admin::AdminService;
use crate::config::AdminConfig;

/// Cloud Elements' base path, under which every admin route answers too
/// (`/elements/api-v2/instances` is `/instances`).
pub const BASE_PATH: &str = "/elements/api-v2";

/// What the admin routes use.
#[derive(Clone)]
pub struct AdminState {
    /// The configured credentials.
    pub auth: Arc<AdminAuth>,
    /// The operations.
    pub service: AdminService,
    /// `box.authorize_url`, for `/elements/box/oauth/url`.
    pub authorize_url: Arc<url::Url>,
}

/// The configured credentials, kept as digests so that comparing them takes the same time
/// whatever the lengths and contents of the given values.
pub struct AdminAuth {
    user: [u8; 32],
    organization: [u8; 32],
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth(***)")
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

impl AdminAuth {
    /// `None` when both secrets are empty: the admin API is off.
    pub fn from_config(c: &AdminConfig) -> Option<Self> {
        (!c.user_secret.is_empty() && !c.organization_secret.is_empty()).then(|| Self {
            user: digest(c.user_secret.expose()),
            organization: digest(c.organization_secret.expose()),
        })
    }

    /// Checks `User <u>, Organization <o>` (parts in any order) in constant time.
    pub fn allows(&self, header: &str) -> bool {
        let user = part(header, "User");
        let organization = part(header, "Organization");
        let user_ok = digest(user).ct_eq(&self.user);
        let organization_ok = digest(organization).ct_eq(&self.organization);
        bool::from(user_ok & organization_ok) && !user.is_empty() && !organization.is_empty()
    }

    /// The instance token of `User <u>, Element <token>` when the user secret matches
    /// (constant time); the caller finds the instance.
    pub fn element_token<'h>(&self, header: &'h str) -> Option<&'h str> {
        let user = part(header, "User");
        let token = part(header, "Element");
        (bool::from(digest(user).ct_eq(&self.user)) && !user.is_empty() && !token.is_empty())
            .then_some(token)
    }
}

/// The value of the `scheme` part of a Cloud Elements `Authorization` header.
fn part<'h>(header: &'h str, scheme: &str) -> &'h str {
    header
        .split(',')
        .filter_map(|p| p.trim().split_once(' '))
        .find(|(s, _)| s.eq_ignore_ascii_case(scheme))
        .map_or("", |(_, v)| v.trim())
}

pub(crate) async fn require_admin(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|v| state.auth.allows(v));
    if !allowed {
        tracing::info!("admin request refused: bad credentials");
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

/// The platform routes (instances, the event log, this document).
fn platform() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(instances::list, instances::create))
        .routes(routes!(
            instances::show,
            instances::replace,
            instances::patch,
            instances::delete
        ))
        .routes(routes!(configuration::list))
        .routes(routes!(configuration::show, configuration::patch))
        .routes(routes!(configuration::enable, configuration::disable))
        .routes(routes!(suspension::resume))
        .routes(routes!(events::list))
        .routes(routes!(analytics::totals))
        .routes(routes!(analytics::by_instance))
        .routes(routes!(analytics::by_account))
        .routes(routes!(events::replay_all))
        .routes(routes!(events::show))
        .routes(routes!(events::replay))
        .routes(routes!(oauth::url_get, oauth::url_post))
        .routes(routes!(openapi))
}

/// The instance-scoped routes (Box webhooks, the caller's configuration).
fn element() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(configuration::own_list))
        .routes(routes!(configuration::own_show, configuration::own_patch))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::show, webhooks::update, webhooks::delete))
}

/// The admin routes, each group behind its credentials check, with their state.
pub fn routes<S: Clone + Send + Sync + 'static>(state: AdminState) -> Router<S> {
    let (platform, _) = platform().split_for_parts();
    let (element, _) = element().split_for_parts();
    platform
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .merge(element.route_layer(middleware::from_fn_with_state(
            state.clone(),
            webhooks::require_element,
        )))
        .with_state(state)
}

/// The OpenAPI 3 document of the admin API, generated from its routes and types.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiRouter::with_openapi(doc::Frame::openapi())
        .merge(platform())
        .merge(element())
        .into_openapi();
    doc::shared_answers(&mut doc);
    doc
}

/// The document as served, generated once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_json().unwrap_or_else(|_| "{}".to_string()));

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    responses((status = 200, description = "OpenAPI 3 document.", body = Object))
)]
async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

/// A positive integer path id, else 404 (as the Box routes do).
fn instance_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("no such instance"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn auth() -> AdminAuth {
        AdminAuth::from_config(&AdminConfig {
            user_secret: Secret::new("u-secret"),
            organization_secret: Secret::new("o-secret"),
        })
        .unwrap()
    }

    #[test]
    fn both_parts_must_match() {
        let a = auth();
        assert!(a.allows("User u-secret, Organization o-secret"));
        assert!(a.allows("Organization o-secret, User u-secret"));
        assert!(!a.allows("User u-secret, Organization wrong"));
        assert!(!a.allows("User wrong, Organization o-secret"));
        assert!(!a.allows("User u-secret"));
        assert!(!a.allows("Bearer u-secret"));
        assert!(!a.allows(""));
    }

    #[test]
    fn empty_secrets_turn_the_api_off() {
        assert!(AdminAuth::from_config(&AdminConfig::default()).is_none());
    }

    #[test]
    fn the_document_names_every_route_with_its_credentials() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert_eq!(doc["paths"].as_object().unwrap().len(), 19);
        let schemes = &doc["components"]["securitySchemes"];
        assert!(schemes["platform"]["description"]
            .as_str()
            .unwrap()
            .contains("Organization"));
        assert_eq!(
            doc["paths"]["/webhooks"]["post"]["security"][0]["element"],
            serde_json::json!([])
        );
        assert!(doc["components"]["schemas"]["Error"]["properties"]["key"].is_object());
        let answers = |path: &str, method: &str| doc["paths"][path][method]["responses"].clone();
        assert!(answers("/webhooks/{id}", "put")["502"].is_object());
        assert!(answers("/instances", "get")["401"].is_object());
        assert!(
            answers("/instances", "get")["502"].is_null(),
            "no Box call there"
        );
    }
}
