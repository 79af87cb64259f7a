//! `[server]`, the HTTP listener, and `[admin]`, the credentials of the admin API.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::typed;
use crate::secret::Secret;

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    #[serde(deserialize_with = "typed::socket_addr")]
    pub listen: SocketAddr,
    /// Largest accepted request body; larger ones get 413.
    #[serde(deserialize_with = "typed::positive")]
    pub body_limit_bytes: NonZeroUsize,
    /// A request (headers and body) must be complete within this time, else 408. A new
    /// connection must also send its first request head within it, whatever its protocol.
    #[serde(deserialize_with = "typed::positive")]
    pub request_timeout_ms: NonZeroU64,
    /// A connection with no request in progress for this long is closed (HTTP/1 keep-alive
    /// and HTTP/2 alike). An HTTP/1 connection's next request head must also arrive within
    /// `request_timeout_ms`, so it waits at most the shorter of the two.
    #[serde(deserialize_with = "typed::positive")]
    pub idle_timeout_ms: NonZeroU64,
    /// Open connections at most; at the cap, the connection idle the longest is closed to
    /// make room. 0: the open-file limit less what the relay needs for the rest (the soft
    /// limit is raised to the hard limit at start).
    pub max_connections: usize,
    /// Request body bytes held in memory at once, across all requests; past it, Box
    /// deliveries are answered 503 with `Retry-After`. Bodies over 64 KiB may use only three
    /// quarters of it, so ordinary Box deliveries (a few KB) still get through while large
    /// uploads hold the rest. At least `body_limit_bytes`.
    pub body_budget_bytes: usize,
    /// On SIGTERM, how long in-flight work may take before the process exits anyway.
    pub shutdown_grace_ms: u64,
    /// The relay's public base URL as Box reaches it (`https://relay.example.com`): the
    /// address of Box webhooks created through `POST /webhooks`. Empty: that route is off.
    #[serde(with = "typed::optional_http_url")]
    pub public_url: Option<Url>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        const REQUEST_TIMEOUT_MS: NonZeroU64 = NonZeroU64::new(30_000).unwrap();
        const BODY_LIMIT: NonZeroUsize = NonZeroUsize::new(1024 * 1024).unwrap();
        Self {
            listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)),
            body_limit_bytes: BODY_LIMIT,
            request_timeout_ms: REQUEST_TIMEOUT_MS,
            idle_timeout_ms: REQUEST_TIMEOUT_MS,
            max_connections: 0,
            body_budget_bytes: 32 * 1024 * 1024,
            shutdown_grace_ms: 10_000,
            public_url: None,
        }
    }
}

impl ServerConfig {
    /// `request_timeout_ms`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.get())
    }

    /// `idle_timeout_ms`.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.get())
    }

    /// `shutdown_grace_ms`.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// `[admin]`: platform credentials for the admin API; both empty turns it off.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The `User` part of the `Authorization` header.
    pub user_secret: Secret,
    /// The `Organization` part of the `Authorization` header.
    pub organization_secret: Secret,
}
