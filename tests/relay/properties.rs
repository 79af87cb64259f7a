//! Property tests of every parser and verifier on arbitrary input: no panic, every outcome a
//! defined one, and only valid input accepted. 256 cases per property by default;
//! `PROPTEST_CASES=100000 cargo test --test relay properties` for a long run.

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use webhook_relay::box_webhook::payload::{parse_v2, V1Callback};
use webhook_relay::box_webhook::verify::{
    sign, signature_matches, verify, Freshness, Keys, SignatureHeaders, VerifyError,
};
use webhook_relay::config::AdminConfig;
use webhook_relay::delivery::retry::parse_retry_after;
use webhook_relay::event::normalize::{normalize_v1, normalize_v2};
use webhook_relay::http::admin::AdminAuth;
use webhook_relay::instance::{api, Instance};
use webhook_relay::secret::Cipher;
use webhook_relay::secret::Secret;

fn freshness() -> Freshness {
    Freshness {
        max_age: chrono::Duration::seconds(600),
        max_future_skew: chrono::Duration::seconds(60),
    }
}

fn instance() -> Instance {
    let (_, mut list) = webhook_relay::Config::from_toml(
        r#"
[[instances]]
id = 8948659
name = "Props"
[instances.configuration]
"event.notification.enabled" = true
"event.notification.callback.url" = "https://consumer.example.com/events"
"box.webhook.primary.key" = "key"
"#,
        &Default::default(),
    )
    .unwrap();
    list.remove(0)
}

/// Header values as a client may send them: anything printable, Box-like, or empty.
fn header() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        "\\PC{0,80}".prop_map(Some),
        "[A-Za-z0-9+/=]{0,64}".prop_map(Some),
        Just(Some("1".to_string())),
        Just(Some("HmacSHA256".to_string())),
    ]
}

