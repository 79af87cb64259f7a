//! Stage three: durable storage, one concrete [`Store`] over two engines: the embedded
//! SQLite file ([`sqlite`]) and the shared PostgreSQL server ([`postgres`]). The statements
//! both engines share are written once, as ordinary methods, by concern: the event log,
//! replays and queue statistics ([`events`]), analytics per interval ([`analytics`]),
//! instances ([`instances`]), Box tokens and webhooks ([`box_api`]), suspended instances
//! ([`suspensions`]), operator console sessions ([`sessions`]) and its per-instance counts
//! ([`activity`]); they run through `sql.rs`. Only what must differ is per engine:
//! the batch insert, the claim, the outcome recording and the next due time (and opening,
//! and `secrets rotate`'s locking in [`rotate`]). Rows are typed ([`records`], [`Status`]);
//! one that does not decode is an error ([`StoreError::Corrupt`]), logged and counted.
//! Bodies are stored compressed ([`body`]) and read back byte for byte.
//! Instance secrets are sealed under the store's key ([`secrets`]). The store imports
//! nothing above it; the group-commit writer that feeds it is `crate::ingest`.

pub mod activity;
pub mod analytics;
pub mod body;
pub mod box_api;
mod error;
pub mod events;
pub mod health;
pub mod instances;
mod lock;
pub mod postgres;
pub mod records;
pub mod rotate;
pub mod secrets;
pub mod sessions;
mod sql;
pub mod sqlite;
mod sqlite_writer;
mod status;
pub mod suspensions;

pub use error::{Cause, CorruptRows, StoreError};
pub use records::{
    AttemptOutcome, AttemptRecord, Claimed, Inserted, Lease, NewEvent, NextState, StatusCounts,
};
pub use status::Status;

use sqlx::PgPool;

use crate::secret::Cipher;
use sql::Conn;

/// The relay's storage; cheap to clone (its pools are shared).
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engine,
    /// Seals and opens instance secrets; without it instances cannot be read or written.
    key: Option<Cipher>,
    corrupt: CorruptRows,
}

#[derive(Debug, Clone)]
enum Engine {
    Sqlite(sqlite::Pools),
    Postgres(PgPool),
}

/// Where a shared statement runs. On SQLite, changes go through the one writer connection
/// (reads that must see the latest write too); other reads through the reader pool.
#[derive(Debug, Clone, Copy)]
enum Side {
    Read,
    Write,
}

/// A storage URL, checked at configuration time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite://path` (relative to the working directory) or `sqlite:///abs/path`.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`, passed to the driver as-is.
    Postgres(String),
}

impl StoreUrl {
    /// Recognizes the engines this build supports.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err("sqlite:// URL has no file path".into());
            }
            return Ok(StoreUrl::Sqlite(path.to_string()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url::Url::parse(url).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
            return Ok(StoreUrl::Postgres(url.to_string()));
        }
        Err("must start with sqlite:// or postgres://".into())
    }

    fn checked(url: &str) -> Result<Self, StoreError> {
        Self::parse(url).map_err(|e| StoreError::open("storage.url", e))
    }
}

