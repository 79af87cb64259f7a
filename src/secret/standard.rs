//! A Standard Webhooks secret (`whsec_<base64>`), read once when an instance is loaded: the
//! key bytes that sign `webhook-signature`, never printed.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// The key of an instance's `event.notification.standard.secret`, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct StandardKey(Vec<u8>);

impl StandardKey {
    /// The key bytes of a Standard Webhooks secret: base64 after the `whsec_` prefix.
    pub fn parse(secret: &str) -> Result<Self, &'static str> {
        let encoded = secret
            .strip_prefix("whsec_")
            .ok_or("must start with \"whsec_\"")?;
        match B64.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Self(key)),
            _ => Err("the part after \"whsec_\" must be non-empty standard base64"),
        }
    }

    /// The key bytes, for the HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for StandardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StandardKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_secrets_need_the_prefix_and_base64() {
        assert!(StandardKey::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(StandardKey::parse("whsec_").is_err());
        assert!(StandardKey::parse("whsec_not base64!").is_err());
        let key = StandardKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(key.bytes().len(), 24);
        assert_eq!(format!("{key:?}"), "StandardKey(***)");
    }
}
