//! One tenant never acts on another's Box webhooks: two instances provisioned on the same
//! (fake) Box account, where Box itself would let either token move or delete the other's
//! webhook. The relay's records decide: another instance's webhook reads as a missing one,
//! Box is never called for it, and no record ever changes owner.

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::store::box_api::WebhookRow;

use crate::helpers::*;

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect()
}

pub async fn an_instance_cannot_see_change_or_delete_another_instances_webhook(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (_, a) = provision(&app, &fake, &receiver, "Tenant A").await;
    let (b_id, b) = provision(&app, &fake, &receiver, "Tenant B").await;
    let (status, _, hook) = app
        .element(
            Method::POST,
            "/webhooks",
            &b,
            Some(&folder_hook("4242", &["FILE.UPLOADED"])),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let boxed = fake.webhooks()[&hook_id].clone();
    let record = app.store.get_webhook(&hook_id).await.unwrap().unwrap();
    assert_eq!(record.instance_id, b_id);

    // A's token, B's id: the answer of a missing webhook, and Box is never called.
    let calls = fake.bearers().len();
    let path = format!("/webhooks/{hook_id}");
    let moved = folder_hook("9999", &["FILE.DELETED"]);
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(&moved)),
        (Method::DELETE, None),
    ] {
        let (status, _, answer) = app.element(method.clone(), &path, &a, body).await;
        assert_eq!(
            (status, &answer),
            (
                404,
                &json!({"code": "not_found", "detail": "no such webhook"})
            ),
            "{method} of another instance's webhook"
        );
    }
    // An id the relay never recorded reads the same, also without a call to Box.
    let (status, _, answer) = app.element(Method::GET, "/webhooks/999999", &a, None).await;
    assert_eq!(
        (status, answer["detail"].as_str()),
        (404, Some("no such webhook"))
    );
    assert_eq!(
        fake.bearers().len(),
        calls,
        "Box saw no call for A's refused requests"
    );
    assert_eq!(
        fake.webhooks()[&hook_id],
        boxed,
        "B's webhook unchanged in Box"
    );
    assert_eq!(
        app.store.get_webhook(&hook_id).await.unwrap().unwrap(),
        record,
        "B's record unchanged"
    );

    // A's list (from the same Box account) shows A's webhooks only.
    let (status, _, list) = app.element(Method::GET, "/webhooks", &a, None).await;
    assert_eq!(status, 200, "{list}");
    assert!(ids(&list).is_empty(), "A sees none of B's webhooks: {list}");
    let (_, _, own) = app
        .element(
            Method::POST,
            "/webhooks",
            &a,
            Some(&folder_hook("5151", &["FILE.UPLOADED"])),
        )
        .await;
    let own_id = own["id"].as_str().unwrap();
    let (_, _, list) = app.element(Method::GET, "/webhooks", &a, None).await;
    assert_eq!(ids(&list), vec![own_id]);
    let (_, _, list) = app.element(Method::GET, "/webhooks", &b, None).await;
    assert_eq!(ids(&list), vec![hook_id.as_str()]);

    // B still manages its webhook.
    let (status, _, shown) = app.element(Method::GET, &path, &b, None).await;
    assert_eq!((status, &shown), (200, &boxed));
    let (status, _, updated) = app.element(Method::PUT, &path, &b, Some(&moved)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(fake.webhooks()[&hook_id]["target"]["id"], "9999");
    assert_eq!(
        app.store
            .get_webhook(&hook_id)
            .await
            .unwrap()
            .unwrap()
            .target_id,
        "9999"
    );
    let (status, _, _) = app.element(Method::DELETE, &path, &b, None).await;
    assert_eq!(status, 204);
    assert!(!fake.webhooks().contains_key(&hook_id));
    // Deleted: B's own requests now read it as missing too.
    let (status, _, _) = app.element(Method::GET, &path, &b, None).await;
    assert_eq!(status, 404);
}

pub async fn a_webhook_deleted_event_to_one_instance_leaves_anothers_record(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (a_id, _) = provision(&app, &fake, &receiver, "Tenant A").await;
    let (_, b) = provision(&app, &fake, &receiver, "Tenant B").await;
    let (_, _, hook) = app
        .element(
            Method::POST,
            "/webhooks",
            &b,
            Some(&folder_hook("6161", &["FILE.UPLOADED"])),
        )
        .await;
    let hook_id = hook["id"].as_str().unwrap();
    // A knows its own Box keys: it signs a WEBHOOK.DELETED naming B's webhook.
    let forged = webhook_deleted_event("forged-deleted-1", hook_id);
    let (status, accepted) = app
        .post_v2(
            &a_id.to_string(),
            &forged,
            &box_headers_with_key(&forged, API_PRIMARY),
        )
        .await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted"))
    );
    let row = app.store.get_webhook(hook_id).await.unwrap().unwrap();
    assert_eq!(row.deleted_at_ms, None, "B's record is not marked deleted");
    let (status, _, _) = app
        .element(Method::GET, &format!("/webhooks/{hook_id}"), &b, None)
        .await;
    assert_eq!(status, 200, "B still manages its webhook");
}

pub async fn a_recorded_webhook_never_changes_owner(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = webhook_relay::store::Store::open(&engine.fresh_url(dir.path()).await)
        .await
        .unwrap();
    let original = WebhookRow {
        id: "8000001".into(),
        instance_id: 1,
        target_id: "11".into(),
        target_type: "folder".into(),
        triggers: vec!["FILE.UPLOADED".into()],
        address: format!("{PUBLIC_URL}/webhooks/box/1"),
        created_at_ms: 1_000,
        deleted_at_ms: None,
        deleted_reason: None,
    };
    assert!(store.insert_webhook(&original).await.unwrap());

    // Another instance recording the same id: refused, nothing changed.
    let other = WebhookRow {
        instance_id: 2,
        target_id: "22".into(),
        triggers: vec!["FILE.DELETED".into()],
        address: format!("{PUBLIC_URL}/webhooks/box/2"),
        ..original.clone()
    };
    assert!(!store.insert_webhook(&other).await.unwrap());
    assert_eq!(
        store.get_webhook(&original.id).await.unwrap(),
        Some(original.clone())
    );
    // Nor does another instance's update or deletion touch it.
    store.update_webhook(&other).await.unwrap();
    assert!(!store
        .mark_webhook_deleted(2, &original.id, 2_000, "not yours")
        .await
        .unwrap());
    assert_eq!(
        store.get_webhook(&original.id).await.unwrap(),
        Some(original.clone())
    );
    let ids = vec![original.id.clone(), "8000002".into()];
    assert_eq!(
        store.owned_webhook_ids(2, &ids).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store.owned_webhook_ids(1, &ids).await.unwrap(),
        vec![original.id.clone()]
    );

    // The same instance re-recording it is fine (and revives a deleted record).
    assert!(store
        .mark_webhook_deleted(1, &original.id, 3_000, "deleted through the relay")
        .await
        .unwrap());
    assert!(store.owned_webhook_ids(1, &ids).await.unwrap().is_empty());
    let again = WebhookRow {
        target_id: "33".into(),
        ..original.clone()
    };
    assert!(store.insert_webhook(&again).await.unwrap());
    assert_eq!(store.get_webhook(&original.id).await.unwrap(), Some(again));
    store.close().await;
}

engine_tests!(
    an_instance_cannot_see_change_or_delete_another_instances_webhook,
    a_webhook_deleted_event_to_one_instance_leaves_anothers_record,
    a_recorded_webhook_never_changes_owner,
);
