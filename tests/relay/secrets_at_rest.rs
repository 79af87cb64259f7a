//! Secrets at rest: an instance created with every kind of secret leaves none of them, nor
//! its token, readable in the raw database (the SQLite file with its WAL, PostgreSQL's rows);
//! its token still authorizes, and a restart with the same key reads everything back; a
//! different key stops start-up with a clear message. The SQLite relay generates its key
//! file (0600) and says so; PostgreSQL without a key refuses to start and says why.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};
use webhook_relay::config::Config;
use webhook_relay::Application;

use crate::helpers::*;

pub const CALLBACK_PASSWORD: &str = "callback-url-password-31337";
pub const CUSTOM_API_KEY: &str = "custom-x-api-key-value";
pub const API_SECONDARY: &str = "api-box-secondary-key";

/// Every value of [`secret_instance_body`] (and the Box tokens) that must not be stored in
/// clear.
pub fn instance_secrets(fake: &FakeBox) -> Vec<String> {
    let mut all: Vec<String> = [
        API_PRIMARY,
        API_SECONDARY,
        API_EVENT_KEY,
        API_V1_TOKEN,
        API_STANDARD_SECRET,
        &API_STANDARD_SECRET["whsec_".len()..],
        BOX_CLIENT_SECRET,
        CALLBACK_PASSWORD,
        CUSTOM_API_KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(fake.issued());
    all
}

/// An instance provisioned with Box OAuth, with every kind of secret in its configuration.
pub fn secret_instance_body(receiver: &Receiver, fake: &FakeBox) -> Value {
    let callback =
        receiver
            .url("/api")
            .replacen("http://", &format!("http://relay:{CALLBACK_PASSWORD}@"), 1);
    let mut body = oauth_instance_body("Secrets", &callback, &fake.issue_code());
    let conf = &mut body["configuration"];
    conf["box.webhook.secondary.key"] = json!(API_SECONDARY);
    conf["event.notification.standard.secret"] = json!(API_STANDARD_SECRET);
    conf["x.apiKey"] = json!(CUSTOM_API_KEY);
    body
}

/// What an attacker with a copy of the database reads: the SQLite file's bytes (with its WAL
/// and shared memory), or every column of PostgreSQL's instances and Box tokens as text.
pub async fn raw_database(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                bytes.extend(b);
            }
        }
        assert!(!bytes.is_empty(), "no database at {path}");
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut text = String::new();
    for table in ["instances", "box_tokens"] {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert!(
            !rows.is_empty() || table == "box_tokens",
            "{table} has rows"
        );
        text.push_str(&rows.join("\n"));
    }
    text
}

/// Asserts that none of `secrets` is in `raw`.
pub fn assert_absent(raw: &str, secrets: &[String], when: &str) {
    for secret in secrets {
        assert!(
            !raw.contains(secret.as_str()),
            "{when}: the raw database holds {secret} in clear"
        );
    }
}

/// A relay on the store at `url` with the admin API on and `fake` as Box, plus `extra`
/// overrides (the store lives outside the relay's own directory, so it survives restarts).
pub async fn spawn_on(
    url: &str,
    receiver: &Receiver,
    fake: &FakeBox,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut env = box_env(fake);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    spawn_app_at(url, receiver, &env, tempfile::tempdir().unwrap()).await
}

/// A Box delivery to instance `id` signed with the API instance's primary key: accepted?
pub async fn box_delivery_verifies(app: &TestApp, id: i64) -> bool {
    let body = box_payload_with_id(&uuid::Uuid::new_v4().to_string());
    let (status, answer) = app
        .post_v2(
            &id.to_string(),
            &body,
            &box_headers_with_key(&body, API_PRIMARY),
        )
        .await;
    status == 200 && answer["status"] == "accepted"
}

