//! Plans, their recorded draw rounds and the assignments a round makes: the
//! queries behind [`crate::app::plans`].

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    assignments, draw_rounds, establishments, inspections, org_units, plans, teams,
};
use crate::db::{DbConnection, ResultExt};
use crate::domain::draw::Selection;
use crate::domain::status::{AssignmentStatus, EstablishmentStatus, PlanStatus};
use crate::domain::values::new_id;
use crate::error::ApiError;

/// A stored plan (also its audit snapshot).
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = plans)]
pub struct Plan {
    /// Id.
    pub id: String,
    /// Its name (NFC).
    pub name: String,
    /// The plan's year.
    pub year: i32,
    /// The org unit it covers.
    pub org_unit_code: String,
    /// JSON of the shares.
    pub shares: String,
    /// JSON of the stratification keys.
    pub stratify_by: String,
    /// Whether priority establishments come first.
    pub risk_weighting: bool,
    /// The seed, 64 hex digits, once fixed.
    pub seed: Option<String>,
    /// `draft` or `drawn` ([`PlanStatus`]).
    pub status: String,
    /// Optimistic version.
    pub version: i32,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// A plan with the path of its org unit, or `None`.
pub fn find_with_path(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(Plan, String)>, ApiError> {
    Ok(plans::table
        .inner_join(org_units::table)
        .filter(plans::id.eq(id))
        .select((Plan::as_select(), org_units::path))
        .first(conn)
        .optional()?)
}

/// The path of an org unit, or `None` if there is no such unit.
pub fn unit_path(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select(org_units::path)
        .first(conn)
        .optional()?)
}

/// Every plan after `after` (by id), with its unit's path, in id order.
pub fn list_with_paths(
    conn: &mut DbConnection,
    after: Option<String>,
) -> Result<Vec<(Plan, String)>, ApiError> {
    let mut query = plans::table
        .inner_join(org_units::table)
        .select((Plan::as_select(), org_units::path))
        .order(plans::id)
        .into_boxed();
    if let Some(a) = after {
        query = query.filter(plans::id.gt(a));
    }
    Ok(query.load(conn)?)
}

/// The columns of a new draft plan.
pub struct NewPlanRow<'a> {
    /// Id.
    pub id: &'a str,
    /// Name (NFC).
    pub name: String,
    /// Year.
    pub year: i32,
    /// Org unit.
    pub org_unit_code: &'a str,
    /// JSON of the shares.
    pub shares: String,
    /// JSON of the stratification keys.
    pub stratify_by: String,
    /// Risk weighting.
    pub risk_weighting: bool,
    /// Seed, if fixed at creation.
    pub seed: Option<&'a str>,
    /// Creator.
    pub created_by: &'a str,
    /// Creation time.
    pub at: NaiveDateTime,
}

/// Inserts a draft plan at version 1.
pub fn insert_draft(conn: &mut DbConnection, p: NewPlanRow<'_>) -> Result<(), ApiError> {
    diesel::insert_into(plans::table)
        .values((
            plans::id.eq(p.id),
            plans::name.eq(p.name),
            plans::year.eq(p.year),
            plans::org_unit_code.eq(p.org_unit_code),
            plans::shares.eq(p.shares),
            plans::stratify_by.eq(p.stratify_by),
            plans::risk_weighting.eq(p.risk_weighting),
            plans::seed.eq(p.seed),
            plans::status.eq(PlanStatus::Draft.as_str()),
            plans::version.eq(1),
            plans::created_by.eq(p.created_by),
            plans::created_at.eq(p.at),
            plans::updated_at.eq(p.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a draft plan drawn with `seed` and `version`; returns 0 if it is
/// no longer a draft. The guarded update is the lock: a concurrent draw of
/// the same plan waits on the row and then finds it drawn.
pub fn mark_drawn(
    conn: &mut DbConnection,
    id: &str,
    seed: &str,
    version: i32,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Draft.as_str())),
    )
    .set((
        plans::status.eq(PlanStatus::Drawn.as_str()),
        plans::seed.eq(seed),
        plans::version.eq(version),
        plans::updated_at.eq(at),
    ))
    .execute(conn)?)
}

/// Bumps the version of a drawn plan (which serialises its top-ups under
/// the row lock); returns 0 if it is not drawn.
pub fn bump_drawn(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Drawn.as_str())),
    )
    .set((
        plans::version.eq(plans::version + 1),
        plans::updated_at.eq(at),
    ))
    .execute(conn)?)
}

