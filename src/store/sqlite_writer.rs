//! The SQLite engine's hot writes, on a thread of their own: storing ingest batches,
//! recording delivery outcomes and claiming due events. Each request is run whole by the
//! thread, with prepared statements cached on its one connection, and answered once
//! committed; requests that wait meanwhile share the next transaction (one commit, one
//! fsync, for the ingest batches and the outcomes that arrived beside them: the group
//! commit may have two batches here at once).
//!
//! Why not sqlx's worker: there every statement is a round trip between a tokio task and
//! the connection's thread, and a pool handoff between batches. Measured under saturation
//! (2 cores, `relay-bench`), a 30-event batch spent 0.1–1.5 ms acquiring the connection and
//! beginning, 0.3–1.3 ms in its two statements and 0.4–0.9 ms committing, with the writer
//! busy 96–100 % of the time: the handoffs, not SQLite, set the rate. Here a batch is one
//! handoff each way. The rest of the store's writes (admin, pruning, replays) stay on
//! sqlx's writer connection; SQLite's lock (busy timeout 10 s) orders the two.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use super::records::{inserted_outcomes, ClaimedRow};
use super::{AttemptOutcome, Inserted, Lease, NewEvent, StoreError};

/// Most requests run in one transaction.
const MAX_SHARED: usize = 64;

/// Handle to the writer thread; cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct HotWriter {
    tx: mpsc::Sender<Request>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// One row to insert: an event and its stored body.
struct Row {
    event_id: String,
    instance_id: i64,
    box_event_id: String,
    stored: Bytes,
    received_at_ms: i64,
    lease: Option<Lease>,
}

/// One outcome to record.
struct Outcome {
    event_id: String,
    attempt: i64,
    at_ms: i64,
    status_code: Option<i64>,
    error: Option<String>,
    duration_ms: i64,
    status: &'static str,
    next_at: i64,
    summary: Option<String>,
    finished: Option<i64>,
    lease: Lease,
}

/// A claim's terms.
struct Claim {
    now_ms: i64,
    lease: Lease,
    limit: u32,
    skip: String,
}

enum Work {
    /// Answers the event ids that were new.
    Insert(
        Vec<Row>,
        oneshot::Sender<Result<HashSet<String>, Arc<rusqlite::Error>>>,
    ),
    /// Answers how many outcomes were applied.
    Record(
        Vec<Outcome>,
        oneshot::Sender<Result<u64, Arc<rusqlite::Error>>>,
    ),
    /// Answers the claimed rows with their bodies.
    Claim(
        Claim,
        oneshot::Sender<Result<Vec<ClaimedRow>, Arc<rusqlite::Error>>>,
    ),
}

enum Request {
    Work(Work),
    /// Finish what is queued, close the connection, answer.
    Close(oneshot::Sender<()>),
}

/// What one piece of work produced, until its transaction commits.
enum Done {
    Insert(HashSet<String>),
    Record(u64),
    Claim(Vec<ClaimedRow>),
}

