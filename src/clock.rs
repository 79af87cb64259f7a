//! The relay's clock: times are unix milliseconds wherever they are stored, compared or
//! sent, read from here.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
