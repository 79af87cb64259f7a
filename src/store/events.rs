//! The event log as the operator sees it (an instance's events, one event with its body and
//! attempts), replays, queue statistics, and the upkeep every engine shares: releasing this
//! process's leases, pruning delivered events, and `/readyz`'s write probe. Written once for
//! both engines (`$n` parameters; `CAST(… AS BIGINT)` so integers decode alike).

use super::body::Unpacker;
use super::records::{AttemptRecord, EventDetail, EventSummary, QueueStats, Replay};
use super::sql::Arg;
use super::{Side, Status, Store, StoreError};

const SUMMARY_COLUMNS: &str = "e.seq, e.event_id, e.instance_id, e.box_event_id, e.status, \
     CAST(e.attempts AS BIGINT) AS attempts, e.received_at, e.next_attempt_at, e.finished_at, \
     e.last_error";

/// An event with its body, which is NULL when the body row is missing (SQLite would read
/// a NULL as an empty body: it must be an error instead).
#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    summary: EventSummary,
    body: Option<Vec<u8>>,
}

/// One stored attempt.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    event_id: String,
    attempt: i64,
    at: i64,
    status_code: Option<i64>,
    error: Option<String>,
    duration_ms: i64,
}

impl TryFrom<AttemptRow> for AttemptRecord {
    type Error = std::num::TryFromIntError;

    fn try_from(a: AttemptRow) -> Result<Self, Self::Error> {
        Ok(AttemptRecord {
            event_id: a.event_id,
            attempt: u32::try_from(a.attempt)?,
            at_ms: a.at,
            status_code: a.status_code.map(u16::try_from).transpose()?,
            error: a.error,
            duration_ms: a.duration_ms,
        })
    }
}

/// Count and first `seq` of the events in `status`, read from that status's partial index
/// (a scan of the table took 360 ms per million events; the indexes, ~45 ms). SQLite's
/// planner, without `ANALYZE`, prefers a bigger covering index, hence `INDEXED BY` there.
fn status_stats_sql(status: Status, sqlite: bool) -> String {
    let index = match status {
        Status::Pending => "events_pending_due",
        Status::Delivering => "events_leased",
        Status::Delivered => "events_finished",
        Status::Failed => "events_failed",
    };
    let hint = if sqlite {
        format!("INDEXED BY {index} ")
    } else {
        String::new()
    };
    format!(
        "SELECT COUNT(*) AS n, MIN(seq) AS first FROM events {hint}WHERE status = '{}'",
        status.as_str()
    )
}

impl Store {
    /// An instance's events, newest first, with any of `statuses` (all when empty) and
    /// `seq < before` when given.
    pub async fn list_events(
        &self,
        instance_id: i64,
        statuses: &[Status],
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventSummary>, StoreError> {
        let marks: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 4)).collect();
        let filter = if marks.is_empty() {
            String::new()
        } else {
            format!("AND e.status IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM events e WHERE e.instance_id = $1 AND e.seq < $2 \
             {filter} ORDER BY e.seq DESC LIMIT $3"
        );
        let mut args: Vec<Arg> = vec![
            instance_id.into(),
            before.unwrap_or(i64::MAX).into(),
            i64::from(limit).into(),
        ];
        args.extend(statuses.iter().map(|s| Arg::from(*s)));
        let what = || format!("an event of instance {instance_id}");
        let mut conn = self.conn(Side::Read).await?;
        conn.fetch_all(what, &sql, &args).await
    }

