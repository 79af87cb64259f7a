//! What the console's instance list shows of each instance's events: how many wait for
//! delivery, how many failed, and when the last one arrived. Read through the
//! `(instance_id, status, seq)` and `(instance_id, seq)` indexes, one instance at a time.
//! Written once for both engines.

use super::{Side, Store, StoreError};

/// An instance's event activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Activity {
    /// Events pending or being delivered.
    pub pending: i64,
    /// Events that failed for good.
    pub failed: i64,
    /// Receipt time of the newest event, unix milliseconds.
    pub last_received_ms: Option<i64>,
}

impl Store {
    /// The event activity of instance `instance_id`.
    pub async fn activity(&self, instance_id: i64) -> Result<Activity, StoreError> {
        self.conn(Side::Read)
            .await?
            .fetch_one(
                || format!("the activity of instance {instance_id}"),
                "SELECT \
                   (SELECT COUNT(*) FROM events WHERE instance_id = $1 \
                      AND status IN ('pending', 'delivering')) AS pending, \
                   (SELECT COUNT(*) FROM events WHERE instance_id = $1 \
                      AND status = 'failed') AS failed, \
                   (SELECT received_at FROM events WHERE instance_id = $1 \
                      ORDER BY seq DESC LIMIT 1) AS last_received_ms",
                &[instance_id.into()],
            )
            .await
    }
}
