//! Maps the driver's errors into [`ApiError`]: a lost connection is 503,
//! unique violations 409 unless a query maps its own constraint.

use crate::error::ApiError;

/// Errors the database raised. Connection loss is 503; unique violations that
/// a query did not map itself are 409; anything else is a bug (500).
impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => ApiError::Duplicate {
                constraint: constraint_of(info.as_ref()),
            },
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => ApiError::Unavailable(e.to_string()),
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_unclassified_loss(info.message()) =>
            {
                ApiError::Unavailable(e.to_string())
            }
            // A connection lost inside a transaction leaves diesel's
            // transaction manager broken; the pool replaces the connection.
            Error::BrokenTransactionManager => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

/// Losses that diesel reports with `DatabaseErrorKind::Unknown`: libpq's
/// own read failures and a server shutting down or starting (SQLSTATE class
/// 57P, which diesel does not classify), and SQLite's busy database. Only
/// these texts are matched; every classified error goes by its kind.
fn is_unclassified_loss(m: &str) -> bool {
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
