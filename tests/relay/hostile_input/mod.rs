//! A hostile HTTP corpus against the real binary, in groups: bodies that are not Box events,
//! huge, endless or crawling uploads and oversized heads ([`bodies`]); forged signatures and
//! odd timestamps ([`signatures`]); odd instance ids, replays and a V1 callback of 100,000
//! parameters ([`requests`]). Every request gets its documented status (never a 5xx), only
//! valid deliveries are stored, the process stays up and its memory bounded.

mod bodies;
mod requests;
mod signatures;

use bodies::*;
use requests::*;
use signatures::*;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Box's signature headers with a made-up signature: enough to get past the checks made
/// before the body is read (the signature itself is checked after).
const SIGNED: &str =
    "box-delivery-timestamp: 2026-01-01T00:00:00Z\r\nbox-signature-primary: Zm9yZ2Vk\r\n\
     box-signature-version: 1\r\nbox-signature-algorithm: HmacSHA256\r\n";

/// A relay under attack, and the statuses it answered.
struct Corpus {
    relay: RelayProcess,
    seen: Vec<u16>,
    _files: RelayFiles,
    _receiver: Receiver,
}

impl Corpus {
    /// The real binary with instance 1 and the admin API on (to list what was stored).
    async fn start(engine: &Engine) -> Self {
        let receiver = Receiver::start().await;
        let files = relay_files(engine, &receiver).await;
        let relay = RelayProcess::start_with_env(
            &files.config,
            &files.log,
            &[
                // Short enough for the slow-client checks, long enough for 100,000 V1
                // parameters in a debug build on a loaded 2-core machine (1.5 s was seen
                // to be too tight).
                ("RELAY__SERVER__REQUEST_TIMEOUT_MS", "3000"),
                ("RELAY__ADMIN__USER_SECRET", ADMIN_USER),
                ("RELAY__ADMIN__ORGANIZATION_SECRET", ADMIN_ORG),
            ],
        )
        .await;
        Self {
            relay,
            seen: Vec::new(),
            _files: files,
            _receiver: receiver,
        }
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.relay.addr
    }

    /// Asserts the status of one case and keeps it for the final no-5xx check.
    fn check(&mut self, what: &str, got: u16, expected: u16) {
        assert_eq!(got, expected, "{what}");
        self.seen.push(got);
    }

    /// POSTs `body` with `headers` to `path`.
    async fn post(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new()
            .post(self.relay.url(path))
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        answer(req.send().await.expect("the relay answers")).await
    }

    /// The relay is alive, answered no 5xx, stored exactly `stored` (Box event ids; `None`
    /// for a V1 callback's fresh id), and its memory stayed bounded.
    async fn finish(mut self, group: &str, stored: &[Option<&str>]) {
        assert!(
            self.seen.iter().all(|s| *s < 500),
            "no 5xx: {:?}",
            self.seen
        );
        let (status, _) = answer(reqwest::get(self.relay.url("/healthz")).await.unwrap()).await;
        assert_eq!(status, 200);
        let events = reqwest::Client::new()
            .get(self.relay.url("/instances/1/events?limit=500"))
            .header("authorization", admin_auth())
            .send()
            .await
            .unwrap();
        let (_, events) = answer(events).await;
        let mut got: Vec<String> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["boxEventId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got.len(), stored.len(), "{group}: stored {got:?}");
        for id in stored.iter().flatten() {
            assert!(got.contains(&id.to_string()), "{group}: {id} stored");
            got.retain(|g| g != id);
        }
        let rss = vm_kib(self.relay.child.id().unwrap(), "VmHWM:");
        report(&format!(
            "hostile corpus, {group}: {} requests, peak RSS {} MiB",
            self.seen.len(),
            rss / 1024
        ));
        assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
        self.relay.signal("TERM");
        assert!(self.relay.wait().await.success());
    }
}

/// Writes `head` (and `body`) on a fresh connection; the status of the answer, or 0 when
/// the server closed the connection without one.
async fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    read_status(&mut stream).await
}

/// The status of the answer on `stream`, or 0 when it was closed without one.
async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
        .await
        .expect("the server answers or closes")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `headers` with `name` set to `value` (replacing any).
fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut h: Vec<_> = headers.iter().filter(|(k, _)| k != name).cloned().collect();
    h.push((name.into(), value.into()));
    h
}

fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "REPORT {line}");
}

engine_tests!(
    bodies_that_are_not_box_events_huge_or_crawling_are_refused,
    forged_signatures_and_odd_timestamps_are_refused,
    odd_instance_ids_replays_and_huge_v1_callbacks_get_documented_answers,
);
