//! The counts behind coverage and the reports, aggregated by the database:
//! rows per commune and business type (and per team), never per
//! establishment or inspection.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::schema::{assignments, org_units, team_members, teams, users};
use crate::db::DbConnection;
use crate::domain::status::{AssignmentStatus, EstablishmentStatus, Outcome};
use crate::error::ApiError;

/// Active establishments per commune and business type.
#[derive(QueryableByName, Clone)]
pub struct EligibleRow {
    /// Commune.
    #[diesel(sql_type = Text)]
    pub org_unit_code: String,
    /// Business type.
    #[diesel(sql_type = Text)]
    pub business_type: String,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A plan's assignments (not cancelled) per team, commune and business type.
#[derive(QueryableByName, Clone)]
pub struct AssignedRow {
    /// Team.
    #[diesel(sql_type = Text)]
    pub team_id: String,
    /// The establishment's commune.
    #[diesel(sql_type = Text)]
    pub org_unit_code: String,
    /// The establishment's business type.
    #[diesel(sql_type = Text)]
    pub business_type: String,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Inspections counted by the database: distinct establishments and their
/// violations, per commune and business type (`team_id` null), per team
/// (`org_unit_code` and `business_type` null), or in all (all three null).
/// An establishment lies in one commune and has one type, so the commune rows
/// add up to any coarser group, and to the total, without counting one twice.
#[derive(QueryableByName, Clone)]
pub struct InspectedRow {
    /// Team, on the per-team rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub team_id: Option<String>,
    /// Commune, on the per-commune rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub org_unit_code: Option<String>,
    /// Business type, on the per-commune rows.
    #[diesel(sql_type = Nullable<Text>)]
    pub business_type: Option<String>,
    /// Distinct establishments inspected.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    /// Violations recorded in those inspections.
    #[diesel(sql_type = BigInt)]
    pub violations: i64,
}

/// The unit counted (the plan's, or the caller's area inside it) as a
/// `LIKE` pattern and the span of time counted (`start` inclusive, `end`
/// exclusive).
pub struct Window {
    /// `<unit path>%`.
    pub like: String,
    /// Start of the first day counted.
    pub start: NaiveDateTime,
    /// End of the last day counted.
    pub end: NaiveDateTime,
}

/// `i.outcome IN ('no_violation', 'violations_found')`: the minutes that
/// count as an inspection ([`Outcome::INSPECTED`], the one definition the
/// coverage and the reports share), for inspections aliased `i`.
pub(crate) fn inspected_outcome_sql() -> String {
    let quoted: Vec<String> = Outcome::INSPECTED
        .iter()
        .map(|o| format!("'{}'", o.as_str()))
        .collect();
    format!("i.outcome IN ({})", quoted.join(", "))
}

/// Inspected establishments and their violations: per commune and business
/// type, per team, and in all (when the team query ran).
pub type Inspected = (Vec<InspectedRow>, Vec<InspectedRow>, Option<(i64, i64)>);

/// The inspections' counts in the window: per commune and business type if
/// `by_commune` (per commune alone, `business_type` empty, unless
/// `by_type`), per team and in all if `by_team`.
pub fn inspected(
    conn: &mut DbConnection,
    w: &Window,
    by_commune: bool,
    by_team: bool,
    by_type: bool,
) -> Result<Inspected, ApiError> {
    // Inspections of establishments inside the plan's unit finished in the
    // window, whoever made them (a surprise inspection counts): one range
    // scan of a covering index of inspections, which carry a copy of their
    // establishment's unit path, commune and business type (kept in step
    // with the establishment: see establishments::copy_to_inspections).
    // Each query first sums per establishment and then counts those rows,
    // rather than COUNT(DISTINCT): PostgreSQL hashes both steps instead of
    // sorting every inspection.
    // Only the visits that count as an inspection (a refusal at the door,
    // an establishment closed or not found does not: [`Outcome::INSPECTED`]).
    let from = format!(
        "FROM inspections i \
         WHERE i.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 AND {}",
        inspected_outcome_sql()
    );
    let from = from.as_str();
    let mut queries = Vec::new();
    if by_commune {
        // An establishment has one commune and one type, so grouping its
        // inspections by commune alone counts it once just the same.
        let (bt, by_bt) = if by_type {
            ("i.business_type", ", i.business_type")
        } else {
            ("CAST('' AS TEXT)", "")
        };
        queries.push(format!(
            "SELECT CAST(NULL AS TEXT) AS team_id, org_unit_code, business_type, COUNT(*) AS n, \
             CAST(SUM(v) AS BIGINT) AS violations \
             FROM (SELECT i.org_unit_code, {bt} AS business_type, i.establishment_id, SUM(i.violation_count) AS v \
                   {from} GROUP BY i.org_unit_code{by_bt}, i.establishment_id) x \
             GROUP BY org_unit_code, business_type"
        ));
    }
    if by_team {
        // Per team, and in all (the row with a null team: an establishment
        // inspected by two teams counts once there).
        queries.push(format!(
            "WITH x AS (SELECT i.team_id, i.establishment_id, SUM(i.violation_count) AS v \
                        {from} GROUP BY i.team_id, i.establishment_id) \
             SELECT team_id, CAST(NULL AS TEXT) AS org_unit_code, CAST(NULL AS TEXT) AS business_type, \
                    COUNT(*) AS n, CAST(SUM(v) AS BIGINT) AS violations FROM x GROUP BY team_id \
             UNION ALL \
             SELECT NULL, NULL, NULL, COUNT(*), CAST(COALESCE(SUM(v), 0) AS BIGINT) \
             FROM (SELECT establishment_id, SUM(v) AS v FROM x GROUP BY establishment_id) y"
        ));
    }
    let (mut by_unit, mut by_team_rows, mut total) = (Vec::new(), Vec::new(), None);
    for sql in queries {
        let rows: Vec<InspectedRow> = diesel::sql_query(sql)
            .bind::<Text, _>(&w.like)
            .bind::<Timestamp, _>(w.start)
            .bind::<Timestamp, _>(w.end)
            .load(conn)?;
        for r in rows {
            match (&r.team_id, &r.org_unit_code) {
                (Some(_), _) => by_team_rows.push(r),
                (None, Some(_)) => by_unit.push(r),
                (None, None) => total = Some((r.n, r.violations)),
            }
        }
    }
    Ok((by_unit, by_team_rows, total))
}

/// `business_type` and its `GROUP BY` term for a table aliased `t`: the
/// column when counting `by_type`, else an empty string (one row per
/// commune: ten times fewer rows to group, send and add up).
fn type_terms(t: &str, by_type: bool) -> (String, String) {
    if by_type {
        (format!("{t}.business_type"), format!(", {t}.business_type"))
    } else {
        ("CAST('' AS TEXT)".into(), String::new())
    }
}

/// Active establishments under `like`, per commune and business type (per
/// commune alone, `business_type` empty, unless `by_type`).
pub fn eligible(
    conn: &mut DbConnection,
    like: &str,
    by_type: bool,
) -> Result<Vec<EligibleRow>, ApiError> {
    let (bt, by_bt) = type_terms("e", by_type);
    Ok(diesel::sql_query(format!(
        "SELECT e.org_unit_code, {bt} AS business_type, COUNT(*) AS n FROM establishments e \
         WHERE e.unit_path LIKE $1 AND e.status = '{}' GROUP BY e.org_unit_code{by_bt}",
        EstablishmentStatus::Active.as_str()
    ))
    .bind::<Text, _>(like)
    .load(conn)?)
}

/// The plan's assignments that are not cancelled, per team, commune and
/// business type of their establishment (per team and commune alone,
/// `business_type` empty, unless `by_type`): those of establishments under
/// `like`, and when `like` is the `whole_plan`'s unit, also those whose
/// establishment moved out of it.
pub fn assigned(
    conn: &mut DbConnection,
    like: &str,
    plan_id: &str,
    whole_plan: bool,
    by_type: bool,
) -> Result<Vec<AssignedRow>, ApiError> {
    let cancelled = AssignmentStatus::Cancelled.as_str();
    let (bt, by_bt) = type_terms("e", by_type);
    // Counted from the establishments of the plan's unit (a hash join of two
    // index-only scans); the draw only assigns inside the unit, but an
    // establishment may move out later, so if the count falls short of all
    // the plan's assignments, they are counted one by one.
    let assigned: Vec<AssignedRow> = diesel::sql_query(format!(
        "SELECT a.team_id, e.org_unit_code, {bt} AS business_type, COUNT(*) AS n \
         FROM establishments e JOIN assignments a ON a.establishment_id = e.id \
         WHERE e.unit_path LIKE $1 AND a.plan_id = $2 AND a.status <> '{cancelled}' \
         GROUP BY a.team_id, e.org_unit_code{by_bt}"
    ))
    .bind::<Text, _>(like)
    .bind::<Text, _>(plan_id)
    .load(conn)?;
    if !whole_plan {
        return Ok(assigned);
    }
    let all_assigned: i64 = assignments::table
        .filter(assignments::plan_id.eq(plan_id))
        .filter(assignments::status.ne(cancelled))
        .count()
        .get_result(conn)?;
    if assigned.iter().map(|r| r.n).sum::<i64>() == all_assigned {
        return Ok(assigned);
    }
    Ok(diesel::sql_query(format!(
        "SELECT a.team_id, e.org_unit_code, {bt} AS business_type, COUNT(*) AS n FROM assignments a \
         JOIN establishments e ON e.id = a.establishment_id \
         WHERE a.plan_id = $1 AND a.status <> '{cancelled}' GROUP BY a.team_id, e.org_unit_code{by_bt}"
    ))
    .bind::<Text, _>(plan_id)
    .load(conn)?)
}

/// (code, name, path) of every unit under `like`, and of the units at
/// `paths`.
pub fn units(
    conn: &mut DbConnection,
    like: &str,
    paths: &[String],
) -> Result<Vec<(String, String, String)>, ApiError> {
    let query = org_units::table
        .select((org_units::code, org_units::name, org_units::path))
        .into_boxed();
    // The plain range scan unless there are units above the area to name.
    let query = if paths.is_empty() {
        query.filter(org_units::path.like(like))
    } else {
        query.filter(org_units::path.like(like).or(org_units::path.eq_any(paths)))
    };
    Ok(query.load(conn)?)
}

/// (id, name, level, unit path) of the teams under `like` (only
/// `only_team`, if given).
pub fn teams(
    conn: &mut DbConnection,
    like: &str,
    only_team: Option<&str>,
) -> Result<Vec<(String, String, String, String)>, ApiError> {
    let mut query = teams::table
        .inner_join(org_units::table)
        .filter(org_units::path.like(like))
        .select((teams::id, teams::name, teams::level, org_units::path))
        .into_boxed();
    if let Some(t) = only_team {
        query = query.filter(teams::id.eq(t));
    }
    Ok(query.load(conn)?)
}

/// A team member whose device has not synced since a given time.
pub struct SilentDevice {
    /// The team.
    pub team_id: String,
    /// Its name.
    pub team_name: String,
    /// The member.
    pub user_id: String,
    /// Their username.
    pub username: String,
    /// Their last sync, if any.
    pub last_sync_at: Option<NaiveDateTime>,
}

/// Members of the teams under `like` (only `only_team`, if given) that
/// never synced or not since `since`, by team name and username.
pub fn silent_devices(
    conn: &mut DbConnection,
    like: &str,
    only_team: Option<&str>,
    since: NaiveDateTime,
) -> Result<Vec<SilentDevice>, ApiError> {
    let mut query = users::table
        .inner_join(team_members::table.on(team_members::user_id.eq(users::id)))
        .inner_join(teams::table.on(teams::id.eq(team_members::team_id)))
        .inner_join(org_units::table.on(org_units::code.eq(teams::org_unit_code)))
        .filter(org_units::path.like(like))
        .filter(
            users::last_sync_at
                .is_null()
                .or(users::last_sync_at.lt(since)),
        )
        .select((
            teams::id,
            teams::name,
            users::id,
            users::username,
            users::last_sync_at,
        ))
        .order((teams::name, users::username))
        .into_boxed();
    if let Some(t) = only_team {
        query = query.filter(teams::id.eq(t));
    }
    let rows: Vec<(String, String, String, String, Option<NaiveDateTime>)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(team_id, team_name, user_id, username, last_sync_at)| SilentDevice {
                team_id,
                team_name,
                user_id,
                username,
                last_sync_at,
            },
        )
        .collect())
}
