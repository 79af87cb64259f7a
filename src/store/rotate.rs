//! `webhook-relay secrets rotate` in the store: every instance configuration and Box token
//! re-sealed under a new key in one transaction ([`super::secrets`]), on a connection of its
//! own that first makes sure no relay is using the database. How each engine makes sure
//! differs: SQLite holds the file exclusively; PostgreSQL locks the instances' meta table
//! and counts the relays' sessions.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::Connection;

use super::error::CorruptRows;
use super::health::sqlite_code;
use super::secrets::{convert_rows, SecretsReport};
use super::sql::Conn;
use super::StoreError;
use crate::secret::Cipher;

// SQLite primary result codes: another connection holds the file.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Re-seals every secret of the database at `path` from `old` to `new` in one transaction,
/// on a connection that holds the file exclusively: while a relay (or any tool) has the file
/// open, this is refused, and a relay started meanwhile waits for it (then opens its rows
/// with its key, or refuses to start).
pub async fn sqlite(path: &str, old: &Cipher, new: &Cipher) -> Result<SecretsReport, StoreError> {
    if !Path::new(path).exists() {
        return Err(StoreError::open(path, "no such database"));
    }
    let in_use = |e: sqlx::Error| match sqlite_code(&e).map(|c| c & 0xff) {
        Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::open(
            format!("{path} is in use"),
            "stop the relay (and any `webhook-relay events`) first",
        ),
        _ => StoreError::from(e),
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_millis(500));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(in_use)?;
    if let Err(e) = super::sqlite::MIGRATOR.run(&mut conn).await {
        let _ = conn.close().await;
        return Err(match e {
            sqlx::migrate::MigrateError::Execute(e) => in_use(e),
            e => StoreError::open("migration failed", e),
        });
    }
    let result = async {
        let tx = conn.begin_with("BEGIN EXCLUSIVE").await.map_err(in_use)?;
        reseal_all(Conn::sqlite_tx(tx, &CorruptRows::default()), old, new).await
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Re-seals every secret of the database at `url` from `old` to `new` in one transaction.
/// Refused while a relay is connected (a session named `webhook-relay`); a relay that
/// starts meanwhile waits for the transaction at its own start-up check, then opens its rows
/// with its key or refuses to start.
pub async fn postgres(url: &str, old: &Cipher, new: &Cipher) -> Result<SecretsReport, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name("webhook-relay-secrets");
    let mut conn = sqlx::PgConnection::connect_with(&options).await?;
    let result = async {
        super::postgres::MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::open("migration failed", e))?;
        let mut tx = conn.begin().await?;
        sqlx::query("LOCK TABLE instances_meta IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let relays: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(super::postgres::APPLICATION_NAME)
        .fetch_one(&mut *tx)
        .await?;
        if relays > 0 {
            return Err(StoreError::open(
                format!("{relays} relay connection(s) use this database"),
                "stop every relay replica (and any `webhook-relay events`) first",
            ));
        }
        reseal_all(Conn::postgres_tx(tx, &CorruptRows::default()), old, new).await
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Re-seals every row in `tx` and commits.
async fn reseal_all(
    mut tx: Conn<'_>,
    old: &Cipher,
    new: &Cipher,
) -> Result<SecretsReport, StoreError> {
    let report = convert_rows(&mut tx, old, new, true).await?;
    tx.commit().await?;
    Ok(report)
}
