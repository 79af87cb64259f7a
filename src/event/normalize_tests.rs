//! The trigger mapping table and the rendered body, checked against the spec.

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
        standard_secret: None,
        box_webhook_recreate: false,
        disabled: false,
        failure_policy: None,
        selection: None,
        suspended: false,
        configuration: Default::default(),
        origin: crate::instance::Origin::Config,
        token: None,
        created_at_ms: None,
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
