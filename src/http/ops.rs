//! Operator endpoints: `/healthz` (the process answers), `/readyz` (storage reachable, taking
//! writes, and not shutting down) and `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::OpsState;
use crate::clock::now_ms;
use crate::store::StoreError;

/// 200 while the process runs.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when ready for traffic, else 503 with the reason.
pub async fn readyz(State(state): State<OpsState>) -> (StatusCode, Json<Value>) {
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": "shutting down" })),
        );
    }
    match crate::ingest::probe::check(&state.store, &state.health).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": reason })),
        ),
    }
}

/// Prometheus text format. Queue depth and suspended instances are read from the store (at
/// most 2 s each); when they cannot be read, the gauges keep their last values and
/// `relay_store_errors_total` counts it.
pub async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let stats = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.queue_stats())
        .await
        .unwrap_or(Err(StoreError::TimedOut("queue statistics")));
    let stats = match stats {
        Ok(stats) => Some(stats),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read queue statistics");
            state.metrics.store_error("queue_stats");
            None
        }
    };
    let suspended =
        tokio::time::timeout(std::time::Duration::from_secs(2), state.store.suspensions())
            .await
            .unwrap_or(Err(StoreError::TimedOut("suspended instances")));
    match suspended {
        Ok(suspended) => state.metrics.set_instances_suspended(suspended.len()),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read suspended instances");
            state.metrics.store_error("suspensions");
        }
    }
    (
        [(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state
            .metrics
            .render(stats, state.store.corrupt_rows().get(), now_ms()),
    )
}