impl HotWriter {
    /// Opens a connection to `path` (already created and migrated) and starts the thread.
    /// `wrap`, set by the checkpointer, asks the thread to let the WAL start over (see
    /// `sqlite::checkpoint_loop`).
    pub fn open(path: &str, wrap: Arc<AtomicBool>) -> Result<Self, StoreError> {
        let conn = connect(Path::new(path)).map_err(|e| StoreError::open(path, e))?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, &wrap))
            .map_err(|e| StoreError::open("cannot start the SQLite writer thread", e))?;
        Ok(Self {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Inserts `events` in one transaction; which were new.
    pub async fn insert(&self, events: &[NewEvent]) -> Result<Vec<Inserted>, StoreError> {
        let rows = events
            .iter()
            .map(|e| Row {
                event_id: e.event_id.clone(),
                instance_id: e.instance_id,
                box_event_id: e.box_event_id.clone(),
                stored: e.body.stored().clone(),
                received_at_ms: e.received_at_ms,
                lease: e.lease.clone(),
            })
            .collect();
        let new = self.call(|reply| Work::Insert(rows, reply)).await?;
        Ok(inserted_outcomes(events, new))
    }

    /// Records outcomes, fenced by their leases; how many were applied.
    pub async fn record(&self, batch: &[AttemptOutcome]) -> Result<u64, StoreError> {
        let outcomes = batch
            .iter()
            .map(|o| {
                let a = &o.attempt;
                let (status, next_at, finished) = o.next.columns(a.at_ms);
                Outcome {
                    event_id: a.event_id.clone(),
                    attempt: i64::from(a.attempt),
                    at_ms: a.at_ms,
                    status_code: a.status_code.map(i64::from),
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                    status: status.as_str(),
                    next_at,
                    summary: a.summary(),
                    finished,
                    lease: o.lease.clone(),
                }
            })
            .collect();
        self.call(|reply| Work::Record(outcomes, reply)).await
    }

    /// Claims due events with their bodies (see [`super::Store::claim_due`]).
    pub async fn claim(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let claim = Claim {
            now_ms,
            lease: lease.clone(),
            limit,
            skip: serde_json::to_string(skip).unwrap_or_else(|_| "[]".into()),
        };
        self.call(|reply| Work::Claim(claim, reply)).await
    }

    /// Finishes the queued work and closes the connection.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Request::Close(reply)).is_ok() {
            let _ = done.await;
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    async fn call<T>(
        &self,
        work: impl FnOnce(oneshot::Sender<Result<T, Arc<rusqlite::Error>>>) -> Work,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::Work(work(reply)))
            .map_err(|_| StoreError::Closed)?;
        match answer.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(StoreError::Sqlite(e)),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // As sqlx's connections: every commit on disk before it returns; checkpoints are the
    // checkpointer's (`checkpoint_loop`), never inside a commit (between two, when it asks).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Request>, wrap: &AtomicBool) {
    let mut queued: Vec<Work> = Vec::with_capacity(MAX_SHARED);
    while let Ok(first) = rx.recv() {
        let mut close = None;
        match first {
            Request::Work(w) => queued.push(w),
            Request::Close(reply) => close = Some(reply),
        }
        // Whatever else is waiting shares the transaction.
        while close.is_none() && queued.len() < MAX_SHARED {
            match rx.try_recv() {
                Ok(Request::Work(w)) => queued.push(w),
                Ok(Request::Close(reply)) => close = Some(reply),
                Err(_) => break,
            }
        }
        if !queued.is_empty() {
            commit(&mut conn, &mut queued);
        }
        if wrap.swap(false, Ordering::Relaxed) {
            // The last frames the checkpointer has not copied, copied while nothing else
            // commits: the next transaction then starts the WAL over.
            // (Contention with the checkpointer is a row saying busy, not an error: the
            // checkpointer asks again after its next pass.)
            let copied = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            if let Err(e) = copied {
                tracing::warn!(error = %e, "WAL checkpoint on the writer thread failed");
            }
        }
        if let Some(reply) = close {
            drop(conn);
            let _ = reply.send(());
            return;
        }
    }
}

/// Runs `queued` and answers each: the stored events and outcomes in one transaction, then
/// each claim in one of its own, so that a claimed row that does not decode (a corrupt
/// store) fails that claim, not the events stored beside it. (A savepoint per claim inside
/// the shared transaction was tried first: its statement journal made the drain of a
/// backlog 2–3× slower.)
fn commit(conn: &mut Connection, queued: &mut Vec<Work>) {
    let (claims, shared): (Vec<Work>, Vec<Work>) =
        queued.drain(..).partition(|w| matches!(w, Work::Claim(..)));
    if !shared.is_empty() {
        transact(conn, shared);
    }
    for claim in claims {
        transact(conn, vec![claim]);
    }
}

/// Runs `works` in one transaction and answers each; on any failure, every one is answered
/// with it and nothing is kept.
fn transact(conn: &mut Connection, works: Vec<Work>) {
    type Answer = Result<Done, Arc<rusqlite::Error>>;
    let result = (|| -> rusqlite::Result<Vec<Done>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut done = Vec::with_capacity(works.len());
        for work in &works {
            done.push(match work {
                Work::Insert(rows, _) => Done::Insert(insert(&tx, rows)?),
                Work::Record(outcomes, _) => Done::Record(record(&tx, outcomes)?),
                Work::Claim(claim, _) => Done::Claim(claim_due(&tx, claim)?),
            });
        }
        tx.commit()?;
        Ok(done)
    })();
    if !conn.is_autocommit() {
        // A COMMIT that failed (disk full) may leave the transaction open: end it, so the
        // next one starts clean rather than nest in it.
        tracing::warn!("rolling back a transaction left open by a failed commit");
        let _ = conn.execute_batch("ROLLBACK");
    }
    let answers: Vec<Answer> = match result {
        Ok(done) => done.into_iter().map(Ok).collect(),
        Err(e) => {
            let e = Arc::new(e);
            works.iter().map(|_| Err(e.clone())).collect()
        }
    };
    for (work, answer) in works.into_iter().zip(answers) {
        match work {
            Work::Insert(_, reply) => drop(reply.send(answer.map(|d| match d {
                Done::Insert(new) => new,
                _ => HashSet::new(),
            }))),
            Work::Record(_, reply) => drop(reply.send(answer.map(|d| match d {
                Done::Record(applied) => applied,
                _ => 0,
            }))),
            Work::Claim(_, reply) => drop(reply.send(answer.map(|d| match d {
                Done::Claim(rows) => rows,
                _ => Vec::new(),
            }))),
        }
    }
}

