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

/// Why a delivery was refused. The variants map to the HTTP codes of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No timestamp, or no signature header at all, or no version/algorithm header.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// The instance has no Box key configured, so nothing can be accepted.
    #[error("no Box signature key is configured for this instance")]
    NoKeys,
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
    /// Neither signature matched its key.
    #[error("signature does not match")]
    Mismatch,
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
pub fn verify<'a>(
    body: &'a [u8],
    headers: &SignatureHeaders<'_>,
    keys: Keys<'_>,
    freshness: Freshness,
    now: DateTime<Utc>,
) -> Result<Verified<'a>, VerifyError> {
    let timestamp = headers
        .timestamp
        .ok_or(VerifyError::MissingHeader("box-delivery-timestamp"))?;
    if headers.primary.is_none() && headers.secondary.is_none() {
        return Err(VerifyError::MissingHeader("box-signature-primary"));
    }
    let version = headers
        .version
        .ok_or(VerifyError::MissingHeader("box-signature-version"))?;
    let algorithm = headers
        .algorithm
        .ok_or(VerifyError::MissingHeader("box-signature-algorithm"))?;
    if keys.primary.is_none() && keys.secondary.is_none() {
        return Err(VerifyError::NoKeys);
    }
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

/// The MAC check alone (no freshness), as Box's SDKs do it: for tests and `box-sign`.
pub fn signature_matches(
    body: &[u8],
    timestamp: &str,
    key: Option<&Secret>,
    header: Option<&str>,
) -> bool {
    let (Some(key), Some(header)) = (key, header) else {
        return false;
    };
    let Ok(expected) = B64.decode(header.trim()) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac(key.expose(), body, timestamp)
        .verify_slice(&expected)
        .is_ok()
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
