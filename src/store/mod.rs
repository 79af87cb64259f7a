//! Stage three: durable storage behind one trait ([`Store`]), with the embedded SQLite
//! engine ([`sqlite`]), the shared PostgreSQL engine ([`postgres`]), and the group-commit
//! writer every ingest goes through ([`batch`]). The operator's side (instances created
//! through the API, the event log, replays) is [`admin::AdminStore`], over [`records`]; what
//! the relay keeps to call Box for an instance is [`box_api::BoxApiStore`]. Instance secrets
//! are sealed under the store's key ([`secrets`]).

pub mod admin;
pub mod batch;
pub mod box_api;
pub mod health;
mod lock;
pub mod postgres;
pub mod records;
pub mod rotate;
pub mod secrets;
pub mod sqlite;

pub use admin::AdminStore;
pub use box_api::BoxApiStore;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::secret::Cipher;

/// Storage failed; ingest answers 503 and Box retries.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused the operation.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The store was shut down.
    #[error("storage is shutting down")]
    Closed,
    /// A stored secret cannot be read or written with this process's key.
    #[error("{0}")]
    Secrets(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
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
}

/// Status of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its first or next attempt.
    Pending,
    /// Claimed by a delivery worker (under a lease).
    Delivering,
    /// A 2xx was received.
    Delivered,
    /// Gave up (410, or `max_attempts` reached); kept and replayable.
    Failed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivering => "delivering",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Status::Pending,
            "delivering" => Status::Delivering,
            "delivered" => Status::Delivered,
            "failed" => Status::Failed,
            _ => return None,
        })
    }
}

/// An event to insert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Deterministic `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Box event id, unique per instance.
    pub box_event_id: String,
    /// The rendered body, sent as-is on every attempt.
    pub body: Bytes,
    /// Receipt time, unix milliseconds.
    pub received_at_ms: i64,
    /// When set, the event is stored already claimed by this process until then, so that it
    /// can be delivered at once from memory.
    pub lease: Option<Lease>,
}

/// A claim on an event.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Who holds it (one id per process).
    pub owner: Arc<str>,
    /// Unix milliseconds after which others may take it.
    pub until_ms: i64,
}

/// The outcome of each event of a batch, given the `event_id`s the store actually inserted.
/// Two requests for one Box event in the same batch: the first is new, the second a duplicate.
pub(crate) fn inserted_outcomes(
    events: &[NewEvent],
    mut new: std::collections::HashSet<String>,
) -> Vec<Inserted> {
    events
        .iter()
        .map(|e| {
            if new.remove(&e.event_id) {
                Inserted::New
            } else {
                Inserted::Duplicate
            }
        })
        .collect()
}

/// Result of inserting one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    New,
    /// This instance already had this Box event id; nothing changed.
    Duplicate,
}

/// An event claimed for delivery.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Body bytes to send.
    pub body: Bytes,
    /// Attempts already made.
    pub attempts: u32,
}

/// What one delivery attempt produced, to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// `eventId`.
    pub event_id: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// Unix milliseconds when it started.
    pub at_ms: i64,
    /// HTTP status, when one was received.
    pub status_code: Option<u16>,
    /// Transport error or refusal, when there was no status.
    pub error: Option<String>,
    /// Wall time of the attempt.
    pub duration_ms: i64,
}

/// An attempt to record, where its event goes next, and the lease it was made under: the
/// outcome is written only while the event is still leased to that owner until that time, so
/// a replica paused past its lease cannot overwrite what the replica that took the event
/// over did.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// The event's next state.
    pub next: NextState,
    /// The lease the attempt was made under.
    pub lease: Lease,
}

impl AttemptRecord {
    /// The error, or the status when it was not a 2xx; `None` for a success.
    pub fn summary(&self) -> Option<String> {
        match (&self.error, self.status_code) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(code)) if !(200..300).contains(&code) => Some(format!("HTTP {code}")),
            _ => None,
        }
    }
}

/// Where the event goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState {
    /// Done.
    Delivered,
    /// Try again at this unix millisecond.
    RetryAt(i64),
    /// Give up; kept as `failed`.
    Failed,
}

impl NextState {
    /// The columns an attempt's outcome sets: (status, next_attempt_at, finished_at).
    pub fn columns(self, attempt_at_ms: i64) -> (Status, i64, Option<i64>) {
        match self {
            NextState::Delivered => (Status::Delivered, attempt_at_ms, Some(now_ms())),
            NextState::RetryAt(t) => (Status::Pending, t, None),
            NextState::Failed => (Status::Failed, attempt_at_ms, Some(now_ms())),
        }
    }
}

