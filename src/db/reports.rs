//! The report's own tables: violations by code and the visits that found an
//! establishment closed, refused or missing (coverage is [`crate::db::coverage`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::DbConnection;
use crate::domain::status::Outcome;
use crate::error::ApiError;

/// Violations of one code in a span of time.
#[derive(QueryableByName)]
pub struct ViolationRow {
    /// Violation code.
    #[diesel(sql_type = Text)]
    pub code: String,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Violations recorded.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Distinct establishments.
    #[diesel(sql_type = BigInt)]
    pub establishments: i64,
    /// Sum of the fines proposed, if any.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub fines_vnd: Option<i64>,
}

/// A visit that found an establishment closed, refusing entry or not found.
#[derive(QueryableByName)]
pub struct OutcomeRow {
    /// The establishment's licence number.
    #[diesel(sql_type = Text)]
    pub licence_no: String,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its commune.
    #[diesel(sql_type = Text)]
    pub org_unit_code: String,
    /// The visit's outcome.
    #[diesel(sql_type = Text)]
    pub outcome: String,
    /// When the visit finished.
    #[diesel(sql_type = Timestamp)]
    pub finished_at: NaiveDateTime,
    /// The team's name.
    #[diesel(sql_type = Text)]
    pub team: String,
}

/// Violations per code of inspections of establishments under `like`
/// finished in `[start, end)`, most frequent first.
pub fn violations_by_code(
    conn: &mut DbConnection,
    like: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<ViolationRow>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT v.code, t.title, COUNT(*) AS count, COUNT(DISTINCT i.establishment_id) AS establishments, \
         CAST(SUM(v.fine_vnd) AS BIGINT) AS fines_vnd \
         FROM violations v JOIN inspections i ON i.id = v.inspection_id \
         JOIN establishments e ON e.id = i.establishment_id JOIN violation_types t ON t.code = v.code \
         WHERE e.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         GROUP BY v.code, t.title ORDER BY COUNT(*) DESC, v.code",
    )
    .bind::<Text, _>(like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?)
}

/// Inspections of establishments under `like` finished in `[start, end)`
/// that found them closed, refusing entry or not found (in no order).
pub fn closed_or_refused(
    conn: &mut DbConnection,
    like: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<OutcomeRow>, ApiError> {
    Ok(diesel::sql_query(format!(
        "SELECT e.licence_no, e.name, e.org_unit_code, i.outcome, i.finished_at, t.name AS team \
         FROM inspections i JOIN establishments e ON e.id = i.establishment_id JOIN teams t ON t.id = i.team_id \
         WHERE e.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         AND i.outcome IN ('{}', '{}', '{}')",
        Outcome::Closed.as_str(),
        Outcome::RefusedEntry.as_str(),
        Outcome::NotFound.as_str()
    ))
    .bind::<Text, _>(like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?)
}
