//! The embedded engine: one SQLite file in WAL mode with `synchronous=FULL`, so a commit is
//! on disk before ingest answers. Writes go through one connection; reads through a small pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::lock::DatabaseLock;
use super::{
    AttemptOutcome, Claimed, Inserted, Lease, NewEvent, Status, StatusCounts, Store, StoreError,
    StoredEvent,
};

super::admin::impl_admin_store!(SqliteStore, reader: reader, writer: writer, row: sqlx::sqlite::SqliteRow, sqlite: true);

super::box_api::impl_box_api_store!(SqliteStore, reader: reader, writer: writer, row: sqlx::sqlite::SqliteRow);

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    checkpointer: SqlitePool,
    /// Seals and opens instance secrets; without it instances cannot be read or written.
    key: Option<crate::secret::Cipher>,
    /// The relay's exclusive hold on the file; none for tools.
    lock: DatabaseLock,
}

impl SqliteStore {
    /// The store, sealing instance secrets with `key`.
    pub fn with_key(mut self, key: Option<crate::secret::Cipher>) -> Self {
        self.key = key;
        self
    }

    /// Opens (creating if needed) the database file, migrates it, and, for the relay itself
    /// (`owner`), locks the file against a second relay ([`DatabaseLock`]) and releases
    /// leases left by a previous run: one relay owns the file, so anything it had claimed is
    /// pending. Tools opening the file beside a running relay pass false.
    pub async fn open(path: &str, owner: bool) -> Result<Self, StoreError> {
        Self::open_inner(path, owner).await.map_err(|e| {
            // Say what an operator can fix (a full or read-only volume), then the details.
            let text = e.to_string();
            match super::health::reason(&text) {
                "storage unavailable" => e,
                reason => StoreError::Unavailable(format!("{path}: {reason} ({text})")),
            }
        })
    }

    async fn open_inner(path: &str, owner: bool) -> Result<Self, StoreError> {
        if !owner && !Path::new(path).exists() {
            // A tool pointed at the wrong file says so rather than creating an empty one.
            return Err(StoreError::Unavailable(format!("{path}: no such database")));
        }
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let lock = if owner {
            DatabaseLock::acquire(path)?
        } else {
            DatabaseLock::default()
        };
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Checkpoints run beside the writer (see `checkpoint_loop`), not inside its commits.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // A COMMIT that fails (disk full) can leave sqlx believing a transaction is still
            // open when SQLite has none: every later "commit" is then only a savepoint release
            // inside a transaction that never ends, and Box is answered 200 for events that
            // are not stored (found by the disk-full test). Such a connection is closed, not
            // reused; the pool opens a fresh one.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!("closing a writer connection left inside a transaction");
                    }
                    Ok(clean)
                })
            })
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().read_only(true))
            .await?;
        let released = if !owner {
            0
        } else {
            sqlx::query(
                "UPDATE events SET status = 'pending', lease_owner = NULL, lease_until = NULL \
             WHERE status = 'delivering'",
            )
            .execute(&writer)
            .await?
            .rows_affected()
        };
        if released > 0 {
            tracing::info!(released, "released leases left by the previous run");
        }
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        tokio::spawn(checkpoint_loop(checkpointer.clone()));
        Ok(Self {
            writer,
            reader,
            checkpointer,
            key: None,
            lock,
        })
    }
}

/// Copies the WAL back into the database file every 100 ms on a connection of its own, so
/// the writer's commits never pay for it. PASSIVE never blocks the writer; when the WAL has
/// grown past ~64 MiB (a checkpoint kept losing to a busy writer), a RESTART checkpoint
/// waits for a gap so the WAL starts over. Ends when the store is closed.
async fn checkpoint_loop(pool: SqlitePool) {
    const BIG_WAL_FRAMES: i64 = 16_384; // 4 KiB pages
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let passive = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        let wal_frames = match passive {
            Ok(row) => row.try_get::<i64, _>(1).unwrap_or(0),
            Err(e) if pool.is_closed() => {
                tracing::debug!(error = %e, "checkpointer stopped");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                continue;
            }
        };
        if wal_frames > BIG_WAL_FRAMES {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "WAL restart checkpoint failed");
            }
        }
    }
}

