//! What the relay keeps to call Box for an instance: its sealed OAuth tokens, refreshed
//! under a short lease so that one replica refreshes at a time, and the Box webhooks created
//! through it. Written once for both engines.

use super::sql::Arg;
use super::{Side, Store, StoreError};

/// An instance's Box tokens, sealed by `secret::cipher`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    /// Sealed access token.
    pub access_token: String,
    /// Sealed refresh token (none with Client Credentials).
    pub refresh_token: Option<String>,
    /// Unix milliseconds.
    #[sqlx(rename = "expires_at")]
    pub expires_at_ms: i64,
    /// Grows with every refresh.
    pub version: i64,
}

/// A Box webhook created through the relay.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    /// Box's webhook id.
    pub id: String,
    /// The instance it delivers to.
    pub instance_id: i64,
    /// Box file or folder id.
    pub target_id: String,
    /// `file` or `folder`.
    pub target_type: String,
    /// Box triggers (a JSON list in the store).
    #[sqlx(json)]
    pub triggers: Vec<String>,
    /// The address Box calls.
    pub address: String,
    /// Unix milliseconds.
    #[sqlx(rename = "created_at")]
    pub created_at_ms: i64,
    /// When it was deleted (through the relay, or Box's `WEBHOOK.DELETED`).
    #[sqlx(rename = "deleted_at")]
    pub deleted_at_ms: Option<i64>,
    /// Why.
    pub deleted_reason: Option<String>,
}

impl Store {
    /// Stores an instance's first tokens (or replaces them, version 1 again).
    pub async fn put_tokens(&self, instance_id: i64, t: &TokenRow) -> Result<(), StoreError> {
        let args = [
            instance_id.into(),
            Arg::from(&t.access_token),
            Arg::from(t.refresh_token.as_deref()),
            t.expires_at_ms.into(),
        ];
        self.conn(Side::Write)
            .await?
            .execute(
                "INSERT INTO box_tokens (instance_id, access_token, refresh_token, expires_at, \
                   version) VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (instance_id) DO UPDATE SET access_token = excluded.access_token, \
                   refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, \
                   version = box_tokens.version + 1, refreshing_owner = NULL, \
                   refreshing_until = NULL",
                &args,
            )
            .await?;
        Ok(())
    }

    /// An instance's tokens (read on the writer: the latest refresh).
    pub async fn get_tokens(&self, instance_id: i64) -> Result<Option<TokenRow>, StoreError> {
        let what = || format!("the Box tokens of instance {instance_id}");
        self.conn(Side::Write)
            .await?
            .fetch_optional(
                what,
                "SELECT access_token, refresh_token, expires_at, version FROM box_tokens \
                 WHERE instance_id = $1",
                &[instance_id.into()],
            )
            .await
    }

    /// Takes the refresh lease if the tokens are still at `version` and nobody holds an
    /// unexpired lease; true when `owner` may refresh now.
    pub async fn begin_refresh(
        &self,
        instance_id: i64,
        version: i64,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let args = [
            instance_id.into(),
            version.into(),
            owner.into(),
            now_ms.into(),
            until_ms.into(),
        ];
        let n = self
            .conn(Side::Write)
            .await?
            .execute(
                "UPDATE box_tokens SET refreshing_owner = $3, refreshing_until = $5 \
                 WHERE instance_id = $1 AND version = $2 \
                   AND (refreshing_until IS NULL OR refreshing_until < $4)",
                &args,
            )
            .await?;
        Ok(n == 1)
    }

    /// Stores refreshed tokens (version + 1) and ends `owner`'s lease; false if it lost it.
    pub async fn finish_refresh(
        &self,
        instance_id: i64,
        owner: &str,
        t: &TokenRow,
    ) -> Result<bool, StoreError> {
        let args = [
            instance_id.into(),
            owner.into(),
            Arg::from(&t.access_token),
            Arg::from(t.refresh_token.as_deref()),
            t.expires_at_ms.into(),
        ];
        let n = self
            .conn(Side::Write)
            .await?
            .execute(
                "UPDATE box_tokens SET access_token = $3, refresh_token = $4, \
                   expires_at = $5, version = version + 1, refreshing_owner = NULL, \
                   refreshing_until = NULL \
                 WHERE instance_id = $1 AND refreshing_owner = $2",
                &args,
            )
            .await?;
        Ok(n == 1)
    }

