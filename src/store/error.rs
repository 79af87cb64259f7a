//! What can go wrong in the store, with the cause kept as the error's source: the database's
//! own error (whose code [`super::health::reason`] reads), the I/O error of a lock or key
//! file, or the decoding error of a row that is not what the relay wrote.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Any cause a store error may carry.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Storage failed: ingest answers 503 and Box retries; the admin API answers 503.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused the operation.
    #[error("storage unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite refused a write of the engine's writer thread (shared by every request of the
    /// transaction it failed).
    #[error("storage unavailable: {0}")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    /// The store could not be opened (file, lock, connection or migration).
    #[error("{what}: {source}")]
    Open {
        /// What could not be done, and where.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The database did not answer in time.
    #[error("storage did not answer in time ({0})")]
    TimedOut(&'static str),
    /// The group commit this write was part of failed (every request of the batch shares
    /// the one cause).
    #[error("the group commit failed: {0}")]
    Commit(#[source] Arc<StoreError>),
    /// The store was shut down.
    #[error("storage is shutting down")]
    Closed,
    /// A stored secret cannot be read or written with this process's key.
    #[error("{0}")]
    Secrets(String),
    /// A stored row is not what the relay writes (an unknown status, tags that are not a
    /// JSON list, a missing body…): an error, logged and counted ([`CorruptRows`]), never
    /// read as a default.
    #[error("{what} in the store does not decode: {source}")]
    Corrupt {
        /// Which row, e.g. `event 1b2c…` or `instance 7`.
        what: String,
        /// The decoding error.
        #[source]
        source: Cause,
    },
}

impl StoreError {
    /// An opening failure: `what` could not be done, because of `source`.
    pub fn open(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        StoreError::Open {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// How many stored rows failed to decode since the store was opened; shared by every
/// clone of the store, read by `GET /metrics` (`relay_corrupt_rows_total`).
#[derive(Debug, Clone, Default)]
pub struct CorruptRows(Arc<AtomicU64>);

impl CorruptRows {
    /// Rows found corrupt so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Turns a failed read of `what` into an error: a row that does not decode is logged,
    /// counted and answered as [`StoreError::Corrupt`]; anything else is the database's.
    pub(crate) fn check(&self, what: impl FnOnce() -> String, e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::TypeNotFound { .. } => self.found(what(), e.into()),
            e => StoreError::Database(e),
        }
    }

    /// As [`Self::check`], for the SQLite writer thread's errors: a value of the wrong type
    /// is a corrupt row.
    pub(crate) fn sqlite(&self, what: impl FnOnce() -> String, e: StoreError) -> StoreError {
        match &e {
            StoreError::Sqlite(inner)
                if matches!(
                    **inner,
                    rusqlite::Error::InvalidColumnType(..)
                        | rusqlite::Error::FromSqlConversionFailure(..)
                        | rusqlite::Error::IntegralValueOutOfRange(..)
                ) =>
            {
                self.found(what(), Box::new(e))
            }
            _ => e,
        }
    }

    /// Logs and counts a corrupt row; the error to answer.
    pub(crate) fn found(&self, what: String, source: Cause) -> StoreError {
        self.counted(StoreError::Corrupt { what, source })
    }

    /// `e`, logged and counted first when it is [`StoreError::Corrupt`].
    pub(crate) fn counted(&self, e: StoreError) -> StoreError {
        if let StoreError::Corrupt { what, source } = &e {
            self.0.fetch_add(1, Ordering::Relaxed);
            tracing::error!(row = %what, error = %source, "a stored row does not decode");
        }
        e
    }
}
