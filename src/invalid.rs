//! The one "this value is not acceptable" error, shared by the configuration (a key of the
//! file or a `RELAY__…` variable), instances (a key of their configuration) and the admin API
//! (a field of a request body): each names the key in the same dotted form and says why.

/// A value that was read but cannot be used. `key` is the dotted path of the offending key
/// (`delivery.timeout_ms`, `configuration."event.notification.callback.url"`,
/// `triggers[2]`); `reason` says what is wrong without repeating a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct InvalidValue {
    /// Dotted path of the key.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidValue {
    /// The error for `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
