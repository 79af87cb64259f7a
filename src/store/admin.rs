//! The operator's side of the store ([`AdminStore`]): instances created through the admin API,
//! the event log, replays and queue statistics. These statements are written once, in SQL
//! both engines accept (`$n` parameters, `CAST(… AS BIGINT)` so integers decode alike), and
//! [`impl_admin_store!`] implements the trait for each engine over its own pools.

use async_trait::async_trait;

use super::records::{EventDetail, EventSummary, QueueStats, Replay, StoredInstance};
use super::{Status, StoreError};

/// Instances, event log, replays and statistics.
#[async_trait]
pub trait AdminStore {
    /// Changes with every instance write (any replica); cheap to read.
    async fn instances_revision(&self) -> Result<i64, StoreError>;

    /// Every stored instance, by id.
    async fn list_instances(&self) -> Result<Vec<StoredInstance>, StoreError>;

    /// One stored instance.
    async fn get_instance(&self, id: i64) -> Result<Option<StoredInstance>, StoreError>;

    /// Whether the store has an instance `id`, read without its secrets (tools have no key).
    async fn instance_exists(&self, id: i64) -> Result<bool, StoreError>;

    /// Stores a new instance under a fresh id greater than `reserved_max` (the largest id
    /// of the config file) and than any id given before; `instance.id` is ignored.
    async fn create_instance(
        &self,
        instance: &StoredInstance,
        reserved_max: i64,
    ) -> Result<StoredInstance, StoreError>;

    /// Replaces name, tags, configuration and `disabled`; false when there is no such instance.
    async fn update_instance(&self, instance: &StoredInstance) -> Result<bool, StoreError>;

    /// Deletes an instance and its Box tokens (its events stay in the log); false when there
    /// is none.
    async fn delete_instance(&self, id: i64) -> Result<bool, StoreError>;

