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
/// finished in `[start, end)`, most frequent first. The subtree is the
/// inspection's copy of its establishment's path (kept in step by
/// establishment updates), so the subtree-and-time index does the filtering.
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
         JOIN violation_types t ON t.code = v.code \
         WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
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
         WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
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

/// Visits (minutes) of one team, commune, business type and outcome in a
/// span of time, and their violations.
#[derive(QueryableByName)]
pub struct VisitRow {
    /// The team that visited.
    #[diesel(sql_type = Text)]
    pub team_id: String,
    /// The establishment's commune.
    #[diesel(sql_type = Text)]
    pub org_unit_code: String,
    /// The establishment's business type.
    #[diesel(sql_type = Text)]
    pub business_type: String,
    /// What the visit found.
    #[diesel(sql_type = Text)]
    pub outcome: String,
    /// How many visits.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    /// Violations recorded in them.
    #[diesel(sql_type = BigInt)]
    pub violations: i64,
}

/// Visits under `like` finished in `[start, end)`, per team, commune,
/// business type and outcome.
pub fn visits(
    conn: &mut DbConnection,
    like: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<VisitRow>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT i.team_id, i.org_unit_code, i.business_type, i.outcome, COUNT(*) AS n, \
         CAST(COALESCE(SUM(i.violation_count), 0) AS BIGINT) AS violations \
         FROM inspections i WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         GROUP BY i.team_id, i.org_unit_code, i.business_type, i.outcome",
    )
    .bind::<Text, _>(like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?)
}

/// Distinct establishments really inspected (the team went in: no
/// violation or violations found), per commune and business type (`team_id`
/// null) or per team (`org_unit_code`, `business_type` null).
#[derive(QueryableByName)]
pub struct InspectedRow {
    /// The team, on the per-team rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub team_id: Option<String>,
    /// The commune, on the per-commune rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub org_unit_code: Option<String>,
    /// The business type, on the per-commune rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub business_type: Option<String>,
    /// Distinct establishments.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Distinct establishments under `like` inspected in `[start, end)`, per
/// commune and business type, and per team. A refusal at the door, a closed
/// or missing establishment is a visit, not an inspection.
pub fn inspected(
    conn: &mut DbConnection,
    like: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<InspectedRow>, ApiError> {
    let window = format!(
        "FROM inspections i WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         AND {}",
        crate::db::coverage::inspected_outcome_sql()
    );
    Ok(diesel::sql_query(format!(
        "SELECT CAST(NULL AS TEXT) AS team_id, org_unit_code, business_type, COUNT(*) AS n \
         FROM (SELECT i.org_unit_code, i.business_type, i.establishment_id {window} \
               GROUP BY i.org_unit_code, i.business_type, i.establishment_id) x \
         GROUP BY org_unit_code, business_type \
         UNION ALL \
         SELECT team_id, CAST(NULL AS TEXT), CAST(NULL AS TEXT), COUNT(*) \
         FROM (SELECT i.team_id, i.establishment_id {window} GROUP BY i.team_id, i.establishment_id) y \
         GROUP BY team_id"
    ))
    .bind::<Text, _>(like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?)
}

/// Violations of one proposed sanction.
#[derive(QueryableByName)]
pub struct SanctionRow {
    /// `warning`, `fine`, `suspension` or `referral`.
    #[diesel(sql_type = Text)]
    pub sanction: String,
    /// How many violations.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Sum of the fines, if any.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub fines_vnd: Option<i64>,
}

/// Violations under `like` in minutes finished in `[start, end)`, per
/// proposed sanction.
pub fn sanctions(
    conn: &mut DbConnection,
    like: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<SanctionRow>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT v.sanction, COUNT(*) AS count, CAST(SUM(v.fine_vnd) AS BIGINT) AS fines_vnd \
         FROM violations v JOIN inspections i ON i.id = v.inspection_id \
         WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         GROUP BY v.sanction",
    )
    .bind::<Text, _>(like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?)
}

/// Establishments under `like` of any status (registered).
pub fn registered(conn: &mut DbConnection, like: &str) -> Result<i64, ApiError> {
    use crate::db::schema::establishments;
    Ok(establishments::table
        .filter(establishments::unit_path.like(like))
        .count()
        .get_result(conn)?)
}

/// The legal basis of every violation type, by code.
pub fn legal_bases(conn: &mut DbConnection) -> Result<Vec<(String, String)>, ApiError> {
    use crate::db::schema::violation_types;
    Ok(violation_types::table
        .select((violation_types::code, violation_types::legal_basis))
        .load(conn)?)
}
