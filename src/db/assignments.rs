//! The `assignments` table: reads for a team's fetch and sync (with its
//! caller, in one statement), a plan's lists, and scheduling.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::callers::{with_auth_source, AuthRow};
use crate::db::establishments::Establishment;
use crate::db::schema::{assignments, auth_epoch, change_counter, establishments, plans};
use crate::db::DbConnection;
use crate::domain::status::AssignmentStatus;
use crate::error::ApiError;

/// A stored assignment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assignments)]
pub struct Assignment {
    /// Id.
    pub id: String,
    /// Plan.
    pub plan_id: String,
    /// Team.
    pub team_id: String,
    /// Establishment.
    pub establishment_id: String,
    /// Level of the plan's unit.
    pub level: String,
    /// Draw round.
    pub round: i32,
    /// Status, as stored.
    pub status: String,
    /// Deadline.
    pub due_by: NaiveDate,
    /// Visit day.
    pub scheduled_for: Option<NaiveDate>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Version.
    pub version: i32,
    /// Change number (sync order).
    pub change_seq: i64,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
    /// Last changed.
    pub updated_at: chrono::NaiveDateTime,
    /// Position (from 1) in its round's selections; `None` before migration 000061.
    pub selection_order: Option<i32>,
}

/// Which assignments [`list`] reads, as SQL conditions.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Only this team's (an inspector's own team; "" for none).
    pub own_team: Option<String>,
    /// Establishments under the caller's area.
    pub scope_path: Option<String>,
    /// One plan.
    pub plan_id: Option<String>,
    /// One team.
    pub team_id: Option<String>,
    /// Establishments under this path.
    pub unit_path: Option<String>,
    /// One status, as stored.
    pub status: Option<String>,
    /// Leave out this status (cancelled ones, on a full fetch).
    pub status_not: Option<&'static str>,
    /// Change numbers up to this one.
    pub upto_seq: Option<i64>,
    /// Order by change number, after this one.
    pub after_seq: Option<i64>,
    /// Order by id, after this id.
    pub after_id: Option<String>,
}

/// At most `limit` assignments with their establishments matching `f`, in
/// change order with `after_seq`, else by id.
pub fn list(
    conn: &mut DbConnection,
    f: ListFilter,
    limit: i64,
) -> Result<Vec<(Assignment, Establishment)>, ApiError> {
    let mut q = assignments::table
        .inner_join(establishments::table)
        .select((Assignment::as_select(), Establishment::as_select()))
        .limit(limit)
        .into_boxed();
    if let Some(t) = f.own_team {
        q = q.filter(assignments::team_id.eq(t));
    }
    if let Some(scope) = f.scope_path {
        q = q.filter(establishments::unit_path.like(format!("{scope}%")));
    }
    if let Some(p) = f.plan_id {
        q = q.filter(assignments::plan_id.eq(p));
    }
    if let Some(t) = f.team_id {
        q = q.filter(assignments::team_id.eq(t));
    }
    if let Some(path) = f.unit_path {
        q = q.filter(establishments::unit_path.like(format!("{path}%")));
    }
    if let Some(s) = f.status {
        q = q.filter(assignments::status.eq(s));
    }
    if let Some(s) = f.status_not {
        q = q.filter(assignments::status.ne(s));
    }
    if let Some(upto) = f.upto_seq {
        q = q.filter(assignments::change_seq.le(upto));
    }
    q = match (f.after_seq, f.after_id) {
        (Some(seq), _) => q
            .filter(assignments::change_seq.gt(seq))
            .order(assignments::change_seq),
        (None, Some(id)) => q.filter(assignments::id.gt(id)).order(assignments::id),
        (None, None) => q.order(assignments::id),
    };
    Ok(q.load(conn)?)
}