fn insert(tx: &Connection, rows: &[Row]) -> rusqlite::Result<HashSet<String>> {
    let mut event = tx.prepare_cached(
        "INSERT INTO events (event_id, instance_id, box_event_id, status, \
           next_attempt_at, lease_owner, lease_until, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5) ON CONFLICT DO NOTHING RETURNING seq",
    )?;
    let mut body = tx.prepare_cached("INSERT INTO event_bodies (seq, body) VALUES (?1, ?2)")?;
    let mut new = HashSet::with_capacity(rows.len());
    for r in rows {
        let (status, owner, until) = match &r.lease {
            Some(l) => ("delivering", Some(&*l.owner), Some(l.until_ms)),
            None => ("pending", None, None),
        };
        let seq: Option<i64> = event
            .query_row(
                params![
                    r.event_id,
                    r.instance_id,
                    r.box_event_id,
                    status,
                    r.received_at_ms,
                    owner,
                    until
                ],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(seq) = seq {
            body.execute(params![seq, &r.stored[..]])?;
            new.insert(r.event_id.clone());
        }
    }
    Ok(new)
}

fn record(tx: &Connection, outcomes: &[Outcome]) -> rusqlite::Result<u64> {
    let mut attempt = tx.prepare_cached(
        "INSERT INTO attempts (event_id, attempt, at, status_code, error, duration_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    // Only while the attempt's lease still holds: a stale holder's outcome is dropped.
    let mut update = tx.prepare_cached(
        "UPDATE events SET status = ?2, attempts = ?3, next_attempt_at = ?4, \
           lease_owner = NULL, lease_until = NULL, last_error = ?5, finished_at = ?6 \
         WHERE event_id = ?1 AND status != 'delivered' \
           AND lease_owner = ?7 AND lease_until = ?8",
    )?;
    let mut applied = 0;
    for o in outcomes {
        attempt.execute(params![
            o.event_id,
            o.attempt,
            o.at_ms,
            o.status_code,
            o.error,
            o.duration_ms
        ])?;
        applied += update.execute(params![
            o.event_id,
            o.status,
            o.attempt,
            o.next_at,
            o.summary,
            o.finished,
            &*o.lease.owner,
            o.lease.until_ms
        ])? as u64;
    }
    Ok(applied)
}

fn claim_due(tx: &Connection, claim: &Claim) -> rusqlite::Result<Vec<ClaimedRow>> {
    let mut rows: Vec<ClaimedRow> = Vec::new();
    for sql in super::sqlite::CLAIMS {
        let room = i64::from(claim.limit) - rows.len() as i64;
        if room <= 0 {
            break;
        }
        let mut statement = tx.prepare_cached(sql)?;
        let mut claimed = statement
            .query_map(
                params![
                    &*claim.lease.owner,
                    claim.lease.until_ms,
                    claim.now_ms,
                    room,
                    claim.skip
                ],
                |row| {
                    Ok(ClaimedRow {
                        seq: row.get(0)?,
                        event_id: row.get(1)?,
                        instance_id: row.get(2)?,
                        attempts: row.get(3)?,
                        body: None,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // In the order they arrived (an UPDATE returns its rows in no set order): the
        // dispatcher starts an instance's events in this order, so a held backlog that is
        // resumed goes oldest first.
        claimed.sort_unstable_by_key(|r| r.seq);
        rows.extend(claimed);
    }
    let mut body = tx.prepare_cached("SELECT body FROM event_bodies WHERE seq = ?1")?;
    let mut bodies: HashMap<i64, Vec<u8>> = HashMap::with_capacity(rows.len());
    for row in &rows {
        if let Some(b) = body
            .query_row([row.seq], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        {
            bodies.insert(row.seq, b);
        }
    }
    for row in &mut rows {
        row.body = bodies.remove(&row.seq);
    }
    Ok(rows)
}
