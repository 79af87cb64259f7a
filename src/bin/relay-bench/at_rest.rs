//! Bytes per event at rest: a phase's store, read after its relay stopped, divided by the
//! events it delivered, with where the bytes are (each table and index).
//!
//! - SQLite: the main file plus its WAL, after a `TRUNCATE` checkpoint (which copies the WAL
//!   back and empties it), so the figure is what stays on disk, counted once; the split is
//!   `dbstat`'s pages per table and index.
//! - PostgreSQL: the relay's tables with their TOAST, free-space maps and indexes
//!   (`pg_table_size` + `pg_relation_size` of each index in `public`), after a plain
//!   `VACUUM`. Plain, not `FULL`: it is what autovacuum does in production, and it does not
//!   shrink the files, so the space of row versions an update left behind is still counted
//!   (a steady state reuses it for new rows; `VACUUM FULL` would hide it). The catalogs
//!   (~7.5 MB in any database) are left out: `pg_database_size` is reported beside it.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::Connection;

/// What a store holds once its phase is over.
pub struct AtRest {
    /// Events in the store with status `delivered`.
    pub delivered: i64,
    /// Bytes counted (see the module's doc for each engine).
    pub bytes: u64,
    /// Bytes per table and index.
    pub by_relation: BTreeMap<String, u64>,
    /// PostgreSQL only: `pg_database_size`, catalogs included.
    pub database_size: Option<u64>,
    /// How `bytes` was measured.
    pub how: &'static str,
}

impl AtRest {
    /// Bytes per delivered event.
    pub fn per_event(&self) -> f64 {
        self.bytes as f64 / self.delivered.max(1) as f64
    }

    /// The JSON figures.
    pub fn to_json(&self) -> Value {
        let per_event: BTreeMap<&String, f64> = self
            .by_relation
            .iter()
            .map(|(name, b)| (name, (*b as f64 / self.delivered.max(1) as f64).round()))
            .collect();
        json!({
            "bytes_per_event": self.per_event().round(),
            "bytes": self.bytes,
            "delivered_events": self.delivered,
            "how": self.how,
            "database_size": self.database_size,
            "bytes_per_event_by_relation": per_event,
        })
    }
}

/// Measures the store at `url` (a `sqlite://` path or a PostgreSQL URL); its relay must have
/// stopped.
pub async fn measure(url: &str) -> Result<AtRest, sqlx::Error> {
    match url.strip_prefix("sqlite://") {
        Some(path) => sqlite(path).await,
        None => postgres(url).await,
    }
}

const DELIVERED: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM events WHERE status = 'delivered'";

async fn sqlite(path: &str) -> Result<AtRest, sqlx::Error> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    let delivered: i64 = sqlx::query_scalar(DELIVERED).fetch_one(&mut conn).await?;
    let pages: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, CAST(SUM(pgsize) AS BIGINT) FROM dbstat GROUP BY name")
            .fetch_all(&mut conn)
            .await?;
    conn.close().await?;
    let len = |p: String| std::fs::metadata(p).map_or(0, |m| m.len());
    Ok(AtRest {
        delivered,
        bytes: len(path.to_string()) + len(format!("{path}-wal")),
        by_relation: pages.into_iter().map(|(n, b)| (n, b as u64)).collect(),
        database_size: None,
        how: "main file + WAL after PRAGMA wal_checkpoint(TRUNCATE)",
    })
}

async fn postgres(url: &str) -> Result<AtRest, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql("VACUUM").execute(&mut conn).await?;
    let delivered: i64 = sqlx::query_scalar(DELIVERED).fetch_one(&mut conn).await?;
    let sizes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.relname::text, CASE c.relkind WHEN 'r' THEN pg_table_size(c.oid) \
           ELSE pg_relation_size(c.oid) END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')",
    )
    .fetch_all(&mut conn)
    .await?;
    let database: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    let by_relation: BTreeMap<String, u64> =
        sizes.into_iter().map(|(n, b)| (n, b as u64)).collect();
    Ok(AtRest {
        delivered,
        bytes: by_relation.values().sum(),
        by_relation,
        database_size: Some(database as u64),
        how: "tables (with TOAST) + indexes of the relay's schema after VACUUM",
    })
}
