//! What Cloud Elements' surface answers, built from the relay's own answers: an instance
//! with its `user` and the default `filter.response.nulls` entry, configuration entries with
//! that default, and an event as `{id, eventDate, status, providerData}`.

use chrono::{SecondsFormat, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::instance::api::InstanceAnswer;
use crate::instance::entries::{self, entry_id, ConfigEntry};
use crate::instance::keys;
use crate::instance::Instance;
use crate::store::records::EventSummary;
use crate::store::Status;

/// Configuration entries every instance carries on this surface, with their value when
/// unset: Cloud Elements gives each instance `filter.response.nulls = "true"`.
pub const DEFAULTS: [(&str, &str); 1] = [("filter.response.nulls", "true")];

/// An instance as Cloud Elements answers it: the relay's answer, plus `user`, and the
/// default entries filled in.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CompatInstance)]
pub struct CompatInstance {
    /// The relay's answer (the element with its numeric `id`).
    #[serde(flatten)]
    pub instance: InstanceAnswer,
    /// The Box user the instance acts for.
    pub user: User,
}

/// Cloud Elements' `user` of an instance. The relay knows the Box user's id only when
/// `oauth.user.id` is set (it does not call Box's `users/me`); the rest is null.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `oauth.user.id`: a number when it is one, else as given; null when unset.
    #[schema(value_type = Option<i64>, required = true)]
    pub id: Value,
    /// Not known to the relay: null.
    #[schema(required = true)]
    pub email_address: Option<String>,
    /// Not known to the relay: null.
    #[schema(required = true)]
    pub first_name: Option<String>,
    /// Not known to the relay: null.
    #[schema(required = true)]
    pub last_name: Option<String>,
}

impl CompatInstance {
    /// The answer for `instance`.
    pub fn of(instance: &Instance) -> Self {
        Self::from_answer(instance, InstanceAnswer::of(instance))
    }

    /// The answer built on `answer` (the creating answer shows the token).
    pub fn from_answer(instance: &Instance, mut answer: InstanceAnswer) -> Self {
        for (key, value) in DEFAULTS {
            let entry = answer.configuration.entry(key.to_string()).or_default();
            entry.get_or_insert_with(|| value.to_string());
        }
        let id = match instance.configuration.get(keys::OAUTH_USER_ID) {
            Some(Value::String(s)) => s
                .parse::<i64>()
                .map_or_else(|_| Value::String(s.clone()), Value::from),
            Some(Value::Number(n)) => Value::Number(n.clone()),
            _ => Value::Null,
        };
        Self {
            instance: answer,
            user: User {
                id,
                email_address: None,
                first_name: None,
                last_name: None,
            },
        }
    }
}

/// The configuration entries of `instance` on this surface: the relay's, plus each default
/// entry that is not set, with its default value.
pub fn entries(instance: &Instance) -> Vec<ConfigEntry> {
    let mut list = entries::entries(instance);
    for (key, value) in DEFAULTS {
        match list.iter_mut().find(|e| e.key == key) {
            Some(e) if e.property_value.is_none() => e.property_value = Some(value.to_string()),
            Some(_) => {}
            None => list.push(ConfigEntry {
                id: entry_id(instance.id, key),
                key: key.to_string(),
                name: entries::name_of(key).to_string(),
                property_value: Some(value.to_string()),
            }),
        }
    }
    list
}

/// The entry `config_id` (numeric id or key) names on this surface.
pub fn entry(instance: &Instance, config_id: &str) -> Option<ConfigEntry> {
    let numeric = config_id.parse::<i64>().ok();
    entries(instance)
        .into_iter()
        .find(|e| Some(e.id) == numeric || e.key == config_id)
}

/// An event as Cloud Elements answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CompatEvent)]
pub struct CompatEvent {
    /// The event's id (the relay's `eventId`, also `Elements-Webhook-Id`).
    pub id: String,
    /// When Box's delivery was committed (RFC 3339).
    pub event_date: String,
    /// `RECEIVED` (stored, not attempted yet), `DISPATCHED` (being delivered, or retrying
    /// after a failed attempt), `NOTIFIED` (delivered), `CONSUMED` (given up: the relay's
    /// `failed`; replay it to deliver it). `NEW` is never answered: an event exists only
    /// once committed.
    #[schema(pattern = "^(NEW|RECEIVED|DISPATCHED|CONSUMED|NOTIFIED)$")]
    pub status: &'static str,
    /// Box's payload as Box sent it (a V1 callback's parameters as a JSON object), as a
    /// string.
    pub provider_data: String,
    /// The owning instance.
    pub instance_id: i64,
    /// The relay's own status: `pending`, `delivering`, `delivered` or `failed`.
    pub relay_status: &'static str,
}

/// The relay's status in Cloud Elements' five.
pub fn status(summary: &EventSummary) -> &'static str {
    match summary.status {
        Status::Pending if summary.attempts == 0 => "RECEIVED",
        Status::Pending | Status::Delivering => "DISPATCHED",
        Status::Delivered => "NOTIFIED",
        Status::Failed => "CONSUMED",
    }
}

impl CompatEvent {
    /// The answer for a stored event and the notification body it is delivered with.
    pub fn of(summary: &EventSummary, body: &[u8]) -> Self {
        Self {
            id: summary.event_id.clone(),
            event_date: Utc
                .timestamp_millis_opt(summary.received_at_ms)
                .single()
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                .unwrap_or_default(),
            status: status(summary),
            provider_data: provider_data(body),
            instance_id: summary.instance_id,
            relay_status: summary.status.as_str(),
        }
    }
}

/// Box's payload inside a stored notification (`message.raw`), as text; the whole body
/// when it has none.
fn provider_data(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Notification<'a> {
        #[serde(borrow)]
        message: Message<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        raw: &'a serde_json::value::RawValue,
    }
    match serde_json::from_slice::<Notification>(body) {
        Ok(n) => n.message.raw.get().to_string(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(status: Status, attempts: u32) -> EventSummary {
        EventSummary {
            seq: 1,
            event_id: "e".into(),
            instance_id: 1,
            box_event_id: "b".into(),
            status,
            attempts,
            received_at_ms: 0,
            next_attempt_at_ms: 0,
            finished_at_ms: None,
            last_error: None,
        }
    }

    #[test]
    fn every_relay_status_maps_to_one_of_cloud_elements_five() {
        assert_eq!(status(&summary(Status::Pending, 0)), "RECEIVED");
        assert_eq!(status(&summary(Status::Pending, 2)), "DISPATCHED");
        assert_eq!(status(&summary(Status::Delivering, 1)), "DISPATCHED");
        assert_eq!(status(&summary(Status::Delivered, 1)), "NOTIFIED");
        assert_eq!(status(&summary(Status::Failed, 8)), "CONSUMED");
    }

    #[test]
    fn provider_data_is_boxs_payload_as_text() {
        let body = br#"{"message":{"raw":{"id":"1","trigger":"FILE.UPLOADED"}}}"#;
        assert_eq!(
            provider_data(body),
            r#"{"id":"1","trigger":"FILE.UPLOADED"}"#
        );
        assert_eq!(provider_data(b"not json"), "not json");
    }
}
