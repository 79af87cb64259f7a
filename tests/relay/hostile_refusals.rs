//! What the public edge refuses, and how: unknown instances and unsigned requests before
//! their body is read, forgeries answered alike whether or not an instance has keys, a V2
//! event without an id, and every error (405, 413, extractor errors) as JSON. Black box,
//! against the real binary.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::hostile_edge::{post_box, to_header_map};

/// Sends a head declaring a 1 MB body and no body: the status, if answered within 1 s.
async fn answered_without_body(addr: std::net::SocketAddr, head: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

pub async fn unknown_instances_and_unsigned_requests_are_refused_before_the_body(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start_with_env(
        &files.config,
        &files.log,
        &[("RELAY__SERVER__REQUEST_TIMEOUT_MS", "10000")],
    )
    .await;
    let addr = relay.addr;
    let body = "Content-Length: 1000000\r\n\r\n";
    let unknown = format!("POST /webhooks/box/999 HTTP/1.1\r\nHost: r\r\n{body}");
    assert_eq!(answered_without_body(addr, &unknown).await, Some(404));
    let unsigned = format!("POST /webhooks/box/1 HTTP/1.1\r\nHost: r\r\n{body}");
    assert_eq!(answered_without_body(addr, &unsigned).await, Some(401));
    let v1 = format!("POST /webhooks/box/1/v1?token=wrong HTTP/1.1\r\nHost: r\r\n{body}");
    assert_eq!(answered_without_body(addr, &v1).await, Some(401));
    let v1_unknown = format!("POST /webhooks/box/999/v1?token=x HTTP/1.1\r\nHost: r\r\n{body}");
    assert_eq!(answered_without_body(addr, &v1_unknown).await, Some(404));
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

pub async fn unsigned_callers_cannot_tell_an_instance_with_keys_from_one_without(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start(&files.config, &files.log).await;
    let client = reqwest::Client::new();
    let body = box_payload_with_id("forged");
    let now = chrono::Utc::now();
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let forged = |timestamp: &str| -> Vec<(String, String)> {
        let mut h = box_headers_at(&body, timestamp);
        for (k, v) in &mut h {
            if k.starts_with("box-signature-")
                && k != "box-signature-version"
                && k != "box-signature-algorithm"
            {
                *v = webhook_relay::box_webhook::verify::sign("guessed-key", &body, timestamp);
            }
        }
        h
    };
    let without = |name: &str, h: Vec<(String, String)>| -> Vec<(String, String)> {
        h.into_iter().filter(|(k, _)| k != name).collect()
    };
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("forged", forged(&at(now))),
        (
            "forged and stale",
            forged(&at(now - chrono::Duration::hours(2))),
        ),
        (
            "forged and ahead",
            forged(&at(now + chrono::Duration::hours(2))),
        ),
        ("forged, bad timestamp", forged("yesterday")),
        (
            "no timestamp",
            without("box-delivery-timestamp", forged(&at(now))),
        ),
        (
            "no version",
            without("box-signature-version", forged(&at(now))),
        ),
        (
            "no signatures",
            without(
                "box-signature-secondary",
                without("box-signature-primary", forged(&at(now))),
            ),
        ),
    ];
    // Instance 1 has both Box keys; instance 3 has none.
    for (what, headers) in cases {
        let mut answers = Vec::new();
        for instance in [1, 3] {
            let res = client
                .post(relay.url(&format!("/webhooks/box/{instance}")))
                .headers(to_header_map(&headers))
                .body(body.clone())
                .send()
                .await
                .unwrap();
            answers.push(answer(res).await);
        }
        assert_eq!(answers[0], answers[1], "{what}");
        assert_eq!(answers[0].0, 401, "{what}");
    }
    // V1: instance 1 has a token, instance 3 none; a wrong token of any length reads alike.
    for token in [
        "x",
        "wrong-token-of-another-length",
        V1_TOKEN.trim_end_matches('n'),
    ] {
        let mut answers = Vec::new();
        for instance in [1, 3] {
            let res = client
                .get(relay.url(&format!(
                    "/webhooks/box/{instance}/v1?token={token}&event=x"
                )))
                .send()
                .await
                .unwrap();
            answers.push(answer(res).await);
        }
        assert_eq!(answers[0], answers[1], "V1 token {token:?}");
        assert_eq!(answers[0].1["code"], "invalid_token");
    }
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

pub async fn a_v2_event_without_an_id_is_refused_and_every_error_is_json(engine: Engine) {
    let receiver = Receiver::start().await;
    let files = relay_files(&engine, &receiver).await;
    let mut relay = RelayProcess::start_with_env(&files.config, &files.log, &ADMIN_ON).await;
    let client = reqwest::Client::new();
    // Signed, but without Box's event id: it could never be deduplicated.
    let body =
        br#"{"type":"webhook_event","trigger":"FILE.UPLOADED","source":{"id":"1","type":"file"}}"#;
    let (status, refused) = post_box(&relay, body).await;
    assert_eq!(status, 400);
    assert_eq!(refused["code"], "malformed_payload", "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("\"id\""));

    // Errors the framework writes itself answer {"code","detail"} too.
    let admin = |method: reqwest::Method, path: &str| {
        client
            .request(method, relay.url(path))
            .header("authorization", admin_auth())
    };
    let cases = vec![
        (
            "405 on a Box route",
            client.get(relay.url("/webhooks/box/1")),
            405,
        ),
        (
            "405 on an admin route",
            admin(reqwest::Method::PUT, "/instances"),
            405,
        ),
        (
            "a body that is not JSON",
            admin(reqwest::Method::POST, "/instances")
                .header("content-type", "application/json")
                .body("{"),
            400,
        ),
        (
            "a query that does not parse",
            admin(reqwest::Method::GET, "/instances/1/events?limit=abc"),
            400,
        ),
    ];
    for (what, request, expected) in cases {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        let (_, body) = answer(res).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert!(content_type.starts_with("application/json"), "{what}");
        assert!(
            body["code"].is_string() && body["detail"].is_string(),
            "{what}: {body}"
        );
    }
    // 413 on an admin body: answered before the body is read, so on a raw socket.
    let mut s = TcpStream::connect(relay.addr).await.unwrap();
    let head = format!(
        "POST /instances HTTP/1.1\r\nHost: r\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n",
        admin_auth()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(&vec![b' '; 256 * 1024]).await;
    let mut text = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, s.read_to_end(&mut text)).await;
    let text = String::from_utf8_lossy(&text).to_lowercase();
    assert!(text.starts_with("http/1.1 413"), "{text}");
    assert!(text.contains("content-type: application/json"), "{text}");
    assert!(text.contains("\"code\":\"payload_too_large\""), "{text}");
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

engine_tests!(
    unknown_instances_and_unsigned_requests_are_refused_before_the_body,
    unsigned_callers_cannot_tell_an_instance_with_keys_from_one_without,
    a_v2_event_without_an_id_is_refused_and_every_error_is_json,
);
