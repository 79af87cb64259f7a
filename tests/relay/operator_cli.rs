//! The operator's first commands, run as the real binary: one relay per SQLite file (a
//! second is refused, `events` keeps working beside the first, the lock goes with the
//! process even after SIGKILL), `events` on an instance nobody has, `--config` only where it
//! is read, `events redeliver`'s two forms, and a port clash said once.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::helpers::*;

/// Runs the binary with `args` in `cwd` (no `RELAY_CONFIG`, no `RUST_LOG`) until it exits.
async fn relay_command(cwd: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
        .current_dir(cwd)
        .args(args)
        .env_remove("RELAY_CONFIG")
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(DEADLINE, run)
        .await
        .unwrap_or_else(|_| panic!("webhook-relay {args:?} did not exit within the deadline"))
        .expect("run the binary")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `webhook-relay --config <config> events <args>`.
async fn events(config: &Path, args: &[&str]) -> Output {
    let config = config.to_str().unwrap();
    let mut all = vec!["--config", config, "events"];
    all.extend_from_slice(args);
    relay_command(Path::new("."), &all).await
}

#[tokio::test]
async fn a_second_relay_on_one_sqlite_file_is_refused_until_the_first_is_gone() {
    let receiver = Receiver::start().await;
    let files = relay_files(&Engine::Sqlite, &receiver).await;
    let db = files.dir.path().join("relay.db");
    let config = files.config.to_str().unwrap();
    let mut first = RelayProcess::start(&files.config, &files.log).await;
    let body = box_payload_with_id("locked-file");
    let accepted = reqwest::Client::new()
        .post(first.url("/webhooks/box/1"))
        .headers(header_map(&box_headers(&body)))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);

    let second = relay_command(files.dir.path(), &["serve", "--config", config]).await;
    let message = stderr(&second);
    assert!(
        !second.status.success(),
        "the second relay started: {message}"
    );
    assert!(message.contains(&db.display().to_string()), "{message}");
    assert!(message.contains("in use by another relay"), "{message}");
    assert!(message.contains("PostgreSQL"), "{message}");

    // The operator's tool still reads and writes the file beside the running relay.
    let listed = events(&files.config, &["list", "--instance", "1"]).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // SIGKILL: no clean shutdown, yet the lock goes with the process.
    first.signal("KILL");
    first.wait().await;
    let mut next = RelayProcess::start(&files.config, &files.log).await;
    let ready = reqwest::get(next.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    next.signal("TERM");
    assert!(next.wait().await.success());
}

fn header_map(headers: &[(String, String)]) -> reqwest::header::HeaderMap {
    headers
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
        .collect()
}

pub async fn events_for_an_unknown_instance_is_an_error_naming_the_store(engine: Engine) {
    let receiver = Receiver::start().await;
    let RelayFiles {
        dir: _dir,
        url,
        config,
        ..
    } = relay_files(&engine, &receiver).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let app = spawn_app_at(&url, &receiver, &admin_env(&[]), elsewhere).await;
    // Known to the store only: created through the admin API.
    let created = app
        .create_instance(&instance_body("From the API", &receiver.url("/api")))
        .await;
    let api_id = created["id"].as_i64().unwrap().to_string();
    app.stop().await;

    for args in [
        &["list", "--instance", "99"][..],
        &["redeliver", "--instance", "99"][..],
    ] {
        let out = events(&config, args).await;
        let message = stderr(&out);
        assert!(!out.status.success(), "{args:?}: {}", stdout(&out));
        assert!(message.contains("no instance 99"), "{message}");
        let store = url.split('?').next().unwrap();
        assert!(
            message.contains(store),
            "names the store {store}: {message}"
        );
    }
    for id in ["1", api_id.as_str()] {
        let out = events(&config, &["list", "--instance", id]).await;
        assert!(out.status.success(), "instance {id}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "[]");
        let out = events(&config, &["redeliver", "--instance", id]).await;
        assert!(out.status.success(), "instance {id}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn events_without_a_config_names_the_default_store_and_creates_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let out = relay_command(cwd.path(), &["events", "list", "--instance", "1"]).await;
    let message = stderr(&out);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(message.contains("sqlite://data/relay.db"), "{message}");
    assert!(message.contains("no --config"), "{message}");
    assert!(
        !cwd.path().join("data").exists(),
        "a tool does not create a database"
    );
}

#[tokio::test]
async fn redeliver_without_an_argument_shows_both_forms() {
    let out = relay_command(Path::new("."), &["events", "redeliver"]).await;
    let message = stderr(&out);
    assert!(!out.status.success());
    assert!(
        message.contains("webhook-relay events redeliver [OPTIONS] <EVENT_ID>"),
        "{message}"
    );
    assert!(
        message.contains("webhook-relay events redeliver [OPTIONS] --instance <ID>"),
        "{message}"
    );
}

#[tokio::test]
async fn only_the_commands_that_read_a_configuration_offer_config() {
    for command in ["serve", "check-config", "events", "secrets"] {
        let out = relay_command(Path::new("."), &[command, "--help"]).await;
        assert!(stdout(&out).contains("--config <FILE>"), "{command}");
    }
    for command in ["box-sign", "receive"] {
        let out = relay_command(Path::new("."), &[command, "--help"]).await;
        assert!(out.status.success());
        assert!(
            !stdout(&out).contains("--config"),
            "{command} offers --config"
        );
    }
    let out = relay_command(
        Path::new("."),
        &[
            "--config",
            "relay.toml",
            "box-sign",
            "--key",
            "k",
            "/dev/null",
        ],
    )
    .await;
    let message = stderr(&out);
    assert!(!out.status.success(), "--config is not silently ignored");
    assert!(message.contains("reads no configuration"), "{message}");
}

#[tokio::test]
async fn a_port_clash_is_reported_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let receiver = Receiver::start().await;
    let files = relay_files(&Engine::Sqlite, &receiver).await;
    let text = std::fs::read_to_string(&files.config).unwrap();
    std::fs::write(
        &files.config,
        text.replace("listen = \"127.0.0.1:0\"", &format!("listen = \"{addr}\"")),
    )
    .unwrap();
    let config = files.config.to_str().unwrap();
    let out = relay_command(files.dir.path(), &["serve", "--config", config]).await;
    let message = stderr(&out);
    assert!(!out.status.success());
    assert!(
        message.contains(&format!("cannot listen on {addr}")),
        "{message}"
    );
    assert_eq!(
        message.matches("Address already in use").count(),
        1,
        "{message}"
    );
}

engine_tests!(events_for_an_unknown_instance_is_an_error_naming_the_store);
