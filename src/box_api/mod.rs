//! Talking to Box's API on an instance's behalf, as Cloud Elements does: OAuth 2.0 tokens
//! obtained at provisioning and kept fresh ([`tokens`], sealed at rest by
//! [`crate::secret::cipher`]), and the calls themselves ([`client`]) — token grants and Box
//! V2 webhooks, whose triggers [`triggers`] knows — and the authorize URL that starts an
//! OAuth consent ([`authorize`]).

pub mod authorize;
pub mod client;
pub mod tokens;
pub mod triggers;

/// Configuration keys of Box authorization on an instance (Cloud Elements' names), defined
/// with every other known key in [`crate::instance::keys`].
pub use crate::instance::keys::box_auth as keys;