impl Store {
    /// Opens the engine a URL names for the relay and runs its migrations, without a secrets
    /// key: events can be read, instances cannot (tests inspect a store this way).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_as(url, true, None).await
    }

    /// Opens the store for the relay, sealing and opening instance secrets with `key`.
    pub async fn open_with_key(url: &str, key: Cipher) -> Result<Self, StoreError> {
        Self::open_as(url, true, Some(key)).await
    }

    /// Opens the store for a tool (`webhook-relay events`) that may run beside the relay: on
    /// SQLite, the relay's leases are left alone.
    pub async fn open_for_tool(url: &str) -> Result<Self, StoreError> {
        Self::open_as(url, false, None).await
    }

    async fn open_as(url: &str, owner: bool, key: Option<Cipher>) -> Result<Self, StoreError> {
        let engine = match StoreUrl::checked(url)? {
            StoreUrl::Sqlite(path) => Engine::Sqlite(sqlite::Pools::open(&path, owner).await?),
            StoreUrl::Postgres(url) => Engine::Postgres(postgres::open(&url).await?),
        };
        Ok(Self {
            engine,
            key,
            corrupt: CorruptRows::default(),
        })
    }

    /// Rows found corrupt since the store was opened (`relay_corrupt_rows_total`).
    pub fn corrupt_rows(&self) -> CorruptRows {
        self.corrupt.clone()
    }

    /// A connection for shared statements.
    async fn conn(&self, side: Side) -> Result<Conn<'static>, StoreError> {
        Ok(match &self.engine {
            Engine::Sqlite(db) => Conn::sqlite(db.pool(side).acquire().await?, &self.corrupt),
            Engine::Postgres(pool) => Conn::postgres(pool.acquire().await?, &self.corrupt),
        })
    }

    /// A read-only transaction whose statements all read one snapshot: counts read one
    /// statement at a time still add up while events change status.
    async fn snapshot(&self) -> Result<Conn<'static>, StoreError> {
        Ok(match &self.engine {
            // A deferred BEGIN takes its snapshot at the first read and keeps it (WAL).
            Engine::Sqlite(db) => Conn::sqlite_tx(db.reader.begin().await?, &self.corrupt),
            Engine::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                Conn::postgres_tx(tx, &self.corrupt)
            }
        })
    }

    /// A transaction for shared statements, on the writer.
    async fn begin(&self) -> Result<Conn<'static>, StoreError> {
        Ok(match &self.engine {
            Engine::Sqlite(db) => Conn::sqlite_tx(db.writer.begin().await?, &self.corrupt),
            Engine::Postgres(pool) => Conn::postgres_tx(pool.begin().await?, &self.corrupt),
        })
    }

    /// Inserts events in one transaction; (instance, Box id) pairs already present are
    /// reported as [`Inserted::Duplicate`] and left unchanged. Atomic and durable before it
    /// returns.
    pub async fn insert_batch(&self, events: &[NewEvent]) -> Result<Vec<Inserted>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.hot.insert(events).await,
            Engine::Postgres(pool) => postgres::insert_batch(pool, events).await,
        }
    }

    /// Claims up to `limit` events that are due (pending with `next_attempt_at <= now`, or
    /// delivering under an expired lease, whoever held it), leasing them to `lease.owner`.
    /// Events of the instances in `skip` are left alone. A claimed event without its body,
    /// or whose body does not decompress (a corrupt store), is not delivered: it is counted,
    /// logged and failed.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<Claimed>, StoreError> {
        let check = |e| self.corrupt.check(|| "a claimed event".into(), e);
        let rows = match &self.engine {
            Engine::Sqlite(db) => db
                .hot
                .claim(now_ms, lease, limit, skip)
                .await
                .map_err(|e| self.corrupt.sqlite(|| "a claimed event".into(), e))?,
            Engine::Postgres(pool) => postgres::claim_due(pool, now_ms, lease, limit, skip)
                .await
                .map_err(check)?,
        };
        let mut claimed = Vec::with_capacity(rows.len());
        let mut unpacker = body::Unpacker::default();
        for row in rows {
            let body = match row.body.map(|b| unpacker.unpack(b)) {
                Some(Ok(body)) => body,
                Some(Err(e)) => {
                    self.fail_bodiless(&row.event_id, now_ms, &e.to_string())
                        .await?;
                    continue;
                }
                None => {
                    let missing = "the stored body is missing";
                    self.fail_bodiless(&row.event_id, now_ms, missing).await?;
                    continue;
                }
            };
            claimed.push(Claimed {
                event_id: row.event_id,
                instance_id: row.instance_id,
                body,
                attempts: row.attempts,
            });
        }
        Ok(claimed)
    }

    /// Earliest `next_attempt_at` among pending events, or lease expiry among leased ones.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(match &self.engine {
            Engine::Sqlite(db) => sqlite::next_due_ms(&db.reader).await?,
            Engine::Postgres(pool) => postgres::next_due_ms(pool).await?,
        })
    }

    /// Records attempts in one transaction, moving each event to its next state and
    /// releasing its lease — only for events still leased as the attempt's [`Lease`] says;
    /// the others' outcomes are stale and dropped. Returns how many were dropped.
    pub async fn record_attempts(&self, batch: &[AttemptOutcome]) -> Result<u64, StoreError> {
        let applied = match &self.engine {
            Engine::Sqlite(db) => db.hot.record(batch).await?,
            Engine::Postgres(pool) => postgres::record_attempts(pool, batch).await?,
        };
        Ok(batch.len() as u64 - applied)
    }

    /// Cheap reachability check for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.conn(Side::Read)
            .await?
            .execute("SELECT 1", &[])
            .await?;
        Ok(())
    }

    /// Closes connections (and, on SQLite, lets go of the file).
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite(db) => db.close().await,
            Engine::Postgres(pool) => pool.close().await,
        }
    }

    /// Re-seals every instance and Box token of the store at `url` from `old` to `new` in
    /// one transaction, refusing while a relay uses the store (see [`rotate`]).
    pub async fn rotate_secrets(
        url: &str,
        old: &Cipher,
        new: &Cipher,
    ) -> Result<secrets::SecretsReport, StoreError> {
        match StoreUrl::checked(url)? {
            StoreUrl::Sqlite(path) => rotate::sqlite(&path, old, new).await,
            StoreUrl::Postgres(url) => rotate::postgres(&url, old, new).await,
        }
    }
}