    /// A page of events with their bodies, newest first: every instance's, or only
    /// `instance_id`'s, with `seq < before` when given (Cloud Elements' event list).
    pub async fn event_bodies_page(
        &self,
        instance_id: Option<i64>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(EventSummary, bytes::Bytes)>, StoreError> {
        let filter = if instance_id.is_some() {
            "AND e.instance_id = $3"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, b.body FROM events e \
             LEFT JOIN event_bodies b ON b.seq = e.seq WHERE e.seq < $1 {filter} \
             ORDER BY e.seq DESC LIMIT $2"
        );
        let mut args: Vec<Arg> = vec![before.unwrap_or(i64::MAX).into(), i64::from(limit).into()];
        args.extend(instance_id.map(Arg::from));
        let mut conn = self.conn(Side::Read).await?;
        let rows: Vec<DetailRow> = conn.fetch_all(|| "an event".into(), &sql, &args).await?;
        rows.into_iter()
            .map(|DetailRow { summary, body }| match body {
                Some(body) => Ok((summary, body.into())),
                None => {
                    let what = format!("event {}", summary.event_id);
                    Err(self.corrupt.found(what, "its body row is missing".into()))
                }
            })
            .collect()
    }

    /// One event with its body and attempts.
    pub async fn event_detail(&self, event_id: &str) -> Result<Option<EventDetail>, StoreError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, b.body FROM events e \
             LEFT JOIN event_bodies b ON b.seq = e.seq WHERE e.event_id = $1"
        );
        let what = || format!("event {event_id}");
        let mut conn = self.conn(Side::Read).await?;
        let row: Option<DetailRow> = conn.fetch_optional(what, &sql, &[event_id.into()]).await?;
        let Some(DetailRow { summary, body }) = row else {
            return Ok(None);
        };
        let what = || format!("event {event_id}");
        let Some(stored) = body else {
            return Err(self.corrupt.found(what(), "its body row is missing".into()));
        };
        let body = Unpacker::default()
            .unpack(stored)
            .map_err(|e| self.corrupt.found(what(), e.into()))?;
        let attempts: Vec<AttemptRow> = conn
            .fetch_all(
                || format!("an attempt of event {event_id}"),
                "SELECT event_id, CAST(attempt AS BIGINT) AS attempt, at, \
                   CAST(status_code AS BIGINT) AS status_code, error, duration_ms \
                 FROM attempts WHERE event_id = $1 ORDER BY id",
                &[event_id.into()],
            )
            .await?;
        let attempts = attempts.into_iter().map(AttemptRecord::try_from);
        let attempts = attempts.collect::<Result<Vec<_>, _>>().map_err(|e| {
            let what = format!("an attempt of event {event_id}");
            self.corrupt.found(what, e.into())
        })?;
        Ok(Some(EventDetail {
            summary,
            body,
            attempts,
        }))
    }

    /// Queues a delivered, failed or pending event for immediate delivery with a fresh retry
    /// schedule; the body and `eventId` are unchanged.
    pub async fn replay(&self, event_id: &str, now_ms: i64) -> Result<Replay, StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        let queued = conn
            .execute(
                "UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = $2, \
                   finished_at = NULL WHERE event_id = $1 AND status <> 'delivering'",
                &[event_id.into(), now_ms.into()],
            )
            .await?;
        if queued > 0 {
            return Ok(Replay::Queued);
        }
        let exists: Option<(i64,)> = conn
            .fetch_optional(
                || format!("event {event_id}"),
                "SELECT CAST(1 AS BIGINT) FROM events WHERE event_id = $1",
                &[event_id.into()],
            )
            .await?;
        Ok(match exists {
            Some(_) => Replay::InFlight,
            None => Replay::NotFound,
        })
    }

    /// Queues every event of `instance_id` in `status` for immediate delivery; how many.
    pub async fn replay_all(
        &self,
        instance_id: i64,
        status: Status,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let args = [instance_id.into(), status.into(), now_ms.into()];
        self.conn(Side::Write)
            .await?
            .execute(
                "UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = $3, \
                   finished_at = NULL WHERE instance_id = $1 AND status = $2",
                &args,
            )
            .await
    }

    /// Counts by status and the age of the oldest undelivered event.
    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        // One snapshot: an event moving between two statuses is counted once.
        let mut conn = self.snapshot().await?;
        let mut stats = QueueStats::default();
        let mut first_undelivered: Option<i64> = None;
        for status in Status::ALL {
            let sql = status_stats_sql(status, conn.is_sqlite());
            let what = || format!("the {} count", status.as_str());
            let (n, first): (i64, Option<i64>) = conn.fetch_one(what, &sql, &[]).await?;
            *stats.counts.get_mut(status) = n as u64;
            let undelivered = matches!(status, Status::Pending | Status::Delivering);
            if let Some(seq) = first.filter(|_| undelivered) {
                first_undelivered = Some(first_undelivered.map_or(seq, |f| f.min(seq)));
            }
        }
        // Events are numbered in order of receipt, give or take the few milliseconds of a
        // group commit (a batch is numbered in event id order, and two batches may commit
        // at once): the lowest undelivered is the oldest, to within those milliseconds.
        if let Some(seq) = first_undelivered {
            let received: Option<(i64,)> = conn
                .fetch_optional(
                    || format!("event #{seq}"),
                    "SELECT received_at FROM events WHERE seq = $1",
                    &[seq.into()],
                )
                .await?;
            stats.oldest_pending_received_ms = received.map(|(t,)| t);
        }
        conn.commit().await?;
        Ok(stats)
    }

    /// Releases every lease this owner holds (shutdown).
    pub async fn release_all(&self, owner: &str) -> Result<u64, StoreError> {
        self.conn(Side::Write)
            .await?
            .execute(
                "UPDATE events SET status = 'pending', lease_owner = NULL, lease_until = NULL \
                 WHERE status = 'delivering' AND lease_owner = $1",
                &[owner.into()],
            )
            .await
    }

    /// Deletes events delivered before `before_ms` (10,000 at most a call); how many.
    pub async fn prune_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.conn(Side::Write)
            .await?
            .execute(
                "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events \
                 WHERE status = 'delivered' AND finished_at < $1 LIMIT 10000)",
                &[before_ms.into()],
            )
            .await
    }

    /// A write the size of a few events, through the writer, undone in the same transaction
    /// (`/readyz` after a failed commit: does the store take writes again?).
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        const PAD: [u8; 16 * 1024] = [0; 16 * 1024];
        let mut tx = self.begin().await?;
        tx.execute(
            "INSERT INTO write_probe (id, pad) VALUES (1, $1)",
            &[Arg::Blob(&PAD)],
        )
        .await?;
        tx.execute("DELETE FROM write_probe", &[]).await?;
        tx.commit().await
    }

    /// Fails a claimed event whose body is missing or unreadable (`why`, e.g. "the stored
    /// body is missing"): it cannot be delivered, and leaving it leased would claim it again
    /// after every lease.
    pub(super) async fn fail_bodiless(
        &self,
        event_id: &str,
        now_ms: i64,
        why: &str,
    ) -> Result<(), StoreError> {
        let what = format!("event {event_id}");
        let _ = self.corrupt.found(what, why.to_string().into());
        let reason = format!("{why} (corrupt store): not delivered");
        self.conn(Side::Write)
            .await?
            .execute(
                "UPDATE events SET status = 'failed', lease_owner = NULL, lease_until = NULL, \
                   last_error = $2, finished_at = $3 WHERE event_id = $1",
                &[event_id.into(), reason.as_str().into(), now_ms.into()],
            )
            .await?;
        Ok(())
    }
}
