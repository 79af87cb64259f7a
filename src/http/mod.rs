//! The HTTP surface, one state per surface: the Box-facing webhook routes ([`box_webhooks`],
//! [`IngestState`]), the operator endpoints ([`ops`], [`OpsState`]) and the admin API
//! ([`admin`], [`admin::AdminState`], present only when admin credentials are configured).
//! Handlers take only their surface's state, extracted from [`AppState`] with `FromRef`.

pub mod admin;
pub mod body;
pub mod box_webhooks;
pub mod error;
pub mod ops;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Request};
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::box_webhook::verify::Freshness;
use crate::instance::Instances;
use crate::metrics::Metrics;
use crate::store::batch::BatchWriter;
use crate::store::health::StorageHealth;
use crate::store::Store;

/// What the Box-facing routes use.
#[derive(Clone)]
pub struct IngestState {
    /// Known instances.
    pub instances: Instances,
    /// The group-commit writer.
    pub writer: BatchWriter,
    /// The store (to mark a webhook deleted when Box says so).
    pub store: Arc<dyn Store>,
    /// Freshness window of Box V2 timestamps.
    pub freshness: Freshness,
    /// Largest accepted body (admin bodies too).
    pub body_limit: usize,
    /// Body bytes in flight across all requests.
    pub bodies: body::BodyBudget,
    /// The envelope's `user`.
    pub sender: Arc<str>,
    /// Cancelled when shutdown starts.
    pub shutdown: CancellationToken,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// What `/readyz` and `/metrics` use.
#[derive(Clone)]
pub struct OpsState {
    /// The store (probed for readiness, read for queue depth).
    pub store: Arc<dyn Store>,
    /// Whether the store is taking writes.
    pub health: Arc<StorageHealth>,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
    /// Cancelled when shutdown starts (not ready any more).
    pub shutdown: CancellationToken,
}

/// Every surface's state; the router hands each handler its own part.
#[derive(Clone)]
pub struct AppState {
    /// The Box-facing routes'.
    pub ingest: IngestState,
    /// The operator endpoints'.
    pub ops: OpsState,
    /// The admin API's; `None` turns the admin API off (its routes do not exist).
    pub admin: Option<admin::AdminState>,
}

impl FromRef<AppState> for IngestState {
    fn from_ref(state: &AppState) -> Self {
        state.ingest.clone()
    }
}

impl FromRef<AppState> for OpsState {
    fn from_ref(state: &AppState) -> Self {
        state.ops.clone()
    }
}

/// The router with every route.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let body_limit = state.ingest.body_limit;
    // Admin bodies: a declared length over the limit is refused before anything is read.
    let admin = match state.admin.clone() {
        Some(admin) => admin::routes(admin)
            .layer(axum::extract::DefaultBodyLimit::max(body_limit))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit)),
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
