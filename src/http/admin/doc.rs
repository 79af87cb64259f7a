//! The admin API's OpenAPI document, generated from the routes' `#[utoipa::path]`
//! annotations and the request and answer types: what every operation shares (the
//! credentials, the error answers) is added here once.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::Modify;

/// The document's frame: title, description, the credentials and the shared error shape.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "webhook-relay admin API",
        version = "1",
        description = "Instances, event log and replays, in Cloud Elements' platform shape. \
            Every route needs `Authorization: User <user_secret>, Organization \
            <organization_secret>` (the `[admin]` section); with both secrets empty the admin \
            API does not exist (404). Errors are `{\"code\", \"detail\"}`; a 400 \
            `invalid_value` also names the offending `key` (`name`, `configuration.\"<key>\"`, \
            `triggers[1]`, …). The instance-scoped `/webhooks` routes (Box V2 webhooks \
            created through the relay) need `Authorization: User <user_secret>, Element \
            <instance token>` instead; Box's refusals come back with Box's status and \
            `{\"code\": \"box_error\", \"detail\", \"box\": {\"code\", \"message\"}}` (and \
            Box's `Retry-After` on 429), Box failures as 502 `box_unavailable`."
    ),
    servers(
        (url = "/", description = "The relay's own paths."),
        (url = "/elements/api-v2", description = "Cloud Elements' compatibility surface: \
            every operation answers here too, behind the same credentials, in Cloud Elements' \
            shapes where they differ (README, \"Cloud Elements compatibility\"): an instance \
            adds `user` {id, emailAddress, firstName, lastName} and the default entry \
            `filter.response.nulls`; names are stripped of HTML, the name is the tag of an \
            instance created without tags; `GET /elements/{box|22}` answers the Box element \
            and `/elements/{box|22}/instances[/{id}]` the instance routes; `PATCH /instances` \
            acts on the Element token's instance, which is refused with 403 when disabled; \
            `GET /instances/events` and `GET /instances/{id}/events[/{eventId}]` answer events \
            as {id, eventDate, status (RECEIVED, DISPATCHED, NOTIFIED, CONSUMED), \
            providerData (Box's payload as a string), instanceId, relayStatus}, `pageSize` at \
            a time, the next page named by `Elements-Next-Page-Token` and asked for with \
            `nextPage`; `POST /events/box` (no credentials) takes Box V1 forms for instances \
            that opted in with `box.webhook.v1.match_user_id`; errors add `requestId` and \
            `message`.")
    ),
    security(("platform" = [])),
    components(schemas(crate::http::error::ErrorBody)),
    modifiers(&Credentials)
)]
pub struct Frame;

/// The two credentials: `platform` for the platform routes, `element` for `/webhooks`.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let scheme = |description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                description,
            )))
        };
        components.add_security_scheme(
            "platform",
            scheme("`User <user_secret>, Organization <organization_secret>`"),
        );
        components.add_security_scheme(
            "element",
            scheme("`User <user_secret>, Element <instance token>`"),
        );
    }
}

/// Adds the answers every operation may give to each that does not document its own: 401
/// and 503 everywhere; for the Box-calling `/webhooks` routes, Box's refusals and failures.
pub fn shared_answers(doc: &mut OpenApi) {
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        // The instance-scoped routes, which call Box.
        let calls_box = path.starts_with("/webhooks");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut shared = vec![
                (
                    "401",
                    "Missing or wrong credentials (which part is never said).",
                ),
                ("503", "Storage unavailable; retry."),
            ];
            if calls_box {
                shared.extend([
                    (
                        "4XX",
                        "Box's refusal (its status: 400, 403, 404, 409, 429 …), with Box's \
                         code and message (`box_error`).",
                    ),
                    (
                        "409",
                        "`not_configured` (no `server.public_url`) or `not_authorized` (the \
                         instance has no Box authorization).",
                    ),
                    (
                        "502",
                        "`box_unavailable`: Box failed or could not be reached.",
                    ),
                ]);
            }
            for (status, description) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
}