    /// Ends `owner`'s lease without a change (the refresh failed).
    pub async fn abort_refresh(&self, instance_id: i64, owner: &str) -> Result<(), StoreError> {
        self.conn(Side::Write)
            .await?
            .execute(
                "UPDATE box_tokens SET refreshing_owner = NULL, refreshing_until = NULL \
                 WHERE instance_id = $1 AND refreshing_owner = $2",
                &[instance_id.into(), owner.into()],
            )
            .await?;
        Ok(())
    }

    /// Records a webhook created through the relay (again: the same instance may re-record
    /// it). An id already recorded for another instance keeps its owner and its fields:
    /// answers false and changes nothing.
    pub async fn insert_webhook(&self, w: &WebhookRow) -> Result<bool, StoreError> {
        let args = [
            Arg::from(&w.id),
            w.instance_id.into(),
            Arg::from(&w.target_id),
            Arg::from(&w.target_type),
            Arg::from(&w.triggers[..]),
            Arg::from(&w.address),
            w.created_at_ms.into(),
        ];
        // The owner never changes: a conflicting row of another instance is kept.
        let n = self
            .conn(Side::Write)
            .await?
            .execute(
                "INSERT INTO box_webhooks (id, instance_id, target_id, target_type, triggers, \
                   address, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET \
                   target_id = excluded.target_id, target_type = excluded.target_type, \
                   triggers = excluded.triggers, address = excluded.address, \
                   deleted_at = NULL, deleted_reason = NULL \
                 WHERE box_webhooks.instance_id = excluded.instance_id",
                &args,
            )
            .await?;
        Ok(n == 1)
    }

    /// One webhook record.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError> {
        let what = || format!("Box webhook {id}");
        let sql = "SELECT * FROM box_webhooks WHERE id = $1";
        let mut conn = self.conn(Side::Read).await?;
        conn.fetch_optional(what, sql, &[id.into()]).await
    }

    /// Of `ids`, those recorded as live webhooks of `instance_id`.
    pub async fn owned_webhook_ids(
        &self,
        instance_id: i64,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One page of Box's list (at most a few hundred ids): one query.
        let marks: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM box_webhooks WHERE instance_id = $1 \
             AND deleted_at IS NULL AND id IN ({})",
            marks.join(", ")
        );
        let mut args = vec![Arg::from(instance_id)];
        args.extend(ids.iter().map(Arg::from));
        let what = || format!("a Box webhook of instance {instance_id}");
        let mut conn = self.conn(Side::Read).await?;
        let rows: Vec<(String,)> = conn.fetch_all(what, &sql, &args).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Updates the target, triggers and address of a webhook of `webhook.instance_id`
    /// (another instance's record is left as it is).
    pub async fn update_webhook(&self, w: &WebhookRow) -> Result<(), StoreError> {
        let args = [
            Arg::from(&w.id),
            Arg::from(&w.target_id),
            Arg::from(&w.target_type),
            Arg::from(&w.triggers[..]),
            Arg::from(&w.address),
            w.instance_id.into(),
        ];
        self.conn(Side::Write)
            .await?
            .execute(
                "UPDATE box_webhooks SET target_id = $2, target_type = $3, triggers = $4, \
                   address = $5 WHERE id = $1 AND instance_id = $6",
                &args,
            )
            .await?;
        Ok(())
    }

    /// Marks a webhook of `instance_id` deleted; false when the relay did not create it for
    /// that instance (or it was already deleted).
    pub async fn mark_webhook_deleted(
        &self,
        instance_id: i64,
        id: &str,
        now_ms: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let args = [id.into(), now_ms.into(), reason.into(), instance_id.into()];
        let n = self
            .conn(Side::Write)
            .await?
            .execute(
                "UPDATE box_webhooks SET deleted_at = $2, deleted_reason = $3 \
                 WHERE id = $1 AND deleted_at IS NULL AND instance_id = $4",
                &args,
            )
            .await?;
        Ok(n == 1)
    }
}
