//! The HTTP surface, one state per surface: the Box-facing webhook routes ([`box_webhooks`],
//! [`IngestState`]), the operator endpoints ([`ops`], [`OpsState`]) and the admin API
//! ([`admin`], [`admin::AdminState`], present only when admin credentials are configured).
//! Handlers take only their surface's state: ingest and ops handlers extract theirs from
//! [`AppState`] with `FromRef`; the admin routes are a router of their own, with their state
//! (see `state.rs`, which builds all three from the configuration).

pub mod admin;
pub mod body;
pub mod box_webhooks;
pub mod compat;
pub mod error;
pub mod ops;
pub mod serve;
mod state;

pub use state::{AppState, IngestState, OpsState, Parts};

use std::time::Duration;

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The router with every route, and `pages` (the operator console, built above this module)
/// under the same timeout and tracing.
pub fn router(state: AppState, request_timeout: Duration, pages: Router) -> Router {
    let body_limit = state.ingest.body_limit;
    // Admin bodies: a declared length over the limit is refused before anything is read.
    // Under Cloud Elements' base path the admin API answers as Cloud Elements did
    // ([`compat`]), so a stored Cloud Elements base URL needs only its host changed; the
    // root keeps the relay's shapes. Box's own intake and ops are not prefixed.
    let admin = match state.admin.clone() {
        Some(admin) => {
            let compat = compat::routes(
                admin.clone(),
                state.ingest.clone(),
                limited(admin::routes(admin.clone()), body_limit),
            );
            limited(
                Router::<AppState>::new().merge(admin::routes(admin)),
                body_limit,
            )
            .nest_service(admin::BASE_PATH, limited(compat, body_limit))
        }
        None => Router::new(),
    };
    Router::new()
        .route("/webhooks/box/{instance_id}", post(box_webhooks::v2))
        .route(
            "/webhooks/box/{instance_id}/v1",
            get(box_webhooks::v1).post(box_webhooks::v1),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(admin)
        .fallback(|| async { error::ApiError::NotFound("no such route") })
        .with_state(state)
        .merge(pages)
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // Spans carry the path only: a V1 query string holds the instance's token.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        }))
}

/// `router` with its bodies bounded by `limit`: a declared length over it is refused before
/// anything is read, and a body that grows past it is cut off.
fn limited<S: Clone + Send + Sync + 'static>(router: Router<S>, limit: usize) -> Router<S> {
    router
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
}
