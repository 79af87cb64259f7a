//! Resuming an instance suspended under the `queue` failure policy: its held events are
//! delivered again, oldest first; the event that failed stays failed until replayed.

use super::{AdminError, AdminResult, AdminService};
use crate::delivery::suspension;
use crate::instance::Instance;

impl AdminService {
    /// Resumes instance `id` (a config file's instance too) and wakes delivery. Resuming an
    /// instance that is not suspended changes nothing and answers it as it is.
    pub async fn resume(&self, id: i64) -> AdminResult<Instance> {
        if self.instances.get(id).is_none() {
            return Err(AdminError::NotFound("no such instance"));
        }
        let resumed = suspension::resume(&self.store, Some(&self.metrics), id, "admin API")
            .await
            .map_err(|e| self.unavailable(e))?;
        self.reload().await;
        if resumed {
            self.wake.notify_one();
        }
        self.instances
            .get(id)
            .map(|i| (*i).clone())
            .ok_or(AdminError::NotFound("no such instance"))
    }
}
