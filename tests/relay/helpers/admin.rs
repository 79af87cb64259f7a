//! Admin API helpers: credentials, a relay with the admin API on, and Cloud Elements bodies.

use serde_json::{json, Value};
use webhook_relay::box_webhook::verify::sign;
use webhook_relay::config::Env;

use super::{answer, spawn_app_env, Engine, Receiver, TestApp};

pub const ADMIN_USER: &str = "test-admin-user-secret";
pub const ADMIN_ORG: &str = "test-admin-organization-secret";
/// Keys of instances created through the API (distinct from the config file's).
pub const API_PRIMARY: &str = "api-box-primary-key";
pub const API_EVENT_KEY: &str = "api-event-signature-key";
pub const API_V1_TOKEN: &str = "api-box-v1-token";
pub const API_OAUTH_SECRET: &str = "api-oauth-client-secret";
pub const API_STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

pub fn admin_auth() -> String {
    format!("User {ADMIN_USER}, Organization {ADMIN_ORG}")
}

/// `RELAY__ADMIN__…` overrides that turn the admin API on, plus `extra`.
pub fn admin_env(extra: &[(&str, &str)]) -> Env {
    let mut env = Env::new();
    env.insert("RELAY__ADMIN__USER_SECRET".into(), ADMIN_USER.into());
    env.insert("RELAY__ADMIN__ORGANIZATION_SECRET".into(), ADMIN_ORG.into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

/// A relay with the admin API on (instances 1–4 from the test config file).
pub async fn spawn_admin_app(engine: &Engine, receiver: &Receiver) -> TestApp {
    spawn_app_env(engine, receiver, &admin_env(&[])).await
}

/// Cloud Elements' `POST /instances` body for a Box instance delivering to `callback`.
pub fn instance_body(name: &str, callback: &str) -> Value {
    json!({
        "element": { "key": "box" },
        "providerData": { "note": "accepted and ignored without a code" },
        "configuration": {
            "event.notification.enabled": "true",
            "event.notification.callback.url": callback,
            "event.notification.signature.key": API_EVENT_KEY,
            "box.webhook.primary.key": API_PRIMARY,
            "box.webhook.v1.token": API_V1_TOKEN,
            "oauth.api.key": "client-id",
            "oauth.api.secret": API_OAUTH_SECRET,
            "event.vendor.type": "webhook"
        },
        "tags": ["Docs"],
        "name": name
    })
}

/// Box V2 headers for `body` signed now with `key` as the primary key.
pub fn box_headers_with_key(body: &[u8], key: &str) -> Vec<(String, String)> {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    vec![
        ("box-delivery-id".into(), uuid::Uuid::new_v4().to_string()),
        ("box-delivery-timestamp".into(), timestamp.clone()),
        ("box-signature-version".into(), "1".into()),
        ("box-signature-algorithm".into(), "HmacSHA256".into()),
        ("box-signature-primary".into(), sign(key, body, &timestamp)),
        ("content-type".into(), "application/json".into()),
    ]
}

impl TestApp {
    /// An admin request with valid credentials and an optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, _, json) = self.admin_full(method, path, body).await;
        (status, json)
    }

    /// Like [`TestApp::admin`], with the response headers.
    pub async fn admin_full(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("authorization", admin_auth());
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("relay answers");
        let headers = res.headers().clone();
        let (status, json) = answer(res).await;
        (status, headers, json)
    }

    /// Creates an instance through the API; returns its answer.
    pub async fn create_instance(&self, body: &Value) -> Value {
        let (status, answer) = self
            .admin(reqwest::Method::POST, "/instances", Some(body))
            .await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// A 32-byte `box.token_key` for tests.
pub const TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// The relay's public address in tests (Box webhooks point there).
pub const PUBLIC_URL: &str = "https://relay.example.com";

/// Overrides for a relay that calls `fake` as Box, with the admin API on.
pub fn box_env(fake: &super::FakeBox) -> Env {
    admin_env(&[
        ("RELAY__BOX__API_URL", &fake.url()),
        ("RELAY__BOX__OAUTH_URL", &fake.url()),
        ("RELAY__SECRETS__ENCRYPTION_KEY", super::SECRETS_KEY),
        ("RELAY__SERVER__PUBLIC_URL", PUBLIC_URL),
    ])
}

/// `POST /instances` with Box OAuth: `code` and the fake Box app's client credentials.
pub fn oauth_instance_body(name: &str, callback: &str, code: &str) -> Value {
    let mut body = instance_body(name, callback);
    body["providerData"] = json!({ "code": code });
    let conf = &mut body["configuration"];
    conf["oauth.api.key"] = json!(super::BOX_CLIENT_ID);
    conf["oauth.api.secret"] = json!(super::BOX_CLIENT_SECRET);
    conf["oauth.callback.url"] = json!("https://app.example.com/oauth/callback");
    body
}

impl TestApp {
    /// A request to the instance-scoped API (`User <secret>, Element <token>`).
    pub async fn element(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, self.url(path)).header(
            "authorization",
            format!("User {ADMIN_USER}, Element {token}"),
        );
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("relay answers");
        let headers = res.headers().clone();
        let (status, json) = answer(res).await;
        (status, headers, json)
    }
}

/// Provisions an instance named `name` with a fresh code on `fake`'s one Box account; (its
/// id, its Element token).
pub async fn provision(
    app: &TestApp,
    fake: &super::FakeBox,
    receiver: &super::Receiver,
    name: &str,
) -> (i64, String) {
    let created = app
        .create_instance(&oauth_instance_body(
            name,
            &receiver.url("/api"),
            &fake.issue_code(),
        ))
        .await;
    (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_string(),
    )
}

/// A `POST /webhooks` body for a folder.
pub fn folder_hook(folder: &str, triggers: &[&str]) -> Value {
    json!({ "target": { "id": folder, "type": "folder" }, "triggers": triggers })
}

/// Box's `WEBHOOK.DELETED` event (auto clean-up) for the webhook `hook_id`, as bytes.
pub fn webhook_deleted_event(event_id: &str, hook_id: &str) -> Vec<u8> {
    json!({
        "type": "webhook_event", "id": event_id, "created_at": "2026-11-26T10:00:00-08:00",
        "trigger": "WEBHOOK.DELETED",
        "webhook": { "id": hook_id, "type": "webhook" },
        "source": { "id": hook_id, "type": "webhook" },
        "additional_info": { "reason": "auto_cleanup" }
    })
    .to_string()
    .into_bytes()
}
