//! Every instance configuration key the relay knows, in one place: the keys it reads
//! (events, Box signatures, Box authorization) and the Cloud Elements keys it accepts and
//! ignores. Any other key is kept (Cloud Elements allows arbitrary keys) but named in a
//! warning, with the nearest known key, since it is most often a typo. [`is_secret_key`] says
//! which keys hold secrets, masked in every output.

use std::collections::BTreeMap;
use std::fmt;

use crate::suggest::nearest;

/// Boolean (or `"true"`/`"false"`): deliver events at all. Off when absent.
pub const EVENTS_ENABLED: &str = "event.notification.enabled";
/// Where normalized events are POSTed.
pub const CALLBACK_URL: &str = "event.notification.callback.url";
/// Optional key of `Elements-Webhook-Signature`.
pub const SIGNATURE_KEY: &str = "event.notification.signature.key";
/// Box V2 primary signature key.
pub const BOX_PRIMARY_KEY: &str = "box.webhook.primary.key";
/// Box V2 secondary signature key.
pub const BOX_SECONDARY_KEY: &str = "box.webhook.secondary.key";
/// Token a Box V1 callback URL must carry.
pub const BOX_V1_TOKEN: &str = "box.webhook.v1.token";
/// Optional Standard Webhooks secret (`whsec_<base64>`): adds `webhook-id`,
/// `webhook-timestamp` and `webhook-signature` to every delivery.
pub const STANDARD_SECRET: &str = "event.notification.standard.secret";
/// Boolean (or `"true"`/`"false"`): when Box deletes a webhook the relay manages for the
/// instance (`WEBHOOK.DELETED`), create it again with the same target and triggers. Off when
/// absent.
pub const BOX_WEBHOOK_RECREATE: &str = "box.webhook.recreate";

/// Boolean (or `"true"`/`"false"`): let Box V1 callbacks sent to Cloud Elements' intake
/// (`POST /elements/api-v2/events/box`) reach this instance when their `userId` is its
/// [`OAUTH_USER_ID`]. Off when absent: V1 carries no signature.
pub const BOX_V1_MATCH_USER_ID: &str = "box.webhook.v1.match_user_id";
/// The Box user id the instance acts for (Cloud Elements' key), shown as `user.id` on Cloud
/// Elements' surface and matched against a V1 callback's `userId`.
pub const OAUTH_USER_ID: &str = "oauth.user.id";

/// Keys of Box V1 callbacks matched by user (Cloud Elements' public V1 intake).
pub const BOX_V1_BY_USER: [&str; 2] = [BOX_V1_MATCH_USER_ID, OAUTH_USER_ID];

/// `retry` or `queue`: this instance's failure policy, over `delivery.failure_policy` (see
/// [`super::policy::FailurePolicy`]). The relay-wide setting when absent.
pub const FAILURE_POLICY: &str = "notification.webhook.failure.policy";

/// Cloud Elements' Box element selection of events: `{"webhook":{"file":{"eventTypes":
/// ["created","updated","deleted"]},"folder":{…}}}`, as JSON text or a JSON object. Every
/// event when absent (see [`super::selection`]).
pub const EVENT_METADATA: &str = "event.metadata";
/// Box trigger names with `*` wildcards (`FILE.*, FOLDER.CREATED`), comma-separated or a
/// JSON array: only these events are delivered. Every event when absent.
pub const EVENT_TRIGGERS: &str = "event.notification.triggers";

/// Keys of which Box events an instance wants.
pub const EVENT_SELECTION: [&str; 2] = [EVENT_METADATA, EVENT_TRIGGERS];

/// Keys of what delivery does when an event exhausts its retries.
pub const DELIVERY_POLICY: [&str; 1] = [FAILURE_POLICY];

/// Keys of the lifecycle of Box webhooks managed through the relay.
pub const BOX_LIFECYCLE: [&str; 1] = [BOX_WEBHOOK_RECREATE];

/// The keys of events and Box signatures, in the order the API echoes them (`null` when
/// unset).
pub const KNOWN: [&str; 7] = [
    EVENTS_ENABLED,
    CALLBACK_URL,
    SIGNATURE_KEY,
    STANDARD_SECRET,
    BOX_PRIMARY_KEY,
    BOX_SECONDARY_KEY,
    BOX_V1_TOKEN,
];

