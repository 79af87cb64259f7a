//! `POST /instances/{id}/resume` (platform credentials): lifts the suspension of an instance
//! under the `queue` failure policy. What is done is in [`crate::admin::suspension`].

use axum::extract::{Path, State};
use axum::Json;

use super::{instance_id, AdminState};
use crate::http::error::{ApiError, ErrorBody};
use crate::instance::api::InstanceAnswer;

/// Resume a suspended instance.
#[utoipa::path(
    post,
    path = "/instances/{id}/resume",
    operation_id = "resumeInstance",
    params(("id" = i64, Path, description = "Instance id.", minimum = 1)),
    responses(
        (status = 200, description = "The instance, `\"suspended\": false`: the events held \
            while it was suspended are delivered, oldest first; the event that failed stays \
            `failed` until replayed. An instance that was not suspended is answered \
            unchanged.", body = InstanceAnswer),
        (status = 404, description = "No such instance.", body = ErrorBody),
    )
)]
pub async fn resume(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceAnswer>, ApiError> {
    let instance = admin.service.resume(instance_id(&id)?).await?;
    Ok(Json(InstanceAnswer::of(&instance)))
}
