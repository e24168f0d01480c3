//! A plan's indicators and the activities recorded against them: the
//! queries behind [`crate::app::indicators`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{activities, attachments, org_units, plan_indicators};
use crate::db::{DbConnection, ResultExt};
use crate::error::ApiError;

/// A stored indicator (also its audit snapshot).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = plan_indicators)]
pub struct IndicatorRow {
    /// Id.
    pub id: String,
    /// Its plan.
    pub plan_id: String,
    /// Unique within the plan.
    pub code: String,
    /// Its name (NFC).
    pub name: String,
    /// `province`, `district` or `commune`.
    pub unit_level: String,
    /// `share_of_units`, `count` or `per_month`.
    pub kind: String,
    /// The target (see the kind).
    pub target: f64,
    /// Its place in the plan's list.
    pub position: i32,
    /// Optimistic version.
    pub version: i32,
    /// Who defined it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: NaiveDateTime,
}

/// A stored activity (also its audit snapshot).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    /// Id (the client's UUID, or one made here).
    pub id: String,
    /// Its plan.
    pub plan_id: String,
    /// Its indicator.
    pub indicator_id: String,
    /// The indicator's code.
    pub indicator_code: String,
    /// The unit that did it.
    pub org_unit_code: String,
    /// That unit's path.
    pub unit_path: String,
    /// The day.
    pub date: NaiveDate,
    /// How many.
    pub quantity: i64,
    /// What was done.
    pub note: String,
    /// `recorded` or `withdrawn`.
    pub status: String,
    /// Why it was withdrawn.
    pub withdraw_reason: Option<String>,
    /// SHA-256 of its evidence file, if any.
    pub evidence_sha256: Option<String>,
    /// SHA-256 of the first post's content.
    #[serde(skip)]
    pub posted_digest: String,
    /// Optimistic version.
    pub version: i32,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: NaiveDateTime,
}

/// The indicators of a plan, in their order.
pub fn of_plan(conn: &mut DbConnection, plan_id: &str) -> Result<Vec<IndicatorRow>, ApiError> {
    Ok(plan_indicators::table
        .filter(plan_indicators::plan_id.eq(plan_id))
        .order((plan_indicators::position, plan_indicators::code))
        .select(IndicatorRow::as_select())
        .load(conn)?)
}

