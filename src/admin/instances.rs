//! Instances through the admin surfaces. Instances of the config file are listed but
//! read-only. Every change is validated as a config file's instance is, plus the callback's
//! destination, then stored, and this replica's registry reloaded. An instance created with
//! an OAuth code (or `box.auth = "client_credentials"`) gets its Box tokens first: if Box
//! refuses, nothing is created.

use std::sync::Arc;

use rand::RngCore;

use super::{AdminError, AdminResult, AdminService};
use crate::box_api::client::Grant;
use crate::box_api::keys as box_keys;
use crate::box_api::tokens::BoxAuth;
use crate::instance::api::{self, InstanceRequest};
use crate::instance::{Instance, Origin};
use crate::invalid::InvalidValue;
use crate::secret::{Secret, TokenDigest};
use crate::store::records::StoredInstance;

/// A new instance and its token, which is shown this once (the store keeps its digest).
pub struct Created {
    /// The instance as stored.
    pub instance: Instance,
    /// Its token.
    pub token: Secret,
}

/// A new instance token: 32 random bytes, URL-safe base64.
fn new_token() -> Secret {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The instance of a stored form, as the registry loads it.
fn instance_of(stored: &StoredInstance) -> AdminResult<Instance> {
    Instance::from_stored(stored).map_err(Into::into)
}

const NO_SUCH_INSTANCE: AdminError = AdminError::NotFound("no such instance");

impl AdminService {
    /// Every instance, by id.
    pub fn list_instances(&self) -> Vec<Arc<Instance>> {
        self.instances.all()
    }

    /// Creates an instance from a `POST /instances` body; Box tokens first when it asks for
    /// them.
    pub async fn create_instance(&self, request: &InstanceRequest) -> AdminResult<Created> {
        let mut new = api::new_instance(request)?;
        let token = new_token();
        new.token = TokenDigest::of(token.expose());
        let probe = self.validate(&new).await?;
        let grant = self.box_grant(&probe, request).await?;
        let stored = self
            .store
            .create_instance(&new, self.instances.config_max_id())
            .await
            .map_err(|e| self.unavailable(e))?;
        if let Some(grant) = grant {
            if let Err(e) = self.box_auth.store_grant(stored.id, &grant).await {
                // Without its tokens the instance is not what was asked for: take it back.
                let _ = self.store.delete_instance(stored.id).await;
                return Err(e.into());
            }
        }
        self.reload().await;
        tracing::info!(instance_id = stored.id, "instance created");
        Ok(Created {
            instance: instance_of(&stored)?,
            token,
        })
    }

    /// The instance `id`, reading the store when this replica has not seen it yet.
    pub async fn instance(&self, id: i64) -> AdminResult<Arc<Instance>> {
        if let Some(instance) = self.instances.get(id) {
            return Ok(instance);
        }
        match self.store.get_instance(id).await {
            Ok(Some(_)) => {
                self.reload().await;
                self.instances.get(id).ok_or(NO_SUCH_INSTANCE)
            }
            Ok(None) => Err(NO_SUCH_INSTANCE),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// Applies a `PATCH /instances/{id}` body: fields given replace, configuration keys
    /// given as `null` go. Answers the instance as changed.
    pub async fn patch_instance(
        &self,
        id: i64,
        request: &InstanceRequest,
    ) -> AdminResult<Instance> {
        let old = self.stored(id).await?;
        let mut instance = old.clone();
        api::patch_instance(&mut instance, request)?;
        let probe = self.validate(&instance).await?;
        // A new `providerData.code` re-provisions, as in `PUT` (Cloud Elements re-provisions
        // by PATCH too); Client Credentials alone do not fetch tokens on every change.
        let grant = match request.oauth_code()? {
            Some(_) => self.box_grant(&probe, request).await?,
            None => None,
        };
        self.overwrite(&instance).await?;
        self.store_grant(id, grant, &old).await?;
        self.reload().await;
        tracing::info!(instance_id = instance.id, "instance updated");
        instance_of(&instance)
    }

    /// Stores the Box tokens a `PUT` or `PATCH` obtained; if that fails, puts `old` back
    /// rather than leave an instance without the tokens asked for.
    async fn store_grant(
        &self,
        id: i64,
        grant: Option<Grant>,
        old: &StoredInstance,
    ) -> AdminResult<()> {
        let Some(grant) = grant else {
            return Ok(());
        };
        if let Err(e) = self.box_auth.store_grant(id, &grant).await {
            let _ = self.store.update_instance(old).await;
            self.reload().await;
            return Err(e.into());
        }
        tracing::info!(
            instance_id = id,
            "instance re-provisioned with new Box tokens"
        );
        Ok(())
    }

    /// Writes `instance` over its stored row; [`NO_SUCH_INSTANCE`] when it is gone.
    async fn overwrite(&self, instance: &StoredInstance) -> AdminResult<()> {
        let found = self
            .store
            .update_instance(instance)
            .await
            .map_err(|e| self.unavailable(e))?;
        if found {
            Ok(())
        } else {
            Err(NO_SUCH_INSTANCE)
        }
    }

    /// Replaces instance `id` whole from a `PUT /instances/{id}` body (as `POST` reads it),
    /// keeping its id, token and creation date. With `providerData.code` (or Client
    /// Credentials) new Box tokens are obtained first: if Box refuses, nothing changes.
    pub async fn replace_instance(
        &self,
        id: i64,
        request: &InstanceRequest,
    ) -> AdminResult<Instance> {
        let old = self.stored(id).await?;
        let replacement = api::new_instance(request)?;
        let instance = StoredInstance {
            id: old.id,
            token: old.token,
            created_at_ms: old.created_at_ms,
            ..replacement
        };
        let probe = self.validate(&instance).await?;
        let grant = self.box_grant(&probe, request).await?;
        self.overwrite(&instance).await?;
        self.store_grant(id, grant, &old).await?;
        self.reload().await;
        tracing::info!(instance_id = id, "instance replaced");
        instance_of(&instance)
    }

    /// Deletes an instance; answers it as it was. Its stored events stay readable by
    /// `eventId`; pending ones end as failed, since there is no callback any more.
    pub async fn delete_instance(&self, id: i64) -> AdminResult<Instance> {
        let instance = self.stored(id).await?;
        let found = self
            .store
            .delete_instance(instance.id)
            .await
            .map_err(|e| self.unavailable(e))?;
        if !found {
            return Err(NO_SUCH_INSTANCE);
        }
        self.reload().await;
        tracing::info!(instance_id = instance.id, "instance deleted");
        instance_of(&instance)
    }

    /// The stored form of an API instance; `read_only` for the config file's.
    async fn stored(&self, id: i64) -> AdminResult<StoredInstance> {
        if self
            .instances
            .get(id)
            .is_some_and(|i| i.origin == Origin::Config)
        {
            return Err(AdminError::Conflict {
                code: "read_only",
                detail: "this instance is defined in the configuration file; change it there"
                    .into(),
            });
        }
        self.store
            .get_instance(id)
            .await
            .map_err(|e| self.unavailable(e))?
            .ok_or(NO_SUCH_INSTANCE)
    }

    /// Validates a stored form as the registry will load it, and its callback's destination.
    async fn validate(&self, stored: &StoredInstance) -> AdminResult<Instance> {
        // The id is not known yet for a new instance; any positive one validates alike.
        let probe = StoredInstance {
            id: stored.id.max(1),
            ..stored.clone()
        };
        let instance = instance_of(&probe)?;
        if let Some(url) = &instance.callback_url {
            crate::destination::check_destination(url, &self.destinations)
                .await
                .map_err(|reason| {
                    InvalidValue::new(
                        format!("configuration.\"{}\"", crate::instance::keys::CALLBACK_URL),
                        reason,
                    )
                })?;
        }
        Ok(instance)
    }

    /// Box tokens for a new instance, when its body asks for them: an OAuth
    /// `providerData.code`, or Client Credentials (`box.auth`).
    async fn box_grant(
        &self,
        instance: &Instance,
        request: &InstanceRequest,
    ) -> AdminResult<Option<Grant>> {
        let code = request.oauth_code()?;
        let Some(form) = BoxAuth::provisioning_grant(instance, code) else {
            return Ok(None);
        };
        let mut required = vec![box_keys::CLIENT_ID, box_keys::CLIENT_SECRET];
        if code.is_none() {
            required.push(box_keys::ENTERPRISE_ID);
        }
        for key in required {
            let set = instance
                .configuration
                .get(key)
                .and_then(serde_json::Value::as_str)
                .is_some_and(|v| !v.is_empty());
            if !set {
                return Err(InvalidValue::new(
                    format!("configuration.\"{key}\""),
                    "required to authorize with Box",
                )
                .into());
            }
        }
        let grant = self.box_auth.obtain(&form).await?;
        tracing::info!("Box authorization obtained");
        Ok(Some(grant))
    }
}
