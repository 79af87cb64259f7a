//! The callback HTTP client: one pooled `reqwest` client, no redirects, a whole-request
//! timeout, a capped read of the response, and the [`crate::destination`] guard on every
//! connect (checked on the resolved addresses, not the name). Proxy variables of the
//! environment are ignored; a proxy is used only when `delivery.proxy_url` names one.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use url::{Host, Url};

use super::retry::{parse_retry_after, Outcome};
use crate::destination::{check_destination, DestinationPolicy, PolicyResolver, ProxyUrl, REFUSED};
use crate::event::sign::{
    elements_signature, standard_signature, ID_HEADER, SIGNATURE_HEADER, STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER, STANDARD_TIMESTAMP_HEADER,
};
use crate::secret::{Secret, StandardKey};

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
    policy: DestinationPolicy,
    proxied: bool,
}

impl CallbackClient {
    /// Builds the client: destinations `policy` refuses are never connected to. `proxy`
    /// (`delivery.proxy_url`), when set, carries every request; `HTTP_PROXY`, `ALL_PROXY`
    /// and the like are ignored either way, so a proxy is never chosen by the environment.
    pub fn new(
        timeout: Duration,
        policy: DestinationPolicy,
        proxy: Option<&ProxyUrl>,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .user_agent(concat!("webhook-relay/", env!("CARGO_PKG_VERSION")));
        match proxy {
            // The proxy resolves the destination, not this resolver (which would only see the
            // operator's proxy): `post` checks the destination itself first.
            Some(url) => builder = builder.proxy(reqwest::Proxy::all(url.expose())?),
            None if !policy.allows_everything() => {
                builder = builder.dns_resolver(Arc::new(PolicyResolver(policy.clone())));
            }
            None => {}
        }
        Ok(Self {
            http: builder.build()?,
            policy,
            proxied: proxy.is_some(),
        })
    }

    /// Refuses a destination before any connection: an address literal (never passed to the
    /// resolver), or through a proxy any host (the proxy would resolve it unchecked). The
    /// proxy resolves the name once more: a name re-pointed between the two lookups is the
    /// operator's proxy to contain, as the proxy is theirs.
    async fn check(&self, url: &Url) -> Result<(), String> {
        if self.proxied {
            return check_destination(url, &self.policy).await;
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        literal.map_or(Ok(()), |ip| self.policy.check(ip))
    }

    /// POSTs `body` to `url` with the relay's headers: `Elements-Webhook-Signature` when
    /// `signature_key` is set, the Standard Webhooks headers when `standard_secret` is.
    pub async fn post(
        &self,
        url: &Url,
        event_id: &str,
        body: Bytes,
        signature_key: Option<&Secret>,
        standard_secret: Option<&StandardKey>,
    ) -> PostResult {
        let started = Instant::now();
        let failed = |error: String| PostResult {
            outcome: Outcome::Error,
            error: Some(error),
            duration: started.elapsed(),
        };
        if let Err(reason) = self.check(url).await {
            return failed(reason);
        }
        let mut request = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, event_id);
        if let Some(key) = signature_key {
            request = request.header(SIGNATURE_HEADER, elements_signature(key.expose(), &body));
        }
        // Decoded when the instance was loaded.
        if let Some(key) = standard_secret {
            let timestamp = chrono::Utc::now().timestamp();
            request = request
                .header(STANDARD_ID_HEADER, event_id)
                .header(STANDARD_TIMESTAMP_HEADER, timestamp)
                .header(
                    STANDARD_SIGNATURE_HEADER,
                    standard_signature(key.bytes(), event_id, timestamp, &body),
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
        if let Some(at) = msg.find(REFUSED) {
            return msg[at..].to_string();
        }
        if !text.contains(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
        source = s.source();
    }
    text
}
