//! The destination guard: which addresses a callback may reach. [`ranges`] classifies every
//! special-purpose range of IANA's registries; the operator's [`DestinationPolicy`] over it
//! is applied when a callback is accepted ([`check_destination`]: the configuration's start-up
//! checks, the admin API) and at each connect ([`PolicyResolver`], and the literal-address
//! check of delivery's client). [`ProxyUrl`] is `delivery.proxy_url`, checked when read.
//! Below both the configuration and delivery, which use it.

pub mod ranges;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use ranges::{classify, is_forbidden, Special};

/// Which destinations callbacks may reach: public addresses always; special-purpose ones when
/// `delivery.allow_private_destinations` is true, or when inside one of
/// `delivery.allowed_private_networks`.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allow_private: bool,
    networks: Arc<[IpNet]>,
}

impl DestinationPolicy {
    /// A policy: special-purpose addresses allowed everywhere (`allow_private`), or only
    /// inside `networks` (read with [`parse_network`] at configuration load).
    pub fn new(allow_private: bool, networks: &[IpNet]) -> Self {
        Self {
            allow_private,
            networks: networks.into(),
        }
    }

    /// Every destination allowed: no check at all.
    pub fn allows_everything(&self) -> bool {
        self.allow_private
    }

    /// `Err` with the reason when `ip` may not be reached.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        let Some(special) = classify(ip) else {
            return Ok(());
        };
        // A listed network admits the address as connected to, and an IPv4-mapped one as
        // the IPv4 address it reaches.
        let canonical = ip.to_canonical();
        if self
            .networks
            .iter()
            .any(|n| n.contains(&ip) || n.contains(&canonical))
        {
            return Ok(());
        }
        Err(refusal(special))
    }
}

/// A CIDR of `delivery.allowed_private_networks`.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    text.trim()
        .parse::<IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| format!("{text:?} is not a CIDR (e.g. \"10.20.0.0/16\" or \"fd00:1::/64\")"))
}

/// The text of every refusal (delivery attempts and the admin API); starts with
/// [`REFUSED`].
fn refusal(special: Special) -> String {
    format!(
        "{REFUSED}: address is {special}, not public (allow it with \
         delivery.allowed_private_networks, or delivery.allow_private_destinations = true)"
    )
}

/// How every refusal starts (the client finds it in a transport error's sources).
pub const REFUSED: &str = "destination refused";

/// Checks a callback URL against `policy`: its host must be, or resolve only to, allowed
/// addresses. Used when a callback is accepted, and before a request is handed to a proxy.
pub async fn check_destination(url: &Url, policy: &DestinationPolicy) -> Result<(), String> {
    if policy.allows_everything() {
        return Ok(());
    }
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
    if addrs.is_empty() {
        return Err(format!("{REFUSED}: the host resolves to no address"));
    }
    addrs.into_iter().try_for_each(|ip| policy.check(ip))
}

/// Resolves names for the client and keeps only the addresses `policy` allows, so the
/// check holds at each connect (a name cannot resolve to a public address when accepted and
/// to loopback later).
pub struct PolicyResolver(pub DestinationPolicy);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let mut refused = None;
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused = Some(reason);
                        false
                    }
                })
                .collect();
            if addrs.is_empty() {
                let reason = refused.unwrap_or_else(|| format!("{REFUSED}: no address"));
                return Err(
                    std::io::Error::new(std::io::ErrorKind::PermissionDenied, reason).into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// `delivery.proxy_url`: an `http` or `https` URL with a host that reqwest accepts as a
/// proxy. It may carry the proxy's password: `Debug` masks it, and no error repeats it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl ProxyUrl {
    /// Checks a proxy URL (the reason never repeats the URL: it may hold the proxy's password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let parsed = Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err("must be an http:// or https:// URL with a host".into());
        }
        reqwest::Proxy::all(url).map_err(|_| "not a usable proxy URL".to_string())?;
        Ok(Self(parsed))
    }

    /// The URL itself, password included: only for the HTTP client.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The URL with its password shown as `***`.
    pub fn masked(&self) -> String {
        crate::secret::mask_url_password(self.0.as_str(), "***")
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({:?})", self.masked())
    }
}

#[cfg(test)]
mod tests;
