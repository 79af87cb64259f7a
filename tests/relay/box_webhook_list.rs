//! `GET /webhooks` reads Box's whole list through `next_marker` (bounded, then `Next-Cursor`)
//! and keeps only the instance's own; `POST|PUT /webhooks` check triggers against the one
//! list, unless `box.allow_unknown_triggers` lets Box decide. Against the fake Box.

use reqwest::Method;
use serde_json::json;

use crate::box_lifecycle::{create_hook, ids};
use crate::helpers::*;

pub async fn get_webhooks_follows_next_marker_to_every_own_webhook(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (_, a_token) = provision(&app, &fake, &receiver, "A").await;
    let (_, b_token) = provision(&app, &fake, &receiver, "B").await;
    let mut mine = Vec::new();
    for i in 0..22 {
        mine.push(create_hook(&app, &a_token, &format!("40{i}")).await);
        if i % 10 == 0 {
            create_hook(&app, &b_token, &format!("50{i}")).await;
        }
    }
    mine.sort();
    fake.set_page_size(2);
    let (status, headers, list) = app.element(Method::GET, "/webhooks", &a_token, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list), mine, "every one of A's, none of B's");
    assert!(headers.get("next-cursor").is_none());
    let markers = fake.list_markers();
    assert_eq!(markers.len(), 13, "25 webhooks, 2 a page: {markers:?}");
    assert_eq!(markers[1].as_deref(), Some("mk-2"));

    // Bounded: 20 pages at most, then Next-Cursor goes on from there.
    fake.set_page_size(1);
    let (_, headers, first) = app.element(Method::GET, "/webhooks", &a_token, None).await;
    let cursor = headers["next-cursor"].to_str().unwrap().to_string();
    assert_eq!(cursor, "mk-20");
    let (_, headers, rest) = app
        .element(
            Method::GET,
            &format!("/webhooks?cursor={cursor}"),
            &a_token,
            None,
        )
        .await;
    assert!(headers.get("next-cursor").is_none());
    let mut all = ids(&first);
    all.extend(ids(&rest));
    all.sort();
    assert_eq!(all, mine);
    fake.set_page_size(2);
    let (_, _, b_list) = app.element(Method::GET, "/webhooks", &b_token, None).await;
    assert_eq!(ids(&b_list).len(), 3);
}

pub async fn unknown_triggers_are_refused_unless_the_relay_allows_them(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let docgen = "DOC_GEN.DOCUMENT_GENERATION.COMPLETED";
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (_, token) = provision(&app, &fake, &receiver, "Strict").await;
    let (status, _, answer) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("601", &[docgen])),
        )
        .await;
    assert_eq!(
        (status, answer["key"].as_str()),
        (400, Some("triggers[0]")),
        "{answer}"
    );
    assert!(answer["detail"]
        .as_str()
        .unwrap()
        .contains("box.allow_unknown_triggers"));
    assert!(fake.webhooks().is_empty());
    app.stop().await;

    let mut env = box_env(&fake);
    env.insert("RELAY__BOX__ALLOW_UNKNOWN_TRIGGERS".into(), "true".into());
    let app = spawn_app_env(&engine, &receiver, &env).await;
    let (_, token) = provision(&app, &fake, &receiver, "Lenient").await;
    let (status, _, created) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("601", &["FILE.UPLOADED", docgen])),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(fake.webhooks()[id]["triggers"][1], docgen);
    let renamed = json!({"triggers": ["SIGN_REQUEST.SIGNER_REASSIGNED"]});
    let (status, _, _) = app
        .element(
            Method::PUT,
            &format!("/webhooks/{id}"),
            &token,
            Some(&renamed),
        )
        .await;
    assert_eq!(status, 200);
    // Still checked for shape.
    for bad in ["doc_gen.lower", "NODOT", ""] {
        let (status, _, answer) = app
            .element(
                Method::POST,
                "/webhooks",
                &token,
                Some(&folder_hook("602", &[bad])),
            )
            .await;
        assert_eq!(
            (status, answer["key"].as_str()),
            (400, Some("triggers[0]")),
            "{bad}"
        );
    }
}

engine_tests!(
    get_webhooks_follows_next_marker_to_every_own_webhook,
    unknown_triggers_are_refused_unless_the_relay_allows_them,
);
