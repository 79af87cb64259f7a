//! The New instance and Edit forms: Cloud Elements' UI labels, read into the admin API's
//! `POST /instances` or `PATCH` body so that [`AdminService`](crate::admin::AdminService)
//! validates them exactly as the API does; its [`InvalidValue`] names the key, which is shown
//! next to the field it belongs to.

use std::collections::BTreeMap;

use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::layout::{csrf_field, field};
use super::ConsoleSession;
use crate::instance::keys;
use crate::instance::keys::box_auth as box_keys;
use crate::instance::Instance;
use crate::invalid::InvalidValue;

/// What the form sends (every field text; a checkbox is present only when ticked).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct InstanceForm {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Tags, separated by commas.
    #[serde(default)]
    pub tags: String,
    /// Events Enabled (`on` when ticked).
    #[serde(default)]
    pub events_enabled: Option<String>,
    /// Event Notification Callback URL.
    #[serde(default)]
    pub callback_url: String,
    /// Event Notification Signature Key (empty on Edit: unchanged).
    #[serde(default)]
    pub signature_key: String,
    /// Box primary key.
    #[serde(default)]
    pub box_primary_key: String,
    /// Box secondary key.
    #[serde(default)]
    pub box_secondary_key: String,
    /// V1 token.
    #[serde(default)]
    pub v1_token: String,
    /// Box app's Client ID.
    #[serde(default)]
    pub client_id: String,
    /// Box app's Client secret.
    #[serde(default)]
    pub client_secret: String,
    /// `none` or `client_credentials`.
    #[serde(default)]
    pub box_access: String,
    /// Enterprise ID (Client Credentials).
    #[serde(default)]
    pub enterprise_id: String,
}

/// Which form field a validation error's key belongs to (`None`: shown above the form).
pub fn field_of(key: &str) -> Option<&'static str> {
    let config = key
        .strip_prefix("configuration.\"")
        .and_then(|k| k.strip_suffix('"'));
    Some(match (key, config) {
        ("name", _) => "name",
        (k, _) if k == "tags" || k.starts_with("tags[") => "tags",
        (_, Some(keys::EVENTS_ENABLED)) => "events_enabled",
        (_, Some(keys::CALLBACK_URL)) => "callback_url",
        (_, Some(keys::SIGNATURE_KEY)) => "signature_key",
        (_, Some(keys::BOX_PRIMARY_KEY)) => "box_primary_key",
        (_, Some(keys::BOX_SECONDARY_KEY)) => "box_secondary_key",
        (_, Some(keys::BOX_V1_TOKEN)) => "v1_token",
        (_, Some(box_keys::CLIENT_ID)) => "client_id",
        (_, Some(box_keys::CLIENT_SECRET)) => "client_secret",
        (_, Some(box_keys::ENTERPRISE_ID)) => "enterprise_id",
        (_, Some(box_keys::AUTH)) => "box_access",
        _ => return None,
    })
}

