//! How the values that are more than strings and numbers are read once, at load: each parses
//! into its type or fails with a reason, and the loader names the key. Every reason is written
//! for an operator and never repeats a secret value.

use std::fmt::Display;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use url::Url;

/// A number where zero is not a usable value.
pub(super) trait Positive: Sized {
    /// The number as written.
    type Raw: for<'de> Deserialize<'de>;
    /// `None` for zero.
    fn positive(raw: Self::Raw) -> Option<Self>;
}

macro_rules! positive {
    ($($t:ty: $raw:ty),*) => {$(
        impl Positive for $t {
            type Raw = $raw;
            fn positive(raw: $raw) -> Option<Self> {
                <$t>::new(raw)
            }
        }
    )*};
}
positive!(NonZeroU32: u32, NonZeroU64: u64, NonZeroUsize: usize);

/// A positive number: zero is refused as `must be positive`.
pub(super) fn positive<'de, D: Deserializer<'de>, T: Positive>(d: D) -> Result<T, D::Error> {
    T::positive(T::Raw::deserialize(d)?).ok_or_else(|| D::Error::custom("must be positive"))
}

/// A string read with `parse`; its error is the reason.
fn parsed<'de, D, T, E>(d: D, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let text = String::deserialize(d)?;
    parse(&text).map_err(D::Error::custom)
}

/// An optional string read with `parse`: empty is `None`.
fn optional<'de, D, T, E>(
    d: D,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Ok(None);
    }
    parse(&text).map(Some).map_err(D::Error::custom)
}

/// `address:port`.
pub(super) fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    parsed(d, |text| {
        text.parse::<SocketAddr>()
            .map_err(|e| format!("not an address:port ({e})"))
    })
}

/// A tracing filter (`info`, `webhook_relay=debug,info`).
pub(super) fn log_filter<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    parsed(d, |text| {
        tracing_subscriber::EnvFilter::try_new(text)
            .map(|_| text.to_string())
            .map_err(|e| e.to_string())
    })
}

/// An absolute `http` or `https` URL with a host.
pub(super) mod http_url {
    use super::*;

    /// Reads it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
        parsed(d, crate::instance::parse_callback_url)
    }

    /// Writes it as text.
    pub fn serialize<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(url.as_str())
    }
}

/// [`http_url`], or empty for none.
pub(super) mod optional_http_url {
    use super::*;

    /// Reads it: empty is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
        optional(d, crate::instance::parse_callback_url)
    }

    /// Writes it as text, `""` for none.
    pub fn serialize<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(url.as_ref().map_or("", Url::as_str))
    }
}

/// A key of stored secrets (32 bytes, standard base64), or empty for none.
pub(super) mod optional_key {
    use super::*;
    use crate::secret::EncryptionKey;

    /// Reads it: empty is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EncryptionKey>, D::Error> {
        optional(d, EncryptionKey::parse)
    }

    /// Writes `***` for a key, `""` for none.
    pub fn serialize<S: Serializer>(key: &Option<EncryptionKey>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if key.is_some() { "***" } else { "" })
    }
}

/// `delivery.proxy_url`, or empty for none.
pub(super) mod optional_proxy {
    use super::*;
    use crate::destination::ProxyUrl;

    /// Reads it: empty is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ProxyUrl>, D::Error> {
        optional(d, ProxyUrl::parse)
    }

    /// Writes it with its password masked, `""` for none.
    pub fn serialize<S: Serializer>(proxy: &Option<ProxyUrl>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&proxy.as_ref().map(ProxyUrl::masked).unwrap_or_default())
    }
}

/// CIDRs (`"10.20.0.0/16"`), host bits dropped.
pub(super) mod networks {
    use super::*;
    use ipnet::IpNet;
    use serde::ser::SerializeSeq;

    /// Reads them; the first that is not a CIDR is the reason.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| crate::destination::parse_network(text))
            .collect::<Result<_, _>>()
            .map_err(D::Error::custom)
    }

    /// Writes them as text.
    pub fn serialize<S: Serializer>(networks: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(networks.len()))?;
        for network in networks {
            seq.serialize_element(&network.to_string())?;
        }
        seq.end()
    }
}
