//! The `queue` failure policy: an instance whose event exhausted its retries is suspended
//! (in the store, so it survives restarts and every replica sees it), its later events held
//! until an operator resumes it. The [`recorder`](super::recorder) suspends, once the failed
//! outcome is committed; the admin API and the CLI resume. Each transition is logged (the
//! instance, and the event that caused it) and counted.

use crate::clock::now_ms;
use crate::instance::{FailurePolicy, Instance, Instances};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// The policy that applies to `instance`: its own key, else the relay's setting.
pub fn policy_of(instance: Option<&Instance>, relay: FailurePolicy) -> FailurePolicy {
    instance.and_then(|i| i.failure_policy).unwrap_or(relay)
}

/// A suspension to make once an event's failure is committed.
#[derive(Debug, Clone)]
pub struct Suspend {
    /// The instance.
    pub instance_id: i64,
    /// The event that failed for good.
    pub event_id: String,
    /// Its last attempt's number.
    pub attempt: u32,
}

/// Suspends the instance (unless it already is), then counts, logs and reloads this
/// replica's registry, so that its events already in memory are not attempted.
pub async fn suspend(
    store: &Store,
    instances: &Instances,
    metrics: &Metrics,
    s: &Suspend,
) -> Result<(), StoreError> {
    let new = store
        .suspend_instance(s.instance_id, &s.event_id, s.attempt, now_ms())
        .await?;
    if new {
        metrics.suspension("suspended");
        tracing::info!(
            instance_id = s.instance_id,
            event_id = %s.event_id,
            "instance suspended (failure policy queue): its events are held until it is resumed"
        );
        instances.refresh(store, true).await?;
    }
    Ok(())
}

/// Lifts a suspension; true when the instance was suspended (then counted in `metrics`,
/// when given, and logged with the event that had suspended it).
pub async fn resume(
    store: &Store,
    metrics: Option<&Metrics>,
    instance_id: i64,
    via: &'static str,
) -> Result<bool, StoreError> {
    let cause = store
        .suspensions()
        .await?
        .into_iter()
        .find(|s| s.instance_id == instance_id);
    let resumed = store.resume_instance(instance_id).await?;
    if resumed {
        if let Some(m) = metrics {
            m.suspension("resumed");
        }
        tracing::info!(
            instance_id,
            event_id = cause.as_ref().map(|c| c.event_id.as_str()),
            via,
            "instance resumed: its held events are delivered, oldest first"
        );
    }
    Ok(resumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_key_wins_over_the_relay_setting() {
        let config = crate::instance::InstanceConfig {
            id: 1,
            name: "x".into(),
            element: "box".into(),
            tags: vec![],
            account_id: None,
            company_id: None,
            user_id: None,
            disabled: false,
            configuration: [(
                crate::instance::keys::FAILURE_POLICY.to_string(),
                serde_json::json!("queue"),
            )]
            .into_iter()
            .collect(),
        };
        let mut instance = Instance::from_config(&config).unwrap();
        assert_eq!(
            policy_of(Some(&instance), FailurePolicy::Retry),
            FailurePolicy::Queue
        );
        instance.failure_policy = None;
        assert_eq!(
            policy_of(Some(&instance), FailurePolicy::Queue),
            FailurePolicy::Queue
        );
        assert_eq!(policy_of(None, FailurePolicy::Retry), FailurePolicy::Retry);
    }
}
