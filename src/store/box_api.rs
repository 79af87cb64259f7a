//! What the relay keeps to call Box for an instance ([`BoxApiStore`]): its sealed OAuth
//! tokens, refreshed under a short lease so that one replica refreshes at a time, and the
//! Box webhooks created through it. Written once for both engines, as [`super::admin`].

use async_trait::async_trait;

use super::StoreError;

/// An instance's Box tokens, sealed by `secret::cipher`.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Sealed access token.
    pub access_token: String,
    /// Sealed refresh token (none with Client Credentials).
    pub refresh_token: Option<String>,
    /// Unix milliseconds.
    pub expires_at_ms: i64,
    /// Grows with every refresh.
    pub version: i64,
}

/// A Box webhook created through the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Box's webhook id.
    pub id: String,
    /// The instance it delivers to.
    pub instance_id: i64,
    /// Box file or folder id.
    pub target_id: String,
    /// `file` or `folder`.
    pub target_type: String,
    /// Box triggers.
    pub triggers: Vec<String>,
    /// The address Box calls.
    pub address: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// When it was deleted (through the relay, or Box's `WEBHOOK.DELETED`).
    pub deleted_at_ms: Option<i64>,
    /// Why.
    pub deleted_reason: Option<String>,
}

/// Tokens and webhooks.
#[async_trait]
pub trait BoxApiStore {
    /// Stores an instance's first tokens (or replaces them, version 1 again).
    async fn put_tokens(&self, instance_id: i64, tokens: &TokenRow) -> Result<(), StoreError>;

    /// An instance's tokens.
    async fn get_tokens(&self, instance_id: i64) -> Result<Option<TokenRow>, StoreError>;

