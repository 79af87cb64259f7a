//! The destination guard, against the real binary with private destinations off: every
//! non-public address form is refused as a callback by the admin API (and in the config file,
//! at start: see `config_checks`); a stored callback named `localhost` (created before the
//! policy was tightened) is refused at delivery and never handed to a proxy from
//! `HTTP_PROXY`/`ALL_PROXY` (they are ignored), nor to a configured `delivery.proxy_url` (the
//! relay checks the destination first); and `delivery.allowed_private_networks` admits
//! exactly the listed networks, directly.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::*;

/// An HTTP proxy on 127.0.0.1 that records the request line of everything handed to it and
/// answers 200, so a request that went through it would count as delivered.
struct RecordingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                            break;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    log.lock()
                        .unwrap()
                        .push(head.lines().next().unwrap_or_default().to_string());
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The test configuration with private destinations off, callbacks under `callback_base`.
fn guarded_config(files: &RelayFiles, callback_base: &str, extra: &str) {
    let text = test_config(&files.url, callback_base, extra);
    assert!(text.contains("allow_private_destinations = true"));
    let text = text.replace(
        "allow_private_destinations = true",
        "allow_private_destinations = false",
    );
    std::fs::write(&files.config, text).unwrap();
}

/// A public address the config file's instances call back to when the guard is on, so the
/// relay starts (nothing is delivered to them).
const PUBLIC_BASE: &str = "https://93.184.216.34";

/// Creates an instance calling back to `callback` through the admin API of a relay that
/// allows private destinations, then stops that relay; the instance's id. The guarded relay
/// started next on the same store finds it there: the guard then acts at delivery.
async fn stored_instance_calling(files: &RelayFiles, callback: &str) -> i64 {
    std::fs::write(
        &files.config,
        test_config(&files.url, PUBLIC_BASE, "").replace(
            "[delivery]",
            &format!("[admin]\nuser_secret = \"{ADMIN_USER}\"\norganization_secret = \"{ADMIN_ORG}\"\n[delivery]"),
        ),
    )
    .unwrap();
    let mut relay = RelayProcess::start(&files.config, &files.log).await;
    let (status, created) = admin(
        &relay,
        reqwest::Method::POST,
        "/instances",
        Some(&instance_body("Stored", &format!("{callback}/events"))),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    relay.signal("TERM");
    assert!(relay.wait().await.success());
    created["id"].as_i64().unwrap()
}

/// The admin API on, and the proxy variables of the environment set to `proxy` (with no
/// exceptions), as an operator's shell might have them.
fn env_with_proxy(proxy: &str) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&str, String)> = vec![
        ("RELAY__ADMIN__USER_SECRET", ADMIN_USER.into()),
        ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG.into()),
        ("NO_PROXY", String::new()),
        ("no_proxy", String::new()),
    ];
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        env.push((name, proxy.to_string()));
    }
    env
}

async fn start(files: &RelayFiles, env: &[(&'static str, String)]) -> RelayProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    RelayProcess::start_with_env(&files.config, &files.log, &env).await
}

async fn admin(
    relay: &RelayProcess,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, relay.url(path))
        .header("authorization", admin_auth());
    if let Some(b) = body {
        req = req.json(b);
    }
    answer(req.send().await.expect("relay answers")).await
}

/// Sends a signed event to instance 1; its `eventId`.
async fn send_event(relay: &RelayProcess, id: &str) -> String {
    send_event_to(relay, 1, PRIMARY, id).await
}

/// Sends an event to `instance`, signed with its Box primary `key`; its `eventId`.
async fn send_event_to(relay: &RelayProcess, instance: i64, key: &str, id: &str) -> String {
    let body = box_payload_with_id(id);
    let mut req = reqwest::Client::new()
        .post(relay.url(&format!("/webhooks/box/{instance}")))
        .body(body.clone());
    for (k, v) in box_headers_with_key(&body, key) {
        req = req.header(k, v);
    }
    let (status, accepted) = answer(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{accepted}");
    accepted["eventId"].as_str().unwrap().to_string()
}

/// Waits until the event has an attempt recorded; the event with its attempts.
async fn first_attempt(relay: &RelayProcess, event_id: &str) -> Value {
    eventually("an attempt is recorded", || async {
        let (_, event) = admin(
            relay,
            reqwest::Method::GET,
            &format!("/instances/events/{event_id}"),
            None,
        )
        .await;
        match event["attempts"].as_array().is_some_and(|a| !a.is_empty()) {
            true => Ok(event),
            false => Err(event.to_string()),
        }
    })
    .await
}

pub async fn the_admin_api_refuses_every_non_public_form_as_a_callback(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    guarded_config(&files, PUBLIC_BASE, "");
    let relay = start(&files, &env_with_proxy("")).await;
    for url in [
        "http://[::127.0.0.1]/events",
        "http://[::ffff:0:127.0.0.1]/events",
        "http://[::ffff:127.0.0.1]/events",
        "http://[64:ff9b::127.0.0.1]/events",
        "http://[64:ff9b:1::808:808]/events",
        "http://[2002:7f00:1::]/events",
        "http://[fec0::1]/events",
        "http://240.0.0.1/events",
        "http://[fc00::1]/events",
        "http://100.64.0.1/events",
        "http://198.18.0.1/events",
        "http://0.1.2.3/events",
        "http://224.0.0.1/events",
        "http://[ff02::1]/events",
        "http://255.255.255.255/events",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/events",
        "http://0x7f000001/events",
        "http://localhost/events",
    ] {
        let (status, answer) = admin(
            &relay,
            reqwest::Method::POST,
            "/instances",
            Some(&instance_body("Private", url)),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str(), answer["key"].as_str()),
            (
                400,
                Some("invalid_value"),
                Some("configuration.\"event.notification.callback.url\"")
            ),
            "{url}: {answer}"
        );
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .contains("destination refused"),
            "{url}: {answer}"
        );
    }
    let (_, list) = admin(&relay, reqwest::Method::GET, "/instances", None).await;
    assert_eq!(list.as_array().unwrap().len(), 4, "nothing created: {list}");
    // Public addresses, also carried in an IPv6 form, are accepted (literals: no DNS).
    for url in [
        "https://93.184.216.34/events",
        "https://[2002:5db8:d822::1]/events",
    ] {
        let (status, answer) = admin(
            &relay,
            reqwest::Method::POST,
            "/instances",
            Some(&instance_body("Public", url)),
        )
        .await;
        assert_eq!(status, 200, "{url}: {answer}");
    }
}

