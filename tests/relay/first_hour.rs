//! What an operator sees in the first hour: the start-up summary (plain text, no colours
//! when it is not a terminal), `serve --listen`, and errors that point at the cause — a
//! mistyped variable named as such, an unreachable PostgreSQL with its address and the
//! reason, an unreachable Box with the URL that failed.

use std::process::Stdio;

use reqwest::Method;
use webhook_relay::config::Env;

use crate::helpers::*;

/// Runs the binary to completion (for commands that stop by themselves, or fail at start).
async fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"));
    command.args(args).env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(DEADLINE, command.stdin(Stdio::null()).output())
        .await
        .expect("the command ends by itself")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_start_up_log_says_what_runs_where_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook-relay"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut log = String::new();
    tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("relay listening") {
                break;
            }
        }
    })
    .await
    .expect("the relay starts");
    assert!(!log.contains('\x1b'), "no ANSI colours in a pipe:\n{log}");
    assert!(log.contains(&format!("file={}", config.display())), "{log}");
    assert!(
        log.contains("engine=\"sqlite\"") && log.contains(&db.display().to_string()),
        "{log}"
    );
    assert!(log.contains("from_file=0 from_store=0"), "{log}");
    assert!(log.contains("admin_api=\"off"), "{log}");
    assert!(log.contains("public_url=\"(not set"), "{log}");
    assert!(log.contains("every webhook will be answered 404"), "{log}");
    // --listen wins over server.listen.
    assert!(log.contains(&format!("addr=127.0.0.1:{port}")), "{log}");
    let res = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_mistyped_variable_is_named_as_a_variable_with_the_key_it_meant() {
    let (ok, _, stderr) = run(
        &["--config", "config/quickstart.toml", "check-config"],
        &[("RELAY__DELIVERY__TIMEOUT", "5000")],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("environment variable RELAY__DELIVERY__TIMEOUT"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean RELAY__DELIVERY__TIMEOUT_MS?"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_postgresql_is_reported_with_its_address_and_the_cause() {
    let port = free_port();
    let (ok, _, stderr) = run(
        &["serve"],
        &[
            (
                "RELAY__STORAGE__URL",
                &format!("postgres://relay:hunter2@127.0.0.1:{port}/relay"),
            ),
            ("RELAY__SECRETS__ENCRYPTION_KEY", SECRETS_KEY),
            ("RELAY__SERVER__LISTEN", "127.0.0.1:0"),
        ],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("timed out") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

pub async fn an_unreachable_box_is_reported_with_the_url_that_failed(engine: Engine) {
    let receiver = Receiver::start().await;
    let box_url = format!("http://127.0.0.1:{}", free_port());
    let env: Env = admin_env(&[
        ("RELAY__BOX__API_URL", &box_url),
        ("RELAY__BOX__OAUTH_URL", &box_url),
        ("RELAY__SECRETS__ENCRYPTION_KEY", SECRETS_KEY),
        ("RELAY__SERVER__PUBLIC_URL", PUBLIC_URL),
    ]);
    let app = spawn_app_env(&engine, &receiver, &env).await;
    let body = oauth_instance_body("Box down", &receiver.url("/api"), "some-code");
    let (status, answer) = app.admin(Method::POST, "/instances", Some(&body)).await;
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["code"], "box_unavailable");
    let detail = answer["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{box_url}/oauth2/token")),
        "the answer names the URL: {detail}"
    );
}

engine_tests!(an_unreachable_box_is_reported_with_the_url_that_failed);
