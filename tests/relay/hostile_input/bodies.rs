//! Bodies that verify but are not Box events; bodies over the limit, declared or chunked;
//! uploads that never end or crawl; heads over 64 KiB.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{raw, read_status, Corpus, SIGNED};
use crate::helpers::*;

pub async fn bodies_that_are_not_box_events_huge_or_crawling_are_refused(engine: Engine) {
    let mut corpus = Corpus::start(&engine).await;
    not_box_events(&mut corpus).await;
    huge_bodies(&mut corpus).await;
    endless_and_crawling_uploads(&mut corpus).await;
    oversized_heads(&mut corpus).await;
    corpus.finish("bodies", &[Some("while-crawling")]).await;
}

/// Bodies that verify but are not Box events: 400 `malformed_payload`.
async fn not_box_events(corpus: &mut Corpus) {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    for (what, body) in [
        (
            "truncated JSON",
            br#"{"type":"webhook_event","trigger":"FILE.UPLO"#.to_vec(),
        ),
        ("not JSON", b"hello, relay".to_vec()),
        ("empty body", Vec::new()),
        ("JSON array", b"[]".to_vec()),
        (
            "no trigger",
            br#"{"type":"webhook_event","id":"x"}"#.to_vec(),
        ),
        ("invalid UTF-8", vec![b'{', 0xff, 0xfe, b'}']),
        ("nested 10,000 deep", deep.into_bytes()),
        ("objects nested 10,000 deep", deep_object.into_bytes()),
    ] {
        let (status, answer) = corpus
            .post("/webhooks/box/1", &body, &box_headers(&body))
            .await;
        corpus.check(what, status, 400);
        assert_eq!(answer["code"], "malformed_payload", "{what}");
    }
}

/// Huge bodies: refused at the limit, with and without Content-Length.
async fn huge_bodies(corpus: &mut Corpus) {
    let addr = corpus.addr();
    let status = raw(
        addr,
        &format!("POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n{SIGNED}Content-Length: 104857600\r\n\r\n"),
        b"",
    )
    .await;
    corpus.check("100 MB declared", status, 413);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n{SIGNED}Transfer-Encoding: chunked\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let feeder = tokio::spawn(async move {
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        for _ in 0..1600 {
            // 100 MB in 64 KiB chunks, until the relay stops reading.
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(DEADLINE, reader.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let status: u16 = String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    corpus.check("100 MB chunked", status, 413);
    feeder.abort();
}

/// Uploads that never end, or crawl: answered 408 (body) or dropped (head), while others
/// are served at once.
async fn endless_and_crawling_uploads(corpus: &mut Corpus) {
    let addr = corpus.addr();
    let status = raw(
        addr,
        &format!("POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n{SIGNED}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        b"",
    )
    .await;
    corpus.check("chunked body that never ends", status, 408);
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n{SIGNED}Content-Length: 100\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut slow_head = TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let crawl = tokio::spawn(async move {
        let head = b"POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n";
        for byte in head.iter().cycle().take(60) {
            if slow_head.write_all(&[*byte]).await.is_err() {
                break;
            }
            let _ = slow.write_all(b"x").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let mut buf = [0u8; 64];
        let head_closed = matches!(
            tokio::time::timeout(Duration::from_secs(5), slow_head.read(&mut buf)).await,
            Ok(Ok(_)) | Ok(Err(_))
        );
        (read_status(&mut slow).await, head_closed)
    });
    let body = box_payload_with_id("while-crawling");
    let (status, answer) = corpus
        .post("/webhooks/box/1", &body, &box_headers(&body))
        .await;
    corpus.check("a normal delivery beside slow clients", status, 200);
    assert_eq!(answer["status"], "accepted");
    assert!(started.elapsed() < Duration::from_secs(1), "served at once");
    let (slow_status, head_closed) = crawl.await.unwrap();
    corpus.check("body at one byte per 300 ms", slow_status, 408);
    assert!(head_closed, "a head at one byte per 300 ms is dropped");
}

/// Heads over 64 KiB: 431.
async fn oversized_heads(corpus: &mut Corpus) {
    let addr = corpus.addr();
    let big = format!(
        "POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\nX-Padding: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(70 * 1024)
    );
    corpus.check("70 KiB header", raw(addr, &big, b"").await, 431);
    let many: String = (0..3000)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(20)))
        .collect();
    let many = format!(
        "POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\n{many}Content-Length: 2\r\n\r\n{{}}"
    );
    corpus.check("3,000 headers", raw(addr, &many, b"").await, 431);
}
