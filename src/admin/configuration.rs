//! An instance's configuration entries and state, as Cloud Elements' scripts change them one
//! at a time: read the entries, change one entry's value, enable or disable the instance,
//! list instances by tag. Every change is an instance PATCH underneath (same validation,
//! same write → reload), so a value refused there is refused here with the same key named,
//! and the configuration file's instances stay read-only.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{AdminError, AdminResult, AdminService};
use crate::input;
use crate::instance::api::InstanceRequest;
use crate::instance::entries::{self, ConfigEntry, PropertyPatch};
use crate::instance::Instance;
use crate::invalid::InvalidValue;

const NO_SUCH_ENTRY: AdminError = AdminError::NotFound("no such configuration entry");

impl AdminService {
    /// Instances carrying any of `tags` (every instance when `tags` is empty), by id.
    pub fn instances_tagged(&self, tags: &[String]) -> Vec<Arc<Instance>> {
        self.list_instances()
            .into_iter()
            .filter(|i| tags.is_empty() || i.tags.iter().any(|t| tags.contains(t)))
            .collect()
    }

    /// The configuration entries of instance `id`.
    pub async fn configuration(&self, id: i64) -> AdminResult<Vec<ConfigEntry>> {
        Ok(entries::entries(&*self.instance(id).await?))
    }

    /// The entry `config_id` (its numeric id or its key) of instance `id`.
    pub async fn configuration_entry(&self, id: i64, config_id: &str) -> AdminResult<ConfigEntry> {
        entries::entry(&*self.instance(id).await?, config_id).ok_or(NO_SUCH_ENTRY)
    }

    /// Changes one entry from a `{"propertyValue": …}` body, validated as an instance PATCH
    /// validates that key; answers the entry as changed.
    pub async fn patch_configuration(
        &self,
        id: i64,
        config_id: &str,
        body: Map<String, Value>,
    ) -> AdminResult<ConfigEntry> {
        let entry = self.configuration_entry(id, config_id).await?;
        self.set_configuration(id, &entry.key, body).await
    }

    /// Sets configuration key `key` of instance `id` from a `{"propertyValue": …}` body,
    /// whether the key is set yet or not (Cloud Elements' surface shows defaults that are
    /// not stored); answers the entry as changed.
    pub async fn set_configuration(
        &self,
        id: i64,
        key: &str,
        body: Map<String, Value>,
    ) -> AdminResult<ConfigEntry> {
        if !body.contains_key("propertyValue") {
            return Err(
                InvalidValue::new("propertyValue", "required (null removes the key)").into(),
            );
        }
        let patch: PropertyPatch = input::typed(body)?;
        if patch.key.as_ref().is_some_and(|k| k != key) {
            return Err(InvalidValue::new("key", format!("must be this entry's, {key:?}")).into());
        }
        let request = InstanceRequest {
            configuration: Some([(key.to_string(), patch.property_value)].into()),
            ..InstanceRequest::default()
        };
        let instance = self.patch_instance(id, &request).await?;
        tracing::info!(instance_id = id, key = %key, "configuration entry changed");
        entries::entry(&instance, key).ok_or(NO_SUCH_ENTRY)
    }

    /// Enables (`true`) or disables instance `id`: a disabled instance answers Box `ignored`.
    pub async fn set_enabled(&self, id: i64, enabled: bool) -> AdminResult<Instance> {
        let request = InstanceRequest {
            disabled: Some(!enabled),
            ..InstanceRequest::default()
        };
        let instance = self.patch_instance(id, &request).await?;
        tracing::info!(instance_id = id, enabled, "instance enabled state set");
        Ok(instance)
    }
}
