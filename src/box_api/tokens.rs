//! An instance's Box access token, kept fresh: obtained at provisioning (authorization code
//! or Client Credentials), sealed in the store, refreshed a minute before it expires or when
//! Box answers 401. Box refresh tokens are single-use, so a refresh happens under a lease in
//! the store (one replica at a time; the others wait for the new version) and the rotated
//! refresh token is stored in the same statement as the access token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::client::{BoxClient, BoxError, Grant};
use super::keys;
use crate::clock::now_ms;
use crate::instance::Instance;
use crate::secret::Cipher;
use crate::secret::Secret;
use crate::store::box_api::TokenRow;
use crate::store::{Store, StoreError};

/// Refresh this long before Box says the token expires.
const REFRESH_MARGIN_MS: i64 = 60_000;
/// A refresh lease: longer than one token call may take.
const LEASE_MS: i64 = 30_000;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The relay keeps no Box authorization for this instance.
    #[error("the instance has no Box authorization (provision it with an OAuth code or Client Credentials)")]
    NotAuthorized,
    /// No secrets key is configured.
    #[error("no secrets key is configured, so the relay cannot keep Box tokens")]
    NoKey,
    /// The stored tokens cannot be decrypted (the key changed).
    #[error("the stored Box tokens cannot be decrypted with secrets.encryption_key; provision the instance again")]
    Unreadable,
    /// Box refused or could not be reached.
    #[error(transparent)]
    Box(#[from] BoxError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another replica held the refresh lease for too long.
    #[error("timed out waiting for another replica's token refresh")]
    Busy,
}

/// A usable access token and the version of the stored tokens it came from.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Bearer token.
    pub token: Secret,
    /// Stored version; pass it back to [`BoxAuth::token`] after a 401.
    pub version: i64,
}

/// Box tokens of every instance, shared by the routes that call Box.
pub struct BoxAuth {
    store: Store,
    client: BoxClient,
    cipher: Option<Cipher>,
    owner: String,
    /// One refresh at a time per instance within this process.
    local: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl BoxAuth {
    /// Tokens sealed with `cipher` (none: no secrets key).
    pub fn new(store: Store, client: BoxClient, cipher: Option<Cipher>) -> Self {
        Self {
            store,
            client,
            cipher,
            owner: format!("relay-{}", uuid::Uuid::new_v4()),
            local: Mutex::default(),
        }
    }

    /// The Box client.
    pub fn client(&self) -> &BoxClient {
        &self.client
    }

    fn cipher(&self) -> Result<&Cipher, TokenError> {
        self.cipher.as_ref().ok_or(TokenError::NoKey)
    }

    /// The form of a grant for a new instance: its OAuth `code`, or Client Credentials when
    /// the configuration says `box.auth = "client_credentials"`; `None` when it has neither.
    pub fn provisioning_grant(
        instance: &Instance,
        code: Option<&str>,
    ) -> Option<Vec<(&'static str, String)>> {
        let conf = |key: &str| {
            instance
                .configuration
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let client = [
            ("client_id", conf(keys::CLIENT_ID)),
            ("client_secret", conf(keys::CLIENT_SECRET)),
        ];
        if let Some(code) = code {
            let mut form = vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code.to_string()),
            ];
            form.extend(client);
            let redirect = conf(keys::REDIRECT_URI);
            if !redirect.is_empty() {
                form.push(("redirect_uri", redirect));
            }
            return Some(form);
        }
        (conf(keys::AUTH) == "client_credentials").then(|| {
            let mut form = vec![("grant_type", "client_credentials".to_string())];
            form.extend(client);
            form.push(("box_subject_type", "enterprise".to_string()));
            form.push(("box_subject_id", conf(keys::ENTERPRISE_ID)));
            form
        })
    }

