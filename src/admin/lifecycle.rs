//! The lifecycle of the Box webhooks the relay manages, beyond create/show/change/delete:
//! Box's list read page after page (`next_marker`), a webhook Box already has on a target
//! adopted when it points at this instance's relay address (Box answers 409 to a second
//! one), and a webhook Box deleted by itself created again (`box.webhook.recreate`).

use reqwest::Method;
use serde_json::Value;

use super::hook_request::{CheckedTarget, HookChange, ItemKind};
use super::{AdminResult, AdminService};
use crate::box_api::client::BoxError;
use crate::clock::now_ms;
use crate::instance::Instance;
use crate::store::box_api::WebhookRow;

/// Box's list is read at most this many pages at a time. Box keeps at most 1,000 webhooks
/// per app and user, 10 pages of its default 100; the rest is a guard against a marker
/// that never ends.
pub const MAX_PAGES: usize = 20;

/// Box's webhooks, from a marker on, and the marker to go on from when [`MAX_PAGES`] ran out.
pub struct BoxPages {
    /// Every entry read.
    pub entries: Vec<Value>,
    /// Box's `next_marker` after the last page read, when there are more.
    pub next: Option<String>,
}

/// The string at `key` of a JSON object.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl AdminService {
    /// Box's list of webhooks from `marker` (the first page without), `limit` per page as Box
    /// takes it, following `next_marker` for at most [`MAX_PAGES`] pages.
    pub(super) async fn box_pages(
        &self,
        instance: &Instance,
        marker: Option<&str>,
        limit: Option<&str>,
    ) -> AdminResult<BoxPages> {
        let mut entries = Vec::new();
        let mut next = marker.map(str::to_string);
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if let Some(m) = next.as_deref() {
                query.push(("marker", m));
            }
            if let Some(l) = limit {
                query.push(("limit", l));
            }
            let (_, page) = self
                .call_box(instance, Method::GET, "webhooks", &query, None)
                .await?;
            if let Some(Value::Array(page_entries)) = page.get("entries") {
                entries.extend(page_entries.iter().cloned());
            }
            next = text(&page, "next_marker")
                .filter(|m| !m.is_empty())
                .map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        Ok(BoxPages { entries, next })
    }

    /// Box answered 409 to a webhook on `target`: Box's webhook there, adopted (recorded as
    /// this instance's) when its address is this instance's relay address; `None` otherwise
    /// (another instance's, or another application's address), and the 409 stands.
    pub(super) async fn adopt(
        &self,
        instance: &Instance,
        target: &CheckedTarget,
        address: &str,
    ) -> AdminResult<Option<Value>> {
        let pages = self.box_pages(instance, None, None).await?;
        let on_target = pages.entries.iter().find(|w| {
            let t = w.get("target").unwrap_or(&Value::Null);
            text(t, "id") == Some(target.id.as_str())
                && text(t, "type") == Some(target.kind.as_str())
        });
        let Some(id) = on_target.and_then(|w| text(w, "id")).map(str::to_string) else {
            return Ok(None);
        };
        // Box's list holds mini webhooks (id, type, target): the address is in the whole one.
        let (_, webhook) = self
            .call_box(instance, Method::GET, &format!("webhooks/{id}"), &[], None)
            .await?;
        if text(&webhook, "address") != Some(address) {
            tracing::info!(
                instance_id = instance.id,
                webhook_id = %id,
                "Box has a webhook on the target that does not point at this instance; kept Box's 409"
            );
            return Ok(None);
        }
        let triggers = match webhook.get("triggers") {
            Some(Value::Array(t)) => t
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let row = WebhookRow {
            id: id.clone(),
            instance_id: instance.id,
            target_id: target.id.clone(),
            target_type: target.kind.as_str().to_string(),
            triggers,
            address: address.to_string(),
            created_at_ms: now_ms(),
            deleted_at_ms: None,
            deleted_reason: None,
        };
        match self.store.insert_webhook(&row).await {
            Ok(true) => {
                tracing::info!(instance_id = instance.id, webhook_id = %id, "Box webhook adopted");
                Ok(Some(webhook))
            }
            Ok(false) => {
                tracing::warn!(
                    instance_id = instance.id,
                    webhook_id = %id,
                    "Box webhook not adopted: recorded for another instance"
                );
                Ok(None)
            }
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// Box deleted `webhook_id`, a webhook the relay manages for `instance` (its record is
    /// already marked deleted): creates it again with the record's target and triggers and
    /// records the new id (or adopts Box's webhook on the target, when it points here).
    /// Runs off the request path; failures are logged and counted, never raised.
    pub async fn recreate_webhook(&self, instance: &Instance, webhook_id: &str) {
        let old = match self.store.get_webhook(webhook_id).await {
            Ok(Some(row)) if row.instance_id == instance.id => row,
            Ok(_) => return,
            Err(e) => {
                self.metrics.store_error("admin");
                self.metrics.box_webhook_recreation("failed");
                tracing::warn!(error = %e, webhook_id, "Box webhook not re-created: storage failed");
                return;
            }
        };
        let kind = match old.target_type.as_str() {
            "file" => ItemKind::File,
            _ => ItemKind::Folder,
        };
        let change = HookChange {
            target: Some(CheckedTarget {
                id: old.target_id.clone(),
                kind,
            }),
            triggers: Some(old.triggers.clone()),
        };
        match self.create_webhook(instance, change).await {
            Ok((status, webhook)) => {
                let outcome = if status == 200 {
                    "adopted"
                } else {
                    "recreated"
                };
                self.metrics.box_webhook_recreation(outcome);
                tracing::info!(
                    instance_id = instance.id,
                    old_webhook_id = webhook_id,
                    new_webhook_id = text(&webhook, "id").unwrap_or_default(),
                    outcome,
                    "Box webhook re-created after Box deleted it"
                );
            }
            Err(e) => {
                self.metrics.box_webhook_recreation("failed");
                tracing::warn!(
                    instance_id = instance.id,
                    webhook_id,
                    error = %e,
                    "Box webhook not re-created"
                );
            }
        }
    }
}

/// Box's answer to creating a webhook on a target that already has one of this app's.
pub(super) fn is_conflict(e: &BoxError) -> bool {
    matches!(e, BoxError::Api { status: 409, .. })
}