/// The last round recorded for a plan (0 if none).
pub fn last_round(conn: &mut DbConnection, plan_id: &str) -> Result<i32, ApiError> {
    Ok(draw_rounds::table
        .filter(draw_rounds::plan_id.eq(plan_id))
        .select(diesel::dsl::max(draw_rounds::round))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// (establishment id, team id) of the plan's assignments that are not cancelled.
pub fn kept_assignments(
    conn: &mut DbConnection,
    plan_id: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    Ok(assignments::table
        .filter(assignments::plan_id.eq(plan_id))
        .filter(assignments::status.ne(AssignmentStatus::Cancelled.as_str()))
        .select((assignments::establishment_id, assignments::team_id))
        .load(conn)?)
}

/// (id, level, org unit code) of the teams whose unit lies under `unit_path`.
pub fn teams_under(
    conn: &mut DbConnection,
    unit_path: &str,
) -> Result<Vec<(String, String, String)>, ApiError> {
    Ok(teams::table
        .inner_join(org_units::table)
        .filter(org_units::path.like(format!("{unit_path}%")))
        .select((teams::id, teams::level, teams::org_unit_code))
        .load(conn)?)
}

/// Establishments under `unit_path` with an inspection that found
/// violations and finished at or after `since`.
pub fn violators_since(
    conn: &mut DbConnection,
    unit_path: &str,
    since: NaiveDateTime,
) -> Result<HashSet<String>, ApiError> {
    Ok(inspections::table
        .inner_join(establishments::table)
        .filter(establishments::unit_path.like(format!("{unit_path}%")))
        .filter(inspections::violation_count.gt(0))
        .filter(inspections::finished_at.ge(since))
        .select(inspections::establishment_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// (id, unit path, business type, re-inspection flag) of the active
/// establishments under `unit_path`, in id order.
pub fn active_establishments_under(
    conn: &mut DbConnection,
    unit_path: &str,
) -> Result<Vec<(String, String, String, bool)>, ApiError> {
    Ok(establishments::table
        .filter(establishments::unit_path.like(format!("{unit_path}%")))
        .filter(establishments::status.eq(EstablishmentStatus::Active.as_str()))
        .select((
            establishments::id,
            establishments::unit_path,
            establishments::business_type,
            establishments::reinspect,
        ))
        .order(establishments::id)
        .load(conn)?)
}

/// One recorded round.
pub struct RoundRow<'a> {
    /// The plan.
    pub plan_id: &'a str,
    /// 1 for the draw, then top-ups.
    pub round: i32,
    /// Seed, hex.
    pub seed: &'a str,
    /// SHA-256 of the canonical input.
    pub input_digest: &'a str,
    /// The input as JSON.
    pub inputs: &'a str,
    /// How many assignments the round made.
    pub assignments: i32,
    /// Who ran it.
    pub created_by: &'a str,
    /// When.
    pub at: NaiveDateTime,
}

/// Records a round; 409 if the plan already has it (drawn concurrently).
pub fn insert_round(conn: &mut DbConnection, r: RoundRow<'_>) -> Result<(), ApiError> {
    diesel::insert_into(draw_rounds::table)
        .values((
            draw_rounds::plan_id.eq(r.plan_id),
            draw_rounds::round.eq(r.round),
            draw_rounds::seed.eq(r.seed),
            draw_rounds::input_digest.eq(r.input_digest),
            draw_rounds::inputs.eq(r.inputs),
            draw_rounds::assignments.eq(r.assignments),
            draw_rounds::created_by.eq(r.created_by),
            draw_rounds::created_at.eq(r.at),
        ))
        .execute(conn)
        .on_unique("draw_rounds_pkey", "draw_rounds.plan_id", || {
            ApiError::Conflict("this plan was drawn concurrently".into())
        })?;
    Ok(())
}

/// Inserts a round's selections as pending assignments due by `due_by`,
/// numbered from change number `first_seq` on.
pub fn insert_assignments(
    conn: &mut DbConnection,
    plan_id: &str,
    round: i32,
    due_by: NaiveDate,
    first_seq: i64,
    at: NaiveDateTime,
    selections: &[Selection],
) -> Result<(), ApiError> {
    let rows: Vec<_> = selections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                assignments::id.eq(new_id()),
                assignments::plan_id.eq(plan_id),
                assignments::team_id.eq(&s.team_id),
                assignments::establishment_id.eq(&s.establishment_id),
                assignments::level.eq(&s.level),
                assignments::round.eq(round),
                assignments::status.eq(AssignmentStatus::Pending.as_str()),
                assignments::due_by.eq(due_by),
                assignments::version.eq(1),
                assignments::change_seq.eq(first_seq + i as i64),
                assignments::created_at.eq(at),
                assignments::updated_at.eq(at),
            )
        })
        .collect();
    // 12 columns a row: 2,000 rows a statement on SQLite.
    crate::bulk_insert!(conn, assignments::table, &rows[..], 2000);
    Ok(())
}

/// (round, seed, input digest, inputs JSON) of a plan's rounds, in order.
pub fn rounds(
    conn: &mut DbConnection,
    plan_id: &str,
) -> Result<Vec<(i32, String, String, String)>, ApiError> {
    Ok(draw_rounds::table
        .filter(draw_rounds::plan_id.eq(plan_id))
        .order(draw_rounds::round)
        .select((
            draw_rounds::round,
            draw_rounds::seed,
            draw_rounds::input_digest,
            draw_rounds::inputs,
        ))
        .load(conn)?)
}

/// (round, establishment id, team id, level) of every assignment of a plan.
pub fn assignments_of_plan(
    conn: &mut DbConnection,
    plan_id: &str,
) -> Result<Vec<(i32, String, String, String)>, ApiError> {
    Ok(assignments::table
        .filter(assignments::plan_id.eq(plan_id))
        .select((
            assignments::round,
            assignments::establishment_id,
            assignments::team_id,
            assignments::level,
        ))
        .load(conn)?)
}

/// Runs `f` in a write transaction ([`crate::db::write_tx`]) that commits
/// only on `Ok(Ok(_))`: `Ok(Err(_))`, a round found stale after its writes
/// began, rolls back like an error and is handed back as it is.
pub fn write_tx_unless<T, S>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<Result<T, S>, ApiError>,
) -> Result<Result<T, S>, ApiError> {
    enum Undo<S> {
        Api(ApiError),
        Back(S),
    }
    impl<S> From<diesel::result::Error> for Undo<S> {
        fn from(e: diesel::result::Error) -> Self {
            Undo::Api(e.into())
        }
    }
    match crate::db::write_tx(conn, |c| match f(c) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(s)) => Err(Undo::Back(s)),
        Err(e) => Err(Undo::Api(e)),
    }) {
        Ok(v) => Ok(Ok(v)),
        Err(Undo::Back(s)) => Ok(Err(s)),
        Err(Undo::Api(e)) => Err(e),
    }
}
