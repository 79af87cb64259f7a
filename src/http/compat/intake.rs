//! Cloud Elements' public Box V1 intake, `POST /elements/api-v2/events/box`: Box's V1 form
//! (`userId=["<box user id>"]&event=uploaded&itemId=…&itemType=file`), delivered to the
//! instance whose `oauth.user.id` is that user and which opted in with
//! `box.webhook.v1.match_user_id = true`. V1 carries no signature, so anyone who knows (or
//! guesses) a Box user id can inject events for an opted-in instance: hence opt-in, and the
//! same 404 whether no instance has that user or none opted in. Everything after the match
//! is the V1 route's ([`crate::http::box_webhooks::v1_found_by`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use crate::box_webhook::payload::V1Callback;
use crate::http::box_webhooks::v1_found_by;
use crate::http::error::ApiError;
use crate::http::IngestState;
use crate::instance::{keys, Instance};

/// The Box user id of a V1 callback: its `userId` (Cloud Elements' form sends a JSON array
/// of one id, `["123"]`; a bare `123` is read too) or Box's `user_id`.
pub fn user_id(callback: &V1Callback) -> Option<String> {
    let raw = callback.get(&["userId", "user_id"])?.trim();
    let id = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(ids)) if ids.len() == 1 => match &ids[0] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        },
        Ok(Value::Array(_)) => return None,
        Ok(Value::Number(n)) => n.to_string(),
        _ => raw.to_string(),
    };
    (!id.is_empty()).then_some(id)
}

/// Whether `instance` opted in and acts for Box user `user`.
fn matches(instance: &Instance, user: &str) -> bool {
    let flag = |v: &Value| match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let opted_in = instance
        .configuration
        .get(keys::BOX_V1_MATCH_USER_ID)
        .is_some_and(flag);
    let own = match instance.configuration.get(keys::OAUTH_USER_ID) {
        Some(Value::String(s)) => s == user,
        Some(Value::Number(n)) => n.to_string() == user,
        _ => false,
    };
    opted_in && own
}

/// The opted-in instance of the callback's user: the lowest id when several are.
fn find(instances: &[Arc<Instance>], callback: &V1Callback) -> Option<Arc<Instance>> {
    let user = user_id(callback)?;
    let mut found = instances.iter().filter(|i| matches(i, &user));
    let first = found.next().cloned();
    if let (Some(first), Some(_)) = (&first, found.next()) {
        tracing::warn!(
            instance_id = first.id,
            "several instances opted in for one Box user; the lowest id takes the callback"
        );
    }
    first
}

/// Box V1 callback, matched by user.
#[tracing::instrument(skip_all, fields(instance_id = tracing::field::Empty))]
pub async fn box_v1(
    State(state): State<IngestState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let instances = state.instances.all();
    v1_found_by(&state, query, &headers, body, |callback| {
        find(&instances, callback)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_id_is_read_in_cloud_elements_and_boxs_forms() {
        let read = |form: &[u8]| user_id(&V1Callback::parse(b"", form));
        assert_eq!(
            read(b"userId=%5B%22123%22%5D&event=uploaded"),
            Some("123".into())
        );
        assert_eq!(read(b"userId=%5B123%5D"), Some("123".into()));
        assert_eq!(read(b"userId=77"), Some("77".into()));
        assert_eq!(read(b"user_id=88"), Some("88".into()));
        assert_eq!(read(b"userId=%5B%5D"), None);
        assert_eq!(read(b"event=uploaded"), None);
    }
}
