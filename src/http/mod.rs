//! The HTTP surface: Box-facing webhook routes, operator endpoints ([`ops`]) and the admin
//! API ([`admin`]), sharing [`AppState`].

pub mod admin;
pub mod body;
pub mod box_webhooks;
pub mod error;
pub mod ops;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::box_api::tokens::BoxAuth;
use crate::box_webhook::verify::Freshness;
use crate::destination::DestinationPolicy;
use crate::ingest::BatchWriter;
use crate::instance::Instances;
use crate::metrics::Metrics;
use crate::store::health::StorageHealth;
use crate::store::Store;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Known instances.
    pub instances: Instances,
    /// The group-commit writer.
    pub writer: BatchWriter,
    /// The store (for readiness).
    pub store: Store,
    /// Freshness window of Box V2 timestamps.
    pub freshness: Freshness,
    /// Largest accepted body.
    pub body_limit: usize,
    /// Body bytes in flight across all requests.
    pub bodies: body::BodyBudget,
    /// The envelope's `user`.
    pub sender: Arc<str>,
    /// Cancelled when shutdown starts.
    pub shutdown: CancellationToken,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Admin credentials; `None` turns the admin API off.
    pub admin: Option<Arc<admin::AdminAuth>>,
    /// Wakes the delivery poller (after a replay).
    pub wake: Arc<Notify>,
    /// `delivery.allow_private_destinations` and `delivery.allowed_private_networks`: which
    /// callbacks are accepted.
    pub destinations: DestinationPolicy,
    /// Box tokens of instances, and the Box client.
    pub box_auth: Arc<BoxAuth>,
    /// `server.public_url`, when set.
    pub public_url: Option<Arc<str>>,
    /// Whether the store is taking writes.
    pub health: Arc<StorageHealth>,
}

/// The router with every route.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    // Admin bodies: a declared length over the limit is refused before anything is read.
    let admin = match state.admin {
        Some(_) => admin::routes(state.clone())
            .merge(admin::webhooks::routes(state.clone()))
            .layer(axum::extract::DefaultBodyLimit::max(state.body_limit))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(
                state.body_limit,
            )),
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
