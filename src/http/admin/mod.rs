//! The admin API, in Cloud Elements' platform shape: instances ([`instances`]), the event log
//! and replays ([`events`]), and its OpenAPI document, behind
//! `Authorization: User <user_secret>, Organization <organization_secret>`; and an instance's
//! Box webhooks ([`webhooks`]), behind `User <user_secret>, Element <instance token>`. With no
//! secrets configured none of these routes exist (404).

pub mod events;
pub mod instances;
mod webhook_body;
pub mod webhooks;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::config::AdminConfig;
use crate::store::StoreError;

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

async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let allowed = match (&state.admin, request.headers().get(AUTHORIZATION)) {
        (Some(auth), Some(value)) => value.to_str().map(|v| auth.allows(v)).unwrap_or(false),
        _ => false,
    };
    if !allowed {
        tracing::info!("admin request refused: bad credentials");
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

/// The admin routes, behind the credentials check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/instances", get(instances::list).post(instances::create))
        .route(
            "/instances/{id}",
            get(instances::show)
                .patch(instances::patch)
                .delete(instances::delete),
        )
        .route("/instances/{id}/events", get(events::list))
        .route("/instances/{id}/events/redeliver", post(events::replay_all))
        .route("/instances/events/{event_id}", get(events::show))
        .route(
            "/instances/events/{event_id}/redeliver",
            post(events::replay),
        )
        .route("/openapi.json", get(openapi))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// The OpenAPI 3 document of the admin API.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A store failure seen by an admin route: logged, answered 503.
fn unavailable(state: &AppState, e: StoreError) -> ApiError {
    tracing::error!(error = %e, "admin request: storage failed");
    state.metrics.store_error("admin");
    ApiError::Unavailable
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
}
