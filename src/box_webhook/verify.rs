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
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        box_v2: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        name: String,
        primary_key: String,
        secondary_key: Option<String>,
        timestamp: String,
        body_base64: String,
        primary_signature: String,
        secondary_signature: Option<String>,
    }

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../../tests/fixtures/signature-vectors.json");
        serde_json::from_str::<Vectors>(text).unwrap().box_v2
    }

    const A_BODY: &[u8] = br#"{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}"#;
    const A_TS: &str = "2020-01-01T00:00:00-07:00";
    const A_PRIMARY: &str = "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=";
    const A_SECONDARY: &str = "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=";

    fn a_headers() -> SignatureHeaders<'static> {
        SignatureHeaders {
            timestamp: Some(A_TS),
            primary: Some(A_PRIMARY),
            secondary: Some(A_SECONDARY),
            version: Some("1"),
            algorithm: Some("HmacSHA256"),
        }
    }

    fn at_a_time() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(A_TS).unwrap().to_utc() + Duration::seconds(5)
    }

    fn fresh() -> Freshness {
        Freshness {
            max_age: Duration::seconds(600),
            max_future_skew: Duration::seconds(60),
        }
    }

    fn check(
        headers: &SignatureHeaders<'_>,
        primary: Option<&str>,
        secondary: Option<&str>,
    ) -> Result<(), VerifyError> {
        let p = primary.map(Secret::new);
        let s = secondary.map(Secret::new);
        let keys = Keys {
            primary: p.as_ref(),
            secondary: s.as_ref(),
        };
        verify(A_BODY, headers, keys, fresh(), at_a_time()).map(|_| ())
    }

    #[test]
    fn every_spec_vector_signs_and_verifies() {
        let all = vectors();
        assert_eq!(
            all.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ["A", "B", "C", "D", "E", "F", "G"]
        );
        for v in all {
            let body = B64.decode(&v.body_base64).unwrap();
            assert_eq!(
                sign(&v.primary_key, &body, &v.timestamp),
                v.primary_signature,
                "vector {}",
                v.name
            );
            let primary = Secret::new(&v.primary_key);
            assert!(signature_matches(
                &body,
                &v.timestamp,
                Some(&primary),
                Some(&v.primary_signature)
            ));
            if let (Some(key), Some(sig)) = (&v.secondary_key, &v.secondary_signature) {
                assert_eq!(sign(key, &body, &v.timestamp), *sig, "vector {}", v.name);
            }
            // One changed byte of the body breaks it.
            let mut tampered = body.clone();
            tampered[1] ^= 1;
            assert!(!signature_matches(
                &tampered,
                &v.timestamp,
                Some(&primary),
                Some(&v.primary_signature)
            ));
        }
    }

    #[test]
    fn vector_a_both_keys_are_valid() {
        assert_eq!(
            check(
                &a_headers(),
                Some("SamplePrimaryKey"),
                Some("SampleSecondaryKey")
            ),
            Ok(())
        );
    }

    #[test]
    fn vector_a_primary_only_is_valid() {
        assert_eq!(check(&a_headers(), Some("SamplePrimaryKey"), None), Ok(()));
    }

    #[test]
    fn vector_a_wrong_primary_right_secondary_is_valid() {
        assert_eq!(
            check(&a_headers(), Some("WrongKey"), Some("SampleSecondaryKey")),
            Ok(())
        );
    }

    #[test]
    fn vector_a_both_keys_wrong_is_invalid() {
        assert_eq!(
            check(&a_headers(), Some("WrongKey"), Some("AlsoWrong")),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn vector_a_no_keys_is_invalid() {
        assert_eq!(check(&a_headers(), None, None), Err(VerifyError::NoKeys));
    }

    #[test]
    fn vector_a_version_2_is_invalid() {
        let h = SignatureHeaders {
            version: Some("2"),
            ..a_headers()
        };
        assert_eq!(
            check(&h, Some("SamplePrimaryKey"), Some("SampleSecondaryKey")),
            Err(VerifyError::UnsupportedScheme)
        );
    }

    #[test]
    fn vector_a_wrong_algorithm_is_invalid() {
        let h = SignatureHeaders {
            algorithm: Some("WrongAlgorithm"),
            ..a_headers()
        };
        assert_eq!(
            check(&h, Some("SamplePrimaryKey"), Some("SampleSecondaryKey")),
            Err(VerifyError::UnsupportedScheme)
        );
    }

    #[test]
    fn keys_are_never_compared_crosswise() {
        // The primary's signature in the secondary header (and vice versa) is refused.
        let h = SignatureHeaders {
            primary: Some(A_SECONDARY),
            secondary: Some(A_PRIMARY),
            ..a_headers()
        };
        assert_eq!(
            check(&h, Some("SamplePrimaryKey"), Some("SampleSecondaryKey")),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn a_signature_that_is_not_base64_is_invalid() {
        let h = SignatureHeaders {
            primary: Some("%%%not base64%%%"),
            secondary: None,
            ..a_headers()
        };
        assert_eq!(
            check(&h, Some("SamplePrimaryKey"), None),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn missing_headers_are_reported_before_anything_else() {
        let none = SignatureHeaders::default();
        assert_eq!(
            check(&none, Some("SamplePrimaryKey"), None),
            Err(VerifyError::MissingHeader("box-delivery-timestamp"))
        );
        let no_sig = SignatureHeaders {
            primary: None,
            secondary: None,
            ..a_headers()
        };
        assert!(matches!(
            check(&no_sig, Some("SamplePrimaryKey"), None),
            Err(VerifyError::MissingHeader(_))
        ));
    }

    #[test]
    fn stale_timestamp_is_rejected() {
        let keys_p = Secret::new("SamplePrimaryKey");
        let keys = Keys {
            primary: Some(&keys_p),
            secondary: None,
        };
        let sent = DateTime::parse_from_rfc3339(A_TS).unwrap().to_utc();
        let ok = verify(
            A_BODY,
            &a_headers(),
            keys,
            fresh(),
            sent + Duration::seconds(600),
        );
        assert!(ok.is_ok());
        let late = verify(
            A_BODY,
            &a_headers(),
            keys,
            fresh(),
            sent + Duration::seconds(601),
        );
        assert_eq!(late.unwrap_err(), VerifyError::Stale);
    }

    #[test]
    fn future_timestamp_beyond_skew_is_rejected() {
        let keys_p = Secret::new("SamplePrimaryKey");
        let keys = Keys {
            primary: Some(&keys_p),
            secondary: None,
        };
        let sent = DateTime::parse_from_rfc3339(A_TS).unwrap().to_utc();
        let ok = verify(
            A_BODY,
            &a_headers(),
            keys,
            fresh(),
            sent - Duration::seconds(60),
        );
        assert!(ok.is_ok());
        let early = verify(
            A_BODY,
            &a_headers(),
            keys,
            fresh(),
            sent - Duration::seconds(61),
        );
        assert_eq!(early.unwrap_err(), VerifyError::Future);
    }

    #[test]
    fn unparseable_timestamp_is_rejected() {
        let h = SignatureHeaders {
            timestamp: Some("yesterday"),
            ..a_headers()
        };
        assert_eq!(
            check(&h, Some("SamplePrimaryKey"), None),
            Err(VerifyError::BadTimestamp)
        );
    }
}
