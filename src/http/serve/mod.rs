//! The HTTP server loop: hyper with the limits `axum::serve` leaves unset. Every connection
//! must deliver a request head within the request timeout whatever its protocol (silence,
//! a lone `P`, an HTTP/2 preface and nothing more are all closed), idle keep-alive and idle
//! HTTP/2 connections are closed after the idle timeout (HTTP/2 also pings, and drops a peer
//! that does not answer), request heads are capped at 64 KiB (431 beyond), and the number of
//! open connections is capped: at the cap, the connection idle the longest makes room.
//! Graceful shutdown: stop accepting, let the requests in progress finish.

mod connections;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub use connections::{default_cap, Connections};

/// Largest request head (request line and headers) read; Box's are a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// HTTP/2 streams one connection may have open at once.
const MAX_STREAMS: u32 = 64;

/// How long an HTTP/2 peer has to answer a keep-alive ping.
const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// What bounds a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection's first request head must arrive within this (`server.request_timeout_ms`).
    pub head_timeout: Duration,
    /// A connection with no request in progress for this long is closed
    /// (`server.idle_timeout_ms`).
    pub idle_timeout: Duration,
    /// Open connections at most (`server.max_connections`, or derived from the open-file
    /// limit).
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown`, then waits for open connections to finish
/// their requests (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .keep_alive_interval(Some(limits.idle_timeout / 2))
        .keep_alive_timeout(PING_TIMEOUT);
    let table = Connections::new(limits.max_connections);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = table.make_room() => {}
            _ = shutdown.cancelled() => break,
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let registered = table.register();
        let conn = registered.connection.clone();
        let service = TowerToHyperService::new(counted(app.clone(), conn.clone(), peer));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _registered = registered;
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = conn.silent_for_too_long(limits.head_timeout, limits.idle_timeout) => {
                    tracing::debug!("closing a silent connection");
                }
                _ = conn.close.cancelled() => {}
            }
        });
    }
    drop(listener);
    tracing::info!("shutdown: no longer accepting requests");
    graceful.shutdown().await;
}

/// The router, marking the connection busy from a request's head until its answer's body is
/// written (or abandoned).
fn counted(
    app: Router,
    conn: Arc<connections::Connection>,
    peer: std::net::SocketAddr,
) -> impl tower::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |mut req: Request<Incoming>| {
        // The client's address, for handlers that need it (the console's sign-in throttle).
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let in_progress = conn.begin();
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(Body::new)).await?;
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_err(move |e| {
                    let _ = &in_progress;
                    e
                }))
            }))
        }
    })
}
