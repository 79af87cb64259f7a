//! `webhook-relay secrets rotate` in the store: every instance configuration and Box token
//! re-sealed under a new key in one transaction ([`super::secrets::convert_rows!`]), on a
//! connection of its own that first makes sure no relay is using the database.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::Row;

use super::StoreError;

/// Re-seals every secret of the database at `path` from `old` to `new` in one transaction,
/// on a connection that holds the file exclusively: while a relay (or any tool) has the file
/// open, this is refused, and a relay started meanwhile waits for it (then opens its rows
/// with its key, or refuses to start).
pub async fn sqlite(
    path: &str,
    old: &crate::secret::Cipher,
    new: &crate::secret::Cipher,
) -> Result<super::secrets::SecretsReport, StoreError> {
    use sqlx::{Connection, SqliteConnection};
    if !Path::new(path).exists() {
        return Err(StoreError::Unavailable(format!("{path}: no such database")));
    }
    let in_use = |e: sqlx::Error| {
        let text = e.to_string();
        if text.contains("locked") || text.contains("busy") {
            StoreError::Unavailable(format!(
                "{path} is in use: stop the relay (and any `webhook-relay events`) first"
            ))
        } else {
            StoreError::from(e)
        }
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_millis(500));
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(in_use)?;
    if let Err(e) = super::sqlite::MIGRATOR.run(&mut conn).await {
        let _ = conn.close().await;
        return Err(match e {
            sqlx::migrate::MigrateError::Execute(e) => in_use(e),
            e => StoreError::Unavailable(format!("migration failed: {e}")),
        });
    }
    let result = async {
        let mut tx = conn.begin_with("BEGIN EXCLUSIVE").await.map_err(in_use)?;
        let report = super::secrets::convert_rows!(tx, old, new, true)?;
        tx.commit().await?;
        Ok(report)
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Re-seals every secret of the database at `url` from `old` to `new` in one transaction.
/// Refused while a relay is connected (a session named `webhook-relay`); a relay that
/// starts meanwhile waits for the transaction at its own start-up check, then opens its rows
/// with its key or refuses to start.
pub async fn postgres(
    url: &str,
    old: &crate::secret::Cipher,
    new: &crate::secret::Cipher,
) -> Result<super::secrets::SecretsReport, StoreError> {
    use sqlx::{Connection, PgConnection};
    let options = PgConnectOptions::from_str(url)?.application_name("webhook-relay-secrets");
    let mut conn = PgConnection::connect_with(&options).await?;
    let result = async {
        super::postgres::MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let mut tx = conn.begin().await?;
        sqlx::query("LOCK TABLE instances_meta IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let relays: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(super::postgres::APPLICATION_NAME)
        .fetch_one(&mut *tx)
        .await?
        .get("n");
        if relays > 0 {
            return Err(StoreError::Unavailable(format!(
                "{relays} relay connection(s) use this database: stop every relay replica \
                 (and any `webhook-relay events`) first"
            )));
        }
        let report = super::secrets::convert_rows!(tx, old, new, true)?;
        tx.commit().await?;
        Ok(report)
    }
    .await;
    let _ = conn.close().await;
    result
}
