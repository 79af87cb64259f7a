//! Keys over time: `webhook-relay secrets rotate` re-seals everything under a new key (refused
//! while the relay runs), after which the old key no longer starts the relay and the new
//! one verifies Box deliveries and Element tokens; and a database written before secrets
//! were sealed (clear rows, inserted with raw SQL) is converted at start, once, even by two
//! PostgreSQL replicas starting together.

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::secrets_at_rest::*;

/// Runs `webhook-relay --config <config> secrets rotate --new-key-file <new>`; (ok, stdout,
/// stderr).
async fn rotate(config: &Path, new: &Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"));
    command
        .arg("--config")
        .arg(config)
        .args(["secrets", "rotate", "--new-key-file"])
        .arg(new)
        .env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("rotate ends")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub async fn secrets_rotate_moves_everything_to_the_new_key(engine: Engine) {
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let files = relay_files(&engine, &receiver).await;
    let sqlite = matches!(engine, Engine::Sqlite);
    let fake_url = fake.url();
    // SQLite: the generated key file; PostgreSQL: the configured key.
    let env = [
        ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
        ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
        ("RELAY__BOX__API_URL", fake_url.as_str()),
        ("RELAY__BOX__OAUTH_URL", fake_url.as_str()),
        ("RELAY__SERVER__PUBLIC_URL", PUBLIC_URL),
    ];
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &env).await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(relay.url("/instances"))
        .header("authorization", admin_auth())
        .json(&secret_instance_body(&receiver, &fake))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().expect("created");
    let token = created["token"].as_str().unwrap().to_string();
    let element = format!("User {ADMIN_USER}, Element {token}");
    let webhooks = |base: String| {
        let req = http
            .get(format!("{base}/webhooks"))
            .header("authorization", &element);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(webhooks(relay.url("")).await, 200);

    let key_file = files.dir.path().join("relay.db.key");
    let old_key = if sqlite {
        std::fs::read_to_string(&key_file)
            .unwrap()
            .trim()
            .to_string()
    } else {
        SECRETS_KEY.to_string()
    };
    let new_key = webhook_relay::secret::Cipher::generate_key();
    let new_file = files.dir.path().join("new.key");
    std::fs::write(&new_file, format!("{}\n", new_key.expose())).unwrap();

    let (ok, _, stderr) = rotate(&files.config, &new_file, &[]).await;
    assert!(!ok, "refused while the relay runs");
    assert!(stderr.contains("stop"), "{stderr}");
    relay.signal("TERM");
    assert!(relay.wait().await.success());

    let (ok, stdout, stderr) = rotate(&files.config, &new_file, &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Re-encrypted 1 instance(s) and the Box tokens of 1 instance(s)"),
        "{stdout}"
    );
    assert!(!stdout.contains(new_key.expose()) && !stderr.contains(new_key.expose()));
    if sqlite {
        assert!(stdout.contains("now holds the new key"), "{stdout}");
        let held = std::fs::read_to_string(&key_file).unwrap();
        assert_eq!(held.trim(), new_key.expose());
    } else {
        assert!(
            stdout.contains("RELAY__SECRETS__ENCRYPTION_KEY"),
            "{stdout}"
        );
    }

    // The old key no longer opens anything.
    let old_env = [("RELAY__SECRETS__ENCRYPTION_KEY", old_key.as_str())];
    let stderr = refused_start(&files.config, &old_env).await;
    assert!(
        stderr.contains(&format!(
            "instance {id}'s secrets cannot be decrypted with secrets.encryption_key"
        )),
        "{stderr}"
    );

    // The new key: Box deliveries verify with the instance's keys, its token authorizes, and
    // Box is called with its (re-sealed) tokens.
    let mut with_new: Vec<(&str, &str)> = env.to_vec();
    if !sqlite {
        with_new.push(("RELAY__SECRETS__ENCRYPTION_KEY", new_key.expose()));
    }
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &with_new).await;
    let body = box_payload();
    let mut req = http
        .post(relay.url(&format!("/webhooks/box/{id}")))
        .body(body.clone());
    for (k, v) in box_headers_with_key(&body, API_PRIMARY) {
        req = req.header(k, v);
    }
    let (status, accepted) = answer(req.send().await.unwrap()).await;
    assert_eq!((status, &accepted["status"]), (200, &json!("accepted")));
    assert_eq!(webhooks(relay.url("")).await, 200);
    relay.signal("TERM");
    assert!(relay.wait().await.success());
    assert_absent(
        &raw_database(&files.url).await,
        &instance_secrets(&fake),
        "after rotation",
    );
}