/// One indicator of a plan by its code.
pub fn find(
    conn: &mut DbConnection,
    plan_id: &str,
    code: &str,
) -> Result<Option<IndicatorRow>, ApiError> {
    Ok(plan_indicators::table
        .filter(plan_indicators::plan_id.eq(plan_id))
        .filter(plan_indicators::code.eq(code))
        .select(IndicatorRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a new indicator; a code already used in the plan is 409.
pub fn insert(conn: &mut DbConnection, row: &IndicatorRow) -> Result<(), ApiError> {
    diesel::insert_into(plan_indicators::table)
        .values(row)
        .execute(conn)
        .on_unique(
            "plan_indicators_code_key",
            "plan_indicators.plan_id, plan_indicators.code",
            || ApiError::Conflict("the plan already has an indicator with this code".into()),
        )?;
    Ok(())
}

/// Replaces an indicator's name, level, kind and target if it is still at
/// `version`; the rows changed (0: someone else changed it first).
pub fn update_at_version(
    conn: &mut DbConnection,
    row: &IndicatorRow,
    version: i32,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        plan_indicators::table
            .filter(plan_indicators::id.eq(&row.id))
            .filter(plan_indicators::version.eq(version)),
    )
    .set((
        plan_indicators::name.eq(&row.name),
        plan_indicators::unit_level.eq(&row.unit_level),
        plan_indicators::kind.eq(&row.kind),
        plan_indicators::target.eq(row.target),
        plan_indicators::version.eq(version + 1),
        plan_indicators::updated_by.eq(&row.updated_by),
        plan_indicators::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?)
}

/// The next position in a plan's list.
pub fn next_position(conn: &mut DbConnection, plan_id: &str) -> Result<i32, ApiError> {
    let max: Option<i32> = plan_indicators::table
        .filter(plan_indicators::plan_id.eq(plan_id))
        .select(diesel::dsl::max(plan_indicators::position))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

/// Activities of an indicator, in any state.
pub fn count_of_indicator(conn: &mut DbConnection, indicator_id: &str) -> Result<i64, ApiError> {
    Ok(activities::table
        .filter(activities::indicator_id.eq(indicator_id))
        .count()
        .get_result(conn)?)
}

/// The units of `level` under `like` (a path prefix with `%`): code, name,
/// path.
pub fn units_at(
    conn: &mut DbConnection,
    like: &str,
    level: &str,
) -> Result<Vec<(String, String, String)>, ApiError> {
    Ok(org_units::table
        .filter(org_units::path.like(like))
        .filter(org_units::level.eq(level))
        .order(org_units::code)
        .select((org_units::code, org_units::name, org_units::path))
        .load(conn)?)
}

/// A recorded activity as values read it: indicator id, unit code, unit
/// path, date, quantity.
pub type DoneRow = (String, String, String, NaiveDate, i64);

/// Recorded (not withdrawn) activities of a plan under `like`: indicator
/// id, unit code, unit path, date, quantity.
pub fn recorded_of_plan(
    conn: &mut DbConnection,
    plan_id: &str,
    like: &str,
) -> Result<Vec<DoneRow>, ApiError> {
    Ok(activities::table
        .filter(activities::plan_id.eq(plan_id))
        .filter(activities::status.eq("recorded"))
        .filter(activities::unit_path.like(like))
        .select((
            activities::indicator_id,
            activities::org_unit_code,
            activities::unit_path,
            activities::date,
            activities::quantity,
        ))
        .load(conn)?)
}

/// One activity by id.
pub fn find_activity(conn: &mut DbConnection, id: &str) -> Result<Option<ActivityRow>, ApiError> {
    Ok(activities::table
        .find(id)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a new activity.
pub fn insert_activity(conn: &mut DbConnection, row: &ActivityRow) -> Result<(), ApiError> {
    diesel::insert_into(activities::table)
        .values(row)
        .execute(conn)
        .on_unique("activities_pkey", "activities.id", || {
            ApiError::Conflict("an activity with this id already exists".into())
        })?;
    Ok(())
}

/// Writes a corrected or withdrawn activity if it is still at `version`;
/// the rows changed.
pub fn update_activity_at_version(
    conn: &mut DbConnection,
    row: &ActivityRow,
    version: i32,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        activities::table
            .filter(activities::id.eq(&row.id))
            .filter(activities::version.eq(version)),
    )
    .set((
        activities::org_unit_code.eq(&row.org_unit_code),
        activities::unit_path.eq(&row.unit_path),
        activities::date.eq(row.date),
        activities::quantity.eq(row.quantity),
        activities::note.eq(&row.note),
        activities::status.eq(&row.status),
        activities::withdraw_reason.eq(&row.withdraw_reason),
        activities::evidence_sha256.eq(&row.evidence_sha256),
        activities::version.eq(version + 1),
        activities::updated_by.eq(&row.updated_by),
        activities::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?)
}

/// The media type of stored file `sha` (an activity's evidence), if stored.
pub fn evidence_type(conn: &mut DbConnection, sha: &str) -> Result<Option<String>, ApiError> {
    Ok(attachments::table
        .find(sha)
        .select(attachments::content_type)
        .first::<String>(conn)
        .optional()?)
}

/// Filters of the activity list.
#[derive(Debug, Default)]
pub struct ActivityFilter<'a> {
    /// Of this plan.
    pub plan_id: Option<&'a str>,
    /// Of this indicator code.
    pub indicator_code: Option<&'a str>,
    /// Under this path prefix (with `%`): the filter's unit.
    pub unit_like: Option<String>,
    /// Under this path prefix (with `%`): the caller's area.
    pub area_like: Option<String>,
    /// In this status.
    pub status: Option<&'a str>,
    /// Ids after this one (the page cursor).
    pub after: Option<String>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of activities, by id.
pub fn list_activities(
    conn: &mut DbConnection,
    f: ActivityFilter<'_>,
) -> Result<Vec<ActivityRow>, ApiError> {
    let mut q = activities::table
        .select(ActivityRow::as_select())
        .order(activities::id)
        .limit(f.limit)
        .into_boxed();
    if let Some(p) = f.plan_id {
        q = q.filter(activities::plan_id.eq(p.to_string()));
    }
    if let Some(c) = f.indicator_code {
        q = q.filter(activities::indicator_code.eq(c.to_string()));
    }
    if let Some(l) = f.unit_like {
        q = q.filter(activities::unit_path.like(l));
    }
    if let Some(l) = f.area_like {
        q = q.filter(activities::unit_path.like(l));
    }
    if let Some(s) = f.status {
        q = q.filter(activities::status.eq(s.to_string()));
    }
    if let Some(a) = f.after {
        q = q.filter(activities::id.gt(a));
    }
    Ok(q.load(conn)?)
}
