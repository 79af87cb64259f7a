//! Disk trouble under the SQLite file: the filesystem full, then read-only. Ingest answers
//! 503, `/readyz` says why, nothing accepted is lost, and the relay recovers by itself when
//! the disk does. The file lives on a small tmpfs this test mounts (root, as in CI; a
//! developer machine without the right to mount skips it and says so).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use webhook_relay::config::Env;
use webhook_relay::store::Status;

use crate::helpers::*;

struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot mount a tmpfs: the disk tests must run in CI (as root)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTE: the disk tests were NOT run: mounting a tmpfs needs root\n"
            );
            return None;
        }
        Some(Self { path, _dir: dir })
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(ok.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

async fn ready(app: &TestApp) -> (u16, serde_json::Value) {
    answer(app.http.get(app.url("/readyz")).send().await.unwrap()).await
}

async fn wait_ready(app: &TestApp) {
    eventually("ready again", || async {
        match ready(app).await {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await
}

#[tokio::test]
async fn a_full_disk_is_503_loses_nothing_and_recovers() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let receiver = Receiver::start().await;
    let url = format!("sqlite://{}", disk.path.join("relay.db").display());
    let app = spawn_app_at(&url, &receiver, &Env::new(), tempfile::tempdir().unwrap()).await;
    let mut accepted = Vec::new();
    for i in 0..10 {
        let (status, answer) = app.send(&box_payload_with_id(&format!("before-{i}"))).await;
        assert_eq!(status, 200, "{answer}");
        accepted.push(answer["eventId"].as_str().unwrap().to_string());
    }

    // Fill the disk, and again before every request: whatever the relay frees is taken.
    let filler_path = disk.path.join("filler");
    let fill = || {
        let mut filler = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&filler_path)
            .unwrap();
        for size in [64 * 1024, 4096, 512, 1] {
            let chunk = vec![0u8; size];
            while filler
                .write_all(&chunk)
                .and_then(|_| filler.sync_all())
                .is_ok()
            {}
        }
    };

    // Ingest continues until the store cannot take another commit: then 503, and readyz
    // says why.
    let mut refused = None;
    for i in 0..5_000 {
        fill();
        let (status, answer) = app
            .send(&box_payload_with_id(&format!("filling-{i}")))
            .await;
        match status {
            200 => accepted.push(answer["eventId"].as_str().unwrap().to_string()),
            503 => {
                refused = Some(answer);
                break;
            }
            other => panic!("answered {other}: {answer}"),
        }
    }
    let refused = refused.expect("a full disk refuses ingest");
    assert_eq!(refused["code"], "storage_unavailable");
    // While the disk stays full, a commit may still fit in space SQLite already holds (the
    // WAL is reused after a checkpoint); what does not fit is refused. Never anything but 200
    // or 503; once nothing fits any more, every request is refused and readyz says why.
    let (mut ok, mut refused_count, mut in_a_row) = (0, 0, 0);
    for i in 0..5_000 {
        fill();
        let (status, answer) = app.send(&box_payload_with_id(&format!("full-{i}"))).await;
        match status {
            200 => {
                accepted.push(answer["eventId"].as_str().unwrap().to_string());
                ok += 1;
                in_a_row = 0;
            }
            503 => {
                assert_eq!(answer["code"], "storage_unavailable");
                refused_count += 1;
                in_a_row += 1;
            }
            other => panic!("answered {other} while the disk is full: {answer}"),
        }
        if in_a_row == 20 {
            break;
        }
    }
    assert_eq!(in_a_row, 20, "a full disk ends up refusing every commit");
    // Readiness probes with a write of its own. That write may fit as well, in WAL space a
    // checkpoint has just made reusable (seen once in ~20 runs): then the store does take
    // writes, and readyz rightly says so. Fill again and ask again until the probe does
    // not fit.
    let body = eventually("readyz reports the full disk", || async {
        fill();
        match ready(&app).await {
            (503, body) => Ok(body),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    assert_eq!(
        body["reason"],
        "storage full: no space left for the database"
    );
    let _ = writeln!(
        std::io::stderr(),
        "REPORT while full: {ok} accepted into space already held, {refused_count} refused"
    );

    // Space returns: ready again without a restart, ingest resumes, nothing was lost.
    std::fs::remove_file(&filler_path).unwrap();
    wait_ready(&app).await;
    let (status, answer) = app.send(&box_payload_with_id("after")).await;
    assert_eq!(status, 200, "{answer}");
    accepted.push(answer["eventId"].as_str().unwrap().to_string());
    receiver.wait_for_all(&accepted).await;
    for id in &accepted {
        app.wait_for_status(id, Status::Delivered).await;
    }
    let _ = writeln!(
        std::io::stderr(),
        "REPORT disk full: {} accepted (before and while filling), all delivered",
        accepted.len()
    );
}

/// A filesystem cannot be switched to read-only under files open for writing (the kernel
/// answers EBUSY), so a relay meets a read-only volume when it starts on one: it refuses to
/// start, saying so, and starts once the volume is writable again.
#[tokio::test]
async fn a_read_only_volume_stops_start_up_with_a_clear_message() {
    let Some(disk) = Tmpfs::mount("16m") else {
        return;
    };
    let receiver = Receiver::start().await;
    let url = format!("sqlite://{}", disk.path.join("relay.db").display());
    let app = spawn_app_at(&url, &receiver, &Env::new(), tempfile::tempdir().unwrap()).await;
    let (status, first) = app.send(&box_payload_with_id("before-ro")).await;
    assert_eq!(status, 200, "{first}");
    app.stop().await;

    disk.remount("ro");
    let text = test_config(&url, &receiver.url(""), "");
    let (config, instances) = webhook_relay::Config::from_toml(&text, &Env::new()).unwrap();
    let refused = webhook_relay::Application::build(config, instances).await;
    let message = refused
        .err()
        .expect("no start on a read-only volume")
        .to_string();
    assert!(message.contains("read-only"), "{message}");

    // Writable again: a relay started now (a new process, as after an operator's fix)
    // delivers what was accepted before and takes new events.
    disk.remount("rw");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, &text).unwrap();
    let mut relay = RelayProcess::start(&config, &dir.path().join("relay.log")).await;
    receiver
        .wait_for_event(first["eventId"].as_str().unwrap())
        .await;
    let body = box_payload_with_id("after-ro");
    let mut req = reqwest::Client::new()
        .post(relay.url("/webhooks/box/1"))
        .body(body.clone());
    for (k, v) in box_headers(&body) {
        req = req.header(k, v);
    }
    let (status, after) = answer(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{after}");
    relay.signal("TERM");
    assert!(relay.wait().await.success());
}
