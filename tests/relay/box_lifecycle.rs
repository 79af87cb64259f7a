//! The lifecycle of Box webhooks managed through the relay, against the fake Box: Box's own
//! deletions (`WEBHOOK.DELETED`) recorded and counted by a bounded reason, re-created with
//! `box.webhook.recreate`, and a webhook Box already has adopted on its 409. Another
//! instance's webhooks are never adopted, listed or re-created. Box's list and triggers:
//! `box_webhook_list.rs`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The value of the sample `key` (`name{labels}`) at `/metrics`; 0 when absent.
async fn sample(app: &TestApp, key: &str) -> f64 {
    let text = app.metrics_text().await;
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(k, _)| *k == key)
        .map_or(0.0, |(_, v)| v.parse().unwrap())
}

fn deleted_key(reason: &str) -> String {
    format!("relay_box_webhooks_deleted_total{{reason=\"{reason}\"}}")
}

fn recreations_key(outcome: &str) -> String {
    format!("relay_box_webhook_recreations_total{{outcome=\"{outcome}\"}}")
}

/// Box's `WEBHOOK.DELETED` for `hook_id` with this `additional_info`.
fn deleted_event(event_id: &str, hook_id: &str, additional_info: Value) -> Vec<u8> {
    json!({
        "type": "webhook_event", "id": event_id, "created_at": "2026-12-01T10:00:00-08:00",
        "trigger": "WEBHOOK.DELETED",
        "webhook": { "id": hook_id, "type": "webhook" },
        "source": { "id": hook_id, "type": "webhook" },
        "additional_info": additional_info
    })
    .to_string()
    .into_bytes()
}

