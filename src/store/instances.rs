//! Instances created through the admin API: their rows (the configuration sealed as a
//! whole, the token kept as a digest), the revision every replica watches, and the start-up
//! pass that seals rows stored in clear by an earlier version. Written once for both engines.

use super::records::StoredInstance;
use super::secrets::{self, SecretsReport};
use super::sql::Arg;
use super::{Side, Store, StoreError};
use crate::secret::Cipher;

/// An instance row as stored: its configuration still sealed.
#[derive(sqlx::FromRow)]
struct InstanceRow {
    id: i64,
    name: String,
    token: String,
    #[sqlx(json)]
    tags: Vec<String>,
    configuration: String,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl InstanceRow {
    /// The instance, its configuration opened with `key`.
    fn open(self, key: Option<&Cipher>) -> Result<StoredInstance, StoreError> {
        Ok(StoredInstance {
            configuration: secrets::open_configuration(self.id, &self.configuration, key)?,
            id: self.id,
            name: self.name,
            token: secrets::token_digest(&self.token),
            tags: self.tags,
            disabled: self.disabled,
            created_at_ms: self.created_at,
            updated_at_ms: self.updated_at,
        })
    }
}

fn an_instance() -> String {
    "an instance row".into()
}

impl Store {
    fn opened(&self, row: InstanceRow) -> Result<StoredInstance, StoreError> {
        row.open(self.key.as_ref())
            .map_err(|e| self.corrupt.counted(e))
    }

    /// Changes with every instance write (any replica); cheap to read.
    pub async fn instances_revision(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn(Side::Read).await?;
        let sql = "SELECT revision FROM instances_meta";
        let (revision,): (i64,) = conn
            .fetch_one(|| "the instances' revision".into(), sql, &[])
            .await?;
        Ok(revision)
    }

    /// Every stored instance, by id.
    pub async fn list_instances(&self) -> Result<Vec<StoredInstance>, StoreError> {
        let mut conn = self.conn(Side::Read).await?;
        let sql = "SELECT * FROM instances ORDER BY id";
        let rows: Vec<InstanceRow> = conn.fetch_all(an_instance, sql, &[]).await?;
        rows.into_iter().map(|r| self.opened(r)).collect()
    }

    /// One stored instance (read on the writer: what was just written).
    pub async fn get_instance(&self, id: i64) -> Result<Option<StoredInstance>, StoreError> {
        let mut conn = self.conn(Side::Write).await?;
        let what = || format!("instance {id}");
        let sql = "SELECT * FROM instances WHERE id = $1";
        let row: Option<InstanceRow> = conn.fetch_optional(what, sql, &[id.into()]).await?;
        row.map(|r| self.opened(r)).transpose()
    }

    /// Whether the store has an instance `id`, read without its secrets (tools have no key).
    pub async fn instance_exists(&self, id: i64) -> Result<bool, StoreError> {
        let mut conn = self.conn(Side::Read).await?;
        let what = || format!("instance {id}");
        let sql = "SELECT id FROM instances WHERE id = $1";
        let row: Option<(i64,)> = conn.fetch_optional(what, sql, &[id.into()]).await?;
        Ok(row.is_some())
    }

    /// Stores a new instance under a fresh id greater than `reserved_max` (the largest id
    /// of the config file) and than any id given before; `instance.id` is ignored.
    pub async fn create_instance(
        &self,
        instance: &StoredInstance,
        reserved_max: i64,
    ) -> Result<StoredInstance, StoreError> {
        let mut tx = self.begin().await?;
        // The meta row's update also serializes instance writers across replicas.
        let (last,): (i64,) = tx
            .fetch_one(
                || "the instances' meta row".into(),
                "UPDATE instances_meta SET revision = revision + 1 RETURNING last_id",
                &[],
            )
            .await?;
        let id = last.max(reserved_max) + 1;
        tx.execute("UPDATE instances_meta SET last_id = $1", &[id.into()])
            .await?;
        let sealed = secrets::seal_configuration(id, &instance.configuration, self.key.as_ref())?;
        let token = instance.token.to_stored();
        let args = [
            id.into(),
            Arg::from(&instance.name),
            Arg::from(token.as_str()),
            Arg::from(&instance.tags[..]),
            Arg::from(&sealed),
            instance.disabled.into(),
            instance.created_at_ms.into(),
        ];
        let row: InstanceRow = tx
            .fetch_one(
                || format!("instance {id}"),
                "INSERT INTO instances (id, name, token, tags, configuration, disabled, \
                   created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING *",
                &args,
            )
            .await?;
        let stored = self.opened(row)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces name, tags, configuration and `disabled`; false when there is no such instance.
    pub async fn update_instance(&self, instance: &StoredInstance) -> Result<bool, StoreError> {
        let key = self.key.as_ref();
        let sealed = secrets::seal_configuration(instance.id, &instance.configuration, key)?;
        let args = [
            instance.id.into(),
            Arg::from(&instance.name),
            Arg::from(&instance.tags[..]),
            Arg::from(&sealed),
            instance.disabled.into(),
            instance.updated_at_ms.into(),
        ];
        let mut tx = self.begin().await?;
        tx.bump_revision().await?;
        let n = tx
            .execute(
                "UPDATE instances SET name = $2, tags = $3, configuration = $4, \
                   disabled = $5, updated_at = $6 WHERE id = $1",
                &args,
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Deletes an instance and its Box tokens (its events stay in the log); false when there
    /// is none.
    pub async fn delete_instance(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        tx.bump_revision().await?;
        let n = tx
            .execute("DELETE FROM instances WHERE id = $1", &[id.into()])
            .await?;
        // Its Box tokens go with it, and its suspension (the queue failure policy).
        tx.execute(
            "DELETE FROM box_tokens WHERE instance_id = $1",
            &[id.into()],
        )
        .await?;
        tx.execute(
            "DELETE FROM suspended_instances WHERE instance_id = $1",
            &[id.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Seals instance rows stored before secrets were encrypted (hashes the token, seals the
    /// configuration) and checks that every instance and Box token opens with the store's
    /// key: a row that does not is an error naming the instance. Safe to run on several
    /// replicas at once; run at start.
    pub async fn seal_clear_secrets(&self) -> Result<SecretsReport, StoreError> {
        let key = self.key.as_ref().ok_or_else(|| {
            StoreError::Secrets("the store was opened without a secrets key".into())
        })?;
        let mut tx = self.begin().await?;
        let sqlite = tx.is_sqlite();
        if sqlite {
            // The clear values must not stay in the pages' free space.
            tx.execute("PRAGMA secure_delete = ON", &[]).await?;
        }
        let report = secrets::convert_rows(&mut tx, key, key, false)
            .await
            .map_err(|e| self.corrupt.counted(e))?;
        tx.commit().await?;
        if sqlite {
            let mut writer = self.conn(Side::Write).await?;
            writer.execute("PRAGMA secure_delete = OFF", &[]).await?;
            if report.instances > 0 {
                // Nor in the WAL's older frames: copy it back and empty it.
                writer
                    .execute("PRAGMA wal_checkpoint(TRUNCATE)", &[])
                    .await?;
            }
        }
        Ok(report)
    }
}

impl super::sql::Conn<'_> {
    /// Bumps the instances' revision, so every replica's registry reloads them (in the same
    /// transaction as the change it announces).
    pub(super) async fn bump_revision(&mut self) -> Result<(), StoreError> {
        self.execute("UPDATE instances_meta SET revision = revision + 1", &[])
            .await
            .map(|_| ())
    }
}
