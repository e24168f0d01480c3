//! The one error type of the use cases, named by what went wrong; the HTTP
//! layer renders it as RFC 9457 problem+json (`crate::api::error`), the
//! database layer maps driver errors into it (`crate::db::error`).

use serde::Serialize;

/// A validation message about one field of the input.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a JSON path (`violations[1].code`) or column name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every error the API can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: input that does not satisfy the contract.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 400: a request that cannot be read at all.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403.
    #[error("forbidden")]
    Forbidden,
    /// 404 (also for resources outside the caller's scope).
    #[error("not found")]
    NotFound,
    /// 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409: the database already holds a row with this key; `constraint`
    /// names the key (PostgreSQL's constraint, or SQLite's `table.column`).
    #[error("already exists ({constraint})")]
    Duplicate {
        /// The unique constraint that refused the row.
        constraint: String,
    },
    /// 412: stale `If-Match`.
    #[error("precondition failed")]
    PreconditionFailed { current_version: i32 },
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge(String),
    /// 408: the body did not arrive in time (`BODY_TIMEOUT_SECS`,
    /// `BODY_MIN_RATE`); the connection is closed after the answer.
    #[error("request timeout: {0}")]
    RequestTimeout(String),
    /// 415.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 406.
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// 429 with `Retry-After` seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: the database cannot be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; the detail is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable machine-readable code of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) | ApiError::Duplicate { .. } => "conflict",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The message shown to the client (5xx causes are never shown).
    pub fn detail(&self) -> String {
        match self {
            ApiError::Validation(errs) => errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::RequestTimeout(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::NotAcceptable(m) => m.clone(),
            ApiError::Duplicate { constraint } => format!("already exists ({constraint})"),
            ApiError::Forbidden => "your role does not allow this".into(),
            ApiError::NotFound => "no such resource".into(),
            ApiError::PreconditionFailed { current_version } => {
                format!("If-Match does not match the current version {current_version}")
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("too many attempts; retry after {retry_after_secs} s")
            }
            ApiError::Unavailable(_) => "the database is unavailable; retry shortly".into(),
            ApiError::Internal(_) => "an internal error occurred".into(),
        }
    }
}
