//! Instances suspended under the `queue` failure policy: suspending one when an event of it
//! has failed for good, resuming it, listing them, and handing back the lease of an event
//! the workers must not attempt while its instance is suspended. Each change bumps the
//! instances' revision, so every replica's registry sees it. The claim and the next due
//! time (per engine) leave suspended instances' events alone. Written once for both engines.

use super::sql::Arg;
use super::{Lease, Side, Store, StoreError};

/// A suspended instance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Suspension {
    /// The instance.
    pub instance_id: i64,
    /// The event whose failure suspended it.
    pub event_id: String,
    /// When, unix milliseconds.
    pub suspended_at: i64,
}

impl Store {
    /// Suspends `instance_id` because `event_id` failed for good at its attempt `attempt`:
    /// only while the store says so (an outcome dropped as stale suspends nothing). True
    /// when the instance was not suspended before.
    pub async fn suspend_instance(
        &self,
        instance_id: i64,
        event_id: &str,
        attempt: u32,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                "INSERT INTO suspended_instances (instance_id, event_id, suspended_at) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM events WHERE event_id = $2 \
                   AND instance_id = $1 AND status = 'failed' AND attempts = $4) \
                 ON CONFLICT (instance_id) DO NOTHING",
                &[
                    instance_id.into(),
                    event_id.into(),
                    at_ms.into(),
                    i64::from(attempt).into(),
                ],
            )
            .await?;
        if n == 1 {
            tx.bump_revision().await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Lifts the suspension of `instance_id`; its held events are due again at once (they
    /// kept their times, so the oldest go first). True when it was suspended.
    pub async fn resume_instance(&self, instance_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                "DELETE FROM suspended_instances WHERE instance_id = $1",
                &[instance_id.into()],
            )
            .await?;
        if n == 1 {
            tx.bump_revision().await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Every suspended instance, by id.
    pub async fn suspensions(&self) -> Result<Vec<Suspension>, StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        conn.fetch_all(
            || "a suspended instance".into(),
            "SELECT instance_id, event_id, suspended_at FROM suspended_instances \
             ORDER BY instance_id",
            &[],
        )
        .await
    }

    /// Gives back a lease this process holds on an event it will not attempt (its instance
    /// was suspended after it was claimed): the event is pending again, as it was, with its
    /// attempts and due time unchanged. False when the lease was no longer held.
    pub async fn release_lease(&self, event_id: &str, lease: &Lease) -> Result<bool, StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        let n = conn
            .execute(
                "UPDATE events SET status = 'pending', lease_owner = NULL, lease_until = NULL \
                 WHERE event_id = $1 AND status = 'delivering' AND lease_owner = $2 \
                   AND lease_until = $3",
                &[
                    event_id.into(),
                    Arg::from(&*lease.owner),
                    lease.until_ms.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }
}