pub async fn no_secret_or_token_is_readable_in_the_raw_database(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let app = spawn_on(&url, &receiver, &fake, &[]).await;
    let created = app
        .create_instance(&secret_instance_body(&receiver, &fake))
        .await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let mut secrets = instance_secrets(&fake);
    assert_eq!(secrets.len(), 11, "two Box tokens were issued");
    secrets.push(token.clone());
    assert_absent(&raw_database(&url).await, &secrets, "after creation");

    // The token authorizes; answers after the creation mask it.
    let (status, _, list) = app.element(Method::GET, "/webhooks", &token, None).await;
    assert_eq!(status, 200, "{list}");
    let (status, shown) = app
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["token"], "********");
    assert_eq!(shown["configuration"]["x.apiKey"], "********");
    assert!(box_delivery_verifies(&app, id).await);

    // A change is sealed too.
    let rotated = "patched-event-signature-key";
    let patch = json!({"configuration": {"event.notification.signature.key": rotated}});
    let (status, _) = app
        .admin(Method::PATCH, &format!("/instances/{id}"), Some(&patch))
        .await;
    assert_eq!(status, 200);
    secrets.push(rotated.to_string());
    app.stop().await;
    assert_absent(&raw_database(&url).await, &secrets, "after a change");

    // Restarted with the same key: everything reads back.
    let app = spawn_on(&url, &receiver, &fake, &[]).await;
    let (status, _, _) = app.element(Method::GET, "/webhooks", &token, None).await;
    assert_eq!(status, 200, "the token still authorizes after a restart");
    assert!(box_delivery_verifies(&app, id).await);
    let (status, _, _) = app.element(Method::GET, "/webhooks", "wrong", None).await;
    assert_eq!(status, 401);
    app.stop().await;

    // Another key cannot open the rows: start-up stops and names the instance and the key.
    let other = webhook_relay::secret::Cipher::generate_key();
    let mut env = box_env(&fake);
    env.insert(
        "RELAY__SECRETS__ENCRYPTION_KEY".into(),
        other.expose().to_string(),
    );
    let text = test_config(&url, &receiver.url(""), "")
        .replace(&format!("encryption_key = \"{SECRETS_KEY}\""), "");
    let (config, instances) = Config::from_toml(&text, &env).unwrap();
    let err = Application::build(config, instances)
        .await
        .err()
        .expect("a key that does not open the rows stops start-up")
        .to_string();
    assert!(
        err.contains(&format!(
            "instance {id}'s secrets cannot be decrypted with secrets.encryption_key"
        )),
        "{err}"
    );
}

/// Starts the real binary with `config` and `env`, expecting it to refuse; its stderr.
pub async fn refused_start(config: &Path, env: &[(&str, &str)]) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"));
    command
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("the relay refuses to start instead of serving")
        .unwrap();
    assert!(!out.status.success(), "the relay must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn sqlite_generates_a_private_key_file_beside_the_database_and_reuses_it() {
    let receiver = Receiver::start().await;
    let files = relay_files(&Engine::Sqlite, &receiver).await;
    let admin = [
        ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
        ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
    ];
    let key_file = files.dir.path().join("relay.db.key");
    assert!(!key_file.exists());
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &admin).await;
    let mode = std::fs::metadata(&key_file)
        .expect("a key file beside the database")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the relay's user reads it");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let log = std::fs::read_to_string(&files.log).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("generated one in this file"))
        .unwrap_or_else(|| panic!("the log says a key was generated: {log}"));
    assert!(line.contains(&key_file.display().to_string()), "{line}");
    assert!(!log.contains(key.trim()), "the log never holds the key");

    let http = reqwest::Client::new();
    let created: Value = http
        .post(relay.url("/instances"))
        .header("authorization", admin_auth())
        .json(&instance_body("Keyed", &receiver.url("/api")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().expect("created");
    relay.signal("TERM");
    assert!(relay.wait().await.success());

    // Started again: the same file, reused (not replaced), and the instance reads back.
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &admin).await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    let log = std::fs::read_to_string(&files.log).unwrap();
    assert!(
        log.contains("secrets are encrypted with the key in this file"),
        "{log}"
    );
    let res = http
        .get(relay.url(&format!("/instances/{id}")))
        .header("authorization", admin_auth())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

#[tokio::test]
async fn postgres_without_a_key_refuses_to_start_and_says_which_key_to_set() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let text = std::fs::read_to_string(&files.config).unwrap();
    let keyless = text.replace(&format!("encryption_key = \"{SECRETS_KEY}\""), "");
    assert_ne!(text, keyless, "the test config has a key on PostgreSQL");
    std::fs::write(&files.config, keyless).unwrap();
    let stderr = refused_start(&files.config, &[]).await;
    for needed in [
        "secrets.encryption_key",
        "RELAY__SECRETS__ENCRYPTION_KEY",
        "replicas",
    ] {
        assert!(stderr.contains(needed), "says {needed}: {stderr}");
    }
    // With the key in the environment it starts.
    let mut relay = RelayProcess::start_with_env(
        &files.config,
        &files.log,
        &[("RELAY__SECRETS__ENCRYPTION_KEY", SECRETS_KEY)],
    )
    .await;
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

engine_tests!(no_secret_or_token_is_readable_in_the_raw_database,);
