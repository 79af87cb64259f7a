//! Box tokens at rest: AES-256-GCM under `box.token_key`, a fresh nonce per value, the
//! instance id as associated data (a sealed value copied to another instance's row does not
//! open). Stored as standard base64 of nonce ‖ ciphertext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use crate::secret::Secret;

const NONCE_LEN: usize = 12;

/// Seals and opens tokens.
#[derive(Clone)]
pub struct TokenCipher(Aes256Gcm);

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(***)")
    }
}

impl TokenCipher {
    /// A cipher from `box.token_key`: 32 bytes in standard base64.
    pub fn from_base64(key: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(key.trim())
            .map_err(|_| "must be standard base64 (e.g. `openssl rand -base64 32`)".to_string())?;
        Aes256Gcm::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| format!("must decode to 32 bytes, not {}", bytes.len()))
    }

    /// Encrypts `plaintext` for the row of `instance_id`.
    pub fn seal(&self, instance_id: i64, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = instance_id.to_be_bytes();
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        B64.encode(out)
    }

    /// Decrypts a value sealed for `instance_id`; `None` if it was not (or the key changed).
    pub fn open(&self, instance_id: i64, sealed: &str) -> Option<Secret> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = instance_id.to_be_bytes();
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok().map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    #[test]
    fn sealed_tokens_open_only_for_their_instance_and_key() {
        let cipher = TokenCipher::from_base64(KEY).unwrap();
        let sealed = cipher.seal(7, "box-access-token");
        assert!(!sealed.contains("box-access-token"));
        assert_ne!(sealed, cipher.seal(7, "box-access-token"), "fresh nonce");
        assert_eq!(
            cipher.open(7, &sealed).unwrap().expose(),
            "box-access-token"
        );
        assert!(cipher.open(8, &sealed).is_none(), "bound to the instance");
        let other = TokenCipher::from_base64(&B64.encode([1u8; 32])).unwrap();
        assert!(other.open(7, &sealed).is_none(), "bound to the key");
        assert!(cipher.open(7, "not base64!").is_none());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(TokenCipher::from_base64("c2hvcnQ=").is_err());
        assert!(TokenCipher::from_base64("not base64!").is_err());
    }
}
