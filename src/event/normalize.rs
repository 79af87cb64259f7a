//! Box delivery → Cloud Elements notification body (spec/cloud-elements-events.md). The body
//! is rendered here once; the store keeps these bytes and every delivery sends them as-is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::box_webhook::payload::{V1Callback, V2Event};
use crate::instance::Instance;

/// A normalized event, ready to store.
#[derive(Debug, Clone)]
pub struct NormalizedEvent {
    /// `message.eventId`, also `Elements-Webhook-Id`; deterministic from (instance, Box id).
    pub event_id: String,
    /// The Box event `id` (V2) or a fresh id (V1 and V2 events without one).
    pub box_event_id: String,
    /// The rendered JSON body.
    pub body: Bytes,
}

/// `eventId` for a Box event of an instance: 20 URL-safe characters of SHA-256.
pub fn event_id(instance_id: i64, box_event_id: &str) -> String {
    let digest = Sha256::digest(format!("{instance_id}:{box_event_id}"));
    URL_SAFE_NO_PAD.encode(&digest[..15])
}

/// Envelope `id`: a decimal string, also derived from (instance, Box id).
fn notification_id(instance_id: i64, box_event_id: &str) -> String {
    let digest = Sha256::digest(format!("notification:{instance_id}:{box_event_id}"));
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (n % 10_000_000_000).to_string()
}

/// `eventType` for the action part of a V2 trigger (the part after the first dot).
pub fn event_type_for_trigger(trigger: &str) -> &'static str {
    let Some((object, action)) = trigger.split_once('.') else {
        return "UNKNOWN";
    };
    match action.to_ascii_uppercase().as_str() {
        "CREATED" | "UPLOADED" | "COPIED" => "CREATED",
        "DELETED" | "TRASHED" | "REMOVED" => "DELETED",
        "RENAMED" | "MOVED" | "RESTORED" | "LOCKED" | "UNLOCKED" | "UPDATED" | "ACCEPTED"
        | "REJECTED" => "UPDATED",
        "PREVIEWED" | "DOWNLOADED" => "UNKNOWN",
        _ if object.eq_ignore_ascii_case("SIGN_REQUEST") => "UPDATED",
        _ => "UNKNOWN",
    }
}

/// `objectType` for a V2 trigger's object part, falling back to the plural of `source.type`.
pub fn object_type_for_trigger(trigger: &str, source_type: Option<&str>) -> String {
    let object = trigger.split_once('.').map_or(trigger, |(o, _)| o);
    let fixed = match object.to_ascii_uppercase().as_str() {
        "FILE" => "files",
        "FOLDER" => "folders",
        "COMMENT" => "comments",
        "COLLABORATION" => "collaborations",
        "TASK_ASSIGNMENT" => "task_assignments",
        "METADATA_INSTANCE" => "metadata_instances",
        "SIGN_REQUEST" => "sign_requests",
        "WEBHOOK" => "webhooks",
        _ => return plural(source_type),
    };
    fixed.to_string()
}

/// `eventType` for a V1 event name (`uploaded`, `deleted`, …).
pub fn event_type_for_v1(event: &str) -> &'static str {
    match event.trim().to_ascii_lowercase().as_str() {
        "uploaded" | "created" | "copied" => "CREATED",
        "deleted" => "DELETED",
        "moved" | "locked" | "unlocked" => "UPDATED",
        _ => "UNKNOWN",
    }
}

fn plural(kind: Option<&str>) -> String {
    match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => "unknown".into(),
        Some(k) if k.ends_with('s') => k.to_ascii_lowercase(),
        Some(k) => format!("{}s", k.to_ascii_lowercase()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    severity: &'static str,
    created_date: String,
    topic: String,
    action: &'static str,
    id: String,
    message: Message<'a>,
    user: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    element_key: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    event_id: &'a str,
    instance_id: i64,
    #[serde(rename = "instance_id")]
    instance_id_snake: i64,
    instance_name: &'a str,
    instance_tags: &'a [String],
    raw: &'a RawValue,
    events: [Entry<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    date: String,
    element_key: &'static str,
    event_type: &'static str,
    hub_key: &'static str,
    object_id: &'a str,
    object_type: String,
}

/// What one notification says, before rendering.
struct Parts<'a> {
    box_event_id: String,
    raw: &'a RawValue,
    event_type: &'static str,
    object_type: String,
    object_id: &'a str,
    date: DateTime<Utc>,
}

fn iso_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Java `Date.toString()` in UTC, as Cloud Elements writes `createdDate`.
fn java_date(t: DateTime<Utc>) -> String {
    t.format("%a %b %d %H:%M:%S UTC %Y").to_string()
}

fn render(
    instance: &Instance,
    sender: &str,
    received: DateTime<Utc>,
    p: Parts<'_>,
) -> NormalizedEvent {
    let event_id = event_id(instance.id, &p.box_event_id);
    let envelope = Envelope {
        severity: "medium",
        created_date: java_date(received),
        topic: format!("instance-{}-box-events", instance.id),
        action: "create",
        id: notification_id(instance.id, &p.box_event_id),
        message: Message {
            element_key: "box",
            account_id: instance.account_id,
            company_id: instance.company_id,
            user_id: instance.user_id,
            event_id: &event_id,
            instance_id: instance.id,
            instance_id_snake: instance.id,
            instance_name: &instance.name,
            instance_tags: &instance.tags,
            raw: p.raw,
            events: [Entry {
                date: iso_utc(p.date),
                element_key: "box",
                event_type: p.event_type,
                hub_key: "documents",
                object_id: p.object_id,
                object_type: p.object_type,
            }],
        },
        user: sender,
    };
    let body = serde_json::to_vec(&envelope).expect("an envelope always serializes");
    NormalizedEvent {
        event_id,
        box_event_id: p.box_event_id,
        body: Bytes::from(body),
    }
}

/// Normalizes a V2 event.
pub fn normalize_v2(
    instance: &Instance,
    sender: &str,
    received: DateTime<Utc>,
    event: &V2Event<'_>,
) -> NormalizedEvent {
    let date = event
        .created_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(received, |t| t.to_utc());
    let object_id = event
        .source_id
        .as_deref()
        .or(event.webhook_id.as_deref())
        .unwrap_or("");
    let parts = Parts {
        box_event_id: event.id.clone(),
        raw: event.raw,
        event_type: event_type_for_trigger(&event.trigger),
        object_type: object_type_for_trigger(&event.trigger, event.source_type.as_deref()),
        object_id,
        date,
    };
    render(instance, sender, received, parts)
}

/// Normalizes a V1 callback. Box never retries these, so each gets a fresh id.
pub fn normalize_v1(
    instance: &Instance,
    sender: &str,
    received: DateTime<Utc>,
    callback: &V1Callback,
) -> NormalizedEvent {
    let raw = serde_json::value::to_raw_value(&callback.to_json()).expect("strings serialize");
    let object_type = match callback.item_type().map(str::to_ascii_lowercase).as_deref() {
        Some("file") => "files".to_string(),
        Some("folder") => "folders".to_string(),
        other => plural(other),
    };
    let parts = Parts {
        box_event_id: format!("v1-{}", uuid::Uuid::new_v4()),
        raw: &raw,
        event_type: callback.event().map_or("UNKNOWN", event_type_for_v1),
        object_type,
        object_id: callback.item_id().unwrap_or(""),
        date: received,
    };
    render(instance, sender, received, parts)
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
