//! Read queries behind the console's lists (the review queue, the audit log
//! by filter) and the pre-draw warnings: each one statement, bounded.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::Entry;
use crate::db::schema::{audit_log, establishments, inspections, org_units, team_members, teams};
use crate::db::DbConnection;
use crate::domain::status::EstablishmentStatus;
use crate::error::ApiError;

/// One minutes waiting for review, with what the queue shows of it.
#[derive(Debug, Clone, Queryable)]
pub struct QueueRow {
    /// The minutes' id.
    pub id: String,
    /// The establishment's name.
    pub establishment_name: String,
    /// The establishment's unit.
    pub org_unit_code: String,
    /// The team that visited.
    pub team_id: String,
    /// The team's name.
    pub team_name: String,
    /// When the visit ended.
    pub finished_at: NaiveDateTime,
    /// When the server received it.
    pub received_at: NaiveDateTime,
    /// Its latest version.
    pub current_version: i32,
    /// What the visit found.
    pub outcome: String,
    /// Violations recorded.
    pub violation_count: i32,
    /// The device clock was ahead.
    pub clock_skew: bool,
    /// Far from the registered position.
    pub far_from_site: bool,
    /// Distance from the registered position, metres.
    pub distance_m: Option<f64>,
}

/// Pending minutes under `scope` (all when `None`), flagged ones first (far
/// from the establishment or clock ahead), then oldest received first; at
/// most `limit`.
///
/// Two bounded statements: the ids of the first `limit` from the partial
/// index of pending minutes (`inspections_pending_idx`), then those rows
/// with their establishment's and team's names. Joined in one statement,
/// PostgreSQL joined every pending minutes to the whole registry before
/// keeping the first few (90 ms with 4,286 pending in a province).
pub fn review_queue(
    conn: &mut DbConnection,
    scope: Option<&str>,
    limit: i64,
) -> Result<Vec<QueueRow>, ApiError> {
    let mut first = inspections::table
        .filter(inspections::review_status.eq("pending"))
        .select(inspections::id)
        .order((
            inspections::far_from_site.desc(),
            inspections::clock_skew.desc(),
            inspections::received_at.asc(),
            inspections::id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(s) = scope {
        first = first.filter(inspections::unit_path.like(format!("{s}%")));
    }
    let ids: Vec<String> = first.load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<QueueRow> = inspections::table
        .inner_join(establishments::table)
        .inner_join(teams::table)
        .filter(inspections::id.eq_any(&ids))
        // Reviewed between the two statements: no longer waiting.
        .filter(inspections::review_status.eq("pending"))
        .select((
            inspections::id,
            establishments::name,
            inspections::org_unit_code,
            inspections::team_id,
            teams::name,
            inspections::finished_at,
            inspections::received_at,
            inspections::current_version,
            inspections::outcome,
            inspections::violation_count,
            inspections::clock_skew,
            inspections::far_from_site,
            inspections::distance_m,
        ))
        .load(conn)?;
    let place: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    rows.sort_by_key(|r| place.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// How many minutes under `scope` wait for review.
pub fn pending_count(conn: &mut DbConnection, scope: Option<&str>) -> Result<i64, ApiError> {
    let mut q = inspections::table
        .filter(inspections::review_status.eq("pending"))
        .count()
        .into_boxed();
    if let Some(s) = scope {
        q = q.filter(inspections::unit_path.like(format!("{s}%")));
    }
    Ok(q.get_result(conn)?)
}

/// Audit entries matching the filters, newest first, at most `limit`,
/// before position `before` when given.
pub fn audit_entries(
    conn: &mut DbConnection,
    entity_id: Option<&str>,
    actor: Option<&str>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, ApiError> {
    let mut q = audit_log::table
        .order(audit_log::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(e) = entity_id {
        q = q.filter(audit_log::entity_id.eq(e.to_string()));
    }
    if let Some(a) = actor {
        q = q.filter(audit_log::actor.eq(a.to_string()));
    }
    if let Some(f) = from {
        q = q.filter(audit_log::at.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(audit_log::at.lt(t));
    }
    if let Some(b) = before {
        q = q.filter(audit_log::seq.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Active establishments under `path` counted per unit path (one row per
/// commune, or per district where establishments sit on districts).
pub fn active_counts_by_unit(
    conn: &mut DbConnection,
    path: &str,
) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(establishments::table
        .filter(establishments::unit_path.like(format!("{path}%")))
        .filter(establishments::status.eq(EstablishmentStatus::Active.as_str()))
        .group_by(establishments::unit_path)
        .select((establishments::unit_path, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Org units under `path` (the unit itself included) at one of `levels`:
/// code, name, level, path.
pub fn units_under(
    conn: &mut DbConnection,
    path: &str,
    levels: &[String],
) -> Result<Vec<(String, String, String, String)>, ApiError> {
    Ok(org_units::table
        .filter(org_units::path.like(format!("{path}%")))
        .filter(org_units::level.eq_any(levels))
        .select((
            org_units::code,
            org_units::name,
            org_units::level,
            org_units::path,
        ))
        .load(conn)?)
}

/// A team with its member count: id, name, level, unit code, members.
pub type TeamCount = (String, String, String, String, i64);

/// Teams whose jurisdiction lies under `path`, with their member counts.
pub fn teams_with_member_counts(
    conn: &mut DbConnection,
    path: &str,
) -> Result<Vec<TeamCount>, ApiError> {
    let rows: Vec<(String, String, String, String)> = teams::table
        .inner_join(org_units::table)
        .filter(org_units::path.like(format!("{path}%")))
        .select((teams::id, teams::name, teams::level, teams::org_unit_code))
        .load(conn)?;
    let counts: Vec<(String, i64)> = team_members::table
        .inner_join(teams::table.inner_join(org_units::table))
        .filter(org_units::path.like(format!("{path}%")))
        .group_by(team_members::team_id)
        .select((team_members::team_id, diesel::dsl::count_star()))
        .load(conn)?;
    let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|(id, name, level, unit)| {
            let n = counts.get(&id).copied().unwrap_or(0);
            (id, name, level, unit, n)
        })
        .collect())
}

/// Open assignments (pending or scheduled) of plan `plan_id` under `path`
/// whose due date is before `today`.
pub fn overdue_count(
    conn: &mut DbConnection,
    plan_id: &str,
    path: &str,
    today: chrono::NaiveDate,
) -> Result<i64, ApiError> {
    use crate::db::schema::assignments;
    Ok(assignments::table
        .inner_join(establishments::table)
        .filter(assignments::plan_id.eq(plan_id))
        .filter(assignments::status.eq_any(["pending", "scheduled"]))
        .filter(assignments::due_by.lt(today))
        .filter(establishments::unit_path.like(format!("{path}%")))
        .count()
        .get_result(conn)?)
}
