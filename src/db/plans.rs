//! Plans, their recorded draw rounds and the assignments a round makes: the
//! queries behind [`crate::app::plans`].

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    assignments, draw_rounds, establishments, inspections, org_units, plans, rehearsal_assignments,
    teams,
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
    /// A rehearsal: its selections never reach a team.
    pub rehearsal: bool,
    /// How its seed is fixed (`server_random`, `public_beacon`, `caller`,
    /// `unrecorded`).
    pub seed_procedure: String,
    /// JSON: the seed procedure's public record.
    pub seed_record: Option<String>,
    /// The server value of `public_beacon` before it is revealed: never shown.
    #[serde(skip)]
    pub seed_secret: Option<String>,
    /// `public_beacon`: the frozen round-1 input (JSON, zero seed).
    #[serde(skip)]
    pub frozen_input: Option<String>,
    /// `unit|year|levels` while live; `None` for rehearsals and cancelled plans.
    pub live_key: Option<String>,
    /// When it was cancelled (replaced), if it was.
    pub cancelled_at: Option<NaiveDateTime>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// The plan's document number (`20/KH-BCĐ`), if given.
    pub number: Option<String>,
    /// The body that issued it (`BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH`), if given.
    pub issuing_body: Option<String>,
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
    /// Seed, if fixed at creation (rehearsals only).
    pub seed: Option<&'a str>,
    /// A rehearsal.
    pub rehearsal: bool,
    /// How its seed is fixed.
    pub seed_procedure: &'a str,
    /// JSON of the procedure's record so far.
    pub seed_record: Option<String>,
    /// `unit|year|levels` for a live plan.
    pub live_key: Option<String>,
    /// Creator.
    pub created_by: &'a str,
    /// Creation time.
    pub at: NaiveDateTime,
    /// Document number, if given.
    pub number: Option<String>,
    /// Issuing body, if given.
    pub issuing_body: Option<String>,
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
            plans::rehearsal.eq(p.rehearsal),
            plans::seed_procedure.eq(p.seed_procedure),
            plans::seed_record.eq(p.seed_record),
            plans::live_key.eq(&p.live_key),
            plans::number.eq(&p.number),
            plans::issuing_body.eq(&p.issuing_body),
            plans::status.eq(PlanStatus::Draft.as_str()),
            plans::version.eq(1),
            plans::created_by.eq(p.created_by),
            plans::created_at.eq(p.at),
            plans::updated_at.eq(p.at),
        ))
        .execute(conn)
        .on_unique("plans_one_live", "plans.live_key", || {
            ApiError::Conflict(
                "a live plan for this unit, year and levels exists; cancel it first \
                 (POST /plans/{id}/cancel)"
                    .into(),
            )
        })?;
    Ok(())
}

/// Sets the plan's document number and issuing body at `version`, moving
/// it to `version + 1`; returns 0 if the plan is no longer at `version`.
pub fn update_document_at_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    number: Option<&str>,
    issuing_body: Option<&str>,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(
        diesel::update(plans::table.find(id).filter(plans::version.eq(version)))
            .set((
                plans::number.eq(number),
                plans::issuing_body.eq(issuing_body),
                plans::version.eq(version + 1),
                plans::updated_at.eq(at),
            ))
            .execute(conn)?,
    )
}

/// Marks a draft plan drawn with `seed` and `version`; returns 0 if it is
/// no longer a draft. The guarded update is the lock: a concurrent draw of
/// the same plan waits on the row and then finds it drawn.
pub fn mark_drawn(
    conn: &mut DbConnection,
    id: &str,
    seed: &str,
    seed_record: &str,
    version: i32,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Draft.as_str()))
            .filter(plans::cancelled_at.is_null()),
    )
    .set((
        plans::status.eq(PlanStatus::Drawn.as_str()),
        plans::seed.eq(seed),
        plans::seed_record.eq(seed_record),
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
            .filter(plans::status.eq(PlanStatus::Drawn.as_str()))
            .filter(plans::cancelled_at.is_null()),
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
                assignments::selection_order.eq(i as i32 + 1),
            )
        })
        .collect();
    // 13 columns a row: 2,000 rows a statement on SQLite.
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

