//! Box delivery → Cloud Elements notification body (spec/cloud-elements-events.md). The body
//! is rendered here once; the store keeps these bytes and every delivery sends them as-is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
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

/// What one notification says, before rendering.
struct Parts<'a> {
    box_event_id: String,
    /// Box's payload: JSON text, checked.
    raw: &'a str,
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

/// The notification's bytes, written field by field in the order of Cloud Elements' body
/// (spec/cloud-elements-events.md), strings escaped by serde_json. Box's payload goes in as
/// the text it came as, already known to be JSON: no second pass over it. (The unit tests
/// hold this byte for byte against the same body derived with serde.)
fn render(
    instance: &Instance,
    sender: &str,
    received: DateTime<Utc>,
    p: Parts<'_>,
) -> NormalizedEvent {
    let event_id = event_id(instance.id, &p.box_event_id);
    let id = instance.id;
    let tags: usize = instance.tags.iter().map(|t| t.len() + 3).sum();
    let mut out = Json(Vec::with_capacity(
        p.raw.len() + instance.name.len() + sender.len() + tags + 512,
    ));
    out.text("{\"severity\":\"medium\",\"createdDate\":")
        .string(&java_date(received))
        .text(",\"topic\":")
        .string(&format!("instance-{id}-box-events"))
        .text(",\"action\":\"create\",\"id\":")
        .string(&notification_id(id, &p.box_event_id))
        .text(",\"message\":{\"elementKey\":\"box\"");
    for (key, value) in [
        ("accountId", instance.account_id),
        ("companyId", instance.company_id),
        ("userId", instance.user_id),
    ] {
        if let Some(value) = value {
            out.text(",\"").text(key).text("\":").int(value);
        }
    }
    out.text(",\"eventId\":")
        .string(&event_id)
        .text(",\"instanceId\":")
        .int(id)
        .text(",\"instance_id\":")
        .int(id)
        .text(",\"instanceName\":")
        .string(&instance.name)
        .text(",\"instanceTags\":[");
    for (i, tag) in instance.tags.iter().enumerate() {
        if i > 0 {
            out.text(",");
        }
        out.string(tag);
    }
    out.text("],\"raw\":")
        .text(p.raw)
        .text(",\"events\":[{\"date\":")
        .string(&iso_utc(p.date))
        .text(",\"elementKey\":\"box\",\"eventType\":")
        .string(p.event_type)
        .text(",\"hubKey\":\"documents\",\"objectId\":")
        .string(p.object_id)
        .text(",\"objectType\":")
        .string(&p.object_type)
        .text("}]},\"user\":")
        .string(sender)
        .text("}");
    NormalizedEvent {
        event_id,
        box_event_id: p.box_event_id,
        body: Bytes::from(out.0),
    }
}

/// A JSON text being written.
struct Json(Vec<u8>);

impl Json {
    /// `text` as it is: punctuation, keys, or JSON already checked.
    fn text(&mut self, text: &str) -> &mut Self {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    /// `s` as a JSON string, escaped as serde_json escapes it.
    fn string(&mut self, s: &str) -> &mut Self {
        serde_json::to_writer(&mut self.0, s).expect("writing to memory cannot fail");
        self
    }

    fn int(&mut self, n: i64) -> &mut Self {
        self.text(&n.to_string())
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
        raw: event.raw(),
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
    let raw = callback.to_json().to_string();
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
