//! The retry policy: a pure function of (attempt, outcome) → deliver, retry later, or give up.
//! No I/O, no clock, no randomness of its own, so every branch is unit-tested.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::DeliveryConfig;

/// Schedule parameters (from `[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First try plus retries.
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub base_ms: u64,
    /// Growth per retry.
    pub factor: f64,
    /// Cap of one delay, also of an honoured `Retry-After`.
    pub max_ms: u64,
    /// ± fraction of jitter.
    pub jitter: f64,
}

impl From<&DeliveryConfig> for RetryPolicy {
    fn from(c: &DeliveryConfig) -> Self {
        Self {
            max_attempts: c.max_attempts.get(),
            base_ms: c.backoff_base_ms.get(),
            factor: c.backoff_factor,
            max_ms: c.backoff_max_ms,
            jitter: c.jitter,
        }
    }
}

/// What an attempt produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The consumer answered with this status (and maybe `Retry-After`).
    Status {
        /// HTTP status code.
        code: u16,
        /// Parsed `Retry-After`, if sent.
        retry_after: Option<Duration>,
    },
    /// No answer: connect error, timeout, refused destination.
    Error,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: done.
    Delivered,
    /// Try again after this delay.
    RetryIn(Duration),
    /// Stop: 410, or the last attempt failed.
    GiveUp,
}

/// Shortest honoured `Retry-After`, so `Retry-After: 0` cannot make a tight loop.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Decides after attempt number `attempt` (1 = the first try). `jitter_sample` is a number in
/// [-1, 1] the caller draws at random; the delay is scaled by `1 + jitter * jitter_sample`.
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    outcome: Outcome,
    jitter_sample: f64,
) -> Decision {
    let retry_after = match outcome {
        Outcome::Status { code, .. } if (200..300).contains(&code) => return Decision::Delivered,
        Outcome::Status { code: 410, .. } => return Decision::GiveUp,
        Outcome::Status {
            code: 429 | 503,
            retry_after,
        } => retry_after,
        _ => None,
    };
    if attempt >= policy.max_attempts {
        return Decision::GiveUp;
    }
    let delay = match retry_after {
        Some(d) => d.clamp(MIN_RETRY_AFTER, Duration::from_millis(policy.max_ms)),
        None => backoff(policy, attempt, jitter_sample),
    };
    Decision::RetryIn(delay)
}

/// Delay before retry number `retry` (1 = after the first failure):
/// `base * factor^(retry-1)`, capped at `max`, then ± jitter (and capped again).
pub fn backoff(policy: &RetryPolicy, retry: u32, jitter_sample: f64) -> Duration {
    let exp = f64::from(retry.max(1) - 1);
    let raw = (policy.base_ms as f64) * policy.factor.powf(exp);
    let capped = raw.min(policy.max_ms as f64);
    let jittered = capped * (1.0 + policy.jitter * jitter_sample.clamp(-1.0, 1.0));
    Duration::from_millis(jittered.clamp(0.0, policy.max_ms as f64) as u64)
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::from(&DeliveryConfig::default())
    }

    fn status(code: u16) -> Outcome {
        Outcome::Status {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn success_is_delivered_at_any_attempt() {
        for code in [200, 201, 204, 299] {
            assert_eq!(decide(&policy(), 1, status(code), 0.0), Decision::Delivered);
            assert_eq!(
                decide(&policy(), 10, status(code), 0.0),
                Decision::Delivered
            );
        }
    }

    #[test]
    fn gone_gives_up_at_once() {
        assert_eq!(decide(&policy(), 1, status(410), 0.0), Decision::GiveUp);
    }

    #[test]
    fn default_schedule_is_cloud_elements_four_to_the_x_seconds() {
        let p = policy();
        let secs: Vec<u64> = (1..=9).map(|n| backoff(&p, n, 0.0).as_secs()).collect();
        assert_eq!(secs, [4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144]);
    }

    #[test]
    fn errors_and_non_2xx_retry_until_max_attempts() {
        let p = policy();
        for outcome in [
            Outcome::Error,
            status(500),
            status(404),
            status(408),
            status(302),
        ] {
            assert_eq!(
                decide(&p, 1, outcome, 0.0),
                Decision::RetryIn(Duration::from_secs(4))
            );
            assert_eq!(
                decide(&p, 3, outcome, 0.0),
                Decision::RetryIn(Duration::from_secs(64))
            );
            assert_eq!(decide(&p, 10, outcome, 0.0), Decision::GiveUp);
        }
    }

    #[test]
    fn delay_is_capped() {
        let p = RetryPolicy {
            max_ms: 10_000,
            ..policy()
        };
        assert_eq!(backoff(&p, 5, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(&p, 5, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(&p, 50, 0.0), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_millis(4_800));
        assert_eq!(backoff(&p, 1, -1.0), Duration::from_millis(3_200));
        assert_eq!(backoff(&p, 1, 7.0), Duration::from_millis(4_800));
    }

    #[test]
    fn retry_after_is_honoured_and_clamped() {
        let p = RetryPolicy {
            max_ms: 60_000,
            ..policy()
        };
        let with = |code, secs| Outcome::Status {
            code,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            decide(&p, 1, with(429, 30), 0.5),
            Decision::RetryIn(Duration::from_secs(30))
        );
        assert_eq!(
            decide(&p, 1, with(503, 3600), 0.0),
            Decision::RetryIn(Duration::from_secs(60))
        );
        assert_eq!(
            decide(&p, 1, with(503, 0), 0.0),
            Decision::RetryIn(Duration::from_secs(1))
        );
        // Only 429 and 503 carry a meaningful Retry-After.
        assert_eq!(
            decide(&p, 1, with(500, 30), 0.0),
            Decision::RetryIn(Duration::from_secs(4))
        );
        // The last attempt is the last, Retry-After or not.
        assert_eq!(decide(&p, 10, with(429, 5), 0.0), Decision::GiveUp);
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
