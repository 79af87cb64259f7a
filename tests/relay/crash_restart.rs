//! Crash and restart under load: a steady stream of signed events while the relay is
//! SIGKILLed and restarted several times. Every event answered 2xx is delivered at least once,
//! with the same `eventId` and the same body bytes every time it is delivered. Three kills
//! by default; `RELAY_TEST_LONG=1` makes it ten, with longer runs between them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;

pub async fn events_answered_2xx_survive_repeated_sigkills(engine: Engine) {
    let long = std::env::var_os("RELAY_TEST_LONG").is_some();
    let (kills, run_ms) = if long { (10, 4_000) } else { (3, 1_500) };
    let receiver = Receiver::start().await;
    let RelayFiles {
        dir: _dir,
        config,
        log,
        ..
    } = relay_files(&engine, &receiver).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let env = [("RELAY__SERVER__LISTEN", listen.as_str())];

    // The stream: a distinct signed event every few milliseconds, whatever the relay's state.
    let accepted: Arc<Mutex<HashSet<String>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (accepted, sent, stop) = (accepted.clone(), sent.clone(), stop.clone());
        let target = format!("http://{listen}/webhooks/box/1");
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let body = box_payload_with_id(&format!("crash-{i}"));
                i += 1;
                sent.fetch_add(1, Ordering::SeqCst);
                let mut req = http.post(&target).body(body.clone());
                for (k, v) in box_headers(&body) {
                    req = req.header(k, v);
                }
                if let Ok(res) = req.send().await {
                    if res.status() == 200 {
                        if let Ok(v) = res.json::<serde_json::Value>().await {
                            if v["status"] == "accepted" {
                                let id = v["eventId"].as_str().unwrap().to_string();
                                accepted.lock().unwrap().insert(id);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };

    for _ in 0..kills {
        let mut relay = RelayProcess::start_with_env(&config, &log, &env).await;
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        relay.signal("KILL");
        assert!(!relay.wait().await.success());
    }
    let mut relay = RelayProcess::start_with_env(&config, &log, &env).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::SeqCst);
    sender.await.unwrap();

    let accepted: Vec<String> = accepted.lock().unwrap().iter().cloned().collect();
    assert!(
        accepted.len() > 100,
        "the stream was accepted between kills: {}",
        accepted.len()
    );
    let got = receiver.wait_for_all(&accepted).await;
    let mut bodies: HashMap<&str, Vec<&[u8]>> = HashMap::new();
    for r in &got {
        let id = r.header("elements-webhook-id").unwrap();
        bodies.entry(id).or_default().push(&r.body);
        let json = r.json();
        assert_eq!(
            json["message"]["eventId"], id,
            "the body's eventId is the header's"
        );
    }
    for (id, copies) in &bodies {
        assert!(
            copies.windows(2).all(|w| w[0] == w[1]),
            "{id}: every delivery has the same bytes"
        );
    }
    let deliveries: usize = bodies.values().map(Vec::len).sum();
    let line = format!(
        "crash/restart x{kills}: sent {}, accepted {}, delivered {} distinct ({} deliveries, {} duplicates)",
        sent.load(Ordering::SeqCst),
        accepted.len(),
        bodies.len(),
        deliveries,
        deliveries - bodies.len()
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "REPORT {line}");
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}

engine_tests!(events_answered_2xx_survive_repeated_sigkills,);