/// Keys of Box authorization on an instance (Cloud Elements' names), read when an instance
/// is provisioned through the admin API.
pub mod box_auth {
    /// The Box app's client id.
    pub const CLIENT_ID: &str = "oauth.api.key";
    /// The Box app's client secret.
    pub const CLIENT_SECRET: &str = "oauth.api.secret";
    /// The redirect URI the authorization code was issued for.
    pub const REDIRECT_URI: &str = "oauth.callback.url";
    /// `client_credentials` for Box's Client Credentials Grant (no OAuth code).
    pub const AUTH: &str = "box.auth";
    /// The enterprise id the Client Credentials Grant authenticates as.
    pub const ENTERPRISE_ID: &str = "box.enterprise.id";

    /// Every key of Box authorization.
    pub const ALL: [&str; 5] = [CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUTH, ENTERPRISE_ID];
}

/// Cloud Elements keys of a Box instance that the relay accepts and ignores, so
/// provisioning scripts written for Cloud Elements draw no warning: the event mechanism
/// (`webhook` or `polling`; the relay is always webhook) and the poller's settings, and the
/// response filter of Cloud Elements' own API.
pub const ACCEPTED_AND_IGNORED: [&str; 4] = [
    "event.vendor.type",
    "event.poller.refresh_interval",
    "event.poller.configuration",
    "filter.response.nulls",
];

/// Every known configuration key: read by the relay, or accepted and ignored.
pub fn all() -> impl Iterator<Item = &'static str> {
    KNOWN
        .into_iter()
        .chain(box_auth::ALL)
        .chain(BOX_LIFECYCLE)
        .chain(BOX_V1_BY_USER)
        .chain(DELIVERY_POLICY)
        .chain(EVENT_SELECTION)
        .chain(ACCEPTED_AND_IGNORED)
}

/// True when the relay knows `key` (exactly: keys are case-sensitive).
pub fn is_known(key: &str) -> bool {
    all().any(|known| known == key)
}

/// Instance configuration keys whose values are secrets (masked in every output): any key
/// naming a key, token, secret or password, whatever its case (`oauth.api.secret`,
/// `some.apiKey`, `client_secret`, `db.password`, `box.webhook.v1.token`).
pub fn is_secret_key(key: &str) -> bool {
    const NAMES: [&str; 9] = [
        "apikey",
        "api_key",
        "apisecret",
        "secret",
        "password",
        "passwd",
        "token",
        "passphrase",
        "credential",
    ];
    let k = key.to_ascii_lowercase();
    k.ends_with(".key") || NAMES.iter().any(|name| k.contains(name))
}

/// A configuration key the relay does not know: kept, never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as given.
    pub key: String,
    /// The nearest known key, when it is close enough to be what was meant.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown configuration key `{}` (kept, but the relay does not read it)",
            self.key
        )?;
        match self.suggestion {
            Some(known) => write!(f, "; did you mean `{known}`?"),
            None => Ok(()),
        }
    }
}

/// The unknown keys of `configuration`, in key order.
pub fn unknown_keys(configuration: &BTreeMap<String, serde_json::Value>) -> Vec<UnknownKey> {
    configuration
        .keys()
        .filter(|key| !is_known(key))
        .map(|key| UnknownKey {
            key: key.clone(),
            suggestion: nearest(key, all()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelled_key_is_unknown_with_the_key_that_was_meant() {
        let conf: BTreeMap<String, serde_json::Value> = [
            ("event.notification.callbak.url", "https://x.example/"),
            ("Event.Notification.Enabled", "true"),
            ("event.vendor.type", "webhook"),
            ("oauth.api.key", "id"),
            ("acme.custom.setting", "kept"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
        assert_eq!(
            unknown_keys(&conf),
            vec![
                UnknownKey {
                    key: "Event.Notification.Enabled".into(),
                    suggestion: Some(EVENTS_ENABLED),
                },
                UnknownKey {
                    key: "acme.custom.setting".into(),
                    suggestion: None,
                },
                UnknownKey {
                    key: "event.notification.callbak.url".into(),
                    suggestion: Some(CALLBACK_URL),
                },
            ]
        );
    }

    #[test]
    fn every_key_that_names_a_secret_is_secret() {
        for key in [
            "oauth.api.secret",
            "some.apiKey",
            "x.API_KEY",
            "vendor.apiSecret",
            "client_secret",
            "db.password",
            "smtp.passwd",
            "box.webhook.primary.key",
            "box.webhook.v1.token",
            "event.notification.standard.secret",
            "refreshToken",
            "oauth.api.key",
        ] {
            assert!(is_secret_key(key), "{key} is a secret");
        }
        for key in [
            "event.notification.callback.url",
            "event.notification.enabled",
            "box.enterprise.id",
            "box.auth",
            "event.vendor.type",
            "keyboard.layout",
        ] {
            assert!(!is_secret_key(key), "{key} is not a secret");
        }
    }
}
