//! Box tokens of an instance: refreshed a minute before expiry and after a Box 401, Client
//! Credentials instances that need no OAuth code, and two PostgreSQL replicas racing one
//! refresh (Box's refresh tokens are single-use). Against a fake Box.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

pub async fn tokens_are_refreshed_before_expiry_and_after_a_401(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    // The first tokens expire within the relay's one-minute margin.
    fake.set_expires_in(30);
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let (_, token) = provision(&app, &fake, &receiver, "Box OAuth").await;
    fake.set_expires_in(3600);
    let (status, _, _) = app.element(Method::GET, "/webhooks", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(fake.refreshes(), 1, "refreshed before use");
    let (status, _, _) = app.element(Method::GET, "/webhooks", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(fake.refreshes(), 1, "a fresh token is reused");

    // Box revokes the access token: the relay refreshes (with the rotated refresh token)
    // and retries once.
    fake.revoke_access_tokens();
    let (status, _, hook) = app
        .element(
            Method::POST,
            "/webhooks",
            &token,
            Some(&folder_hook("42", &["FILE.UPLOADED"])),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(fake.refreshes(), 2);
    assert_eq!(
        fake.refused_refreshes(),
        0,
        "no refresh token was used twice"
    );
    let bearers = fake.bearers();
    assert_ne!(bearers[bearers.len() - 1], bearers[bearers.len() - 2]);
}

pub async fn client_credentials_instances_need_no_oauth_code(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    fake.set_expires_in(30);
    let app = spawn_app_env(&engine, &receiver, &box_env(&fake)).await;
    let mut body = instance_body("CCG", &receiver.url("/api"));
    let conf = &mut body["configuration"];
    conf["box.auth"] = json!("client_credentials");
    conf["box.enterprise.id"] = json!(BOX_ENTERPRISE);
    conf["oauth.api.key"] = json!(BOX_CLIENT_ID);
    conf["oauth.api.secret"] = json!(BOX_CLIENT_SECRET);
    let created = app.create_instance(&body).await;
    let token = created["token"].as_str().unwrap();
    // The first token is nearly expired: the relay asks for a new one (no refresh token).
    let (status, _, hook) = app
        .element(
            Method::POST,
            "/webhooks",
            token,
            Some(&folder_hook("9", &["FOLDER.CREATED"])),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(
        fake.issued().len(),
        2,
        "two Client Credentials grants, no refresh token"
    );
    assert_eq!(fake.refreshes(), 0);
    // Wrong enterprise: Box's refusal, nothing created.
    body["configuration"]["box.enterprise.id"] = json!("other");
    let (status, answer) = app.admin(Method::POST, "/instances", Some(&body)).await;
    assert_eq!(
        (status, answer["box"]["code"].as_str()),
        (400, Some("invalid_grant"))
    );
}

engine_tests!(
    tokens_are_refreshed_before_expiry_and_after_a_401,
    client_credentials_instances_need_no_oauth_code,
);

/// Two replicas on one PostgreSQL database need the instance's token at the same moment,
/// just as it expires: Box's single-use refresh token is used once, both calls succeed.
#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn postgres_replicas_racing_a_refresh_make_one() {
    let Some(Engine::Postgres(admin_url)) = Engine::postgres() else {
        return;
    };
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    fake.set_expires_in(30);
    fake.set_refresh_delay(300);
    let url = fresh_database(&admin_url).await;
    let env = box_env(&fake);
    let a = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    let b = spawn_app_at(&url, &receiver, &env, tempfile::tempdir().unwrap()).await;
    let (_, token) = provision(&a, &fake, &receiver, "Box OAuth").await;
    fake.set_expires_in(3600);
    let (hook_a, hook_b) = (
        folder_hook("1001", &["FILE.UPLOADED"]),
        folder_hook("1002", &["FILE.UPLOADED"]),
    );
    let ((sa, _, ra), (sb, _, rb)) = tokio::join!(
        a.element(Method::POST, "/webhooks", &token, Some(&hook_a)),
        b.element(Method::POST, "/webhooks", &token, Some(&hook_b)),
    );
    assert_eq!((sa, sb), (201, 201), "{ra} {rb}");
    assert_eq!(fake.refreshes(), 1, "one refresh for both replicas");
    assert_eq!(fake.refused_refreshes(), 0);
    let report = format!(
        "REPORT racing replicas: refreshes {}, refused {}, webhooks created {}",
        fake.refreshes(),
        fake.refused_refreshes(),
        fake.webhooks().len()
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{report}");
}
