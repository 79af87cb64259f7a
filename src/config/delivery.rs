//! `[delivery]`: how events reach callbacks (concurrency, timeouts, retries), which
//! destinations they may reach, and what happens when an event fails for good.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::typed;
use crate::destination::{DestinationPolicy, ProxyUrl};
use crate::instance::FailurePolicy;

/// `[delivery]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// In-flight callback requests, whole process.
    #[serde(deserialize_with = "typed::positive")]
    pub concurrency: NonZeroUsize,
    /// In-flight callback requests per instance.
    #[serde(deserialize_with = "typed::positive")]
    pub per_instance_concurrency: NonZeroUsize,
    /// Whole-request timeout of one callback POST.
    #[serde(deserialize_with = "typed::positive")]
    pub timeout_ms: NonZeroU64,
    /// First try plus retries; then the event is `failed` (kept, replayable).
    #[serde(deserialize_with = "typed::positive")]
    pub max_attempts: NonZeroU32,
    /// Delay before retry x = base * factor^(x-1), capped, ± jitter.
    #[serde(deserialize_with = "typed::positive")]
    pub backoff_base_ms: NonZeroU64,
    /// See `backoff_base_ms`; at least 1.0.
    pub backoff_factor: f64,
    /// Upper bound of one retry delay, also of an honoured `Retry-After`; at least
    /// `backoff_base_ms`.
    pub backoff_max_ms: u64,
    /// ± fraction applied to each delay, in [0, 1).
    pub jitter: f64,
    /// Allow callbacks to loopback, private, link-local, metadata and every other
    /// special-purpose address.
    pub allow_private_destinations: bool,
    /// CIDRs (`"10.20.0.0/16"`, `"fd00:1::/64"`) whose addresses callbacks may reach even
    /// though they are not public: the finer alternative to `allow_private_destinations`.
    #[serde(with = "typed::networks")]
    pub allowed_private_networks: Vec<IpNet>,
    /// A proxy for every callback request (`http://proxy.internal:3128`). Empty: none, and
    /// `HTTP_PROXY`/`ALL_PROXY` are ignored. Destinations are checked before the proxy.
    #[serde(with = "typed::optional_proxy")]
    pub proxy_url: Option<ProxyUrl>,
    /// Longest sleep of the poller that picks up due retries and abandoned events.
    #[serde(deserialize_with = "typed::positive")]
    pub poll_interval_ms: NonZeroU64,
    /// When an event exhausts `max_attempts`: `retry` (it is `failed`, later events go on)
    /// or `queue` (its instance is also suspended until an operator resumes it). An
    /// instance's `notification.webhook.failure.policy` overrides it.
    pub failure_policy: FailurePolicy,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        const CONCURRENCY: NonZeroUsize = NonZeroUsize::new(64).unwrap();
        const PER_INSTANCE: NonZeroUsize = NonZeroUsize::new(8).unwrap();
        const MAX_ATTEMPTS: NonZeroU32 = NonZeroU32::new(10).unwrap();
        const TIMEOUT_MS: NonZeroU64 = NonZeroU64::new(15_000).unwrap();
        const BACKOFF_BASE_MS: NonZeroU64 = NonZeroU64::new(4_000).unwrap();
        const POLL_INTERVAL_MS: NonZeroU64 = NonZeroU64::new(1_000).unwrap();
        Self {
            concurrency: CONCURRENCY,
            per_instance_concurrency: PER_INSTANCE,
            timeout_ms: TIMEOUT_MS,
            max_attempts: MAX_ATTEMPTS,
            backoff_base_ms: BACKOFF_BASE_MS,
            backoff_factor: 4.0,
            backoff_max_ms: 262_144_000,
            jitter: 0.2,
            allow_private_destinations: false,
            allowed_private_networks: Vec::new(),
            proxy_url: None,
            poll_interval_ms: POLL_INTERVAL_MS,
            failure_policy: FailurePolicy::Retry,
        }
    }
}

impl DeliveryConfig {
    /// The destination guard these settings describe.
    pub fn destination_policy(&self) -> DestinationPolicy {
        DestinationPolicy::new(
            self.allow_private_destinations,
            &self.allowed_private_networks,
        )
    }

    /// `timeout_ms`.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }

    /// `poll_interval_ms`.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.get())
    }
}