/// A stored event, for inspection.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// `eventId`.
    pub event_id: String,
    /// Owning instance.
    pub instance_id: i64,
    /// Box event id.
    pub box_event_id: String,
    /// Current status.
    pub status: Status,
    /// Attempts made.
    pub attempts: u32,
    /// The stored body.
    pub body: Bytes,
    /// Last error or status, if any.
    pub last_error: Option<String>,
}

/// Counts of events by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// `pending`
    pub pending: u64,
    /// `delivering`
    pub delivering: u64,
    /// `delivered`
    pub delivered: u64,
    /// `failed`
    pub failed: u64,
}

impl StatusCounts {
    /// Adds `n` events of the stored status `status` (unknown names are ignored).
    pub fn add(&mut self, status: &str, n: u64) {
        match Status::parse(status) {
            Some(Status::Pending) => self.pending += n,
            Some(Status::Delivering) => self.delivering += n,
            Some(Status::Delivered) => self.delivered += n,
            Some(Status::Failed) => self.failed += n,
            None => {}
        }
    }
}

/// The storage every engine implements. Implementations must make `insert_batch` atomic and
/// durable before returning.
#[async_trait]
pub trait Store: AdminStore + BoxApiStore + Send + Sync + 'static {
    /// Inserts events in one transaction; (instance, Box id) pairs already present are
    /// reported as [`Inserted::Duplicate`] and left unchanged.
    async fn insert_batch(&self, events: &[NewEvent]) -> Result<Vec<Inserted>, StoreError>;

    /// Claims up to `limit` events that are due (pending with `next_attempt_at <= now`, or
    /// delivering under an expired lease, whoever held it), leasing them to `lease.owner`. Events of the
    /// instances in `skip` are left alone.
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Earliest `next_attempt_at` among pending events, or lease expiry among leased ones.
    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError>;

    /// Records attempts in one transaction, moving each event to its next state and
    /// releasing its lease — only for events still leased as the attempt's [`Lease`] says;
    /// the others' outcomes are stale and dropped. Returns how many were dropped.
    async fn record_attempts(&self, batch: &[AttemptOutcome]) -> Result<u64, StoreError>;

    /// Releases every lease this owner holds (shutdown).
    async fn release_all(&self, owner: &str) -> Result<u64, StoreError>;

    /// Reads one event.
    async fn get_event(&self, event_id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// Counts events by status.
    async fn status_counts(&self) -> Result<StatusCounts, StoreError>;

    /// Deletes delivered events delivered before `before_ms`; returns how many.
    async fn prune_delivered(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A write the size of a few events, through the writer, undone in the same transaction
    /// (`/readyz` after a failed commit: does the store take writes again?).
    async fn probe_write(&self) -> Result<(), StoreError>;

    /// Closes connections.
    async fn close(&self);
}

/// Opens the engine a URL names for the relay and runs its migrations, without a secrets
/// key: events can be read, instances cannot (tests inspect a store this way).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_as(url, true, None).await
}

/// Opens the store for the relay, sealing and opening instance secrets with `key`.
pub async fn open_with_key(url: &str, key: Cipher) -> Result<Arc<dyn Store>, StoreError> {
    open_as(url, true, Some(key)).await
}

/// Opens the store for a tool (`webhook-relay events`) that may run beside the relay: on
/// SQLite, the relay's leases are left alone.
pub async fn open_for_tool(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_as(url, false, None).await
}

async fn open_as(
    url: &str,
    owner: bool,
    key: Option<Cipher>,
) -> Result<Arc<dyn Store>, StoreError> {
    match StoreUrl::parse(url).map_err(StoreError::Unavailable)? {
        StoreUrl::Sqlite(path) => Ok(Arc::new(
            sqlite::SqliteStore::open(&path, owner).await?.with_key(key),
        )),
        StoreUrl::Postgres(url) => Ok(Arc::new(
            postgres::PostgresStore::open(&url).await?.with_key(key),
        )),
    }
}

/// Re-seals every instance and Box token of the store at `url` from `old` to `new` in one
/// transaction, refusing while a relay uses the store (see [`rotate`]).
pub async fn rotate_secrets(
    url: &str,
    old: &Cipher,
    new: &Cipher,
) -> Result<secrets::SecretsReport, StoreError> {
    match StoreUrl::parse(url).map_err(StoreError::Unavailable)? {
        StoreUrl::Sqlite(path) => rotate::sqlite(&path, old, new).await,
        StoreUrl::Postgres(url) => rotate::postgres(&url, old, new).await,
    }
}

/// Milliseconds since the Unix epoch, the store's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
