//! The shared engine: PostgreSQL, for several replicas behind a load balancer. Dedup is the
//! table's unique constraint; delivery work is shared by claiming due events with
//! `FOR UPDATE SKIP LOCKED` under a lease that another replica may take once it expires.
//! Here: connecting, and the statements PostgreSQL words its own way (whole batches as
//! arrays, `UNNEST`ed server-side).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::records::{inserted_outcomes, ClaimedRow};
use super::{AttemptOutcome, Inserted, Lease, NewEvent, StoreError};

pub(super) static MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate!("src/store/migrations/postgres");

/// The `application_name` of the relay's connections: `secrets rotate` refuses to run while
/// a session with this name is connected to the database.
pub(super) const APPLICATION_NAME: &str = "webhook-relay";

/// Connects and migrates (sqlx takes an advisory lock, so replicas starting together
/// migrate once). Unlike SQLite, leases are left alone: other replicas may hold them.
pub(super) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name(APPLICATION_NAME);
    // One connection first, so that a server that cannot be reached is reported as such
    // (where, and why) rather than as the pool's "timed out".
    let first = tokio::time::timeout(
        Duration::from_secs(10),
        sqlx::ConnectOptions::connect(&options),
    )
    .await;
    let place = format!("{}:{}", options.get_host(), options.get_port());
    match first {
        Ok(Ok(conn)) => drop(conn),
        Ok(Err(e)) => {
            return Err(StoreError::open(
                format!("cannot connect to PostgreSQL at {place}"),
                root_cause(&e),
            ))
        }
        Err(_) => {
            return Err(StoreError::open(
                format!("cannot connect to PostgreSQL at {place}"),
                "no answer within 10 s",
            ))
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        // Fail fast while the database is down: ingest answers 503 and Box retries.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| StoreError::open("migration failed", e))?;
    Ok(pool)
}

/// The innermost cause of a connection error ("Connection refused (os error 111)", "password
/// authentication failed for user …"), without the URL.
fn root_cause(e: &sqlx::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Claims, in order: due pending events, then events whose lease expired. Two statements, each
/// served by its own partial index (an OR of both conditions made the planner scan the
/// table). Parameters: owner, lease end, now, limit, skipped instances. Suspended instances'
/// events are left alone (stepped over, so other instances are not starved). A claimed event
/// without a body row comes back with a NULL body (a corrupt store; the caller fails it).
const CLAIMS: [&str; 2] = [
    "WITH due AS ( \
       SELECT event_id FROM events \
       WHERE status = 'pending' AND next_attempt_at <= $3 AND instance_id <> ALL($5) \
         AND NOT EXISTS (SELECT 1 FROM suspended_instances s \
           WHERE s.instance_id = events.instance_id) \
       ORDER BY next_attempt_at LIMIT $4 \
       FOR UPDATE SKIP LOCKED) \
     , claimed AS ( \
       UPDATE events e SET status = 'delivering', lease_owner = $1, lease_until = $2 \
       FROM due WHERE e.event_id = due.event_id \
       RETURNING e.seq, e.event_id, e.instance_id, e.attempts) \
     SELECT c.seq, c.event_id, c.instance_id, CAST(c.attempts AS BIGINT) AS attempts, b.body \
     FROM claimed c LEFT JOIN event_bodies b ON b.seq = c.seq",
    "WITH due AS ( \
       SELECT event_id FROM events \
       WHERE status = 'delivering' AND lease_until < $3 AND instance_id <> ALL($5) \
         AND NOT EXISTS (SELECT 1 FROM suspended_instances s \
           WHERE s.instance_id = events.instance_id) \
       ORDER BY lease_until LIMIT $4 \
       FOR UPDATE SKIP LOCKED) \
     , claimed AS ( \
       UPDATE events e SET lease_owner = $1, lease_until = $2 \
       FROM due WHERE e.event_id = due.event_id \
       RETURNING e.seq, e.event_id, e.instance_id, e.attempts) \
     SELECT c.seq, c.event_id, c.instance_id, CAST(c.attempts AS BIGINT) AS attempts, b.body \
     FROM claimed c LEFT JOIN event_bodies b ON b.seq = c.seq",
];

/// Creates a new, empty database on the server of `admin_url` and returns its URL. For test
/// suites and the benchmark, which need a fresh database per run.
pub async fn create_database(admin_url: &str) -> Result<String, StoreError> {
    use sqlx::Connection;
    let name = format!("relay_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin_url).map_err(|e| StoreError::open("not a URL", e))?;
    url.set_path(&name);
    Ok(url.to_string())
}

/// Inserts a batch in one transaction (see [`super::Store::insert_batch`]).
pub(super) async fn insert_batch(
    pool: &PgPool,
    events: &[NewEvent],
) -> Result<Vec<Inserted>, StoreError> {
    // One statement for the whole batch; the rows it returns are the new ones. Rows go in
    // in the order given (`WITH ORDINALITY … ORDER BY`): the group commit sorts each batch
    // by event id, so two batches in flight at once take the unique index's locks in the
    // same order and cannot deadlock (ingest/writer.rs).
    let mut ids = Vec::with_capacity(events.len());
    let mut instances = Vec::with_capacity(events.len());
    let mut box_ids = Vec::with_capacity(events.len());
    // Compressed when the events were made.
    let mut bodies = Vec::with_capacity(events.len());
    let mut statuses = Vec::with_capacity(events.len());
    let mut owners = Vec::with_capacity(events.len());
    let mut untils = Vec::with_capacity(events.len());
    let mut received = Vec::with_capacity(events.len());
    for e in events {
        ids.push(e.event_id.as_str());
        instances.push(e.instance_id);
        box_ids.push(e.box_event_id.as_str());
        bodies.push(&e.body.stored()[..]);
        statuses.push(if e.lease.is_some() {
            "delivering"
        } else {
            "pending"
        });
        owners.push(e.lease.as_ref().map(|l| &*l.owner));
        untils.push(e.lease.as_ref().map(|l| l.until_ms));
        received.push(e.received_at_ms);
    }
    let mut tx = pool.begin().await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO events (event_id, instance_id, box_event_id, status, \
               next_attempt_at, lease_owner, lease_until, received_at) \
             SELECT e, i, b, s, n, o, u, r FROM UNNEST($1::text[], $2::bigint[], $3::text[], \
               $4::text[], $5::bigint[], $6::text[], $7::bigint[], $5::bigint[]) \
               WITH ORDINALITY AS v (e, i, b, s, n, o, u, r, k) ORDER BY k \
             ON CONFLICT DO NOTHING RETURNING event_id, seq",
    )
    .bind(&ids)
    .bind(&instances)
    .bind(&box_ids)
    .bind(&statuses)
    .bind(&received)
    .bind(&owners)
    .bind(&untils)
    .fetch_all(&mut *tx)
    .await?;
    let by_id: HashMap<&str, &[u8]> = ids.iter().copied().zip(bodies.iter().copied()).collect();
    let seqs: Vec<i64> = rows.iter().map(|(_, seq)| *seq).collect();
    let new_bodies: Vec<&[u8]> = rows
        .iter()
        .map(|(id, _)| by_id.get(id.as_str()).copied().unwrap_or_default())
        .collect();
    sqlx::query(
        "INSERT INTO event_bodies (seq, body) \
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
    )
    .bind(&seqs)
    .bind(&new_bodies)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let new: HashSet<String> = rows.into_iter().map(|(id, _)| id).collect();
    Ok(inserted_outcomes(events, new))
}

/// Claims due events with their bodies, one statement for each kind of due.
pub(super) async fn claim_due(
    pool: &PgPool,
    now_ms: i64,
    lease: &Lease,
    limit: u32,
    skip: &[i64],
) -> Result<Vec<ClaimedRow>, sqlx::Error> {
    let mut rows: Vec<ClaimedRow> = Vec::new();
    for sql in CLAIMS {
        let room = i64::from(limit) - rows.len() as i64;
        if room <= 0 {
            break;
        }
        let mut claimed: Vec<ClaimedRow> = sqlx::query_as(sql)
            .bind(&*lease.owner)
            .bind(lease.until_ms)
            .bind(now_ms)
            .bind(room)
            .bind(skip)
            .fetch_all(pool)
            .await?;
        // In the order they arrived (an UPDATE returns its rows in no set order): the
        // dispatcher starts an instance's events in this order, so a held backlog that is
        // resumed goes oldest first.
        claimed.sort_unstable_by_key(|r| r.seq);
        rows.extend(claimed);
    }
    Ok(rows)
}

/// Earliest `next_attempt_at` among pending events, or lease expiry among leased ones, of
/// instances not suspended (a held backlog is not due: the poller would spin on it).
pub(super) async fn next_due_ms(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT LEAST( \
           (SELECT MIN(next_attempt_at) FROM events WHERE status = 'pending' \
              AND instance_id NOT IN (SELECT instance_id FROM suspended_instances)), \
           (SELECT MIN(lease_until) FROM events WHERE status = 'delivering' \
              AND instance_id NOT IN (SELECT instance_id FROM suspended_instances)))",
    )
    .fetch_one(pool)
    .await
}

/// Records attempts and their outcomes in one transaction, fenced by each attempt's lease;
/// how many outcomes were applied.
pub(super) async fn record_attempts(
    pool: &PgPool,
    batch: &[AttemptOutcome],
) -> Result<u64, StoreError> {
    // Two statements for the whole batch, arrays unnested server-side.
    let mut ids = Vec::with_capacity(batch.len());
    let mut numbers = Vec::with_capacity(batch.len());
    let mut ats = Vec::with_capacity(batch.len());
    let mut codes = Vec::with_capacity(batch.len());
    let mut errors = Vec::with_capacity(batch.len());
    let mut durations = Vec::with_capacity(batch.len());
    let mut statuses = Vec::with_capacity(batch.len());
    let mut next_ats = Vec::with_capacity(batch.len());
    let mut summaries = Vec::with_capacity(batch.len());
    let mut finished = Vec::with_capacity(batch.len());
    let mut owners = Vec::with_capacity(batch.len());
    let mut untils = Vec::with_capacity(batch.len());
    for AttemptOutcome {
        attempt: a,
        next,
        lease,
    } in batch
    {
        owners.push(&*lease.owner);
        untils.push(lease.until_ms);
        let (status, next_at, done) = next.columns(a.at_ms);
        ids.push(a.event_id.as_str());
        numbers.push(a.attempt as i32);
        ats.push(a.at_ms);
        codes.push(a.status_code.map(i32::from));
        errors.push(a.error.as_deref());
        durations.push(a.duration_ms);
        statuses.push(status.as_str());
        next_ats.push(next_at);
        summaries.push(a.summary());
        finished.push(done);
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO attempts (event_id, attempt, at, status_code, error, duration_ms) \
             SELECT * FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::int[], $5::text[], \
               $6::bigint[])",
    )
    .bind(&ids)
    .bind(&numbers)
    .bind(&ats)
    .bind(&codes)
    .bind(&errors)
    .bind(&durations)
    .execute(&mut *tx)
    .await?;
    let applied = sqlx::query(
        "UPDATE events e SET status = v.status, attempts = v.attempts, \
               next_attempt_at = v.next_at, lease_owner = NULL, lease_until = NULL, \
               last_error = v.last_error, finished_at = v.finished \
             FROM UNNEST($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], \
               $6::bigint[], $7::text[], $8::bigint[]) \
               AS v (event_id, status, attempts, next_at, last_error, finished, owner, until) \
             WHERE e.event_id = v.event_id AND e.status <> 'delivered' \
               AND e.lease_owner = v.owner AND e.lease_until = v.until",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(&numbers)
    .bind(&next_ats)
    .bind(&summaries)
    .bind(&finished)
    .bind(&owners)
    .bind(&untils)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(applied)
}
