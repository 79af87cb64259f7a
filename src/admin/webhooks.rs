//! An instance's Box V2 webhooks, created through the relay so that they point at its address
//! for the instance (`server.public_url` + `/webhooks/box/{id}`). Box is called with the
//! instance's token, refreshed and retried once on a 401; each change is recorded.
//!
//! Tenants are kept apart by the relay's records, not by Box: several instances often share
//! one Box account, so Box would let one act on another's webhooks. Showing, changing and
//! deleting act only on a live record of the instance (not found otherwise, before Box is
//! called), and the list keeps only the instance's webhooks.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use super::hook_request::HookChange;
use super::{AdminError, AdminResult, AdminService};
use crate::clock::now_ms;
use crate::instance::Instance;
use crate::secret::TokenDigest;
use crate::store::box_api::WebhookRow;

/// The answer for a webhook an instance may not see: the same whether it does not exist or
/// belongs to another instance.
const NO_SUCH_WEBHOOK: AdminError = AdminError::NotFound("no such webhook");

/// A page of Box's list.
pub struct HookPage {
    /// The instance's webhooks, as Box answers them.
    pub entries: Vec<Value>,
    /// Box's `next_marker`, when there are more.
    pub next: Option<String>,
}

/// A Box id in a path: digits only (Box's ids are numeric strings).
fn box_id(raw: &str) -> AdminResult<&str> {
    (!raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then_some(raw)
        .ok_or(NO_SUCH_WEBHOOK)
}

impl AdminService {
    /// The instance whose token this is: the given token's digest is compared with every
    /// instance's stored digest, each in constant time, without stopping at a match. An
    /// instance created on another replica a moment ago is found by checking the store for
    /// changes (the caller has checked the user secret first).
    pub async fn instance_by_token(&self, token: &str) -> Option<Arc<Instance>> {
        let given = TokenDigest::of(token);
        let find = || {
            let mut found = None;
            for i in self.instances.all() {
                if i.token.is_some_and(|digest| digest.same_as(&given)) {
                    found = Some(i);
                }
            }
            found
        };
        if let Some(found) = find() {
            return Some(found);
        }
        if let Err(e) = self.instances.refresh(&self.store, false).await {
            tracing::warn!(error = %e, "could not refresh instances");
        }
        find()
    }

    /// Calls Box for `instance`; on a 401, refreshes the token once and retries.
    pub(super) async fn call_box(
        &self,
        instance: &Instance,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> AdminResult<(u16, Value)> {
        let auth = &self.box_auth;
        let token = auth.token(instance, None).await?;
        let first = auth
            .client()
            .call(method.clone(), path, &token.token, query, body)
            .await;
        match first {
            Err(e) if e.is_unauthorized() => {
                tracing::info!(
                    instance_id = instance.id,
                    "Box answered 401; refreshing the token"
                );
                let token = auth.token(instance, Some(token.version)).await?;
                Ok(auth
                    .client()
                    .call(method, path, &token.token, query, body)
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// The live record of the webhook `raw` names, when it belongs to `instance`; not found
    /// otherwise. Checked before anything else of a request is read.
    pub async fn own_webhook(&self, instance: &Instance, raw: &str) -> AdminResult<WebhookRow> {
        let id = box_id(raw)?;
        match self.store.get_webhook(id).await {
            Ok(Some(row)) if row.instance_id == instance.id && row.deleted_at_ms.is_none() => {
                Ok(row)
            }
            Ok(Some(_)) => {
                tracing::info!(
                    instance_id = instance.id,
                    webhook_id = id,
                    "webhook request refused: not this instance's webhook"
                );
                Err(NO_SUCH_WEBHOOK)
            }
            Ok(None) => Err(NO_SUCH_WEBHOOK),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// The address Box calls for `instance`, when `server.public_url` is set.
    fn own_address(&self, instance: &Instance) -> Option<String> {
        let base = self.public_url.as_deref()?;
        Some(format!(
            "{}/webhooks/box/{}",
            base.trim_end_matches('/'),
            instance.id
        ))
    }

    /// The address Box calls for `instance`; `not_configured` without `server.public_url`.
    fn address(&self, instance: &Instance) -> AdminResult<String> {
        self.own_address(instance)
            .ok_or_else(|| AdminError::Conflict {
                code: "not_configured",
                detail:
                    "server.public_url is not configured: the relay does not know its public address"
                        .into(),
            })
    }

    /// Creates the Box webhook and records it; answers Box's status and webhook.
    pub async fn create_webhook(
        &self,
        instance: &Instance,
        change: HookChange,
    ) -> AdminResult<(u16, Value)> {
        let (Some(target), Some(triggers)) = (change.target, change.triggers) else {
            return Err(crate::invalid::InvalidValue::new(
                "body",
                "target and triggers are required",
            )
            .into());
        };
        let address = self.address(instance)?;
        let request = json!({
            "target": { "id": target.id, "type": target.kind.as_str() },
            "address": address,
            "triggers": triggers,
        });
        let (status, created) = match self
            .call_box(instance, Method::POST, "webhooks", &[], Some(&request))
            .await
        {
            Err(AdminError::Box(e)) if super::lifecycle::is_conflict(&e) => {
                return match self.adopt(instance, &target, &address).await? {
                    Some(adopted) => Ok((200, adopted)),
                    None => Err(AdminError::Box(e)),
                };
            }
            other => other?,
        };
        let id = created
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let row = WebhookRow {
            id: id.clone(),
            instance_id: instance.id,
            target_id: target.id,
            target_type: target.kind.as_str().to_string(),
            triggers,
            address,
            created_at_ms: now_ms(),
            deleted_at_ms: None,
            deleted_reason: None,
        };
        match self.store.insert_webhook(&row).await {
            Ok(true) => {}
            // Box ids are unique: only a confused Box (or store) gets here. The record keeps
            // its owner; this instance cannot manage that webhook through the relay.
            Ok(false) => tracing::error!(
                instance_id = instance.id,
                webhook_id = %id,
                "Box returned a webhook id recorded for another instance; its owner is unchanged"
            ),
            // Box has the webhook; its deliveries are accepted whether or not it is recorded.
            Err(e) => {
                tracing::error!(error = %e, webhook_id = %id, "could not record a created Box webhook")
            }
        }
        tracing::info!(instance_id = instance.id, webhook_id = %id, "Box webhook created");
        Ok((status, created))
    }

    /// Box's list from `cursor` on (the start without), page after page through Box's
    /// `next_marker` (at most [`super::lifecycle::MAX_PAGES`] pages, `limit` each), keeping
    /// only this instance's webhooks (its live records, or those whose address is this
    /// instance's). `next` is set only when the page limit ran out first.
    pub async fn list_webhooks(
        &self,
        instance: &Instance,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> AdminResult<HookPage> {
        let pages = self.box_pages(instance, cursor, limit).await?;
        let mut entries = Vec::new();
        // One store query per Box page's worth of ids.
        let mut all = pages.entries.into_iter().peekable();
        while all.peek().is_some() {
            let chunk: Vec<Value> = all.by_ref().take(200).collect();
            entries.extend(self.only_own(instance, chunk).await?);
        }
        Ok(HookPage {
            entries,
            next: pages.next,
        })
    }

    /// Of Box's `entries`, those of `instance`.
    async fn only_own(&self, instance: &Instance, entries: Vec<Value>) -> AdminResult<Vec<Value>> {
        let id_of = |w: &Value| w.get("id").and_then(Value::as_str).map(str::to_string);
        let ids: Vec<String> = entries.iter().filter_map(id_of).collect();
        let recorded = self
            .store
            .owned_webhook_ids(instance.id, &ids)
            .await
            .map_err(|e| self.unavailable(e))?;
        let address = self.own_address(instance);
        Ok(entries
            .into_iter()
            .filter(|w| {
                let ours = address.is_some()
                    && w.get("address").and_then(Value::as_str) == address.as_deref();
                ours || id_of(w).is_some_and(|id| recorded.contains(&id))
            })
            .collect())
    }

    /// Box's webhook of a record of this instance ([`Self::own_webhook`]).
    pub async fn show_webhook(&self, instance: &Instance, row: &WebhookRow) -> AdminResult<Value> {
        let path = format!("webhooks/{}", row.id);
        let (_, webhook) = self
            .call_box(instance, Method::GET, &path, &[], None)
            .await?;
        Ok(webhook)
    }

    /// New target and/or triggers for a webhook of this instance (the address stays the
    /// relay's); answers Box's webhook.
    pub async fn update_webhook(
        &self,
        instance: &Instance,
        mut row: WebhookRow,
        change: HookChange,
    ) -> AdminResult<Value> {
        let id = row.id.clone();
        let address = self.address(instance)?;
        let mut request = json!({ "address": address });
        if let Some(t) = &change.target {
            request["target"] = json!({ "id": t.id, "type": t.kind.as_str() });
        }
        if let Some(t) = &change.triggers {
            request["triggers"] = json!(t);
        }
        let path = format!("webhooks/{id}");
        let (_, webhook) = self
            .call_box(instance, Method::PUT, &path, &[], Some(&request))
            .await?;
        if let Some(t) = change.target {
            row.target_id = t.id;
            row.target_type = t.kind.as_str().to_string();
        }
        if let Some(t) = change.triggers {
            row.triggers = t;
        }
        row.address = address;
        if let Err(e) = self.store.update_webhook(&row).await {
            tracing::warn!(error = %e, webhook_id = id, "could not record a Box webhook change");
        }
        Ok(webhook)
    }

    /// Deletes Box's webhook of a record of this instance, and marks the record deleted.
    pub async fn delete_webhook(&self, instance: &Instance, row: &WebhookRow) -> AdminResult<()> {
        let id = row.id.as_str();
        let path = format!("webhooks/{id}");
        self.call_box(instance, Method::DELETE, &path, &[], None)
            .await?;
        if let Err(e) = self
            .store
            .mark_webhook_deleted(instance.id, id, now_ms(), "deleted through the relay")
            .await
        {
            tracing::warn!(error = %e, webhook_id = id, "could not record a Box webhook deletion");
        }
        tracing::info!(
            instance_id = instance.id,
            webhook_id = id,
            "Box webhook deleted"
        );
        Ok(())
    }
}