/// Box delivers `body` to `instance`: the relay's answer.
async fn box_sends(app: &TestApp, instance: i64, body: &[u8]) -> Value {
    let (status, answer) = app
        .post_v2(
            &instance.to_string(),
            body,
            &box_headers_with_key(body, API_PRIMARY),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Creates a webhook on `folder` through the relay: its id.
pub async fn create_hook(app: &TestApp, token: &str, folder: &str) -> String {
    let hook = folder_hook(folder, &["FILE.UPLOADED", "WEBHOOK.DELETED"]);
    let (status, _, created) = app
        .element(Method::POST, "/webhooks", token, Some(&hook))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

/// Provisions an instance with `box.webhook.recreate` set: (id, token).
async fn provision_recreating(app: &TestApp, fake: &FakeBox, receiver: &Receiver) -> (i64, String) {
    let mut body = oauth_instance_body("Recreating", &receiver.url("/api"), &fake.issue_code());
    body["configuration"]["box.webhook.recreate"] = json!(true);
    let created = app.create_instance(&body).await;
    (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_string(),
    )
}

/// The sorted ids of a `GET /webhooks` answer.
pub fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub async fn boxs_deletions_are_recorded_and_counted_by_a_bounded_reason(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (a, a_token) = provision(&app, &fake, &receiver, "A").await;
    let (b, _) = provision(&app, &fake, &receiver, "B").await;
    let mut hooks = Vec::new();
    for folder in ["101", "102", "103", "104", "105"] {
        hooks.push(create_hook(&app, &a_token, folder).await);
    }
    let hostile = "attacker-chosen-reason-\u{1b}[31m".repeat(10);
    let cases = [
        (json!({"reason": "auto_cleanup"}), "auto_cleanup"),
        (json!({"reason": "NO_ACTIVE_SESSION"}), "NO_ACTIVE_SESSION"),
        (json!({"reason": hostile}), ""),
        (json!([]), "WEBHOOK.DELETED without a reason"),
    ];
    let mut last_event = String::new();
    for (i, (info, _)) in cases.iter().enumerate() {
        let body = deleted_event(&format!("del-{i}"), &hooks[i], info.clone());
        let answer = box_sends(&app, a, &body).await;
        assert_eq!(answer["status"], "accepted", "the event is still stored");
        last_event = answer["eventId"].as_str().unwrap().to_string();
    }
    // Box's retry of a deletion (a new event id, the same webhook) is not counted again; a
    // webhook the relay does not manage is not counted; nor is A's webhook named to B.
    box_sends(
        &app,
        a,
        &deleted_event("del-again", &hooks[0], json!({"reason": "auto_cleanup"})),
    )
    .await;
    box_sends(
        &app,
        a,
        &deleted_event("del-foreign", "99999", json!({"reason": "auto_cleanup"})),
    )
    .await;
    box_sends(
        &app,
        b,
        &deleted_event("del-cross", &hooks[4], json!({"reason": "auto_cleanup"})),
    )
    .await;
    receiver.wait_for_event(&last_event).await;

    for (i, (_, recorded)) in cases.iter().enumerate() {
        let row = app.store.get_webhook(&hooks[i]).await.unwrap().unwrap();
        assert!(row.deleted_at_ms.is_some(), "{row:?}");
        let reason = row.deleted_reason.unwrap();
        if recorded.is_empty() {
            assert!(reason.len() <= 100 && reason.starts_with("attacker-chosen-reason-[31m"));
        } else {
            assert_eq!(reason, *recorded);
        }
    }
    let row = app.store.get_webhook(&hooks[4]).await.unwrap().unwrap();
    assert_eq!(
        row.deleted_at_ms, None,
        "B's delivery leaves A's webhook alone"
    );
    assert_eq!(sample(&app, &deleted_key("auto_cleanup")).await, 1.0);
    assert_eq!(sample(&app, &deleted_key("NO_ACTIVE_SESSION")).await, 1.0);
    assert_eq!(sample(&app, &deleted_key("other")).await, 2.0);
    let text = app.metrics_text().await;
    assert!(!text.contains("attacker"), "no label from the payload");
    // Without box.webhook.recreate, nothing is created again.
    assert_eq!(sample(&app, &recreations_key("recreated")).await, 0.0);
    assert_eq!(fake.webhooks().len(), 5);
}

pub async fn a_webhook_box_deleted_is_recreated_when_the_instance_asks(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let mut bad = oauth_instance_body("Bad value", &receiver.url("/api"), &fake.issue_code());
    bad["configuration"]["box.webhook.recreate"] = json!("sometimes");
    let (status, answer) = app.admin(Method::POST, "/instances", Some(&bad)).await;
    assert_eq!(
        (status, answer["key"].as_str()),
        (400, Some("configuration.\"box.webhook.recreate\"")),
        "{answer}"
    );
    let (a, a_token) = provision_recreating(&app, &fake, &receiver).await;
    let (b, b_token) = provision(&app, &fake, &receiver, "B, not recreating").await;
    let b_hook = create_hook(&app, &b_token, "200").await;
    fake.forget_webhook(&b_hook);
    box_sends(
        &app,
        b,
        &deleted_event("b-del", &b_hook, json!({"reason": "auto_cleanup"})),
    )
    .await;

    let old = create_hook(&app, &a_token, "201").await;
    fake.forget_webhook(&old);
    let answer = box_sends(
        &app,
        a,
        &deleted_event("a-del", &old, json!({"reason": "auto_cleanup"})),
    )
    .await;
    assert_eq!(answer["status"], "accepted");
    let (new, boxed) = eventually("Box has the webhook again", || async {
        fake.webhooks()
            .into_iter()
            .find(|(_, w)| w["target"]["id"] == "201")
            .ok_or_else(|| format!("{:?}", fake.webhooks()))
    })
    .await;
    assert_ne!(new, old);
    assert_eq!(boxed["address"], format!("{PUBLIC_URL}/webhooks/box/{a}"));
    assert_eq!(
        boxed["triggers"],
        json!(["FILE.UPLOADED", "WEBHOOK.DELETED"])
    );
    let record = eventually("the new id is recorded", || async {
        match app.store.get_webhook(&new).await.unwrap() {
            Some(r) => Ok(r),
            None => Err("no record".into()),
        }
    })
    .await;
    assert_eq!((record.instance_id, record.target_id.as_str()), (a, "201"));
    assert_eq!(record.deleted_at_ms, None);
    let old_row = app.store.get_webhook(&old).await.unwrap().unwrap();
    assert_eq!(old_row.deleted_reason.as_deref(), Some("auto_cleanup"));
    let (status, _, shown) = app
        .element(Method::GET, &format!("/webhooks/{new}"), &a_token, None)
        .await;
    assert_eq!((status, shown["id"].as_str()), (200, Some(new.as_str())));
    let (status, _, _) = app
        .element(Method::GET, &format!("/webhooks/{old}"), &a_token, None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(sample(&app, &recreations_key("recreated")).await, 1.0);

    // Box refuses the re-creation: logged and counted; Box's delivery was answered anyway.
    let refused = create_hook(&app, &a_token, "202").await;
    fake.forget_webhook(&refused);
    fake.fail_next(
        403,
        "access_denied_insufficient_permissions",
        "Access denied",
        None,
    );
    let answer = box_sends(
        &app,
        a,
        &deleted_event("a-del-2", &refused, json!({"reason": "auto_cleanup"})),
    )
    .await;
    assert_eq!(answer["status"], "accepted");
    eventually("the failure is counted", || async {
        match sample(&app, &recreations_key("failed")).await {
            1.0 => Ok(()),
            n => Err(n.to_string()),
        }
    })
    .await;
    assert!(fake.webhooks().values().all(|w| w["target"]["id"] != "202"));
    assert_eq!(sample(&app, &deleted_key("auto_cleanup")).await, 3.0);
    // B did not ask: its webhook stays deleted.
    assert!(fake.webhooks().values().all(|w| w["target"]["id"] != "200"));
    assert_eq!(sample(&app, &recreations_key("recreated")).await, 1.0);
}

pub async fn post_webhooks_adopts_only_this_instances_webhook_on_boxs_409(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (a, a_token) = provision(&app, &fake, &receiver, "A").await;
    let (b, b_token) = provision(&app, &fake, &receiver, "B").await;
    fake.set_page_size(1); // the webhook is found on a later page
    let folder = |id: &str| json!({"id": id, "type": "folder"});
    fake.add_webhook(
        folder("300"),
        "https://elsewhere.example.com/x",
        &["FILE.MOVED"],
    );
    let a_address = format!("{PUBLIC_URL}/webhooks/box/{a}");
    let made_in_console = fake.add_webhook(folder("301"), &a_address, &["FILE.UPLOADED"]);
    let bs = fake.add_webhook(
        folder("302"),
        &format!("{PUBLIC_URL}/webhooks/box/{b}"),
        &["FILE.UPLOADED"],
    );
    let b_managed = create_hook(&app, &b_token, "304").await;

    let (status, _, adopted) = app
        .element(
            Method::POST,
            "/webhooks",
            &a_token,
            Some(&folder_hook("301", &["FILE.UPLOADED"])),
        )
        .await;
    assert_eq!(status, 200, "{adopted}");
    assert_eq!(adopted["id"], made_in_console.as_str());
    assert_eq!(adopted["address"], a_address.as_str());
    let row = app
        .store
        .get_webhook(&made_in_console)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.instance_id, row.triggers.clone()),
        (a, vec!["FILE.UPLOADED".to_string()])
    );
    let (status, _, _) = app
        .element(
            Method::GET,
            &format!("/webhooks/{made_in_console}"),
            &a_token,
            None,
        )
        .await;
    assert_eq!(status, 200, "adopted: managed by A now");

    // Another instance's webhook, one the relay manages for B, one pointing elsewhere: 409.
    for target in ["302", "304", "300"] {
        let (status, _, answer) = app
            .element(
                Method::POST,
                "/webhooks",
                &a_token,
                Some(&folder_hook(target, &["FILE.UPLOADED"])),
            )
            .await;
        assert_eq!(
            (status, answer["box"]["code"].as_str()),
            (409, Some("conflict")),
            "{target}"
        );
    }
    assert!(
        app.store.get_webhook(&bs).await.unwrap().is_none(),
        "B's not adopted"
    );
    assert_eq!(
        app.store
            .get_webhook(&b_managed)
            .await
            .unwrap()
            .unwrap()
            .instance_id,
        b
    );
    let (_, _, list) = app.element(Method::GET, "/webhooks", &a_token, None).await;
    assert_eq!(ids(&list), vec![made_in_console]);
    assert_eq!(fake.webhooks().len(), 4, "nothing created in Box");
}

engine_tests!(
    boxs_deletions_are_recorded_and_counted_by_a_bounded_reason,
    a_webhook_box_deleted_is_recreated_when_the_instance_asks,
    post_webhooks_adopts_only_this_instances_webhook_on_boxs_409,
);
