//! The callback HTTP client: one pooled `reqwest` client, no redirects, a whole-request
//! timeout, a capped read of the response, and a guard that refuses loopback, private,
//! link-local and metadata destinations (checked on the resolved addresses, not the name).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::retry::{parse_retry_after, Outcome};
use crate::event::sign::{
    elements_signature, standard_key, standard_signature, ID_HEADER, SIGNATURE_HEADER,
    STANDARD_ID_HEADER, STANDARD_SIGNATURE_HEADER, STANDARD_TIMESTAMP_HEADER,
};
use crate::secret::Secret;

/// Most bytes of a consumer's response body that are read (then discarded).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Result of one POST.
#[derive(Debug, Clone)]
pub struct PostResult {
    /// Status and `Retry-After`, or `Error`.
    pub outcome: Outcome,
    /// What went wrong when there was no status (no URL, no secret).
    pub error: Option<String>,
    /// Wall time.
    pub duration: Duration,
}

/// POSTs events to callbacks.
#[derive(Clone)]
pub struct CallbackClient {
    http: reqwest::Client,
    allow_private: bool,
}

impl CallbackClient {
    /// Builds the client. With `allow_private` false, destinations resolving only to
    /// loopback, private, link-local or metadata addresses are refused.
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .user_agent(concat!("webhook-relay/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(Self {
            http: builder.build()?,
            allow_private,
        })
    }

    /// POSTs `body` to `url` with the relay's headers: `Elements-Webhook-Signature` when
    /// `signature_key` is set, the Standard Webhooks headers when `standard_secret` is.
    pub async fn post(
        &self,
        url: &Url,
        event_id: &str,
        body: Bytes,
        signature_key: Option<&Secret>,
        standard_secret: Option<&Secret>,
    ) -> PostResult {
        let started = Instant::now();
        let failed = |error: String| PostResult {
            outcome: Outcome::Error,
            error: Some(error),
            duration: started.elapsed(),
        };
        if !self.allow_private {
            let literal = match url.host() {
                Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(is_forbidden) {
                return failed(FORBIDDEN.into());
            }
        }
        let mut request = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, event_id);
        if let Some(key) = signature_key {
            request = request.header(SIGNATURE_HEADER, elements_signature(key.expose(), &body));
        }
        // Validated when the instance was loaded; a bad one is skipped, not sent half-signed.
        if let Some(key) = standard_secret.and_then(|s| standard_key(s.expose()).ok()) {
            let timestamp = chrono::Utc::now().timestamp();
            request = request
                .header(STANDARD_ID_HEADER, event_id)
                .header(STANDARD_TIMESTAMP_HEADER, timestamp)
                .header(
                    STANDARD_SIGNATURE_HEADER,
                    standard_signature(&key, event_id, timestamp, &body),
                );
        }
        match request.body(body).send().await {
            Ok(mut response) => {
                let code = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                let mut read = 0usize;
                let mut error = None;
                while read < MAX_RESPONSE_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        Ok(None) => break,
                        Err(e) => {
                            // A 2xx whose body never completes still counts: the status was
                            // sent, the consumer has the event.
                            error = Some(describe(&e));
                            break;
                        }
                    }
                }
                if let Some(e) = &error {
                    tracing::debug!(error = %e, "callback response body not fully read");
                }
                PostResult {
                    outcome: Outcome::Status { code, retry_after },
                    error: None,
                    duration: started.elapsed(),
                }
            }
            Err(e) => failed(describe(&e)),
        }
    }
}

const FORBIDDEN: &str =
    "destination refused: address is loopback, private, link-local or metadata \
     (set delivery.allow_private_destinations = true to allow)";

/// A transport error as text, without the URL (it may carry credentials).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request error"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let msg = s.to_string();
        if msg.contains("destination refused") {
            return FORBIDDEN.into();
        }
        if !text.contains(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
        source = s.source();
    }
    text
}

/// Checks a callback URL before it is accepted (admin API): refused when its host is, or
/// resolves to, any loopback, private, link-local or metadata address, or does not resolve.
pub async fn check_destination(url: &Url) -> Result<(), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(Host::Domain(name)) => {
            let lookup = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::lookup_host((name, port)),
            )
            .await;
            match lookup {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => return Err(format!("host {name} does not resolve")),
            }
        }
        None => return Err("URL has no host".into()),
    };
    if addrs.is_empty() || addrs.iter().any(|ip| is_forbidden(*ip)) {
        return Err(FORBIDDEN.into());
    }
    Ok(())
}

/// Resolves names and keeps only public addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| !is_forbidden(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(
                    std::io::Error::new(std::io::ErrorKind::PermissionDenied, FORBIDDEN).into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Loopback, private, link-local (metadata included), shared, unspecified, multicast or
/// broadcast: never a legitimate public callback.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254
                || (seg0 & 0xffc0) == 0xfe80 // link-local
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xa9fe, 0xa9fe)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, incl. 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 shared address space
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }
}
