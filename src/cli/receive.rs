//! `webhook-relay receive`: a small callback receiver for trying the relay out. Prints each
//! event with its headers and whether `Elements-Webhook-Signature` verifies, answers 200.

use std::io::Write;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::event::sign::{verify_elements_signature, ID_HEADER, SIGNATURE_HEADER};
use crate::secret::Secret;

/// Serves on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    signature_key: Option<Secret>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let key = signature_key.clone();
        async move {
            print_event(&headers, &body, key.as_ref());
            StatusCode::OK
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

fn print_event(headers: &HeaderMap, body: &[u8], key: Option<&Secret>) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = match (key, get(SIGNATURE_HEADER)) {
        (Some(k), Some(h)) if verify_elements_signature(k.expose(), body, h) => "verified",
        (Some(_), Some(_)) => "INVALID",
        (Some(_), None) => "MISSING",
        (None, Some(_)) => "present (not checked: no --signature-key)",
        (None, None) => "absent",
    };
    let pretty = serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "--- event {} ({} bytes)\nsignature: {signature}\n{pretty}",
        get(ID_HEADER).unwrap_or("(no Elements-Webhook-Id)"),
        body.len()
    );
    let _ = out.flush();
}
