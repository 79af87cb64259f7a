//! Events on Cloud Elements' surface: `GET /instances/events` (every instance's),
//! `GET /instances/{id}/events` and `GET /instances/{id}/events/{eventId}`, each event a
//! [`CompatEvent`]. Lists are newest first, `pageSize` at a time; when more follow, the
//! answer carries `Elements-Next-Page-Token`, given back as `nextPage`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::view::CompatEvent;
use super::{path_id, Platform};
use crate::http::admin::AdminState;
use crate::http::error::ApiError;

/// `pageSize` when not given (Cloud Elements' default), and the largest accepted.
const DEFAULT_PAGE_SIZE: u32 = 200;
const MAX_PAGE_SIZE: u32 = 500;

/// The header naming the next page.
pub const NEXT_PAGE_HEADER: &str = "elements-next-page-token";

/// A page of events, as asked.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    /// Events per page, 1 to 500 (default 200).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<String>,
    /// The `Elements-Next-Page-Token` of the previous page.
    next_page: Option<String>,
}

impl PageParams {
    fn check(&self) -> Result<(u32, Option<i64>), ApiError> {
        let size = match &self.page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("pageSize", format!("an integer from 1 to {MAX_PAGE_SIZE}"))
                })?,
        };
        let before = match &self.next_page {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::invalid("nextPage", "not a token this API gave"))?,
            ),
        };
        Ok((size, before))
    }
}

async fn page(
    admin: &AdminState,
    instance: Option<i64>,
    params: &PageParams,
) -> Result<(HeaderMap, Json<Vec<CompatEvent>>), ApiError> {
    let (size, before) = params.check()?;
    let page = admin.service.event_bodies(instance, before, size).await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = page.next {
        headers.insert(NEXT_PAGE_HEADER, next.into());
    }
    let events = page
        .events
        .iter()
        .map(|(summary, body)| CompatEvent::of(summary, body))
        .collect();
    Ok((headers, Json(events)))
}

/// Every instance's events, newest first.
pub async fn list_all(
    _: Platform,
    State(admin): State<AdminState>,
    Query(params): Query<PageParams>,
) -> Result<(HeaderMap, Json<Vec<CompatEvent>>), ApiError> {
    page(&admin, None, &params).await
}

/// One instance's events, newest first.
pub async fn list(
    _: Platform,
    State(admin): State<AdminState>,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<(HeaderMap, Json<Vec<CompatEvent>>), ApiError> {
    page(&admin, Some(path_id(&id)?), &params).await
}

/// One event of an instance (another instance's is 404).
pub async fn show(
    _: Platform,
    State(admin): State<AdminState>,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<CompatEvent>, ApiError> {
    let detail = admin
        .service
        .instance_event(path_id(&id)?, &event_id)
        .await?;
    Ok(Json(CompatEvent::of(&detail.summary, &detail.body)))
}
