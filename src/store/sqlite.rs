//! The embedded engine: one SQLite file in WAL mode with `synchronous=FULL`, so a commit is
//! on disk before ingest answers. The hot writes (storing events, recording outcomes,
//! claiming) run on the writer thread of [`super::sqlite_writer`]; the other writes go
//! through one sqlx connection, reads through a small pool. Here: opening the file, the
//! checkpoint loop, and the statements SQLite words its own way (`json_each` lists, `?n`
//! parameters).

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::lock::DatabaseLock;
use super::sqlite_writer::HotWriter;
use super::{health, Side, StoreError};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// The SQLite engine's connections.
#[derive(Debug, Clone)]
pub(super) struct Pools {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    checkpointer: SqlitePool,
    /// The hot writes: storing events, recording outcomes, claiming.
    pub hot: HotWriter,
    /// The relay's exclusive hold on the file; none for tools.
    lock: DatabaseLock,
}

impl Pools {
    /// Opens (creating if needed) the database file, migrates it, and, for the relay itself
    /// (`owner`), locks the file against a second relay ([`DatabaseLock`]) and releases
    /// leases left by a previous run: one relay owns the file, so anything it had claimed is
    /// pending. Tools opening the file beside a running relay pass false.
    pub async fn open(path: &str, owner: bool) -> Result<Self, StoreError> {
        Self::open_inner(path, owner).await.map_err(|e| {
            // Say what an operator can fix (a full or read-only volume), then the details.
            match health::reason(&e) {
                health::UNAVAILABLE => e,
                reason => StoreError::open(format!("{path}: {reason}"), e),
            }
        })
    }

    /// The pool for `side`.
    pub fn pool(&self, side: Side) -> &SqlitePool {
        match side {
            Side::Read => &self.reader,
            Side::Write => &self.writer,
        }
    }

    /// Closes every connection and lets go of the file.
    pub async fn close(&self) {
        self.hot.close().await;
        self.checkpointer.close().await;
        self.writer.close().await;
        self.reader.close().await;
        self.lock.release();
    }

    async fn open_inner(path: &str, owner: bool) -> Result<Self, StoreError> {
        if !owner && !Path::new(path).exists() {
            // A tool pointed at the wrong file says so rather than creating an empty one.
            return Err(StoreError::open(path, "no such database"));
        }
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::open(format!("cannot create {}", dir.display()), e))?;
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
            .map_err(|e| StoreError::open("migration failed", e))?;
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
        let wrap = Arc::new(AtomicBool::new(false));
        tokio::spawn(checkpoint_loop(checkpointer.clone(), wrap.clone()));
        let hot = HotWriter::open(path, wrap)?;
        Ok(Self {
            writer,
            reader,
            checkpointer,
            hot,
            lock,
        })
    }
}

/// Copies the WAL back into the database file every 100 ms on a connection of its own, so
/// the writer's commits never pay for it. PASSIVE never blocks the writer, but under steady
/// traffic it never finishes either (the writer commits while it copies), and SQLite starts
/// the WAL over only when a write begins with every frame copied. So once the WAL holds
/// [`WRAP_FRAMES`], the hot writer thread is asked (`wrap`) to run the last, short PASSIVE
/// itself between two of its transactions: nothing commits meanwhile, it copies the little
/// this loop has not, and its next transaction starts the WAL over. Should that keep failing
/// (a long read holding an old snapshot), past ~64 MiB a RESTART checkpoint here waits for
/// a gap: that blocks the writer for its length (2–40 ms measured at 2,000 events/s, where
/// the WAL grew ~70 MiB a second and this fired every 0.8 s: the latency tails of issue 15).
/// Ends when the store is closed.
async fn checkpoint_loop(pool: SqlitePool, wrap: Arc<AtomicBool>) {
    const BIG_WAL_FRAMES: i64 = 16_384; // 4 KiB pages
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        // (busy, frames in the WAL, frames copied back)
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        let wal_frames = match passive {
            Ok((_, frames, _)) => frames,
            Err(e) if pool.is_closed() => {
                tracing::debug!(error = %e, "checkpointer stopped");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                continue;
            }
        };
        if wal_frames > WRAP_FRAMES {
            wrap.store(true, Ordering::Relaxed);
        }
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

/// WAL frames (4 KiB pages) past which the hot writer is asked to let the WAL start over
/// (see [`checkpoint_loop`]).
const WRAP_FRAMES: i64 = 2_048;

/// Claims, in order: due pending events, then events whose lease expired. Each statement is
/// served by its own partial index. Parameters: owner, lease end, now, limit, skipped
/// instances (a JSON array). Suspended instances' events are left alone (their held backlog
/// is stepped over, not claimed, so other instances are not starved).
pub(super) const CLAIMS: [&str; 2] = [
    "UPDATE events SET status = 'delivering', lease_owner = ?1, lease_until = ?2 \
     WHERE event_id IN (SELECT event_id FROM events WHERE status = 'pending' \
       AND next_attempt_at <= ?3 \
       AND instance_id NOT IN (SELECT value FROM json_each(?5)) \
       AND instance_id NOT IN (SELECT instance_id FROM suspended_instances) \
       ORDER BY next_attempt_at LIMIT ?4) \
     RETURNING seq, event_id, instance_id, attempts",
    "UPDATE events SET lease_owner = ?1, lease_until = ?2 \
     WHERE event_id IN (SELECT event_id FROM events WHERE status = 'delivering' \
       AND lease_until < ?3 \
       AND instance_id NOT IN (SELECT value FROM json_each(?5)) \
       AND instance_id NOT IN (SELECT instance_id FROM suspended_instances) LIMIT ?4) \
     RETURNING seq, event_id, instance_id, attempts",
];

/// Earliest `next_attempt_at` among pending events, or lease expiry among leased ones, of
/// instances not suspended (a held backlog is not due: the poller would spin on it).
pub(super) async fn next_due_ms(reader: &SqlitePool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(t) FROM ( \
           SELECT MIN(next_attempt_at) AS t FROM events WHERE status = 'pending' \
             AND instance_id NOT IN (SELECT instance_id FROM suspended_instances) \
           UNION ALL \
           SELECT MIN(lease_until) AS t FROM events WHERE status = 'delivering' \
             AND instance_id NOT IN (SELECT instance_id FROM suspended_instances))",
    )
    .fetch_one(reader)
    .await
}
