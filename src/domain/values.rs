//! Values every layer uses: the clock, ids, versions.

use crate::error::ApiError;

/// The current time, truncated to microseconds (what both databases keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// RFC 3339 (UTC, `Z`) rendering of a stored timestamp.
pub fn rfc3339(t: &chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A new random id (UUID v4, lower-case text).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Parses a UUID path or body id into canonical lower-case text.
pub fn parse_uuid(field: &str, s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::field(field, "must be a UUID"))
}

/// Like [`parse_uuid`] for path ids: an id that cannot exist is 404.
pub fn path_uuid(s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound)
}

/// 412 when `If-Match` was given and differs from `current`.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != current => Err(ApiError::PreconditionFailed {
            current_version: current,
        }),
        _ => Ok(()),
    }
}
