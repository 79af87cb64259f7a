//! Test harness: a real local callback receiver ([`receiver`]), the relay started in-process
//! ([`app`]) or as the real binary ([`process`]), each on port 0 with its own store, the
//! storage engines and a private PostgreSQL server ([`postgres`]), and Box signing.

mod admin;
mod app;
pub mod browser;
mod eventually;
mod fake_box;
mod postgres;
mod process;
mod receiver;

pub use admin::*;
pub use app::*;
pub use eventually::*;
pub use fake_box::*;
pub use postgres::*;
pub use process::*;
pub use receiver::*;

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use webhook_relay::box_webhook::verify::sign;

pub const PRIMARY: &str = "test-primary-key";
pub const SECONDARY: &str = "test-secondary-key";
pub const EVENT_KEY: &str = "test-event-signature-key";
pub const V1_TOKEN: &str = "test-v1-token";
/// How long a test waits for something that should happen (never a sleep: a deadline).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The Box example payload (tests/fixtures), exact bytes.
pub fn box_payload() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/box-v2-file-uploaded.json"),
    )
    .expect("fixture")
}

/// The example payload with another event `id` (a distinct Box event).
pub fn box_payload_with_id(id: &str) -> Vec<u8> {
    let text = String::from_utf8(box_payload()).unwrap();
    text.replacen("\"id\": \"11446498\"", &format!("\"id\": \"{id}\""), 1)
        .into_bytes()
}

/// Box V2 headers for `body`, signed with the test primary key at `timestamp`.
pub fn box_headers_at(body: &[u8], timestamp: &str) -> Vec<(String, String)> {
    vec![
        ("box-delivery-id".into(), uuid::Uuid::new_v4().to_string()),
        ("box-delivery-timestamp".into(), timestamp.into()),
        ("box-signature-version".into(), "1".into()),
        ("box-signature-algorithm".into(), "HmacSHA256".into()),
        (
            "box-signature-primary".into(),
            sign(PRIMARY, body, timestamp),
        ),
        (
            "box-signature-secondary".into(),
            sign(SECONDARY, body, timestamp),
        ),
        ("content-type".into(), "application/json".into()),
    ]
}

/// Box V2 headers for `body`, signed now.
pub fn box_headers(body: &[u8]) -> Vec<(String, String)> {
    box_headers_at(body, &Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// The secrets key of the tests' PostgreSQL relays (PostgreSQL requires one; on SQLite the
/// relay generates its own beside the database file). The same as [`TOKEN_KEY`], its former
/// name, so tests that set either agree.
pub const SECRETS_KEY: &str = TOKEN_KEY;

/// The `[secrets]` section of the test configuration on the store at `storage_url`.
pub fn secrets_section(storage_url: &str) -> String {
    if storage_url.starts_with("postgres") {
        format!("[secrets]\nencryption_key = \"{SECRETS_KEY}\"\n")
    } else {
        String::new()
    }
}

/// The relay's configuration for tests: instance 1 delivers to `{callback}/events`, instance 2
/// has events disabled, instance 3 has no Box keys, instance 4 delivers to `{callback}/other`. Fast retries; private destinations allowed.
/// On PostgreSQL it has a secrets key ([`secrets_section`]).
pub fn test_config(storage_url: &str, callback: &str, extra: &str) -> String {
    let secrets = secrets_section(storage_url);
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_ms = 3000
[storage]
url = "{storage_url}"
{secrets}[delivery]
allow_private_destinations = true
backoff_base_ms = 50
backoff_factor = 2.0
backoff_max_ms = 400
max_attempts = 4
timeout_ms = 2000
per_instance_concurrency = 2
poll_interval_ms = 200
{extra}
[[instances]]
id = 1
name = "Test Box"
tags = ["test"]
account_id = 643
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/events"
"event.notification.signature.key" = "{EVENT_KEY}"
"box.webhook.primary.key" = "{PRIMARY}"
"box.webhook.secondary.key" = "{SECONDARY}"
"box.webhook.v1.token" = "{V1_TOKEN}"

[[instances]]
id = 2
name = "Disabled"
[instances.configuration]
"event.notification.enabled" = false
"box.webhook.primary.key" = "{PRIMARY}"

[[instances]]
id = 3
name = "No keys"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/events"

[[instances]]
id = 4
name = "Other consumer"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "{callback}/other"
"box.webhook.primary.key" = "{PRIMARY}"
"#
    )
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment that turns the admin API on with the test credentials.
pub const ADMIN_ON: [(&str, &str); 2] = [
    ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
    ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
];

pub async fn answer(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}