    /// An instance's events, newest first, with any of `statuses` (all when empty) and
    /// `seq < before` when given.
    async fn list_events(
        &self,
        instance_id: i64,
        statuses: &[Status],
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventSummary>, StoreError>;

    /// One event with its body and attempts.
    async fn event_detail(&self, event_id: &str) -> Result<Option<EventDetail>, StoreError>;

    /// Seals instance rows stored before secrets were encrypted (hashes the token, seals the
    /// configuration) and checks that every instance and Box token opens with the store's
    /// key: a row that does not is an error naming the instance. Safe to run on several
    /// replicas at once; run at start.
    async fn seal_clear_secrets(&self) -> Result<super::secrets::SecretsReport, StoreError>;

    /// Queues a delivered, failed or pending event for immediate delivery with a fresh retry
    /// schedule; the body and `eventId` are unchanged.
    async fn replay(&self, event_id: &str, now_ms: i64) -> Result<Replay, StoreError>;

    /// Queues every event of `instance_id` in `status` for immediate delivery; how many.
    async fn replay_all(
        &self,
        instance_id: i64,
        status: Status,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// Counts by status and the age of the oldest undelivered event.
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;
}

/// Count and first `seq` of the events in `status`, read from that status's partial index
/// (a scan of the table took 360 ms per million events; the indexes, ~45 ms). SQLite's
/// planner, without `ANALYZE`, prefers a bigger covering index, hence `INDEXED BY` there.
pub(crate) fn status_stats_sql(status: super::Status, sqlite: bool) -> String {
    let index = match status {
        super::Status::Pending => "events_pending_due",
        super::Status::Delivering => "events_leased",
        super::Status::Delivered => "events_finished",
        super::Status::Failed => "events_failed",
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

pub(crate) const SUMMARY_COLUMNS: &str = "e.seq, e.event_id, e.instance_id, e.box_event_id, \
     e.status, CAST(e.attempts AS BIGINT) AS attempts, e.received_at, e.next_attempt_at, \
     e.finished_at, e.last_error";

/// Implements [`AdminStore`] for an engine: `$store` with the pools `$reader` (queries) and
/// `$writer` (changes), its row type `$row`.
macro_rules! impl_admin_store {
    ($store:ty, reader: $reader:ident, writer: $writer:ident, row: $row:ty, sqlite: $sqlite:expr) => {
        fn summary_row(r: &$row) -> $crate::store::records::EventSummary {
            use sqlx::Row;
            $crate::store::records::EventSummary {
                seq: r.get("seq"),
                event_id: r.get("event_id"),
                instance_id: r.get("instance_id"),
                box_event_id: r.get("box_event_id"),
                status: $crate::store::Status::parse(r.get::<&str, _>("status"))
                    .unwrap_or($crate::store::Status::Pending),
                attempts: r.get::<i64, _>("attempts") as u32,
                received_at_ms: r.get("received_at"),
                next_attempt_at_ms: r.get("next_attempt_at"),
                finished_at_ms: r.get("finished_at"),
                last_error: r.get("last_error"),
            }
        }

        fn instance_row(
            r: &$row,
            key: Option<&$crate::secret::Cipher>,
        ) -> Result<$crate::store::records::StoredInstance, $crate::store::StoreError> {
            use sqlx::Row;
            use $crate::store::secrets;
            let id: i64 = r.get("id");
            let tags = serde_json::from_str(r.get::<&str, _>("tags")).map_err(|e| {
                $crate::store::StoreError::Secrets(format!("instance {id}'s tags: {e}"))
            })?;
            Ok($crate::store::records::StoredInstance {
                id,
                name: r.get("name"),
                token: secrets::token_digest(r.get::<&str, _>("token")),
                tags,
                configuration: secrets::open_configuration(
                    id,
                    r.get::<&str, _>("configuration"),
                    key,
                )?,
                disabled: r.get("disabled"),
                created_at_ms: r.get("created_at"),
                updated_at_ms: r.get("updated_at"),
            })
        }

        fn json_text<T: serde::Serialize>(value: &T) -> String {
            serde_json::to_string(value).unwrap_or_default()
        }

        #[async_trait::async_trait]
        impl $crate::store::admin::AdminStore for $store {
            async fn instances_revision(&self) -> Result<i64, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query("SELECT revision FROM instances_meta")
                    .fetch_one(&self.$reader)
                    .await?;
                Ok(row.get("revision"))
            }

            async fn list_instances(
                &self,
            ) -> Result<Vec<$crate::store::records::StoredInstance>, $crate::store::StoreError>
            {
                let rows = sqlx::query("SELECT * FROM instances ORDER BY id")
                    .fetch_all(&self.$reader)
                    .await?;
                rows.iter()
                    .map(|r| instance_row(r, self.key.as_ref()))
                    .collect()
            }

            async fn get_instance(
                &self,
                id: i64,
            ) -> Result<Option<$crate::store::records::StoredInstance>, $crate::store::StoreError>
            {
                let row = sqlx::query("SELECT * FROM instances WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.$writer)
                    .await?;
                row.as_ref()
                    .map(|r| instance_row(r, self.key.as_ref()))
                    .transpose()
            }

            async fn instance_exists(&self, id: i64) -> Result<bool, $crate::store::StoreError> {
                let row = sqlx::query("SELECT 1 FROM instances WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.is_some())
            }

            async fn create_instance(
                &self,
                instance: &$crate::store::records::StoredInstance,
                reserved_max: i64,
            ) -> Result<$crate::store::records::StoredInstance, $crate::store::StoreError> {
                use sqlx::Row;
                let mut tx = self.$writer.begin().await?;
                // The meta row's update also serializes instance writers across replicas.
                let last: i64 = sqlx::query(
                    "UPDATE instances_meta SET revision = revision + 1 RETURNING last_id",
                )
                .fetch_one(&mut *tx)
                .await?
                .get("last_id");
                let id = last.max(reserved_max) + 1;
                sqlx::query("UPDATE instances_meta SET last_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query(
                    "INSERT INTO instances (id, name, token, tags, configuration, disabled, \
                       created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     RETURNING *",
                )
                .bind(id)
                .bind(&instance.name)
                .bind(instance.token.to_stored())
                .bind(json_text(&instance.tags))
                .bind($crate::store::secrets::seal_configuration(
                    id,
                    &instance.configuration,
                    self.key.as_ref(),
                )?)
                .bind(instance.disabled)
                .bind(instance.created_at_ms)
                .fetch_one(&mut *tx)
                .await?;
                let stored = instance_row(&row, self.key.as_ref())?;
                tx.commit().await?;
                Ok(stored)
            }

            async fn update_instance(
                &self,
                instance: &$crate::store::records::StoredInstance,
            ) -> Result<bool, $crate::store::StoreError> {
                let sealed = $crate::store::secrets::seal_configuration(
                    instance.id,
                    &instance.configuration,
                    self.key.as_ref(),
                )?;
                let mut tx = self.$writer.begin().await?;
                sqlx::query("UPDATE instances_meta SET revision = revision + 1")
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "UPDATE instances SET name = $2, tags = $3, configuration = $4, \
                       disabled = $5, updated_at = $6 WHERE id = $1",
                )
                .bind(instance.id)
                .bind(&instance.name)
                .bind(json_text(&instance.tags))
                .bind(sealed)
                .bind(instance.disabled)
                .bind(instance.updated_at_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn delete_instance(&self, id: i64) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.$writer.begin().await?;
                sqlx::query("UPDATE instances_meta SET revision = revision + 1")
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM instances WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // Its Box tokens go with it.
                sqlx::query("DELETE FROM box_tokens WHERE instance_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn seal_clear_secrets(
                &self,
            ) -> Result<$crate::store::secrets::SecretsReport, $crate::store::StoreError> {
                let key = self.key.as_ref().ok_or_else(|| {
                    $crate::store::StoreError::Secrets(
                        "the store was opened without a secrets key".into(),
                    )
                })?;
                let mut tx = self.$writer.begin().await?;
                if $sqlite {
                    // The clear values must not stay in the pages' free space.
                    sqlx::query("PRAGMA secure_delete = ON")
                        .execute(&mut *tx)
                        .await?;
                }
                let report = $crate::store::secrets::convert_rows!(tx, key, key, false)?;
                tx.commit().await?;
                if $sqlite {
                    sqlx::query("PRAGMA secure_delete = OFF")
                        .execute(&self.$writer)
                        .await?;
                    if report.instances > 0 {
                        // Nor in the WAL's older frames: copy it back and empty it.
                        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                            .execute(&self.$writer)
                            .await?;
                    }
                }
                Ok(report)
            }

            async fn list_events(
                &self,
                instance_id: i64,
                statuses: &[$crate::store::Status],
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::store::records::EventSummary>, $crate::store::StoreError> {
                let filter = if statuses.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> =
                        (0..statuses.len()).map(|i| format!("${}", i + 4)).collect();
                    format!("AND e.status IN ({})", list.join(", "))
                };
                let sql = format!(
                    "SELECT {} FROM events e WHERE e.instance_id = $1 AND e.seq < $2 {filter} \
                     ORDER BY e.seq DESC LIMIT $3",
                    $crate::store::admin::SUMMARY_COLUMNS
                );
                let mut query = sqlx::query(&sql)
                    .bind(instance_id)
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(i64::from(limit));
                for s in statuses {
                    query = query.bind(s.as_str());
                }
                let rows = query.fetch_all(&self.$reader).await?;
                Ok(rows.iter().map(summary_row).collect())
            }

            async fn event_detail(
                &self,
                event_id: &str,
            ) -> Result<Option<$crate::store::records::EventDetail>, $crate::store::StoreError>
            {
                use sqlx::Row;
                let sql = format!(
                    "SELECT {}, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq \
                     WHERE e.event_id = $1",
                    $crate::store::admin::SUMMARY_COLUMNS
                );
                let Some(row) = sqlx::query(&sql)
                    .bind(event_id)
                    .fetch_optional(&self.$reader)
                    .await?
                else {
                    return Ok(None);
                };
                let attempts = sqlx::query(
                    "SELECT CAST(attempt AS BIGINT) AS attempt, at, \
                       CAST(status_code AS BIGINT) AS status_code, error, duration_ms \
                     FROM attempts WHERE event_id = $1 ORDER BY id",
                )
                .bind(event_id)
                .fetch_all(&self.$reader)
                .await?
                .iter()
                .map(|a| $crate::store::AttemptRecord {
                    event_id: event_id.to_string(),
                    attempt: a.get::<i64, _>("attempt") as u32,
                    at_ms: a.get("at"),
                    status_code: a.get::<Option<i64>, _>("status_code").map(|c| c as u16),
                    error: a.get("error"),
                    duration_ms: a.get("duration_ms"),
                })
                .collect();
                Ok(Some($crate::store::records::EventDetail {
                    summary: summary_row(&row),
                    body: bytes::Bytes::from(row.get::<Vec<u8>, _>("body")),
                    attempts,
                }))
            }

            async fn replay(
                &self,
                event_id: &str,
                now_ms: i64,
            ) -> Result<$crate::store::records::Replay, $crate::store::StoreError> {
                use $crate::store::records::Replay;
                let queued = sqlx::query(
                    "UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = $2, \
                       finished_at = NULL WHERE event_id = $1 AND status <> 'delivering'",
                )
                .bind(event_id)
                .bind(now_ms)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                if queued > 0 {
                    return Ok(Replay::Queued);
                }
                let exists = sqlx::query("SELECT 1 FROM events WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_optional(&self.$writer)
                    .await?;
                Ok(if exists.is_some() {
                    Replay::InFlight
                } else {
                    Replay::NotFound
                })
            }

            async fn replay_all(
                &self,
                instance_id: i64,
                status: $crate::store::Status,
                now_ms: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query(
                    "UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = $3, \
                       finished_at = NULL WHERE instance_id = $1 AND status = $2",
                )
                .bind(instance_id)
                .bind(status.as_str())
                .bind(now_ms)
                .execute(&self.$writer)
                .await?
                .rows_affected())
            }

            async fn queue_stats(
                &self,
            ) -> Result<$crate::store::records::QueueStats, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::store::Status;
                let mut stats = $crate::store::records::QueueStats::default();
                let mut first_undelivered: Option<i64> = None;
                for status in [
                    Status::Pending,
                    Status::Delivering,
                    Status::Delivered,
                    Status::Failed,
                ] {
                    let sql = $crate::store::admin::status_stats_sql(status, $sqlite);
                    let row = sqlx::query(&sql).fetch_one(&self.$reader).await?;
                    stats
                        .counts
                        .add(status.as_str(), row.get::<i64, _>("n") as u64);
                    if matches!(status, Status::Pending | Status::Delivering) {
                        if let Some(seq) = row.get::<Option<i64>, _>("first") {
                            first_undelivered =
                                Some(first_undelivered.map_or(seq, |f: i64| f.min(seq)));
                        }
                    }
                }
                // Events are numbered in order of receipt: the lowest undelivered is the oldest.
                if let Some(seq) = first_undelivered {
                    stats.oldest_pending_received_ms =
                        sqlx::query("SELECT received_at FROM events WHERE seq = $1")
                            .bind(seq)
                            .fetch_optional(&self.$reader)
                            .await?
                            .map(|r| r.get("received_at"));
                }
                Ok(stats)
            }
        }
    };
}

pub(crate) use impl_admin_store;
