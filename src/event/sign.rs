//! Outgoing signatures: `Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256(key, body)>`
//! (Cloud Elements), and optionally the Standard Webhooks headers `webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Elements-Webhook-Signature";
/// Header carrying the event id.
pub const ID_HEADER: &str = "Elements-Webhook-Id";

/// Standard Webhooks: the message id (the `eventId`, the same on every attempt).
pub const STANDARD_ID_HEADER: &str = "webhook-id";
/// Standard Webhooks: unix seconds of the attempt.
pub const STANDARD_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Standard Webhooks: `v1,<base64 signature>`.
pub const STANDARD_SIGNATURE_HEADER: &str = "webhook-signature";

/// The `webhook-signature` value for one attempt (Standard Webhooks, scheme `v1`); `key` is
/// [`crate::secret::StandardKey::bytes`].
pub fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The header value for `body` signed with `key` (the key's UTF-8 bytes, not decoded).
pub fn elements_signature(key: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", B64.encode(mac.finalize().into_bytes()))
}

/// Checks a received header in constant time (used by `webhook-relay receive`).
pub fn verify_elements_signature(key: &str, body: &[u8], header: &str) -> bool {
    let Some(sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = B64.decode(sig) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        elements_webhook_signature: Vec<Vector>,
    }
    #[derive(Deserialize)]
    struct Vector {
        key: String,
        body_base64: String,
        header: String,
    }

    #[test]
    fn spec_vectors_sign_and_verify() {
        let text = include_str!("../../tests/fixtures/signature-vectors.json");
        let vectors = serde_json::from_str::<Vectors>(text)
            .unwrap()
            .elements_webhook_signature;
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let body = B64.decode(&v.body_base64).unwrap();
            assert_eq!(elements_signature(&v.key, &body), v.header);
            assert!(verify_elements_signature(&v.key, &body, &v.header));
            assert!(!verify_elements_signature("other", &body, &v.header));
        }
    }

    #[test]
    fn standard_webhooks_reference_vector_matches() {
        // From the Standard Webhooks reference libraries' tests.
        let key =
            crate::secret::StandardKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            standard_signature(
                key.bytes(),
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn documented_vector_matches() {
        assert_eq!(
            elements_signature(
                "MySecretEventSignatureKey",
                b"<INSERT_EVENT_NOTIFICATION_RESPONSE_BODY>"
            ),
            "sha256=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ="
        );
    }
}
