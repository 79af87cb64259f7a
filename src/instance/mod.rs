//! An instance: one Box account's connection to one consumer, as Cloud Elements models it.
//! Ingest looks instances up by id in the [`registry`]; delivery reads their callback and
//! signing keys. Instances come from the config file ([`InstanceConfig`], read-only) or the
//! admin API ([`api`]); both are validated here, into an [`Instance`], with errors naming the
//! key. Below the configuration, which reads its `[[instances]]` through this module.

pub mod api;
pub mod entries;
pub mod keys;
pub mod policy;
pub mod registry;
pub mod selection;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

pub use policy::FailurePolicy;
pub use registry::Instances;
pub use selection::Selection;

use crate::invalid::InvalidValue;
use crate::secret::{Secret, StandardKey, TokenDigest};

/// One instance as written: an `[[instances]]` entry of the config file, or an instance
/// stored through the admin API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Positive integer, unique.
    pub id: i64,
    /// Shown as `message.instanceName`.
    pub name: String,
    /// Must be `box`.
    #[serde(default = "default_element")]
    pub element: String,
    /// Shown as `message.instanceTags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Copied into `message.accountId` when set.
    pub account_id: Option<i64>,
    /// Copied into `message.companyId` when set.
    pub company_id: Option<i64>,
    /// Copied into `message.userId` when set.
    pub user_id: Option<i64>,
    /// When true, Box deliveries to this instance are answered `ignored`.
    #[serde(default)]
    pub disabled: bool,
    /// Cloud Elements-style configuration; open-ended, known keys validated.
    #[serde(default)]
    pub configuration: BTreeMap<String, serde_json::Value>,
}

fn default_element() -> String {
    "box".into()
}

/// Where an instance is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The config file: read-only through the API.
    Config,
    /// Created through the admin API, kept in the store.
    Api,
}

/// A validated instance, ready for ingest and delivery.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Positive id, as Cloud Elements instance ids.
    pub id: i64,
    /// `message.instanceName`.
    pub name: String,
    /// `message.instanceTags`.
    pub tags: Vec<String>,
    /// `message.accountId`, when set.
    pub account_id: Option<i64>,
    /// `message.companyId`, when set.
    pub company_id: Option<i64>,
    /// `message.userId`, when set.
    pub user_id: Option<i64>,
    /// Whether events are delivered; when false, Box deliveries answer `ignored`.
    pub events_enabled: bool,
    /// The consumer's callback (required when events are enabled).
    pub callback_url: Option<Url>,
    /// Key of `Elements-Webhook-Signature`.
    pub signature_key: Option<Secret>,
    /// Box V2 primary key.
    pub box_primary_key: Option<Secret>,
    /// Box V2 secondary key.
    pub box_secondary_key: Option<Secret>,
    /// Box V1 URL token.
    pub v1_token: Option<Secret>,
    /// Standard Webhooks key (`whsec_…`), decoded.
    pub standard_secret: Option<StandardKey>,
    /// `box.webhook.recreate`: re-create a managed Box webhook that Box deleted.
    pub box_webhook_recreate: bool,
    /// A disabled instance answers Box `ignored`.
    pub disabled: bool,
    /// `notification.webhook.failure.policy`, when set (else `delivery.failure_policy`).
    pub failure_policy: Option<FailurePolicy>,
    /// Which Box events it wants (`event.metadata`, `event.notification.triggers`); `None`:
    /// every event.
    pub selection: Option<Selection>,
    /// Suspended under the `queue` policy: its events are stored, not attempted. Read from
    /// the store by the [`registry`] (false in an instance built from its configuration).
    pub suspended: bool,
    /// The configuration as given, for the API to echo (masked).
    pub configuration: BTreeMap<String, serde_json::Value>,
    /// Config file or API.
    pub origin: Origin,
    /// The digest of the instance token (API instances only).
    pub token: Option<TokenDigest>,
    /// Creation time, unix milliseconds (API instances only).
    pub created_at_ms: Option<i64>,
}

