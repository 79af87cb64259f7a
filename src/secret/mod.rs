//! Secrets, below every stage that keeps one: [`Secret`], a string that must never reach a
//! log, an error body or `check-config` output; [`cipher`], which seals instance secrets and
//! Box tokens at rest; [`key_file`], the key the embedded store generates for itself; and
//! [`TokenDigest`], the only form in which instance tokens are stored; [`StandardKey`], an
//! instance's Standard Webhooks key, decoded once.

pub mod cipher;
pub mod key_file;
pub mod standard;

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use cipher::{Cipher, EncryptionKey};
pub use standard::StandardKey;

/// `text` with the password of the URL it is replaced by `mask`, when it is a URL with a
/// password (`https://user:pass@host/…`); `None` otherwise.
pub fn mask_url_password(text: &str, mask: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    (url.password().is_some() && url.set_password(Some(mask)).is_ok()).then(|| url.to_string())
}

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret value (key, token, password). `Debug`, `Display` and `Serialize` print `***`;
/// the value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for computing a MAC or comparing a token.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// The SHA-256 of an instance token: what the store keeps instead of the token (a random
/// 256-bit token needs no salt or slow hash). Compared in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

/// How a stored digest starts; any other stored value is a token from before digests.
const DIGEST_PREFIX: &str = "sha256:";

impl TokenDigest {
    /// The digest of a token.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The stored form, `sha256:<hex>`.
    pub fn to_stored(self) -> String {
        let mut out = String::with_capacity(DIGEST_PREFIX.len() + 64);
        out.push_str(DIGEST_PREFIX);
        for b in self.0 {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Reads a stored digest; `None` when the value is not one (a clear token, stored before
    /// digests: see [`TokenDigest::is_stored_digest`]).
    pub fn from_stored(stored: &str) -> Option<Self> {
        let hex = stored.strip_prefix(DIGEST_PREFIX)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }

    /// True when a stored token column already holds a digest.
    pub fn is_stored_digest(stored: &str) -> bool {
        Self::from_stored(stored).is_some()
    }

    /// Whether `token` is the one this digests, in constant time.
    pub fn matches(&self, token: &str) -> bool {
        self.same_as(&Self::of(token))
    }

    /// Whether two digests are equal, in constant time.
    pub fn same_as(&self, other: &TokenDigest) -> bool {
        bool::from(other.0.ct_eq(&self.0))
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_digests_round_trip_and_match_only_their_token() {
        let d = TokenDigest::of("tok-123");
        let stored = d.to_stored();
        assert!(stored.starts_with("sha256:") && !stored.contains("tok-123"));
        assert_eq!(TokenDigest::from_stored(&stored), Some(d));
        assert!(d.matches("tok-123"));
        assert!(!d.matches("tok-124"));
        assert!(!d.matches(""));
        assert!(!TokenDigest::is_stored_digest("tok-123"), "a clear token");
        assert!(!TokenDigest::is_stored_digest("sha256:zz"));
        assert_eq!(format!("{d:?}"), "TokenDigest(***)");
    }

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "\"***\" ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }
}
