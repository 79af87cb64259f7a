//! Every spec vector (A–G) and the expectations listed with vector A; freshness with an
//! explicit clock.

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
fn vector_a_no_keys_is_invalid_as_wrong_keys_are() {
    assert_eq!(check(&a_headers(), None, None), Err(VerifyError::Mismatch));
}

#[test]
fn an_instance_without_keys_refuses_every_forgery_exactly_as_one_with_keys() {
    let forged = SignatureHeaders {
        primary: Some("Zm9yZ2Vk"),
        secondary: None,
        ..a_headers()
    };
    let stale = SignatureHeaders {
        timestamp: Some("2000-01-01T00:00:00Z"),
        ..forged
    };
    let unsupported = SignatureHeaders {
        version: Some("2"),
        ..forged
    };
    let missing = SignatureHeaders {
        timestamp: None,
        ..forged
    };
    for headers in [forged, stale, unsupported, missing] {
        assert_eq!(
            check(&headers, None, None),
            check(
                &headers,
                Some("SamplePrimaryKey"),
                Some("SampleSecondaryKey")
            ),
            "{headers:?}"
        );
    }
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
