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

/// The body as serde derives it from the field order of spec/cloud-elements-events.md: the
/// reference `render` is held to, byte for byte.
mod reference {
    use serde::Serialize;
    use serde_json::value::RawValue;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Envelope<'a> {
        pub severity: &'static str,
        pub created_date: String,
        pub topic: String,
        pub action: &'static str,
        pub id: String,
        pub message: Message<'a>,
        pub user: &'a str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Message<'a> {
        pub element_key: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub account_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub company_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_id: Option<i64>,
        pub event_id: &'a str,
        pub instance_id: i64,
        #[serde(rename = "instance_id")]
        pub instance_id_snake: i64,
        pub instance_name: &'a str,
        pub instance_tags: &'a [String],
        pub raw: &'a RawValue,
        pub events: [Entry<'a>; 1],
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Entry<'a> {
        pub date: String,
        pub element_key: &'static str,
        pub event_type: &'static str,
        pub hub_key: &'static str,
        pub object_id: &'a str,
        pub object_type: String,
    }
}

fn reference_render(
    instance: &Instance,
    sender: &str,
    received: DateTime<Utc>,
    p: &Parts<'_>,
) -> Vec<u8> {
    let event_id = event_id(instance.id, &p.box_event_id);
    let raw: &serde_json::value::RawValue = serde_json::from_str(p.raw).unwrap();
    serde_json::to_vec(&reference::Envelope {
        severity: "medium",
        created_date: java_date(received),
        topic: format!("instance-{}-box-events", instance.id),
        action: "create",
        id: notification_id(instance.id, &p.box_event_id),
        message: reference::Message {
            element_key: "box",
            account_id: instance.account_id,
            company_id: instance.company_id,
            user_id: instance.user_id,
            event_id: &event_id,
            instance_id: instance.id,
            instance_id_snake: instance.id,
            instance_name: &instance.name,
            instance_tags: &instance.tags,
            raw,
            events: [reference::Entry {
                date: iso_utc(p.date),
                element_key: "box",
                event_type: p.event_type,
                hub_key: "documents",
                object_id: p.object_id,
                object_type: p.object_type.clone(),
            }],
        },
        user: sender,
    })
    .unwrap()
}

#[test]
fn the_body_is_written_byte_for_byte_as_serde_would_write_it() {
    let payload = include_str!("../../tests/fixtures/box-v2-file-uploaded.json").trim();
    let awkward = "quote \" backslash \\ tab \t nul \u{0} del \u{7f} </script> é 🚀 \u{2028}";
    let received = DateTime::parse_from_rfc3339("2028-02-29T23:59:59Z")
        .unwrap()
        .to_utc();
    let mut cases = Vec::new();
    for (ids, name, tags) in [
        (
            (Some(643), Some(280), Some(2374)),
            "Demoday",
            vec!["Demoday"],
        ),
        ((None, None, None), "", vec![]),
        (
            (Some(-1), None, Some(i64::MAX)),
            awkward,
            vec![awkward, "", "b"],
        ),
        ((None, Some(0), None), "x", vec!["a", "b", "c"]),
    ] {
        let mut i = instance();
        (i.account_id, i.company_id, i.user_id) = ids;
        i.name = name.into();
        i.tags = tags.into_iter().map(String::from).collect();
        cases.push(i);
    }
    // A V1 callback's raw is its parameters as a JSON object.
    let v1 = V1Callback::parse(
        b"event=uploaded&itemId=1&note=%22%5C%0A%00",
        b"x=%F0%9F%9A%80",
    )
    .to_json()
    .to_string();
    let raws = [
        payload,
        "{}",
        r#"{ "a" : [1, 2.5e3, null, true], "b": "\u00e9\n" }"#,
        &v1,
    ];
    for instance in &cases {
        for raw in raws {
            for (object_id, object_type, sender) in [
                ("12345", "files".to_string(), "notifications@webhook-relay"),
                (awkward, awkward.to_string(), awkward),
            ] {
                let parts = || Parts {
                    box_event_id: awkward.into(),
                    raw,
                    event_type: "CREATED",
                    object_type: object_type.clone(),
                    object_id,
                    date: received,
                };
                let ours = render(instance, sender, received, parts()).body;
                let theirs = reference_render(instance, sender, received, &parts());
                assert_eq!(
                    std::str::from_utf8(&ours).unwrap(),
                    std::str::from_utf8(&theirs).unwrap(),
                    "instance {:?}, raw {raw}",
                    instance.name
                );
            }
        }
    }
}