/// One stored assignment as verify reads it.
#[derive(Debug, Clone, Queryable)]
pub struct StoredSelection {
    /// Round.
    pub round: i32,
    /// Position in the round's selections (`None` before migration 000061).
    pub selection_order: Option<i32>,
    /// Establishment.
    pub establishment_id: String,
    /// Team.
    pub team_id: String,
    /// Level.
    pub level: String,
    /// Assignment id.
    pub id: String,
    /// Status as stored.
    pub status: String,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
}

/// Every assignment of a plan (a rehearsal's from `rehearsal_assignments`,
/// all `pending`), in round and selection order.
pub fn assignments_of_plan(
    conn: &mut DbConnection,
    plan_id: &str,
    rehearsal: bool,
) -> Result<Vec<StoredSelection>, ApiError> {
    let mut rows: Vec<StoredSelection> = if rehearsal {
        rehearsal_assignments::table
            .filter(rehearsal_assignments::plan_id.eq(plan_id))
            .select((
                rehearsal_assignments::round,
                rehearsal_assignments::selection_order.nullable(),
                rehearsal_assignments::establishment_id,
                rehearsal_assignments::team_id,
                rehearsal_assignments::level,
                rehearsal_assignments::id,
            ))
            .load::<(i32, Option<i32>, String, String, String, String)>(conn)?
            .into_iter()
            .map(|(round, o, e, t, l, id)| StoredSelection {
                round,
                selection_order: o,
                establishment_id: e,
                team_id: t,
                level: l,
                id,
                status: AssignmentStatus::Pending.as_str().to_string(),
                cancel_reason: None,
            })
            .collect()
    } else {
        assignments::table
            .filter(assignments::plan_id.eq(plan_id))
            .select((
                assignments::round,
                assignments::selection_order,
                assignments::establishment_id,
                assignments::team_id,
                assignments::level,
                assignments::id,
                assignments::status,
                assignments::cancel_reason,
            ))
            .load(conn)?
    };
    rows.sort_by(|a, b| {
        (a.round, a.selection_order, &a.id).cmp(&(b.round, b.selection_order, &b.id))
    });
    Ok(rows)
}

/// A rehearsal's would-be assignment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rehearsal_assignments)]
pub struct RehearsalAssignment {
    /// Id.
    pub id: String,
    /// Plan.
    pub plan_id: String,
    /// Team.
    pub team_id: String,
    /// Establishment.
    pub establishment_id: String,
    /// Level.
    pub level: String,
    /// Round.
    pub round: i32,
    /// Position (from 1) in the round's selections.
    pub selection_order: i32,
    /// When drawn.
    pub created_at: NaiveDateTime,
}

/// Inserts a rehearsal round's selections (they never reach a team).
pub fn insert_rehearsal_assignments(
    conn: &mut DbConnection,
    plan_id: &str,
    round: i32,
    at: NaiveDateTime,
    selections: &[Selection],
) -> Result<(), ApiError> {
    let rows: Vec<_> = selections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                rehearsal_assignments::id.eq(new_id()),
                rehearsal_assignments::plan_id.eq(plan_id),
                rehearsal_assignments::team_id.eq(&s.team_id),
                rehearsal_assignments::establishment_id.eq(&s.establishment_id),
                rehearsal_assignments::level.eq(&s.level),
                rehearsal_assignments::round.eq(round),
                rehearsal_assignments::selection_order.eq(i as i32 + 1),
                rehearsal_assignments::created_at.eq(at),
            )
        })
        .collect();
    // 8 columns a row: 2,000 rows a statement on SQLite.
    crate::bulk_insert!(conn, rehearsal_assignments::table, &rows[..], 2000);
    Ok(())
}

/// Filters of a rehearsal's list.
#[derive(Debug, Default)]
pub struct RehearsalFilter {
    /// Establishments under the caller's area.
    pub scope_path: Option<String>,
    /// One team.
    pub team_id: Option<String>,
    /// Establishments under this path.
    pub unit_path: Option<String>,
    /// Ids after this one.
    pub after_id: Option<String>,
}

/// At most `limit` of a rehearsal's would-be assignments, by id.
pub fn rehearsal_list(
    conn: &mut DbConnection,
    plan_id: &str,
    f: RehearsalFilter,
    limit: i64,
) -> Result<
    Vec<(
        RehearsalAssignment,
        crate::db::establishments::Establishment,
    )>,
    ApiError,
