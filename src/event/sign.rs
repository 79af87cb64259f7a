//! Outgoing signature: `Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256(key, body)>`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Elements-Webhook-Signature";
/// Header carrying the event id.
pub const ID_HEADER: &str = "Elements-Webhook-Id";

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
