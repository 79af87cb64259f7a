//! What no single value can say: the checks across keys, made once the configuration is read
//! (every value already has its type), and the file's instances, validated into
//! [`Instance`]s.

use std::collections::HashSet;

use super::{invalid, Config, ConfigError};
use crate::instance::Instance;

impl Config {
    /// Checks the values against each other; returns the instances the file defines.
    pub fn validate(&self) -> Result<Vec<Instance>, ConfigError> {
        if self.server.body_budget_bytes < self.server.body_limit_bytes.get() {
            return Err(invalid(
                "server.body_budget_bytes",
                "must be at least server.body_limit_bytes (one largest body must fit)",
            ));
        }
        if self.admin.user_secret.is_empty() != self.admin.organization_secret.is_empty() {
            return Err(invalid(
                "admin.user_secret",
                "set both user_secret and organization_secret, or neither",
            ));
        }
        let window = self.box_.freshness_window_secs();
        let retention = self.storage.delivered_retention_secs;
        if retention != 0 && retention < window {
            return Err(invalid(
                "storage.delivered_retention_secs",
                format!(
                    "{retention} s is shorter than the window in which a signed Box delivery \
                     is accepted (box.max_age_secs + box.max_future_skew_secs = {window} s): a \
                     captured delivery could be replayed after its record is pruned; keep \
                     delivered events at least {window} s (or 0, forever)"
                ),
            ));
        }
        self.validate_secrets_key()?;
        let d = &self.delivery;
        if !(d.backoff_factor.is_finite() && d.backoff_factor >= 1.0) {
            return Err(invalid("delivery.backoff_factor", "must be at least 1.0"));
        }
        if d.backoff_max_ms < d.backoff_base_ms.get() {
            return Err(invalid(
                "delivery.backoff_max_ms",
                "must be at least delivery.backoff_base_ms",
            ));
        }
        if !(0.0..1.0).contains(&d.jitter) {
            return Err(invalid("delivery.jitter", "must be in [0, 1)"));
        }
        self.file_instances()
    }

    /// The `[[instances]]`, validated, ids unique; errors name `instances[i].key`.
    fn file_instances(&self) -> Result<Vec<Instance>, ConfigError> {
        let mut seen = HashSet::new();
        let mut instances = Vec::with_capacity(self.instances.len());
        for (i, inst) in self.instances.iter().enumerate() {
            if !seen.insert(inst.id) {
                return Err(invalid(
                    format!("instances[{i}].id"),
                    format!("duplicate instance id {}", inst.id),
                ));
            }
            instances.push(
                Instance::from_config(inst)
                    .map_err(|e| invalid(format!("instances[{i}].{}", e.key), e.reason))?,
            );
        }
        Ok(instances)
    }
}
