//! Secrets at rest: AES-256-GCM under `secrets.encryption_key`, a fresh nonce per value, the
//! instance id as associated data (a sealed value copied to another instance's row does not
//! open). Stored as standard base64 of nonce ‖ ciphertext. Seals instance configurations and
//! Box tokens alike.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use super::Secret;

const NONCE_LEN: usize = 12;
/// Length of a key, in bytes.
pub const KEY_LEN: usize = 32;

/// Seals and opens secrets under one key.
#[derive(Clone)]
pub struct Cipher(Aes256Gcm);

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

/// The raw bytes of a key given as standard base64.
pub fn decode_key(key: &str) -> Result<Vec<u8>, String> {
    let bytes = B64
        .decode(key.trim())
        .map_err(|_| "must be standard base64 (e.g. `openssl rand -base64 32`)".to_string())?;
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "must decode to {KEY_LEN} bytes, not {}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// `secrets.encryption_key`: 32 bytes, read from standard base64 once, when the
/// configuration is loaded. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl EncryptionKey {
    /// Reads a key given as standard base64 (the reason never repeats the key).
    pub fn parse(key: &str) -> Result<Self, String> {
        let bytes = decode_key(key)?;
        let mut out = [0u8; KEY_LEN];
        out.copy_from_slice(&bytes);
        Ok(Self(out))
    }

    /// The cipher of this key.
    pub fn cipher(&self) -> Cipher {
        Cipher(Aes256Gcm::new(&self.0.into()))
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

impl Cipher {
    /// A cipher from a key: 32 bytes in standard base64.
    pub fn from_base64(key: &str) -> Result<Self, String> {
        let bytes = decode_key(key)?;
        Aes256Gcm::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| format!("must decode to {KEY_LEN} bytes"))
    }

    /// A new random key, as standard base64 (what a key file holds).
    pub fn generate_key() -> Secret {
        let mut key = [0u8; KEY_LEN];
        rand::thread_rng().fill_bytes(&mut key);
        Secret::new(B64.encode(key))
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
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        B64.encode(out)
    }

    /// Decrypts a value sealed for `instance_id`; `None` if it was not (or the key differs).
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
    fn sealed_values_open_only_for_their_instance_and_key() {
        let cipher = Cipher::from_base64(KEY).unwrap();
        let sealed = cipher.seal(7, "box-access-token");
        assert!(!sealed.contains("box-access-token"));
        assert_ne!(sealed, cipher.seal(7, "box-access-token"), "fresh nonce");
        assert_eq!(
            cipher.open(7, &sealed).unwrap().expose(),
            "box-access-token"
        );
        assert!(cipher.open(8, &sealed).is_none(), "bound to the instance");
        let other = Cipher::from_base64(&B64.encode([1u8; 32])).unwrap();
        assert!(other.open(7, &sealed).is_none(), "bound to the key");
        assert!(cipher.open(7, "not base64!").is_none());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Cipher::from_base64("c2hvcnQ=").is_err());
        assert!(Cipher::from_base64("not base64!").is_err());
        let generated = Cipher::generate_key();
        assert!(Cipher::from_base64(generated.expose()).is_ok());
        assert_ne!(generated, Cipher::generate_key());
    }
}
