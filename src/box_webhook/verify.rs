//! Box V2 signature and freshness checks, on the exact bytes received
//! (spec/box-webhooks.md: HMAC-SHA256(key, body || timestamp), standard base64).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// The Box V2 headers, as received (values that were not valid text count as absent).
#[derive(Debug, Default, Clone, Copy)]
pub struct SignatureHeaders<'a> {
    /// `box-delivery-timestamp`
    pub timestamp: Option<&'a str>,
    /// `box-signature-primary`
    pub primary: Option<&'a str>,
    /// `box-signature-secondary`
    pub secondary: Option<&'a str>,
    /// `box-signature-version`
    pub version: Option<&'a str>,
    /// `box-signature-algorithm`
    pub algorithm: Option<&'a str>,
}

/// The keys an instance verifies with; either may be absent.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// Checked only against `box-signature-primary`.
    pub primary: Option<&'a Secret>,
    /// Checked only against `box-signature-secondary`.
    pub secondary: Option<&'a Secret>,
}

/// How old or new a delivery may be.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Older than this is refused.
    pub max_age: Duration,
    /// Further in the future than this is refused.
    pub max_future_skew: Duration,
}

/// Why a delivery was refused. The variants map to the HTTP codes of DESIGN.md. None of
/// them says whether the instance has keys: to an unsigned caller, an instance without keys
/// refuses exactly as one whose keys it does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No timestamp, or no signature header at all, or no version/algorithm header.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// Version is not `1` or algorithm is not `HmacSHA256`.
    #[error("unsupported signature version or algorithm")]
    UnsupportedScheme,
    /// The timestamp does not parse as RFC 3339.
    #[error("box-delivery-timestamp is not an RFC 3339 time")]
    BadTimestamp,
    /// Older than `max_age`.
    #[error("box-delivery-timestamp is too old")]
    Stale,
    /// Further ahead than `max_future_skew`.
    #[error("box-delivery-timestamp is too far in the future")]
    Future,
    /// Neither signature matched its key (or the instance has no key).
    #[error("signature does not match")]
    Mismatch,
}

impl<'a> SignatureHeaders<'a> {
    /// Checks that the headers a signed delivery needs are all there, before its body is
    /// read; (timestamp, version, algorithm).
    pub fn require(&self) -> Result<(&'a str, &'a str, &'a str), VerifyError> {
        let timestamp = self
            .timestamp
            .ok_or(VerifyError::MissingHeader("box-delivery-timestamp"))?;
        if self.primary.is_none() && self.secondary.is_none() {
            return Err(VerifyError::MissingHeader("box-signature-primary"));
        }
        let version = self
            .version
            .ok_or(VerifyError::MissingHeader("box-signature-version"))?;
        let algorithm = self
            .algorithm
            .ok_or(VerifyError::MissingHeader("box-signature-algorithm"))?;
        Ok((timestamp, version, algorithm))
    }
}

/// Proof that a body passed [`verify`]: the only input the payload parser accepts.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a> {
    body: &'a [u8],
}

impl<'a> Verified<'a> {
    /// The verified bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Marks bytes as verified without a signature: for Box V1, whose only authentication is
    /// the URL token the caller has already checked.
    pub(crate) fn by_token(body: &'a [u8]) -> Self {
        Self { body }
    }
}

/// Checks a V2 delivery in the order DESIGN.md gives: headers present → version and
/// algorithm → timestamp fresh → MAC (either key against its own header, constant time).
/// An instance without keys goes through the same steps, a MAC included (under a key no
/// one has), and ends in the same [`VerifyError::Mismatch`].
pub fn verify<'a>(
    body: &'a [u8],
    headers: &SignatureHeaders<'_>,
    keys: Keys<'_>,
    freshness: Freshness,
    now: DateTime<Utc>,
) -> Result<Verified<'a>, VerifyError> {
    let (timestamp, version, algorithm) = headers.require()?;
    if version != "1" || algorithm != "HmacSHA256" {
        return Err(VerifyError::UnsupportedScheme);
    }
    let sent = DateTime::parse_from_rfc3339(timestamp).map_err(|_| VerifyError::BadTimestamp)?;
    let age = now.signed_duration_since(sent);
    if age > freshness.max_age {
        return Err(VerifyError::Stale);
    }
    if -age > freshness.max_future_skew {
        return Err(VerifyError::Future);
    }
    if signature_matches(body, timestamp, keys.primary, headers.primary)
        | signature_matches(body, timestamp, keys.secondary, headers.secondary)
    {
        Ok(Verified { body })
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// Stands in for an absent key: the MAC is computed and thrown away.
const NO_KEY: &str = "webhook-relay: no key configured";

/// The MAC check alone (no freshness), as Box's SDKs do it: for tests and `box-sign`.
pub fn signature_matches(
    body: &[u8],
    timestamp: &str,
    key: Option<&Secret>,
    header: Option<&str>,
) -> bool {
    let Some(header) = header else {
        return false;
    };
    let expected = B64.decode(header.trim()).unwrap_or_default();
    // A missing key still costs a MAC, so that timing does not tell whether it exists.
    let (key, known) = match key {
        Some(key) => (key.expose(), true),
        None => (NO_KEY, false),
    };
    // `verify_slice` compares in constant time.
    let matches = mac(key, body, timestamp).verify_slice(&expected).is_ok();
    matches & known
}

/// The base64 signature Box would send for `body` at `timestamp` with `key`.
pub fn sign(key: &str, body: &[u8], timestamp: &str) -> String {
    B64.encode(mac(key, body, timestamp).finalize().into_bytes())
}

fn mac(key: &str, body: &[u8], timestamp: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
