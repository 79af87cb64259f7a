//! Talking to Box's API on an instance's behalf, as Cloud Elements does: OAuth 2.0 tokens
//! obtained at provisioning and kept fresh ([`tokens`], sealed at rest by
//! [`crate::secret::cipher`]), and the calls themselves ([`client`]) — token grants and Box
//! V2 webhooks, whose triggers [`triggers`] knows.

pub mod client;
pub mod tokens;
pub mod triggers;

/// Configuration keys of Box authorization on an instance (Cloud Elements' names).
pub mod keys {
    /// The Box app's client id.
    pub const CLIENT_ID: &str = "oauth.api.key";
    /// The Box app's client secret.
    pub const CLIENT_SECRET: &str = "oauth.api.secret";
    /// The redirect URI the authorization code was issued for.
    pub const REDIRECT_URI: &str = "oauth.callback.url";
    /// `client_credentials` for Box's Client Credentials Grant (no OAuth code).
    pub const AUTH: &str = "box.auth";
    /// The enterprise id the Client Credentials Grant authenticates as.
    pub const ENTERPRISE_ID: &str = "box.enterprise.id";
}
