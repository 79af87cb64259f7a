//! Cloud Elements' event analytics: `GET /instances/events/analytics`,
//! `/instances/events/analytics/instances` and `/instances/events/analytics/accounts`, with
//! `from`, `to` (RFC 3339 or unix milliseconds), `interval` (`minute`, `hour`, `day`) and
//! `accountIds[]`. Every route answers the same bucket, `{timestamp, count, total, success,
//! failed, latencyP50Ms, latencyP99Ms, records}`: Cloud Elements' `{count, timestamp}` of the
//! first route and `{total, records, timestamp}` of the others in one shape. Errors here are
//! Cloud Elements' `{requestId, message}`, with the relay's `code` and `detail` beside them.
//! What is counted is in [`crate::store::analytics`].

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use utoipa::ToSchema;

use super::AdminState;
use crate::admin::analytics::{AnalyticsQuery, Interval, ACCOUNT_ID};
use crate::admin::AdminError;
use crate::clock::now_ms;
use crate::invalid::InvalidValue;
use crate::store::analytics::{Counts, Series};

/// An analytics error, in Cloud Elements' shape with the relay's beside it.
#[derive(Debug)]
pub enum AnalyticsError {
    /// 400 `invalid_value`.
    Invalid(InvalidValue),
    /// 403 `forbidden`: an account that is not the relay's.
    Forbidden(String),
    /// 503 `storage_unavailable`.
    Unavailable,
}

impl From<InvalidValue> for AnalyticsError {
    fn from(e: InvalidValue) -> Self {
        AnalyticsError::Invalid(e)
    }
}

impl From<AdminError> for AnalyticsError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(v) => AnalyticsError::Invalid(v),
            other => {
                tracing::error!(error = %other, "analytics request failed");
                AnalyticsError::Unavailable
            }
        }
    }
}

/// The body of an analytics error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsErrorBody {
    /// Cloud Elements' request id: a fresh id, also logged with the error.
    pub request_id: String,
    /// Cloud Elements' message (the same as `detail`).
    pub message: String,
    /// The relay's stable code: `invalid_value`, `forbidden`, `storage_unavailable`.
    pub code: &'static str,
    /// What went wrong.
    pub detail: String,
    /// The offending parameter (`invalid_value` only): `from`, `to`, `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl IntoResponse for AnalyticsError {
    fn into_response(self) -> Response {
        let (status, code, detail, key) = match self {
            AnalyticsError::Invalid(InvalidValue { key, reason }) => (
                StatusCode::BAD_REQUEST,
                "invalid_value",
                format!("{key}: {reason}"),
                Some(key),
            ),
            AnalyticsError::Forbidden(detail) => (StatusCode::FORBIDDEN, "forbidden", detail, None),
            AnalyticsError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "storage is unavailable, retry later".to_string(),
                None,
            ),
        };
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        tracing::info!(request_id = %request_id, code, "analytics request refused");
        let body = AnalyticsErrorBody {
            request_id,
            message: detail.clone(),
            code,
            detail,
            key,
        };
        (status, Json(body)).into_response()
    }
}

/// One interval's counts for one instance or account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsRecord {
    /// The instance (per-instance records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<i64>,
    /// The account, always 1 (per-account records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    /// Events accepted (received and committed) in the interval.
    pub count: u64,
    /// Events delivered in the interval.
    pub success: u64,
    /// Events given up on in the interval.
    pub failed: u64,
    /// Median delivery latency (delivered − received) of the events delivered in the
    /// interval, milliseconds; null when none was. Read from a histogram: never below the true
    /// value, at most ~20 % above it.
    pub latency_p50_ms: Option<i64>,
    /// 99th percentile delivery latency, milliseconds (as `latencyP50Ms`).
    pub latency_p99_ms: Option<i64>,
}

/// One interval of the answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsBucket {
    /// Start of the interval, RFC 3339 UTC, aligned on the interval.
    pub timestamp: String,
    /// Events accepted in the interval, every instance together.
    pub count: u64,
    /// The same as `count` (Cloud Elements' name on the per-instance and per-account routes).
    pub total: u64,
    /// Events delivered in the interval.
    pub success: u64,
    /// Events given up on in the interval.
    pub failed: u64,
    /// Median delivery latency in the interval, milliseconds (see the record's).
    pub latency_p50_ms: Option<i64>,
    /// 99th percentile delivery latency in the interval, milliseconds.
    pub latency_p99_ms: Option<i64>,
    /// Per instance (or per account), only those with something in the interval.
    pub records: Vec<AnalyticsRecord>,
}

/// How records are grouped.
#[derive(Debug, Clone, Copy)]
enum By {
    Instance,
    Account,
}

fn record(counts: &Counts, instance_id: Option<i64>, account_id: Option<i64>) -> AnalyticsRecord {
    AnalyticsRecord {
        instance_id,
        account_id,
        count: counts.accepted,
        success: counts.delivered,
        failed: counts.failed,
        latency_p50_ms: counts.latency.quantile_ms(0.5),
        latency_p99_ms: counts.latency.quantile_ms(0.99),
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn buckets(series: &Series, by: By) -> Vec<AnalyticsBucket> {
    let bucket = |b: &crate::store::analytics::Bucket| {
        let records = match by {
            By::Instance => b
                .instances
                .iter()
                .filter(|(_, c)| !c.is_empty())
                .map(|(id, c)| record(c, Some(*id), None))
                .collect(),
            By::Account if b.total.is_empty() => Vec::new(),
            By::Account => vec![record(&b.total, None, Some(ACCOUNT_ID))],
        };
        AnalyticsBucket {
            timestamp: timestamp(b.start_ms),
            count: b.total.accepted,
            total: b.total.accepted,
            success: b.total.delivered,
            failed: b.total.failed,
            latency_p50_ms: b.total.latency.quantile_ms(0.5),
            latency_p99_ms: b.total.latency.quantile_ms(0.99),
            records,
        }
    };
    series.buckets.iter().map(bucket).collect()
}

/// A time as given: RFC 3339, or unix milliseconds.
fn time(key: &str, value: &str) -> Result<i64, InvalidValue> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            InvalidValue::new(
                key,
                "an RFC 3339 time (2024-05-01T12:00:00Z) or unix milliseconds",
            )
        })
}

