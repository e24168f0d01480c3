//! One error type for the API, rendered as RFC 9457 problem+json.
//! 5xx bodies are opaque; their cause is logged, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
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
    /// 412: stale `If-Match`.
    #[error("precondition failed")]
    PreconditionFailed { current_version: i32 },
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge(String),
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

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
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
            | ApiError::UnsupportedMediaType(m)
            | ApiError::NotAcceptable(m) => m.clone(),
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

/// Builds a problem+json response (used for errors raised outside handlers too).
pub fn problem_response(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(serde_json::json!({
            "type": format!("https://kiemtra.example/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        }))
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut body = serde_json::json!({
            "type": format!("https://kiemtra.example/problems/{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.detail(),
            "code": self.code(),
        });
        if let ApiError::Validation(errs) = self {
            body["errors"] = serde_json::to_value(errs).unwrap_or_default();
        }
        if let ApiError::PreconditionFailed { current_version } = self {
            body["current_version"] = (*current_version).into();
        }
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, "2"));
            }
            _ => {}
        }
        resp.json(body)
    }
}

/// Errors the database raised. Connection loss is 503; unique violations that
/// a query did not map itself are 409; anything else is a bug (500).
impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ApiError::Conflict(format!("already exists ({})", constraint_of(info.as_ref())))
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::Unavailable(e.to_string())
            }
            Error::DatabaseError(_, info) if is_connection_message(info.message()) => {
                ApiError::Unavailable(e.to_string())
            }
            // A connection lost inside a transaction leaves diesel's
            // transaction manager broken; the pool replaces the connection.
            Error::BrokenTransactionManager => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

fn is_connection_message(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    [
        "server closed the connection",
        "connection refused",
        "terminating connection",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "connection reset",
        "broken pipe",
        "lost synchronization with server",
        "database is locked",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The constraint a unique violation names: PostgreSQL gives the constraint
/// name, SQLite only "UNIQUE constraint failed: table.column".
pub fn constraint_of(info: &dyn diesel::result::DatabaseErrorInformation) -> String {
    info.constraint_name()
        .map(str::to_string)
        .unwrap_or_else(|| info.message().to_string())
}

/// Maps a unique violation on a given constraint (PostgreSQL name, or the
/// `table.column` SQLite names) to the error `f` builds; other errors pass.
pub trait ResultExt<T> {
    /// See the trait doc.
    fn on_unique(
        self,
        pg_name: &str,
        sqlite_cols: &str,
        f: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, diesel::result::Error> {
    fn on_unique(
        self,
        pg_name: &str,
        sqlite_cols: &str,
        f: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError> {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some(pg_name)
                    || info.message().contains(sqlite_cols) =>
            {
                Err(f())
            }
            other => other.map_err(ApiError::from),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}
