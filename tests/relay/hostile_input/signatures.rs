//! Forged signatures (not base64, right length and wrong bytes, the primary's in the
//! secondary header, version 2, not UTF-8, given twice, absent) and timestamps in other
//! formats, far past, far future, or a leap second.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{raw, read_status, with, Corpus};
use crate::helpers::*;

pub async fn forged_signatures_and_odd_timestamps_are_refused(engine: Engine) {
    let mut corpus = Corpus::start(&engine).await;
    let body = box_payload_with_id("forged");
    forged(&mut corpus, &body).await;
    not_text_or_twice(&mut corpus, &body).await;
    odd_timestamps(&mut corpus, &body).await;
    corpus.finish("signatures", &[]).await;
}

/// Signatures that do not match: 401 `invalid_signature`; none at all: `missing_signature`.
async fn forged(corpus: &mut Corpus, body: &[u8]) {
    let good = box_headers(body);
    let primary_sig = good
        .iter()
        .find(|(k, _)| k == "box-signature-primary")
        .unwrap()
        .1
        .clone();
    let wrong_same_length = "A".repeat(43) + "=";
    for (what, headers) in [
        (
            "signature not base64",
            with(
                &with(&good, "box-signature-primary", "!!!not base64!!!"),
                "box-signature-secondary",
                "%%%",
            ),
        ),
        (
            "right length, wrong bytes",
            with(
                &with(&good, "box-signature-primary", &wrong_same_length),
                "box-signature-secondary",
                &wrong_same_length,
            ),
        ),
        (
            "secondary holds the primary's signature",
            with(
                &with(&good, "box-signature-primary", &wrong_same_length),
                "box-signature-secondary",
                &primary_sig,
            ),
        ),
        ("version 2", with(&good, "box-signature-version", "2")),
    ] {
        let (status, answer) = corpus.post("/webhooks/box/1", body, &headers).await;
        corpus.check(what, status, 401);
        assert_eq!(answer["code"], "invalid_signature", "{what}");
    }
    let no_sig: Vec<_> = good
        .iter()
        .filter(|(k, _)| !k.starts_with("box-signature-"))
        .cloned()
        .collect();
    let (status, refused) = corpus.post("/webhooks/box/1", body, &no_sig).await;
    corpus.check("no signature", status, 401);
    assert_eq!(refused["code"], "missing_signature");
}

/// Header values that are not text, and headers given twice (raw: clients cannot send them).
async fn not_text_or_twice(corpus: &mut Corpus, body: &[u8]) {
    let good = box_headers(body);
    let head: String = good
        .iter()
        .filter(|(k, _)| !k.starts_with("box-signature-p") && !k.starts_with("box-signature-s"))
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let mut request = format!(
        "POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\nContent-Length: {}\r\n{head}",
        body.len()
    )
    .into_bytes();
    request.extend(b"box-signature-primary: \xff\xfe\xfd\r\n\r\n");
    request.extend(body);
    let mut stream = TcpStream::connect(corpus.addr()).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let status = read_status(&mut stream).await;
    corpus.check("signature not UTF-8", status, 401);
    let twice = format!(
        "POST /webhooks/box/1 HTTP/1.1\r\nHost: relay\r\nContent-Length: {}\r\nbox-signature-primary: AAAA\r\n{}\r\n",
        body.len(),
        good.iter()
            .filter(|(k, _)| k != "box-signature-secondary")
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect::<String>()
    );
    // Only the first of repeated headers counts: a wrong one first is refused.
    let status = raw(corpus.addr(), &twice, body).await;
    corpus.check("signature header given twice", status, 401);
}

/// Timestamps in other formats, far past, far future, a leap second: `stale_timestamp`.
async fn odd_timestamps(corpus: &mut Corpus, body: &[u8]) {
    for timestamp in [
        "1577836800",
        "Wed, 01 Jan 2020 00:00:00 GMT",
        "",
        "2020-13-45T99:99:99Z",
        "1970-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
        "2016-12-31T23:59:60Z",
        "+275760-09-13T00:00:00Z",
    ] {
        // Signed for `body` with the primary key only, at that timestamp.
        let headers: Vec<_> = box_headers_at(body, timestamp)
            .into_iter()
            .filter(|(k, _)| k != "box-signature-secondary")
            .collect();
        let (status, answer) = corpus.post("/webhooks/box/1", body, &headers).await;
        corpus.check(timestamp, status, 401);
        assert_eq!(answer["code"], "stale_timestamp", "{timestamp}");
    }
}