pub async fn proxy_variables_are_ignored_and_a_localhost_callback_is_refused(engine: Engine) {
    let receiver = Receiver::start().await;
    let proxy = RecordingProxy::start().await;
    let files = relay_files(&engine, &receiver).await;
    let localhost = format!("http://localhost:{}", receiver.addr.port());
    let stored = stored_instance_calling(&files, &localhost).await;
    guarded_config(&files, PUBLIC_BASE, "");
    let relay = start(&files, &env_with_proxy(&proxy.url)).await;
    let event_id = send_event_to(&relay, stored, API_PRIMARY, "proxied-localhost").await;
    let event = first_attempt(&relay, &event_id).await;
    let error = event["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("destination refused"), "{event}");
    assert_ne!(event["status"], "delivered", "{event}");
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());
    assert!(receiver.received().is_empty());
}

pub async fn an_allowed_private_network_is_reached_directly_not_through_the_proxy(engine: Engine) {
    let receiver = Receiver::start().await;
    let proxy = RecordingProxy::start().await;
    let files = relay_files(&engine, &receiver).await;
    // A literal: `localhost` may also resolve to ::1, which the listed network does not hold.
    let loopback = format!("http://127.0.0.1:{}", receiver.addr.port());
    guarded_config(
        &files,
        &loopback,
        "allowed_private_networks = [\"127.0.0.0/8\"]",
    );
    let relay = start(&files, &env_with_proxy(&proxy.url)).await;
    let event_id = send_event(&relay, "allowed-network").await;
    receiver.wait_for_event(&event_id).await;
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());

    // At creation too: the listed network is accepted, any other private one still refused.
    let (status, answer) = admin(
        &relay,
        reqwest::Method::POST,
        "/instances",
        Some(&instance_body("Listed", "http://127.0.0.1:9/events")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for url in ["http://10.0.0.1/events", "http://[::1]/events"] {
        let (status, answer) = admin(
            &relay,
            reqwest::Method::POST,
            "/instances",
            Some(&instance_body("Unlisted", url)),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("invalid_value")),
            "{url}: {answer}"
        );
    }
}

pub async fn a_configured_proxy_never_receives_a_private_destination(engine: Engine) {
    let receiver = Receiver::start().await;
    let proxy = RecordingProxy::start().await;
    let files = relay_files(&engine, &receiver).await;
    let localhost = format!("http://localhost:{}", receiver.addr.port());
    let stored = stored_instance_calling(&files, &localhost).await;
    guarded_config(
        &files,
        PUBLIC_BASE,
        &format!("proxy_url = \"{}\"", proxy.url),
    );
    let relay = start(&files, &env_with_proxy("")).await;
    let event_id = send_event_to(&relay, stored, API_PRIMARY, "configured-proxy").await;
    let event = first_attempt(&relay, &event_id).await;
    let error = event["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("destination refused"), "{event}");
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());
    assert!(receiver.received().is_empty());
    drop(relay);

    // The proxy is used for what the policy allows: with 127.0.0.0/8 listed, it carries the
    // request (and answers 200 itself). A fresh store: the refused event stays behind.
    let files = relay_files(&engine, &receiver).await;
    let extra = format!(
        "proxy_url = \"{}\"\nallowed_private_networks = [\"127.0.0.0/8\"]",
        proxy.url
    );
    let loopback = format!("http://127.0.0.1:{}", receiver.addr.port());
    guarded_config(&files, &loopback, &extra);
    let relay = start(&files, &env_with_proxy("")).await;
    let event_id = send_event(&relay, "configured-proxy-allowed").await;
    let event = first_attempt(&relay, &event_id).await;
    assert_eq!(event["attempts"][0]["statusCode"], 200, "{event}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with(&format!("POST {loopback}/events")),
        "{seen:?}"
    );
    assert!(
        receiver.received().is_empty(),
        "delivered through the proxy only"
    );
}

engine_tests!(
    the_admin_api_refuses_every_non_public_form_as_a_callback,
    proxy_variables_are_ignored_and_a_localhost_callback_is_refused,
    an_allowed_private_network_is_reached_directly_not_through_the_proxy,
    a_configured_proxy_never_receives_a_private_destination,
);
