//! What happens to an instance when one of its events exhausts its retries: Cloud Elements'
//! `notification.webhook.failure.policy`, set relay-wide (`delivery.failure_policy`) and
//! per instance (the configuration key of that name), read by delivery.

use serde::{Deserialize, Serialize};

/// The failure policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum FailurePolicy {
    /// The event is `failed` (kept, replayable); later events are delivered as usual.
    #[default]
    Retry,
    /// The event is `failed` and the instance is suspended: its later events are stored but
    /// not attempted until an operator resumes it.
    Queue,
}

impl FailurePolicy {
    /// The values, as written.
    pub const ALLOWED: &'static str = "\"retry\" or \"queue\"";

    /// Reads `retry` or `queue` (any case).
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "retry" => Ok(Self::Retry),
            "queue" => Ok(Self::Queue),
            _ => Err(format!("must be {}", Self::ALLOWED)),
        }
    }
}

/// Read through [`FailurePolicy::parse`], so that a bad setting names the allowed values.
impl TryFrom<String> for FailurePolicy {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_values_are_read_and_nothing_else() {
        assert_eq!(FailurePolicy::parse("queue"), Ok(FailurePolicy::Queue));
        assert_eq!(FailurePolicy::parse(" Retry "), Ok(FailurePolicy::Retry));
        assert!(FailurePolicy::parse("drop")
            .unwrap_err()
            .contains("\"queue\""));
        assert!(FailurePolicy::parse("").is_err());
    }
}
