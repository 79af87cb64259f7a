//! One relay per SQLite file: the relay's store holds an exclusive lock on a file beside the
//! database, so a second relay started on the same file is refused at start instead of
//! releasing the first one's leases and delivering its events twice.

use std::fs::{File, OpenOptions, TryLockError};
use std::sync::{Arc, Mutex};

use super::StoreError;

/// The relay's exclusive hold on a database file: a lock on `<path>.lock`, held until
/// [`release`](Self::release) (the store closes) or the process ends. The OS releases it
/// with the process, even after SIGKILL, so a crash never leaves the file locked. The
/// default holds nothing (tools such as `webhook-relay events` run beside the relay).
#[derive(Debug, Clone, Default)]
pub struct DatabaseLock(Arc<Mutex<Option<File>>>);

impl DatabaseLock {
    /// Locks the database at `path`, or says which relay holds it and what to do instead.
    pub fn acquire(path: &str) -> Result<Self, StoreError> {
        let lock_path = format!("{path}.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::open(format!("cannot create {lock_path}"), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self(Arc::new(Mutex::new(Some(file))))),
            Err(TryLockError::WouldBlock) => Err(StoreError::open(
                format!("{path} is in use by another relay"),
                format!(
                    "it holds the lock file {lock_path}. One SQLite file serves one relay: \
                     stop the other relay first, or, to run several replicas, use PostgreSQL \
                     (storage.url = \"postgres://…\")"
                ),
            )),
            Err(TryLockError::Error(e)) => {
                Err(StoreError::open(format!("cannot lock {lock_path}"), e))
            }
        }
    }

    /// Lets go of the file: another relay may open it now.
    pub fn release(&self) {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(held);
    }
}
