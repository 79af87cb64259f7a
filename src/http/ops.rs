//! Operator endpoints: `/healthz` (the process answers), `/readyz` (storage reachable, taking
//! writes, and not shutting down) and `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::OpsState;
use crate::store::{now_ms, StoreError};

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
    // After a failed commit, only a write tells whether the store takes writes again.
    let probe = match state.health.problem() {
        Some(_) => state.store.probe_write(),
        None => state.store.ping(),
    };
    let result = tokio::time::timeout(std::time::Duration::from_secs(2), probe)
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable("timed out".into())));
    match result {
        Ok(()) => {
            state.health.ok();
            (StatusCode::OK, Json(json!({ "status": "ready" })))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            state.health.failed(&e.to_string());
            let reason = crate::store::health::reason(&e.to_string());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "reason": reason })),
            )
        }
    }
}

/// Prometheus text format. Queue depth is read from the store (at most 2 s); when it cannot
/// be read, the gauges keep their last values and `relay_store_errors_total` counts it.
pub async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let stats = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.queue_stats())
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable("timed out".into())));
    let stats = match stats {
        Ok(stats) => Some(stats),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read queue statistics");
            state.metrics.store_error("queue_stats");
            None
        }
    };
    (
        [(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(stats, now_ms()),
    )
}