const LEGACY_TOKEN: &str = "legacy-clear-instance-token-0123456789";
const LEGACY_SIGNATURE_KEY: &str = "legacy-event-signature-key";

/// Inserts instance 5 as the relay stored it before secrets were sealed: token and
/// configuration in clear.
macro_rules! insert_legacy_row {
    ($conn:expr, $configuration:expr) => {{
        sqlx::query(
            "INSERT INTO instances (id, name, token, tags, configuration, disabled, \
               created_at, updated_at) VALUES (5, 'Legacy', $1, '[\"old\"]', $2, FALSE, 0, 0)",
        )
        .bind(LEGACY_TOKEN)
        .bind($configuration)
        .execute(&mut $conn)
        .await
        .unwrap();
        sqlx::query("UPDATE instances_meta SET last_id = 5, revision = revision + 1")
            .execute(&mut $conn)
            .await
            .unwrap();
    }};
}

pub async fn an_old_format_database_is_converted_at_start(engine: Engine) {
    use sqlx::Connection;
    let receiver = Receiver::start().await;
    let fake = FakeBox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    webhook_relay::store::Store::open(&url)
        .await
        .unwrap()
        .close()
        .await;
    let configuration = json!({
        "event.notification.enabled": true,
        "event.notification.callback.url": receiver.url("/legacy"),
        "event.notification.signature.key": LEGACY_SIGNATURE_KEY,
        "box.webhook.primary.key": API_PRIMARY,
        "x.apiKey": CUSTOM_API_KEY,
    })
    .to_string();
    if matches!(engine, Engine::Sqlite) {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        insert_legacy_row!(conn, &configuration);
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        insert_legacy_row!(conn, &configuration);
        conn.close().await.unwrap();
    }
    let secrets: Vec<String> = [
        LEGACY_TOKEN,
        LEGACY_SIGNATURE_KEY,
        API_PRIMARY,
        CUSTOM_API_KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(
        raw_database(&url).await.contains(LEGACY_TOKEN),
        "clear before"
    );

    // Two PostgreSQL replicas start at once; SQLite has one relay.
    let (app, twin) = if matches!(engine, Engine::Sqlite) {
        (spawn_on(&url, &receiver, &fake, &[]).await, None)
    } else {
        let (a, b) = tokio::join!(
            spawn_on(&url, &receiver, &fake, &[]),
            spawn_on(&url, &receiver, &fake, &[])
        );
        (a, Some(b))
    };
    assert_absent(&raw_database(&url).await, &secrets, "after start");
    for app in std::iter::once(&app).chain(twin.as_ref()) {
        // The clear token still authorizes (the instance has no Box tokens: 409, not 401).
        let (status, _, answer) = app
            .element(Method::GET, "/webhooks", LEGACY_TOKEN, None)
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("not_authorized"))
        );
        assert!(box_delivery_verifies(app, 5).await);
        let (_, shown) = app.admin(Method::GET, "/instances/5", None).await;
        assert_eq!(shown["token"], "********");
        assert_eq!(shown["tags"], json!(["old"]));
    }
    let again = app.store.seal_clear_secrets().await.unwrap();
    assert_eq!(again.instances, 0, "converted once");
    let (status, _, _) = app.element(Method::GET, "/webhooks", "wrong", None).await;
    assert_eq!(status, 401);
}

engine_tests!(
    secrets_rotate_moves_everything_to_the_new_key,
    an_old_format_database_is_converted_at_start,
);
