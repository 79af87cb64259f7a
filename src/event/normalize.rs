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

/// Normalizes a V2 event. Events without a body `id` get a fresh one (not deduplicated).
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
        box_event_id: event
            .id
            .clone()
            .unwrap_or_else(|| format!("unidentified-{}", uuid::Uuid::new_v4())),
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
mod tests {
    use super::*;
    use crate::box_webhook::payload::parse_v2;
    use crate::box_webhook::verify::Verified;

    /// Every trigger of spec/box-webhooks.md, plus unknown ones: (trigger, source.type,
    /// eventType, objectType).
    const TRIGGERS: &[(&str, &str, &str, &str)] = &[
        ("FILE.UPLOADED", "file", "CREATED", "files"),
        ("FILE.PREVIEWED", "file", "UNKNOWN", "files"),
        ("FILE.DOWNLOADED", "file", "UNKNOWN", "files"),
        ("FILE.TRASHED", "file", "DELETED", "files"),
        ("FILE.DELETED", "file", "DELETED", "files"),
        ("FILE.RESTORED", "file", "UPDATED", "files"),
        ("FILE.COPIED", "file", "CREATED", "files"),
        ("FILE.MOVED", "file", "UPDATED", "files"),
        ("FILE.LOCKED", "file", "UPDATED", "files"),
        ("FILE.UNLOCKED", "file", "UPDATED", "files"),
        ("FILE.RENAMED", "file", "UPDATED", "files"),
        ("FOLDER.CREATED", "folder", "CREATED", "folders"),
        ("FOLDER.RENAMED", "folder", "UPDATED", "folders"),
        ("FOLDER.DOWNLOADED", "folder", "UNKNOWN", "folders"),
        ("FOLDER.RESTORED", "folder", "UPDATED", "folders"),
        ("FOLDER.DELETED", "folder", "DELETED", "folders"),
        ("FOLDER.COPIED", "folder", "CREATED", "folders"),
        ("FOLDER.MOVED", "folder", "UPDATED", "folders"),
        ("FOLDER.TRASHED", "folder", "DELETED", "folders"),
        ("COMMENT.CREATED", "comment", "CREATED", "comments"),
        ("COMMENT.UPDATED", "comment", "UPDATED", "comments"),
        ("COMMENT.DELETED", "comment", "DELETED", "comments"),
        (
            "COLLABORATION.CREATED",
            "collaboration",
            "CREATED",
            "collaborations",
        ),
        (
            "COLLABORATION.ACCEPTED",
            "collaboration",
            "UPDATED",
            "collaborations",
        ),
        (
            "COLLABORATION.REJECTED",
            "collaboration",
            "UPDATED",
            "collaborations",
        ),
        (
            "COLLABORATION.REMOVED",
            "collaboration",
            "DELETED",
            "collaborations",
        ),
        (
            "COLLABORATION.UPDATED",
            "collaboration",
            "UPDATED",
            "collaborations",
        ),
        (
            "TASK_ASSIGNMENT.CREATED",
            "task_assignment",
            "CREATED",
            "task_assignments",
        ),
        (
            "TASK_ASSIGNMENT.UPDATED",
            "task_assignment",
            "UPDATED",
            "task_assignments",
        ),
        (
            "METADATA_INSTANCE.CREATED",
            "metadata_instance",
            "CREATED",
            "metadata_instances",
        ),
        (
            "METADATA_INSTANCE.UPDATED",
            "metadata_instance",
            "UPDATED",
            "metadata_instances",
        ),
        (
            "METADATA_INSTANCE.DELETED",
            "metadata_instance",
            "DELETED",
            "metadata_instances",
        ),
        ("SHARED_LINK.CREATED", "file", "CREATED", "files"),
        ("SHARED_LINK.UPDATED", "folder", "UPDATED", "folders"),
        ("SHARED_LINK.DELETED", "web_link", "DELETED", "web_links"),
        (
            "SIGN_REQUEST.COMPLETED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.DECLINED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.EXPIRED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.SIGNER_EMAIL_BOUNCED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.SIGNER_SIGNED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.SIGNATURE_REQUESTED",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        (
            "SIGN_REQUEST.ERROR_FINALIZING",
            "sign-request",
            "UPDATED",
            "sign_requests",
        ),
        ("WEBHOOK.DELETED", "webhook", "DELETED", "webhooks"),
        ("NO_ACTIVE_SESSION", "user", "UNKNOWN", "users"),
        ("FILE.SOMETHING_NEW", "file", "UNKNOWN", "files"),
        ("WIDGET.CREATED", "widget", "CREATED", "widgets"),
    ];

    fn instance() -> Instance {
        Instance {
            id: 8948659,
            name: "Demoday".into(),
            tags: vec!["Demoday".into()],
            account_id: Some(643),
            company_id: Some(280),
            user_id: Some(2374),
            events_enabled: true,
            callback_url: None,
            signature_key: None,
            box_primary_key: None,
            box_secondary_key: None,
            v1_token: None,
        }
    }

    #[test]
    fn every_trigger_maps_as_design_says() {
        for (trigger, source_type, event_type, object_type) in TRIGGERS {
            assert_eq!(event_type_for_trigger(trigger), *event_type, "{trigger}");
            assert_eq!(
                object_type_for_trigger(trigger, Some(source_type)),
                *object_type,
                "{trigger}"
            );
        }
    }

    #[test]
    fn every_trigger_flows_through_the_rendered_body() {
        let received = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        for (trigger, source_type, event_type, object_type) in TRIGGERS {
            let body = format!(
                r#"{{"type":"webhook_event","id":"e-{trigger}","trigger":"{trigger}","source":{{"id":"42","type":"{source_type}"}}}}"#
            );
            let e = parse_v2(Verified::by_token(body.as_bytes())).unwrap();
            let out = normalize_v2(&instance(), "me", received, &e);
            let v: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
            let entry = &v["message"]["events"][0];
            assert_eq!(entry["eventType"], *event_type, "{trigger}");
            assert_eq!(entry["objectType"], *object_type, "{trigger}");
            assert_eq!(entry["objectId"], "42");
        }
    }

    #[test]
    fn v1_event_names_map_as_design_says() {
        for (name, expected) in [
            ("uploaded", "CREATED"),
            ("created", "CREATED"),
            ("copied", "CREATED"),
            ("deleted", "DELETED"),
            ("previewed", "UNKNOWN"),
            ("downloaded", "UNKNOWN"),
            ("moved", "UPDATED"),
            ("locked", "UPDATED"),
            ("unlocked", "UPDATED"),
            ("commented", "UNKNOWN"),
            ("sent", "UNKNOWN"),
        ] {
            assert_eq!(event_type_for_v1(name), expected, "{name}");
        }
    }

    #[test]
    fn v2_body_has_the_cloud_elements_shape_and_raw_bytes() {
        let body = include_bytes!("../../tests/fixtures/box-v2-file-uploaded.json");
        let e = parse_v2(Verified::by_token(body)).unwrap();
        let received = DateTime::parse_from_rfc3339("2020-02-21T16:43:41Z")
            .unwrap()
            .to_utc();
        let out = normalize_v2(&instance(), "notifications@webhook-relay", received, &e);
        let text = std::str::from_utf8(&out.body).unwrap();
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["severity"], "medium");
        assert_eq!(v["createdDate"], "Fri Feb 21 16:43:41 UTC 2020");
        assert_eq!(v["topic"], "instance-8948659-box-events");
        assert_eq!(v["action"], "create");
        assert!(v["id"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit()));
        assert_eq!(v["user"], "notifications@webhook-relay");
        let m = &v["message"];
        assert_eq!(m["elementKey"], "box");
        assert_eq!(m["accountId"], 643);
        assert_eq!(m["companyId"], 280);
        assert_eq!(m["userId"], 2374);
        assert_eq!(m["eventId"], event_id(8948659, "11446498"));
        assert_eq!(m["instanceId"], 8948659);
        assert_eq!(m["instance_id"], 8948659);
        assert_eq!(m["instanceName"], "Demoday");
        assert_eq!(m["instanceTags"], serde_json::json!(["Demoday"]));
        assert_eq!(
            m["events"],
            serde_json::json!([{
                "date": "2012-12-12T18:53:43Z",
                "elementKey": "box",
                "eventType": "CREATED",
                "hubKey": "documents",
                "objectId": "12345",
                "objectType": "files"
            }])
        );
        // `raw` is the received JSON, byte for byte.
        let raw_text = std::str::from_utf8(body).unwrap().trim();
        assert!(text.contains(&format!("\"raw\":{raw_text},\"events\"")));
    }

    #[test]
    fn event_id_is_deterministic_per_instance_and_box_id() {
        assert_eq!(event_id(1, "abc"), event_id(1, "abc"));
        assert_ne!(event_id(1, "abc"), event_id(2, "abc"));
        assert_ne!(event_id(1, "abc"), event_id(1, "abd"));
        assert_eq!(event_id(1, "abc").len(), 20);
    }

    #[test]
    fn v1_body_holds_parameters_without_token() {
        let cb = V1Callback::parse(b"token=t0ken", b"event=uploaded&itemId=456&itemType=file");
        let out = normalize_v1(&instance(), "me", Utc::now(), &cb);
        let v: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(
            v["message"]["raw"],
            serde_json::json!({"event": "uploaded", "itemId": "456", "itemType": "file"})
        );
        let entry = &v["message"]["events"][0];
        assert_eq!(entry["eventType"], "CREATED");
        assert_eq!(entry["objectType"], "files");
        assert_eq!(entry["objectId"], "456");
        assert!(!String::from_utf8_lossy(&out.body).contains("t0ken"));
    }
}