/// Errors by form field (`""`: the form's own).
#[derive(Debug, Default, Clone)]
pub struct Errors(BTreeMap<&'static str, String>);

impl Errors {
    /// The error of `invalid`, placed at its field.
    pub fn of(invalid: &InvalidValue) -> Self {
        let mut errors = Errors::default();
        let at = field_of(&invalid.key).unwrap_or("");
        let text = if at.is_empty() {
            format!("{}: {}", invalid.key, invalid.reason)
        } else {
            invalid.reason.clone()
        };
        errors.0.insert(at, text);
        errors
    }

    /// A message not tied to a field.
    pub fn general(text: impl Into<String>) -> Self {
        let mut errors = Errors::default();
        errors.0.insert("", text.into());
        errors
    }

    /// These errors and `text` at `field`.
    pub fn with(mut self, field: &'static str, text: impl Into<String>) -> Self {
        self.0.insert(field, text.into());
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

impl InstanceForm {
    /// The form filled from an instance (secrets left empty: they are never shown).
    pub fn of(instance: &Instance) -> Self {
        let text = |key: &str| match instance.configuration.get(key) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        InstanceForm {
            name: instance.name.clone(),
            tags: instance.tags.join(", "),
            events_enabled: instance.events_enabled.then(|| "on".to_string()),
            callback_url: instance
                .callback_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            client_id: text(box_keys::CLIENT_ID),
            box_access: text(box_keys::AUTH),
            enterprise_id: text(box_keys::ENTERPRISE_ID),
            ..Default::default()
        }
    }

    fn tags_list(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The configuration the form sets. With `keep_empty_secrets` (Edit) an empty secret
    /// field leaves the stored value; otherwise empty fields are not sent.
    fn configuration(&self, editing: bool) -> Map<String, Value> {
        let mut c = Map::new();
        let enabled = self.events_enabled.is_some();
        c.insert(keys::EVENTS_ENABLED.into(), json!(enabled.to_string()));
        let mut text = |key: &str, value: &str, secret: bool| {
            let value = value.trim();
            if !value.is_empty() {
                c.insert(key.into(), json!(value));
            } else if editing && !secret {
                c.insert(key.into(), Value::Null);
            }
        };
        text(keys::CALLBACK_URL, &self.callback_url, false);
        text(keys::SIGNATURE_KEY, &self.signature_key, true);
        text(keys::BOX_PRIMARY_KEY, &self.box_primary_key, true);
        text(keys::BOX_SECONDARY_KEY, &self.box_secondary_key, true);
        text(keys::BOX_V1_TOKEN, &self.v1_token, true);
        text(box_keys::CLIENT_ID, &self.client_id, false);
        text(box_keys::CLIENT_SECRET, &self.client_secret, true);
        if self.box_access == "client_credentials" {
            text(box_keys::AUTH, "client_credentials", false);
            text(box_keys::ENTERPRISE_ID, &self.enterprise_id, false);
        } else if editing {
            c.insert(box_keys::AUTH.into(), Value::Null);
        }
        c
    }

    /// The `POST /instances` body of the form; with `code` (Connect Box), the OAuth
    /// authorization code and the redirect URI it was issued for.
    pub fn create_body(&self, oauth: Option<(&str, &str)>) -> Value {
        let mut configuration = self.configuration(false);
        let mut body = json!({
            "element": { "key": "box" },
            "name": self.name.trim(),
            "tags": self.tags_list(),
        });
        if let Some((code, redirect_uri)) = oauth {
            configuration.remove(box_keys::AUTH);
            configuration.remove(box_keys::ENTERPRISE_ID);
            configuration.insert(box_keys::REDIRECT_URI.into(), json!(redirect_uri));
            body["providerData"] = json!({ "code": code });
        }
        body["configuration"] = Value::Object(configuration);
        body
    }

    /// The `PATCH /instances/{id}` body of the Edit form.
    pub fn patch_body(&self) -> Value {
        json!({
            "name": self.name.trim(),
            "tags": self.tags_list(),
            "configuration": Value::Object(self.configuration(true)),
        })
    }
}

fn text_input(id: &str, kind: &str, value: &str, placeholder: &str) -> Markup {
    html! {
        input id=(id) name=(id) type=(kind) value=(value) placeholder=(placeholder)
            autocomplete="off";
    }
}

/// The form: `action` is where it posts, `editing` masks the secrets' fields (empty keeps
/// them) and hides Connect Box.
pub fn render(
    session: &ConsoleSession,
    form: &InstanceForm,
    errors: &Errors,
    action: &str,
    editing: bool,
) -> Markup {
    let secret_hint = if editing {
        "******** (empty: unchanged)"
    } else {
        ""
    };
    let f = |label: &str, id: &'static str, kind: &str, value: &str, hint: &str| {
        field(label, text_input(id, kind, value, hint), id, errors.get(id))
    };
    html! {
        @if let Some(e) = errors.get("") {
            p.error role="alert" { (e) }
        }
        form.card method="post" action=(action) novalidate {
            (csrf_field(session))
            div.grid2 {
                (f("Name", "name", "text", &form.name, "My Box account"))
                (f("Tags", "tags", "text", &form.tags, "comma, separated"))
            }
            div.field.check.invalid[errors.get("events_enabled").is_some()] {
                input #events_enabled type="checkbox" name="events_enabled" checked[form.events_enabled.is_some()];
                label for="events_enabled" { "Events Enabled" }
                @if let Some(e) = errors.get("events_enabled") { p.field-error role="alert" { (e) } }
            }
            (f("Event Notification Callback URL", "callback_url", "url", &form.callback_url, "https://app.example.com/box-events"))
            (f("Event Notification Signature Key", "signature_key", "password", "", secret_hint))
            fieldset {
                legend { "Box webhook signatures" }
                div.grid2 {
                    (f("Box primary key", "box_primary_key", "password", "", secret_hint))
                    (f("Box secondary key", "box_secondary_key", "password", "", secret_hint))
                }
                (f("V1 token", "v1_token", "password", "", secret_hint))
            }
            fieldset {
                legend { "Box app (to manage Box webhooks through the relay)" }
                div.grid2 {
                    (f("Client ID", "client_id", "text", &form.client_id, ""))
                    (f("Client secret", "client_secret", "password", "", secret_hint))
                }
                @if !editing {
                    p.hint.muted { "Connect Box sends you to Box to log in and allow access; the instance is created when you come back." }
                    div.actions {
                        button type="submit" formaction="/console/oauth/box/start" { "Connect Box" }
                    }
                    p.or { "or, for a server-authenticated app" }
                }
                div.grid2 {
                    div.field.invalid[errors.get("box_access").is_some()] {
                        label for="box_access" { "Box API access" }
                        select #box_access name="box_access" {
                            option value="none" selected[form.box_access != "client_credentials"] { "None (signatures only)" }
                            option value="client_credentials" selected[form.box_access == "client_credentials"] { "Client Credentials" }
                        }
                        @if let Some(e) = errors.get("box_access") { p.field-error role="alert" { (e) } }
                    }
                    (f("Enterprise ID", "enterprise_id", "text", &form.enterprise_id, "Client Credentials only"))
                }
            }
            div.actions {
                @if editing {
                    button.primary type="submit" { "Save changes" }
                } @else {
                    button.primary type="submit" { "Create instance" }
                }
                a.button href="/console/instances" { "Cancel" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_keys_land_on_their_fields() {
        assert_eq!(field_of("name"), Some("name"));
        assert_eq!(field_of("tags[1]"), Some("tags"));
        assert_eq!(
            field_of("configuration.\"event.notification.callback.url\""),
            Some("callback_url")
        );
        assert_eq!(
            field_of("configuration.\"oauth.api.key\""),
            Some("client_id")
        );
        assert_eq!(field_of("providerData.code"), None);
    }

    #[test]
    fn a_new_form_sends_only_what_was_filled_and_connect_box_adds_the_code() {
        let form = InstanceForm {
            name: " Docs ".into(),
            tags: "a, ,b".into(),
            events_enabled: Some("on".into()),
            callback_url: "https://app.example.com/e".into(),
            client_id: "cid".into(),
            client_secret: "sec".into(),
            box_access: "client_credentials".into(),
            enterprise_id: "42".into(),
            ..Default::default()
        };
        let body = form.create_body(None);
        assert_eq!(body["name"], "Docs");
        assert_eq!(body["tags"], json!(["a", "b"]));
        let c = &body["configuration"];
        assert_eq!(c["event.notification.enabled"], "true");
        assert!(c.get("box.webhook.primary.key").is_none());
        assert_eq!(c["box.auth"], "client_credentials");
        let body = form.create_body(Some(("the-code", "https://r/cb")));
        assert_eq!(body["providerData"]["code"], "the-code");
        assert!(body["configuration"].get("box.auth").is_none());
        assert_eq!(body["configuration"]["oauth.callback.url"], "https://r/cb");
    }

    #[test]
    fn an_edit_keeps_secrets_left_empty_and_clears_plain_fields() {
        let form = InstanceForm {
            name: "Docs".into(),
            ..Default::default()
        };
        let c = &form.patch_body()["configuration"];
        assert!(c.get("box.webhook.primary.key").is_none(), "kept");
        assert_eq!(c["event.notification.callback.url"], Value::Null);
        assert_eq!(c["event.notification.enabled"], "false");
    }
}