    /// Runs a provisioning grant (before the instance is stored: a refusal creates nothing).
    pub async fn obtain(&self, form: &[(&'static str, String)]) -> Result<Grant, TokenError> {
        self.cipher()?;
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(self.client.grant(&form).await?)
    }

    /// Stores the first tokens of an instance.
    pub async fn store_grant(&self, instance_id: i64, grant: &Grant) -> Result<(), TokenError> {
        let row = self.seal(instance_id, grant)?;
        self.store.put_tokens(instance_id, &row).await?;
        Ok(())
    }

    fn seal(&self, instance_id: i64, grant: &Grant) -> Result<TokenRow, TokenError> {
        let cipher = self.cipher()?;
        Ok(TokenRow {
            access_token: cipher.seal(instance_id, grant.access_token.expose()),
            refresh_token: grant
                .refresh_token
                .as_ref()
                .map(|r| cipher.seal(instance_id, r.expose())),
            expires_at_ms: now_ms() + grant.expires_in.as_millis() as i64,
            version: 0,
        })
    }

    /// A fresh access token for `instance`. `rejected` is the version of a token Box just
    /// answered 401 to: unless another refresh already replaced it, it is refreshed.
    #[tracing::instrument(skip_all, fields(instance_id = instance.id))]
    pub async fn token(
        &self,
        instance: &Instance,
        rejected: Option<i64>,
    ) -> Result<AccessToken, TokenError> {
        let cipher = self.cipher()?;
        let lock = self
            .local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(instance.id)
            .or_default()
            .clone();
        let _one_at_a_time = lock.lock().await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(LEASE_MS as u64 + 5_000);
        loop {
            let row = self
                .store
                .get_tokens(instance.id)
                .await?
                .ok_or(TokenError::NotAuthorized)?;
            let now = now_ms();
            if row.expires_at_ms - REFRESH_MARGIN_MS > now && rejected != Some(row.version) {
                let token = cipher
                    .open(instance.id, &row.access_token)
                    .ok_or(TokenError::Unreadable)?;
                return Ok(AccessToken {
                    token,
                    version: row.version,
                });
            }
            if self
                .store
                .begin_refresh(instance.id, row.version, &self.owner, now, now + LEASE_MS)
                .await?
            {
                return self.refresh(instance, &row).await;
            }
            // Another replica is refreshing: wait for its new version.
            if tokio::time::Instant::now() > deadline {
                return Err(TokenError::Busy);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Refreshes under the lease just taken, and stores the result.
    async fn refresh(
        &self,
        instance: &Instance,
        row: &TokenRow,
    ) -> Result<AccessToken, TokenError> {
        let result = self.grant_for_refresh(instance, row).await;
        let grant = match result {
            Ok(grant) => grant,
            Err(e) => {
                self.store.abort_refresh(instance.id, &self.owner).await?;
                return Err(e);
            }
        };
        let sealed = self.seal(instance.id, &grant)?;
        // Box has already rotated the refresh token: storing the new one must not be lost
        // to a passing store error.
        let mut pause = Duration::from_millis(50);
        let mut tries = 0;
        loop {
            match self
                .store
                .finish_refresh(instance.id, &self.owner, &sealed)
                .await
            {
                Ok(true) => break,
                Ok(false) => {
                    tracing::error!("refresh lease lost before the new tokens were stored");
                    return Err(TokenError::Busy);
                }
                Err(e) if tries < 10 => {
                    tracing::warn!(error = %e, "storing refreshed Box tokens failed, retrying");
                    tries += 1;
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!("Box tokens refreshed");
        Ok(AccessToken {
            token: grant.access_token,
            version: row.version + 1,
        })
    }

    async fn grant_for_refresh(
        &self,
        instance: &Instance,
        row: &TokenRow,
    ) -> Result<Grant, TokenError> {
        let cipher = self.cipher()?;
        match &row.refresh_token {
            Some(sealed) => {
                let refresh = cipher
                    .open(instance.id, sealed)
                    .ok_or(TokenError::Unreadable)?;
                let conf = |key: &str| {
                    instance
                        .configuration
                        .get(key)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                };
                Ok(self
                    .client
                    .grant(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh.expose()),
                        ("client_id", conf(keys::CLIENT_ID)),
                        ("client_secret", conf(keys::CLIENT_SECRET)),
                    ])
                    .await?)
            }
            // Client Credentials: no refresh token, ask again.
            None => {
                let form =
                    Self::provisioning_grant(instance, None).ok_or(TokenError::NotAuthorized)?;
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Ok(self.client.grant(&form).await?)
            }
        }
    }
}
