//! Whether the store is taking writes: the group-commit writer and the outcome recorder
//! report each commit here, and `/readyz` says why it is not ready (disk full, read-only,
//! unreachable) — then probes with a write of its own, so readiness comes back when the
//! store does, even with no traffic to show it.

use std::sync::Mutex;

/// The last write failure, until a write succeeds again.
#[derive(Debug, Default)]
pub struct StorageHealth(Mutex<Option<&'static str>>);

impl StorageHealth {
    /// A write succeeded.
    pub fn ok(&self) {
        *self.lock() = None;
    }

    /// A write failed with `error` (the store's message, reduced to a reason to show).
    pub fn failed(&self, error: &str) {
        *self.lock() = Some(reason(error));
    }

    /// Why writes are failing, if they are.
    pub fn problem(&self) -> Option<&'static str> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<&'static str>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A store error as a reason an operator can act on, without the error's own text.
pub fn reason(error: &str) -> &'static str {
    let e = error.to_ascii_lowercase();
    if e.contains("disk is full") || e.contains("no space left") || e.contains("disk full") {
        "storage full: no space left for the database"
    } else if e.contains("readonly") || e.contains("read-only") || e.contains("read only") {
        "storage is read-only"
    } else if e.contains("unable to open database file") {
        "cannot open the database file: its volume may be read-only or its directory missing"
    } else if e.contains("timed out") {
        "storage did not answer in time"
    } else {
        "storage unavailable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_what_an_operator_can_fix() {
        assert_eq!(
            reason("error returned from database: (code: 13) database or disk is full"),
            "storage full: no space left for the database"
        );
        assert_eq!(
            reason("(code: 8) attempt to write a readonly database"),
            "storage is read-only"
        );
        assert_eq!(
            reason("pool timed out while waiting"),
            "storage did not answer in time"
        );
        assert_eq!(
            reason("password authentication failed for user x"),
            "storage unavailable"
        );
        let h = StorageHealth::default();
        h.failed("database or disk is full");
        assert!(h.problem().is_some());
        h.ok();
        assert!(h.problem().is_none());
    }
}