fn conf_key(key: &str) -> String {
    format!("configuration.\"{key}\"")
}

impl Instance {
    /// Validates one `[[instances]]` entry.
    pub fn from_config(c: &InstanceConfig) -> Result<Self, InvalidValue> {
        if c.id <= 0 {
            return Err(InvalidValue::new("id", "must be a positive integer"));
        }
        if c.element != "box" {
            return Err(InvalidValue::new("element", "only \"box\" is supported"));
        }
        let get_str = |key: &str| -> Result<Option<String>, InvalidValue> {
            match c.configuration.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(InvalidValue::new(conf_key(key), "must be a string")),
            }
        };
        let get_bool = |key: &str| -> Result<bool, InvalidValue> {
            match c.configuration.get(key) {
                None | Some(serde_json::Value::Null) => Ok(false),
                Some(serde_json::Value::Bool(b)) => Ok(*b),
                Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
                Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
                Some(_) => Err(InvalidValue::new(conf_key(key), "must be true or false")),
            }
        };
        let events_enabled = get_bool(keys::EVENTS_ENABLED)?;
        let box_webhook_recreate = get_bool(keys::BOX_WEBHOOK_RECREATE)?;
        // Read where it is used (Cloud Elements' V1 intake); refused here when not a flag.
        get_bool(keys::BOX_V1_MATCH_USER_ID)?;
        let callback_url = get_str(keys::CALLBACK_URL)?
            .map(|s| {
                parse_callback_url(&s)
                    .map_err(|r| InvalidValue::new(conf_key(keys::CALLBACK_URL), r))
            })
            .transpose()?;
        let standard_secret = get_str(keys::STANDARD_SECRET)?
            .map(|secret| {
                StandardKey::parse(&secret)
                    .map_err(|reason| InvalidValue::new(conf_key(keys::STANDARD_SECRET), reason))
            })
            .transpose()?;
        let failure_policy = get_str(keys::FAILURE_POLICY)?
            .map(|p| {
                FailurePolicy::parse(&p)
                    .map_err(|r| InvalidValue::new(conf_key(keys::FAILURE_POLICY), r))
            })
            .transpose()?;
        if events_enabled && callback_url.is_none() {
            return Err(InvalidValue::new(
                conf_key(keys::CALLBACK_URL),
                "required when event.notification.enabled is true",
            ));
        }
        Ok(Self {
            id: c.id,
            name: c.name.clone(),
            tags: c.tags.clone(),
            account_id: c.account_id,
            company_id: c.company_id,
            user_id: c.user_id,
            events_enabled,
            callback_url,
            signature_key: get_str(keys::SIGNATURE_KEY)?.map(Secret::new),
            box_primary_key: get_str(keys::BOX_PRIMARY_KEY)?.map(Secret::new),
            box_secondary_key: get_str(keys::BOX_SECONDARY_KEY)?.map(Secret::new),
            v1_token: get_str(keys::BOX_V1_TOKEN)?.map(Secret::new),
            standard_secret,
            box_webhook_recreate,
            disabled: c.disabled,
            failure_policy,
            selection: selection::parse(&c.configuration)?,
            suspended: false,
            configuration: c.configuration.clone(),
            origin: Origin::Config,
            token: None,
            created_at_ms: None,
        })
    }

    /// Validates an instance created through the API.
    pub fn from_stored(s: &crate::store::records::StoredInstance) -> Result<Self, InvalidValue> {
        let mut instance = Self::from_config(&InstanceConfig {
            id: s.id,
            name: s.name.clone(),
            element: "box".into(),
            tags: s.tags.clone(),
            account_id: None,
            company_id: None,
            user_id: None,
            disabled: s.disabled,
            configuration: s.configuration.clone(),
        })?;
        instance.origin = Origin::Api;
        instance.token = Some(s.token);
        instance.created_at_ms = Some(s.created_at_ms);
        Ok(instance)
    }
}

/// An absolute `http` or `https` URL with a host.
pub fn parse_callback_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if url.host().is_none() {
        return Err("URL has no host".into());
    }
    Ok(url)
}