/// The assignment `id` with its establishment, if it exists.
pub fn find(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(Assignment, Establishment)>, ApiError> {
    Ok(assignments::table
        .inner_join(establishments::table)
        .filter(assignments::id.eq(id))
        .select((Assignment::as_select(), Establishment::as_select()))
        .first(conn)
        .optional()?)
}

/// The change counter, read in the statement that uses it.
macro_rules! counter_now {
    () => {
        change_counter::table
            .find(1)
            .select(change_counter::value)
            .single_value()
    };
}

/// The changes to `team_id`'s assignments after change number `after`, up
/// to the change counter read in the same statement (everything below it
/// has committed; the closed range also keeps PostgreSQL on the prepared
/// statement's generic plan). `$from` is the statement's source; the
/// changes are left-joined to it.
macro_rules! with_changes {
    ($from:expr, $team_id:expr, $after:expr) => {
        $from
            .left_join(
                assignments::table.on(assignments::team_id
                    .eq($team_id.to_owned())
                    .and(assignments::change_seq.gt($after))
                    .and(assignments::change_seq.nullable().le(counter_now!()))),
            )
            .left_join(
                establishments::table.on(establishments::id.eq(assignments::establishment_id)),
            )
    };
}

/// A statement's rows of changes: `(assignment, establishment)`, both
/// `None` on the one row of a statement that found no change.
pub type ChangeRow = (Option<Assignment>, Option<Establishment>);

/// The auth epoch, the change counter and at most `limit` changes to
/// `team_id`'s assignments after change number `after`, in change order,
/// cancellations included: a delta sync of a caller read before, in one
/// statement (one row, with no change, when there is none).
pub fn epoch_and_changes(
    conn: &mut DbConnection,
    team_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Option<i64>, ChangeRow)>, ApiError> {
    Ok(with_changes!(auth_epoch::table, team_id, after)
        .filter(auth_epoch::id.eq(1))
        .select((
            auth_epoch::value,
            counter_now!(),
            (
                Option::<Assignment>::as_select(),
                Option::<Establishment>::as_select(),
            ),
        ))
        .order(assignments::change_seq)
        .limit(limit)
        .load(conn)?)
}

/// The caller `user_id` (with the change counter), the auth epoch and the
/// changes of [`epoch_and_changes`], in one statement (no row when the
/// user does not exist).
pub fn caller_and_changes(
    conn: &mut DbConnection,
    user_id: &str,
    team_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(AuthRow, Option<i64>, ChangeRow)>, ApiError> {
    Ok(with_auth_source!(|from, cols| {
        with_changes!(from, team_id, after)
            .filter(users::id.eq(user_id.to_owned()))
            .select((
                cols,
                auth_epoch::table
                    .find(1)
                    .select(auth_epoch::value)
                    .single_value(),
                (
                    Option::<Assignment>::as_select(),
                    Option::<Establishment>::as_select(),
                ),
            ))
            .order(assignments::change_seq)
            .limit(limit)
            .load(conn)
    })?)
}

/// The year of the plan `plan_id`.
pub fn plan_year(conn: &mut DbConnection, plan_id: &str) -> Result<i32, ApiError> {
    Ok(plans::table.find(plan_id).select(plans::year).first(conn)?)
}

/// Sets the visit day and status of `id` if it is still at `version`,
/// with the next version and change number `seq`; whether it was.
pub fn schedule(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    scheduled_for: Option<NaiveDate>,
    status: &str,
    seq: i64,
    at: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    let n = diesel::update(
        assignments::table
            .find(id)
            .filter(assignments::version.eq(version)),
    )
    .set((
        assignments::scheduled_for.eq(scheduled_for),
        assignments::status.eq(status),
        assignments::version.eq(version + 1),
        assignments::change_seq.eq(seq),
        assignments::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// An assignment and where its establishment is:
/// `(assignment id, establishment id, latitude, longitude)`.
pub type Site = (String, String, Option<f64>, Option<f64>);

/// A team's assignments with where their establishments are, by id.
pub fn sites_of_team(conn: &mut DbConnection, team_id: &str) -> Result<Vec<Site>, ApiError> {
    Ok(assignments::table
        .inner_join(establishments::table)
        .filter(assignments::team_id.eq(team_id))
        .select((
            assignments::id,
            assignments::establishment_id,
            establishments::latitude,
            establishments::longitude,
        ))
        .order(assignments::id)
        .load(conn)?)
}

/// Ids of an establishment's open assignments ([`AssignmentStatus::OPEN`]).
pub fn open_assignments_of(
    conn: &mut DbConnection,
    establishment_id: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(assignments::table
        .filter(assignments::establishment_id.eq(establishment_id))
        .filter(assignments::status.eq_any(AssignmentStatus::open_strs()))
        .select(assignments::id)
        .load(conn)?)
}

/// Cancels an assignment for `reason`, with change number `seq`.
pub fn cancel_assignment(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    seq: i64,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(assignments::table.find(id))
        .set((
            assignments::status.eq(AssignmentStatus::Cancelled.as_str()),
            assignments::cancel_reason.eq(reason),
            assignments::version.eq(assignments::version + 1),
            assignments::change_seq.eq(seq),
            assignments::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
