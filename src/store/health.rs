//! Whether the store is taking writes: the group-commit writer and the outcome recorder
//! report each commit here, and `/readyz` says why it is not ready (disk full, read-only,
//! unreachable), from the database's own error codes, never from its message text.

use std::error::Error;
use std::io::ErrorKind;
use std::sync::Mutex;

use super::StoreError;

/// The last write failure, until a write succeeds again.
#[derive(Debug, Default)]
pub struct StorageHealth(Mutex<Option<&'static str>>);

impl StorageHealth {
    /// A write succeeded.
    pub fn ok(&self) {
        *self.lock() = None;
    }

    /// A write failed with `error`.
    pub fn failed(&self, error: &StoreError) {
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

/// No space left for the database.
pub const FULL: &str = "storage full: no space left for the database";
/// The database or its volume refuses writes.
pub const READ_ONLY: &str = "storage is read-only";
/// SQLite could not open its file.
pub const CANNOT_OPEN: &str =
    "cannot open the database file: its volume may be read-only or its directory missing";
/// No answer in time.
pub const TIMED_OUT: &str = "storage did not answer in time";
/// The server is down, restarting, or refusing connections.
pub const UNREACHABLE: &str = "storage unreachable: the database server is down or restarting";
/// Anything else.
pub const UNAVAILABLE: &str = "storage unavailable";

// SQLite primary result codes (https://www.sqlite.org/rescode.html).
const SQLITE_READONLY: i64 = 8;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// A store error as a reason an operator can act on, without the error's own text: read
/// from the first database error code or I/O error kind found in its chain of causes.
pub fn reason(error: &StoreError) -> &'static str {
    if let StoreError::TimedOut(_) = error {
        return TIMED_OUT;
    }
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = cause {
        let found = if let Some(e) = e.downcast_ref::<sqlx::Error>() {
            database_reason(e)
        } else if let Some(e) = e.downcast_ref::<rusqlite::ffi::Error>() {
            sqlite_reason(i64::from(e.extended_code))
        } else if let Some(e) = e.downcast_ref::<std::io::Error>() {
            io_reason(e.kind())
        } else {
            None
        };
        if let Some(reason) = found {
            return reason;
        }
        cause = e.source();
    }
    UNAVAILABLE
}

fn database_reason(e: &sqlx::Error) -> Option<&'static str> {
    if let Some(code) = sqlite_code(e) {
        return sqlite_reason(code);
    }
    match e {
        sqlx::Error::PoolTimedOut => Some(TIMED_OUT),
        sqlx::Error::Io(e) => io_reason(e.kind()),
        // PostgreSQL's SQLSTATE.
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("53100") => Some(FULL),                               // disk_full
            Some("25006") => Some(READ_ONLY),                          // read_only_sql_transaction
            Some("57P01" | "57P02" | "57P03") => Some(UNREACHABLE),    // shutting down, starting
            Some(code) if code.starts_with("08") => Some(UNREACHABLE), // connection exception
            _ => None,
        },
        _ => None,
    }
}

/// What a SQLite result code (primary or extended) tells an operator, if anything.
fn sqlite_reason(code: i64) -> Option<&'static str> {
    match code & 0xff {
        SQLITE_FULL => Some(FULL),
        SQLITE_READONLY => Some(READ_ONLY),
        SQLITE_CANTOPEN => Some(CANNOT_OPEN),
        _ => None,
    }
}

fn io_reason(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::StorageFull => Some(FULL),
        ErrorKind::ReadOnlyFilesystem => Some(READ_ONLY),
        ErrorKind::TimedOut => Some(TIMED_OUT),
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable => Some(UNREACHABLE),
        _ => None,
    }
}

/// The extended result code of a SQLite error.
pub(crate) fn sqlite_code(e: &sqlx::Error) -> Option<i64> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    db.code()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: ErrorKind) -> StoreError {
        StoreError::Database(sqlx::Error::Io(std::io::Error::from(kind)))
    }

    #[test]
    fn reasons_come_from_codes_and_kinds_not_text() {
        assert_eq!(reason(&io(ErrorKind::StorageFull)), FULL);
        assert_eq!(reason(&io(ErrorKind::ReadOnlyFilesystem)), READ_ONLY);
        assert_eq!(reason(&io(ErrorKind::ConnectionRefused)), UNREACHABLE);
        assert_eq!(
            reason(&StoreError::Database(sqlx::Error::PoolTimedOut)),
            TIMED_OUT
        );
        assert_eq!(reason(&StoreError::TimedOut("commit")), TIMED_OUT);
        // A message that only says "disk is full" is not a code: no guess from text.
        let text = StoreError::Secrets("database or disk is full".into());
        assert_eq!(reason(&text), UNAVAILABLE);
        // Causes are followed: the lock file of a read-only volume, a failed batch.
        let lock = StoreError::open(
            "cannot create relay.db.lock",
            std::io::Error::from(ErrorKind::ReadOnlyFilesystem),
        );
        assert_eq!(reason(&lock), READ_ONLY);
        let batch = StoreError::Commit(std::sync::Arc::new(io(ErrorKind::StorageFull)));
        assert_eq!(reason(&batch), FULL);
    }

    #[tokio::test]
    async fn a_write_to_a_read_only_sqlite_file_reads_as_read_only() {
        use sqlx::sqlite::SqliteConnectOptions;
        use sqlx::{ConnectOptions, Connection};
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("ro.db"))
            .create_if_missing(true);
        let mut conn = options.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut conn = options.read_only(true).connect().await.unwrap();
        let e = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(sqlite_code(&e).map(|c| c & 0xff), Some(SQLITE_READONLY));
        assert_eq!(reason(&StoreError::Database(e)), READ_ONLY);
    }

    #[test]
    fn health_remembers_the_last_failure_until_a_write_succeeds() {
        let h = StorageHealth::default();
        h.failed(&io(ErrorKind::StorageFull));
        assert_eq!(h.problem(), Some(FULL));
        h.ok();
        assert!(h.problem().is_none());
    }
}