/// Claims, in order: due pending events, then events whose lease expired. Each statement is
/// served by its own partial index. Parameters: owner, lease end, now, limit, skipped
/// instances (a JSON array).
const CLAIMS: [&str; 2] = [
    "UPDATE events SET status = 'delivering', lease_owner = ?1, lease_until = ?2 \
     WHERE event_id IN (SELECT event_id FROM events WHERE status = 'pending' \
       AND next_attempt_at <= ?3 \
       AND instance_id NOT IN (SELECT value FROM json_each(?5)) \
       ORDER BY next_attempt_at LIMIT ?4) \
     RETURNING seq, event_id, instance_id, attempts",
    "UPDATE events SET lease_owner = ?1, lease_until = ?2 \
     WHERE event_id IN (SELECT event_id FROM events WHERE status = 'delivering' \
       AND lease_until < ?3 \
       AND instance_id NOT IN (SELECT value FROM json_each(?5)) LIMIT ?4) \
     RETURNING seq, event_id, instance_id, attempts",
];

/// Reads the bodies of claimed rows (`seq` column) in one statement.
async fn with_bodies(
    tx: &mut sqlx::SqliteConnection,
    rows: Vec<sqlx::sqlite::SqliteRow>,
) -> Result<Vec<Claimed>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.get("seq")).collect();
    let mut bodies: std::collections::HashMap<i64, Vec<u8>> = sqlx::query(
        "SELECT seq, body FROM event_bodies WHERE seq IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&seqs).unwrap_or_else(|_| "[]".into()))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.get("seq"), r.get("body")))
    .collect();
    Ok(rows
        .iter()
        .map(|row| Claimed {
            event_id: row.get("event_id"),
            instance_id: row.get("instance_id"),
            body: Bytes::from(bodies.remove(&row.get::<i64, _>("seq")).unwrap_or_default()),
            attempts: row.get::<i64, _>("attempts") as u32,
        })
        .collect())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_batch(&self, events: &[NewEvent]) -> Result<Vec<Inserted>, StoreError> {
        // Multi-row statements per chunk: each statement is a round trip to the connection's
        // thread, so this is far cheaper than statements per event.
        const ROWS_PER_STATEMENT: usize = 256; // 8 parameters a row, well under SQLite's limit
        let mut new: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        let mut tx = self.writer.begin().await?;
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO events (event_id, instance_id, box_event_id, status, \
                 next_attempt_at, lease_owner, lease_until, received_at) VALUES {} \
                 ON CONFLICT DO NOTHING RETURNING event_id, seq",
                vec!["(?,?,?,?,?,?,?,?)"; chunk.len()].join(",")
            );
            let mut query = sqlx::query(&sql);
            for e in chunk {
                let (status, owner, until) = match &e.lease {
                    Some(l) => ("delivering", Some(&*l.owner), Some(l.until_ms)),
                    None => ("pending", None, None),
                };
                query = query
                    .bind(&e.event_id)
                    .bind(e.instance_id)
                    .bind(&e.box_event_id)
                    .bind(status)
                    .bind(e.received_at_ms)
                    .bind(owner)
                    .bind(until)
                    .bind(e.received_at_ms);
            }
            let inserted: Vec<(String, i64)> = query
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| (r.get("event_id"), r.get("seq")))
                .collect();
            if !inserted.is_empty() {
                let sql = format!(
                    "INSERT INTO event_bodies (seq, body) VALUES {}",
                    vec!["(?,?)"; inserted.len()].join(",")
                );
                let by_id: std::collections::HashMap<&str, &[u8]> = chunk
                    .iter()
                    .map(|e| (e.event_id.as_str(), &e.body[..]))
                    .collect();
                let mut bodies = sqlx::query(&sql);
                for (event_id, seq) in &inserted {
                    let body = by_id.get(event_id.as_str()).copied().unwrap_or_default();
                    bodies = bodies.bind(*seq).bind(body);
                }
                bodies.execute(&mut *tx).await?;
            }
            new.extend(inserted);
        }
        tx.commit().await?;
        Ok(super::inserted_outcomes(events, new.into_keys().collect()))
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<Claimed>, StoreError> {
        let skip = serde_json::to_string(skip).unwrap_or_else(|_| "[]".into());
        let mut tx = self.writer.begin().await?;
        let mut rows = Vec::new();
        for sql in CLAIMS {
            let room = i64::from(limit) - rows.len() as i64;
            if room <= 0 {
                break;
            }
            rows.extend(
                sqlx::query(sql)
                    .bind(&*lease.owner)
                    .bind(lease.until_ms)
                    .bind(now_ms)
                    .bind(room)
                    .bind(&skip)
                    .fetch_all(&mut *tx)
                    .await?,
            );
        }
        let claimed = with_bodies(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(t) AS due FROM ( \
               SELECT MIN(next_attempt_at) AS t FROM events WHERE status = 'pending' \
               UNION ALL \
               SELECT MIN(lease_until) AS t FROM events WHERE status = 'delivering')",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(row.get::<Option<i64>, _>("due"))
    }

    async fn record_attempts(&self, batch: &[AttemptOutcome]) -> Result<u64, StoreError> {
        // Two multi-row statements per chunk (see `insert_batch`).
        const ROWS_PER_STATEMENT: usize = 256;
        let mut applied = 0;
        let mut tx = self.writer.begin().await?;
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let rows = vec!["(?,?,?,?,?,?)"; chunk.len()].join(",");
            let outcome_rows = vec!["(?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
            let insert_sql = format!(
                "INSERT INTO attempts (event_id, attempt, at, status_code, error, duration_ms) \
                 VALUES {rows}"
            );
            let update_sql = format!(
                "WITH v (event_id, status, attempts, next_at, last_error, finished, owner, \
                   until) AS (VALUES {outcome_rows}) \
                 UPDATE events SET status = v.status, attempts = v.attempts, \
                   next_attempt_at = v.next_at, lease_owner = NULL, lease_until = NULL, \
                   last_error = v.last_error, finished_at = v.finished \
                 FROM v WHERE events.event_id = v.event_id AND events.status != 'delivered' \
                   AND events.lease_owner = v.owner AND events.lease_until = v.until"
            );
            let mut insert = sqlx::query(&insert_sql);
            let mut update = sqlx::query(&update_sql);
            for AttemptOutcome {
                attempt: a,
                next,
                lease,
            } in chunk
            {
                let (status, next_at, finished) = next.columns(a.at_ms);
                insert = insert
                    .bind(&a.event_id)
                    .bind(i64::from(a.attempt))
                    .bind(a.at_ms)
                    .bind(a.status_code.map(i64::from))
                    .bind(&a.error)
                    .bind(a.duration_ms);
                update = update
                    .bind(&a.event_id)
                    .bind(status.as_str())
                    .bind(i64::from(a.attempt))
                    .bind(next_at)
                    .bind(a.summary())
                    .bind(finished)
                    .bind(&*lease.owner)
                    .bind(lease.until_ms);
            }
            insert.execute(&mut *tx).await?;
            applied += update.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(batch.len() as u64 - applied)
    }

    async fn release_all(&self, owner: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE events SET status = 'pending', lease_owner = NULL, lease_until = NULL \
             WHERE status = 'delivering' AND lease_owner = ?",
        )
        .bind(owner)
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    async fn get_event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let row = sqlx::query(
            "SELECT e.event_id, e.instance_id, e.box_event_id, e.status, e.attempts, b.body, \
               e.last_error \
             FROM events e JOIN event_bodies b ON b.seq = e.seq WHERE e.event_id = ?",
        )
        .bind(event_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|r| StoredEvent {
            event_id: r.get("event_id"),
            instance_id: r.get("instance_id"),
            box_event_id: r.get("box_event_id"),
            status: Status::parse(r.get::<&str, _>("status")).unwrap_or(Status::Pending),
            attempts: r.get::<i64, _>("attempts") as u32,
            body: Bytes::from(r.get::<Vec<u8>, _>("body")),
            last_error: r.get("last_error"),
        }))
    }

    async fn status_counts(&self) -> Result<StatusCounts, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM events GROUP BY status")
            .fetch_all(&self.reader)
            .await?;
        let mut c = StatusCounts::default();
        for r in rows {
            c.add(r.get::<&str, _>("status"), r.get::<i64, _>("n") as u64);
        }
        Ok(c)
    }

    async fn prune_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events \
             WHERE status = 'delivered' AND finished_at < ? LIMIT 10000)",
        )
        .bind(before_ms)
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO write_probe (id, pad) VALUES (1, $1)")
            .bind(vec![0u8; 16 * 1024])
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM write_probe")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self) {
        self.checkpointer.close().await;
        self.writer.close().await;
        self.reader.close().await;
        self.lock.release();
    }
}
