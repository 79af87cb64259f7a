//! `[box]`: how Box deliveries are checked, and where Box's API is.

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use url::Url;

use super::typed;
use crate::secret::EncryptionKey;

/// `[box]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoxConfig {
    /// A `box-delivery-timestamp` older than this is refused.
    #[serde(deserialize_with = "typed::positive")]
    pub max_age_secs: NonZeroU64,
    /// A `box-delivery-timestamp` further ahead than this is refused.
    pub max_future_skew_secs: u64,
    /// Base URL of Box's API (`{api_url}/2.0/webhooks`).
    #[serde(with = "typed::http_url")]
    pub api_url: Url,
    /// Base URL of Box's OAuth 2.0 token endpoint (`{oauth_url}/oauth2/token`).
    #[serde(with = "typed::http_url")]
    pub oauth_url: Url,
    /// Box's OAuth 2.0 authorize page, where the console's **Connect Box** and
    /// `GET /elements/box/oauth/url` send the user to consent.
    #[serde(with = "typed::http_url")]
    pub authorize_url: Url,
    /// The former name of `secrets.encryption_key`, still accepted as the same key.
    #[serde(with = "typed::optional_key")]
    pub token_key: Option<EncryptionKey>,
    /// Accept Box webhook triggers missing from the relay's list
    /// ([`crate::box_api::triggers::KNOWN`]) when a webhook is created or changed through the
    /// relay (still well-formed: upper-case words joined by dots); Box decides.
    pub allow_unknown_triggers: bool,
}

impl Default for BoxConfig {
    fn default() -> Self {
        const MAX_AGE_SECS: NonZeroU64 = NonZeroU64::new(600).unwrap();
        let box_api = Url::parse("https://api.box.com").expect("the default is valid");
        Self {
            max_age_secs: MAX_AGE_SECS,
            max_future_skew_secs: 60,
            api_url: box_api.clone(),
            oauth_url: box_api,
            authorize_url: Url::parse("https://account.box.com/api/oauth2/authorize")
                .expect("the default is valid"),
            token_key: None,
            allow_unknown_triggers: false,
        }
    }
}

impl BoxConfig {
    /// How long a signed Box delivery is accepted: `max_age_secs + max_future_skew_secs`.
    pub fn freshness_window_secs(&self) -> u64 {
        self.max_age_secs
            .get()
            .saturating_add(self.max_future_skew_secs)
    }
}