> {
    let mut q = rehearsal_assignments::table
        .inner_join(establishments::table)
        .filter(rehearsal_assignments::plan_id.eq(plan_id))
        .select((
            RehearsalAssignment::as_select(),
            crate::db::establishments::Establishment::as_select(),
        ))
        .order(rehearsal_assignments::id)
        .limit(limit)
        .into_boxed();
    if let Some(scope) = f.scope_path {
        q = q.filter(establishments::unit_path.like(format!("{scope}%")));
    }
    if let Some(t) = f.team_id {
        q = q.filter(rehearsal_assignments::team_id.eq(t));
    }
    if let Some(path) = f.unit_path {
        q = q.filter(establishments::unit_path.like(format!("{path}%")));
    }
    if let Some(a) = f.after_id {
        q = q.filter(rehearsal_assignments::id.gt(a));
    }
    Ok(q.load(conn)?)
}

/// One round as the plan shows it.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct RoundSummary {
    /// 1 for the draw, then top-ups.
    pub round: i32,
    /// Seed, hex.
    pub seed: String,
    /// SHA-256 of the canonical input.
    pub input_digest: String,
    /// Assignments the round made.
    pub assignments: i32,
    /// When.
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

/// A plan's rounds without their inputs, in order.
pub fn round_summaries(
    conn: &mut DbConnection,
    plan_id: &str,
) -> Result<Vec<RoundSummary>, ApiError> {
    Ok(draw_rounds::table
        .filter(draw_rounds::plan_id.eq(plan_id))
        .order(draw_rounds::round)
        .select((
            draw_rounds::round,
            draw_rounds::seed,
            draw_rounds::input_digest,
            draw_rounds::assignments,
            draw_rounds::created_at,
        ))
        .load(conn)?)
}

/// The recorded input (JSON) of one round, if it exists.
pub fn round_input(
    conn: &mut DbConnection,
    plan_id: &str,
    round: i32,
) -> Result<Option<(String, String)>, ApiError> {
    Ok(draw_rounds::table
        .find((plan_id, round))
        .select((draw_rounds::inputs, draw_rounds::input_digest))
        .first(conn)
        .optional()?)
}

/// Freezes a `public_beacon` draft: its input, the server value and the
/// record; 0 if it is no longer an unfrozen live draft.
pub fn freeze(
    conn: &mut DbConnection,
    id: &str,
    frozen_input: &str,
    secret: &str,
    seed_record: &str,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Draft.as_str()))
            .filter(plans::cancelled_at.is_null())
            .filter(plans::frozen_input.is_null()),
    )
    .set((
        plans::frozen_input.eq(frozen_input),
        plans::seed_secret.eq(secret),
        plans::seed_record.eq(seed_record),
        plans::version.eq(plans::version + 1),
        plans::updated_at.eq(at),
    ))
    .execute(conn)?)
}

/// Cancels a plan with `reason`: it stops being live; 0 if it was
/// cancelled already.
pub fn cancel_plan(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(
        diesel::update(plans::table.find(id).filter(plans::cancelled_at.is_null()))
            .set((
                plans::cancelled_at.eq(at),
                plans::cancel_reason.eq(reason),
                plans::live_key.eq(None::<String>),
                plans::version.eq(plans::version + 1),
                plans::updated_at.eq(at),
            ))
            .execute(conn)?,
    )
}

/// Ids of the plan's open (pending or scheduled) assignments.
pub fn open_assignments_of_plan(
    conn: &mut DbConnection,
    plan_id: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(assignments::table
        .filter(assignments::plan_id.eq(plan_id))
        .filter(assignments::status.eq_any(AssignmentStatus::open_strs()))
        .select(assignments::id)
        .order(assignments::id)
        .load(conn)?)
}

/// Ids of the inspections filed against each of `assignment_ids`.
pub fn inspections_of_assignments(
    conn: &mut DbConnection,
    assignment_ids: &[String],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for chunk in assignment_ids.chunks(500) {
        out.extend(
            inspections::table
                .filter(inspections::assignment_id.eq_any(chunk))
                .select((
                    inspections::assignment_id.assume_not_null(),
                    inspections::id,
                ))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
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

/// Those of `ids` whose establishment is no longer active.
pub fn inactive_among(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            establishments::table
                .filter(establishments::id.eq_any(chunk))
                .filter(establishments::status.ne(EstablishmentStatus::Active.as_str()))
                .select(establishments::id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}
