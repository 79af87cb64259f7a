//! Readiness of the write path: while the last write succeeded, a ping says whether the
//! store answers; after a failed write (disk full, read-only volume), only a write tells
//! whether the store takes writes again, so `/readyz` comes back when the store does, even
//! with no traffic to show it.

use std::time::Duration;

use crate::store::health::{reason, StorageHealth};
use crate::store::{Store, StoreError};

/// Longest wait for the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Probes the store (a ping, or a write while writes are failing) and updates `health`;
/// why the store is not ready, if it is not.
pub async fn check(store: &Store, health: &StorageHealth) -> Result<(), &'static str> {
    let probe = async {
        match health.problem() {
            Some(_) => store.probe_write().await,
            None => store.ping().await,
        }
    };
    let result = tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or(Err(StoreError::TimedOut("readiness probe")));
    match result {
        Ok(()) => {
            health.ok();
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            health.failed(&e);
            Err(reason(&e))
        }
    }
}