/// Arbitrary JSON, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,10}", inner, 0..6)
                .prop_map(|m: BTreeMap<String, Value>| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn verification_never_panics_and_accepts_only_a_matching_mac(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        timestamp in header(),
        primary in header(),
        secondary in header(),
        version in header(),
        algorithm in header(),
        key in "\\PC{1,40}",
    ) {
        let headers = SignatureHeaders {
            timestamp: timestamp.as_deref(),
            primary: primary.as_deref(),
            secondary: secondary.as_deref(),
            version: version.as_deref(),
            algorithm: algorithm.as_deref(),
        };
        let key = Secret::new(key);
        let keys = Keys { primary: Some(&key), secondary: None };
        match verify(&body, &headers, keys, freshness(), Utc::now()) {
            Ok(v) => {
                prop_assert_eq!(v.body(), &body[..]);
                prop_assert!(signature_matches(&body, timestamp.as_deref().unwrap(), Some(&key), primary.as_deref()));
            }
            Err(VerifyError::MissingHeader(_) | VerifyError::UnsupportedScheme | VerifyError::BadTimestamp
                | VerifyError::Stale | VerifyError::Future | VerifyError::Mismatch) => {}
        }
    }

    #[test]
    fn a_fresh_valid_signature_is_always_accepted_and_the_body_then_parses_or_is_refused(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        key in "\\PC{1,40}",
    ) {
        let timestamp = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let signature = sign(&key, &body, &timestamp);
        let headers = SignatureHeaders {
            timestamp: Some(&timestamp),
            primary: Some(&signature),
            secondary: Some("not-it"),
            version: Some("1"),
            algorithm: Some("HmacSHA256"),
        };
        let key = Secret::new(key);
        let verified = verify(&body, &headers, Keys { primary: Some(&key), secondary: None }, freshness(), Utc::now());
        prop_assert!(verified.is_ok());
        // Random bytes are almost never a Box event: refused with a reason, never a panic.
        if let Ok(event) = parse_v2(verified.unwrap()) {
            prop_assert!(!event.trigger.is_empty());
        }
    }

    #[test]
    fn any_json_event_normalizes_to_valid_json_with_raw_kept_as_sent(
        extra in json_value(),
        trigger in "\\PC{1,30}",
        id in prop::option::of("\\PC{0,20}"),
    ) {
        let mut event = match extra {
            Value::Object(map) => map,
            other => [("extra".to_string(), other)].into_iter().collect(),
        };
        event.insert("trigger".into(), json!(trigger));
        if let Some(id) = id {
            event.insert("id".into(), json!(id));
        }
        let body = serde_json::to_vec(&Value::Object(event.clone())).unwrap();
        let timestamp = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let signature = sign("key", &body, &timestamp);
        let headers = SignatureHeaders {
            timestamp: Some(&timestamp), primary: Some(&signature), secondary: None,
            version: Some("1"), algorithm: Some("HmacSHA256"),
        };
        let key = Secret::new("key");
        let verified = verify(&body, &headers, Keys { primary: Some(&key), secondary: None }, freshness(), Utc::now()).unwrap();
        // Box's own fields of the wrong type are a defined refusal.
        let Ok(parsed) = parse_v2(verified) else { return Ok(()); };
        let out = normalize_v2(&instance(), "sender", Utc::now(), &parsed);
        let sent: Value = serde_json::from_slice(&out.body).expect("the body is JSON");
        // Box's bytes, verbatim (compared as text: parsing floats back is not exact).
        let text = String::from_utf8(out.body.to_vec()).unwrap();
        let raw = format!("\"raw\":{}", String::from_utf8(body.clone()).unwrap());
        prop_assert!(text.contains(&raw), "raw not verbatim in {}", text);
        prop_assert_eq!(sent["message"]["eventId"].as_str().unwrap(), out.event_id.as_str());
        prop_assert_eq!(sent["message"]["events"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn any_v1_query_and_form_parse_and_never_keep_the_token(
        query in prop::collection::vec(any::<u8>(), 0..512),
        form in prop::collection::vec(any::<u8>(), 0..512),
        token in "[a-z]{8}",
    ) {
        let mut query = query;
        query.extend(format!("&token={token}").bytes());
        let callback = V1Callback::parse(&query, &form);
        prop_assert!(callback.params.iter().all(|(k, _)| k != "token"));
        let out = normalize_v1(&instance(), "sender", Utc::now(), &callback);
        let sent: Value = serde_json::from_slice(&out.body).expect("the body is JSON");
        prop_assert!(sent["message"]["raw"].get("token").is_none());
    }

    #[test]
    fn retry_after_values_of_any_shape_are_a_delay_or_nothing(value in "\\PC{0,60}") {
        if let Some(d) = parse_retry_after(&value, Utc::now()) {
            prop_assert!(d.as_secs() < u64::MAX / 2);
        }
    }

    #[test]
    fn any_instance_body_is_a_defined_answer(body in json_value(), name in "\\PC{0,12}") {
        let mut with_element = json!({"element": {"key": "box"}, "name": name});
        if let Value::Object(extra) = &body {
            for (k, v) in extra {
                with_element[k] = v.clone();
            }
        }
        for candidate in [body, with_element] {
            let request = api::InstanceRequest::from_json(&candidate);
            if let Ok(mut stored) = request.as_ref().map_err(Clone::clone).and_then(api::new_instance) {
                stored.id = 1;
                if let Ok(instance) = Instance::from_stored(&stored) {
                    let answer = api::render(&instance);
                    prop_assert!(answer["configuration"].is_object());
                }
                let _ = request.as_ref().map(|r| api::patch_instance(&mut stored, r));
            }
        }
    }

    #[test]
    fn admin_credentials_open_only_with_both_exact_secrets(
        user in prop_oneof![Just("u-secret".to_string()), "[A-Za-z0-9-]{0,12}"],
        org in prop_oneof![Just("o-secret".to_string()), "[A-Za-z0-9-]{0,12}"],
        org_first in any::<bool>(),
        noise in "\\PC{0,40}",
    ) {
        let auth = AdminAuth::from_config(&AdminConfig {
            user_secret: Secret::new("u-secret"),
            organization_secret: Secret::new("o-secret"),
        }).unwrap();
        let header = if org_first {
            format!("Organization {org}, User {user}")
        } else {
            format!("User {user}, Organization {org}")
        };
        let exact = user == "u-secret" && org == "o-secret";
        prop_assert_eq!(auth.allows(&header), exact, "{}", header);
        prop_assert!(!auth.allows(&noise));
    }

    #[test]
    fn sealed_token_text_of_any_shape_opens_to_nothing(text in "\\PC{0,120}", id in any::<i64>()) {
        let cipher = Cipher::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
        prop_assert!(cipher.open(id, &text).is_none());
    }
}