/// Reads the query (`accountIds[]` repeats, which the usual extractor cannot read).
fn query(raw: Option<&str>) -> Result<AnalyticsQuery, AnalyticsError> {
    let mut q = AnalyticsQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "from" => q.from_ms = Some(time("from", &value)?),
            "to" => q.to_ms = Some(time("to", &value)?),
            "interval" => {
                q.interval = Some(Interval::parse(&value).ok_or_else(|| {
                    InvalidValue::new("interval", format!("one of {}", Interval::NAMES))
                })?)
            }
            "accountIds[]" | "accountIds" => {
                for id in value.split(',').map(str::trim) {
                    if id != ACCOUNT_ID.to_string() {
                        return Err(AnalyticsError::Forbidden(format!(
                            "accountIds: this relay has one account, {ACCOUNT_ID}"
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(q)
}

async fn answer(
    admin: &AdminState,
    raw: Option<String>,
    by: By,
) -> Result<Json<Vec<AnalyticsBucket>>, AnalyticsError> {
    let window = query(raw.as_deref())?.window(now_ms())?;
    let series = admin.service.analytics(window).await?;
    Ok(Json(buckets(&series, by)))
}

/// Events per interval, in total and per instance.
#[utoipa::path(
    get,
    path = "/instances/events/analytics",
    operation_id = "getEventAnalytics",
    params(
        ("from" = Option<String>, Query, description = "Start (included), RFC 3339 or unix \
            milliseconds; default: 60 intervals before `to`."),
        ("to" = Option<String>, Query, description = "End (excluded); default: now."),
        ("interval" = Option<String>, Query, description = "`minute` (default), `hour` or \
            `day`; intervals are aligned on UTC, the first holds `from` and the last `to`; at \
            most 1,500."),
        ("accountIds[]" = Option<Vec<i64>>, Query, description = "Only `1`, the relay's one \
            account; any other is refused with 403."),
    ),
    responses(
        (status = 200, description = "One bucket per interval, oldest first (one hour by \
            minute: 61); `records` per instance.", body = Vec<AnalyticsBucket>),
        (status = 400, description = "`to` before `from`, an unknown interval, too many \
            intervals, or a time that does not parse.", body = AnalyticsErrorBody),
        (status = 403, description = "`accountIds[]` names another account.", body = AnalyticsErrorBody),
    )
)]
pub async fn totals(
    State(admin): State<AdminState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<AnalyticsBucket>>, AnalyticsError> {
    answer(&admin, raw, By::Instance).await
}

/// Events per interval and instance.
#[utoipa::path(
    get,
    path = "/instances/events/analytics/instances",
    operation_id = "getEventAnalyticsByInstance",
    params(
        ("from" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("to" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("interval" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("accountIds[]" = Option<Vec<i64>>, Query, description = "Only `1`."),
    ),
    responses(
        (status = 200, description = "One bucket per interval; `records` has one entry per \
            instance with something in the interval.", body = Vec<AnalyticsBucket>),
        (status = 400, description = "As for `/instances/events/analytics`.", body = AnalyticsErrorBody),
        (status = 403, description = "`accountIds[]` names another account.", body = AnalyticsErrorBody),
    )
)]
pub async fn by_instance(
    State(admin): State<AdminState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<AnalyticsBucket>>, AnalyticsError> {
    answer(&admin, raw, By::Instance).await
}

/// Events per interval and account (the relay has one, id 1).
#[utoipa::path(
    get,
    path = "/instances/events/analytics/accounts",
    operation_id = "getEventAnalyticsByAccount",
    params(
        ("from" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("to" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("interval" = Option<String>, Query, description = "As for `/instances/events/analytics`."),
        ("accountIds[]" = Option<Vec<i64>>, Query, description = "Only `1`."),
    ),
    responses(
        (status = 200, description = "One bucket per interval; `records` holds account 1 when \
            something happened in the interval, else nothing.", body = Vec<AnalyticsBucket>),
        (status = 400, description = "As for `/instances/events/analytics`.", body = AnalyticsErrorBody),
        (status = 403, description = "`accountIds[]` names another account.", body = AnalyticsErrorBody),
    )
)]
pub async fn by_account(
    State(admin): State<AdminState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<AnalyticsBucket>>, AnalyticsError> {
    answer(&admin, raw, By::Account).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_milliseconds() {
        assert_eq!(time("from", "1000").unwrap(), 1000);
        assert_eq!(time("from", "1970-01-01T00:00:01.500Z").unwrap(), 1500);
        assert_eq!(time("to", "yesterday").unwrap_err().key, "to");
        assert_eq!(timestamp(1500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn another_account_is_forbidden_and_ours_is_not() {
        assert!(matches!(
            query(Some("accountIds%5B%5D=0")),
            Err(AnalyticsError::Forbidden(_))
        ));
        assert!(query(Some("accountIds[]=1&interval=hour")).is_ok());
        assert!(matches!(
            query(Some("interval=second")),
            Err(AnalyticsError::Invalid(v)) if v.key == "interval"
        ));
    }
}