    /// Takes the refresh lease if the tokens are still at `version` and nobody holds an
    /// unexpired lease; true when `owner` may refresh now.
    async fn begin_refresh(
        &self,
        instance_id: i64,
        version: i64,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Stores refreshed tokens (version + 1) and ends `owner`'s lease; false if it lost it.
    async fn finish_refresh(
        &self,
        instance_id: i64,
        owner: &str,
        tokens: &TokenRow,
    ) -> Result<bool, StoreError>;

    /// Ends `owner`'s lease without a change (the refresh failed).
    async fn abort_refresh(&self, instance_id: i64, owner: &str) -> Result<(), StoreError>;

    /// Records a webhook created through the relay (again: the same instance may re-record
    /// it). An id already recorded for another instance keeps its owner and its fields:
    /// answers false and changes nothing.
    async fn insert_webhook(&self, webhook: &WebhookRow) -> Result<bool, StoreError>;

    /// One webhook record.
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError>;

    /// Of `ids`, those recorded as live webhooks of `instance_id`.
    async fn owned_webhook_ids(
        &self,
        instance_id: i64,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError>;

    /// Updates the target, triggers and address of a webhook of `webhook.instance_id`
    /// (another instance's record is left as it is).
    async fn update_webhook(&self, webhook: &WebhookRow) -> Result<(), StoreError>;

    /// Marks a webhook of `instance_id` deleted; false when the relay did not create it for
    /// that instance (or it was already deleted).
    async fn mark_webhook_deleted(
        &self,
        instance_id: i64,
        id: &str,
        now_ms: i64,
        reason: &str,
    ) -> Result<bool, StoreError>;
}

/// Implements [`BoxApiStore`] for an engine, as `impl_admin_store!`.
macro_rules! impl_box_api_store {
    ($store:ty, reader: $reader:ident, writer: $writer:ident, row: $row:ty) => {
        fn webhook_row(r: &$row) -> $crate::store::box_api::WebhookRow {
            use sqlx::Row;
            $crate::store::box_api::WebhookRow {
                id: r.get("id"),
                instance_id: r.get("instance_id"),
                target_id: r.get("target_id"),
                target_type: r.get("target_type"),
                triggers: serde_json::from_str(r.get::<&str, _>("triggers")).unwrap_or_default(),
                address: r.get("address"),
                created_at_ms: r.get("created_at"),
                deleted_at_ms: r.get("deleted_at"),
                deleted_reason: r.get("deleted_reason"),
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::box_api::BoxApiStore for $store {
            async fn put_tokens(
                &self,
                instance_id: i64,
                t: &$crate::store::box_api::TokenRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO box_tokens (instance_id, access_token, refresh_token, \
                       expires_at, version) VALUES ($1, $2, $3, $4, 1) \
                     ON CONFLICT (instance_id) DO UPDATE SET access_token = excluded.access_token, \
                       refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, \
                       version = box_tokens.version + 1, refreshing_owner = NULL, \
                       refreshing_until = NULL",
                )
                .bind(instance_id)
                .bind(&t.access_token)
                .bind(&t.refresh_token)
                .bind(t.expires_at_ms)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn get_tokens(
                &self,
                instance_id: i64,
            ) -> Result<Option<$crate::store::box_api::TokenRow>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT access_token, refresh_token, expires_at, version FROM box_tokens \
                     WHERE instance_id = $1",
                )
                .bind(instance_id)
                .fetch_optional(&self.$writer)
                .await?;
                Ok(row.map(|r| $crate::store::box_api::TokenRow {
                    access_token: r.get("access_token"),
                    refresh_token: r.get("refresh_token"),
                    expires_at_ms: r.get("expires_at"),
                    version: r.get("version"),
                }))
            }

            async fn begin_refresh(
                &self,
                instance_id: i64,
                version: i64,
                owner: &str,
                now_ms: i64,
                until_ms: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let n = sqlx::query(
                    "UPDATE box_tokens SET refreshing_owner = $3, refreshing_until = $5 \
                     WHERE instance_id = $1 AND version = $2 \
                       AND (refreshing_until IS NULL OR refreshing_until < $4)",
                )
                .bind(instance_id)
                .bind(version)
                .bind(owner)
                .bind(now_ms)
                .bind(until_ms)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn finish_refresh(
                &self,
                instance_id: i64,
                owner: &str,
                t: &$crate::store::box_api::TokenRow,
            ) -> Result<bool, $crate::store::StoreError> {
                let n = sqlx::query(
                    "UPDATE box_tokens SET access_token = $3, refresh_token = $4, \
                       expires_at = $5, version = version + 1, refreshing_owner = NULL, \
                       refreshing_until = NULL \
                     WHERE instance_id = $1 AND refreshing_owner = $2",
                )
                .bind(instance_id)
                .bind(owner)
                .bind(&t.access_token)
                .bind(&t.refresh_token)
                .bind(t.expires_at_ms)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn abort_refresh(
                &self,
                instance_id: i64,
                owner: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE box_tokens SET refreshing_owner = NULL, refreshing_until = NULL \
                     WHERE instance_id = $1 AND refreshing_owner = $2",
                )
                .bind(instance_id)
                .bind(owner)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn insert_webhook(
                &self,
                w: &$crate::store::box_api::WebhookRow,
            ) -> Result<bool, $crate::store::StoreError> {
                // The owner never changes: a conflicting row of another instance is kept.
                let n = sqlx::query(
                    "INSERT INTO box_webhooks (id, instance_id, target_id, target_type, \
                       triggers, address, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (id) DO UPDATE SET \
                       target_id = excluded.target_id, target_type = excluded.target_type, \
                       triggers = excluded.triggers, address = excluded.address, \
                       deleted_at = NULL, deleted_reason = NULL \
                     WHERE box_webhooks.instance_id = excluded.instance_id",
                )
                .bind(&w.id)
                .bind(w.instance_id)
                .bind(&w.target_id)
                .bind(&w.target_type)
                .bind(serde_json::to_string(&w.triggers).unwrap_or_default())
                .bind(&w.address)
                .bind(w.created_at_ms)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn get_webhook(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::box_api::WebhookRow>, $crate::store::StoreError>
            {
                let row = sqlx::query("SELECT * FROM box_webhooks WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.as_ref().map(webhook_row))
            }

            async fn owned_webhook_ids(
                &self,
                instance_id: i64,
                ids: &[String],
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                use sqlx::Row;
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
                let mut query = sqlx::query(&sql).bind(instance_id);
                for id in ids {
                    query = query.bind(id);
                }
                let rows = query.fetch_all(&self.$reader).await?;
                Ok(rows.iter().map(|r| r.get("id")).collect())
            }

            async fn update_webhook(
                &self,
                w: &$crate::store::box_api::WebhookRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE box_webhooks SET target_id = $2, target_type = $3, triggers = $4, \
                       address = $5 WHERE id = $1 AND instance_id = $6",
                )
                .bind(&w.id)
                .bind(&w.target_id)
                .bind(&w.target_type)
                .bind(serde_json::to_string(&w.triggers).unwrap_or_default())
                .bind(&w.address)
                .bind(w.instance_id)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn mark_webhook_deleted(
                &self,
                instance_id: i64,
                id: &str,
                now_ms: i64,
                reason: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let n = sqlx::query(
                    "UPDATE box_webhooks SET deleted_at = $2, deleted_reason = $3 \
                     WHERE id = $1 AND deleted_at IS NULL AND instance_id = $4",
                )
                .bind(id)
                .bind(now_ms)
                .bind(reason)
                .bind(instance_id)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                Ok(n == 1)
            }
        }
    };
}

pub(crate) use impl_box_api_store;
