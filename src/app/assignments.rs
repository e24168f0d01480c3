//! Assignments: what teams fetch and keep in sync offline, and scheduling.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::app::auth::{auth_users, unknown_user, AuthCache, AuthUser, Caller, Role};
use crate::app::establishments::EstablishmentDto;
use crate::app::policy::{
    found_if, require_authority_over_team, require_leader_or_manager, sees_assignment,
    sees_team_record,
};
use crate::db::assignments::{Assignment, ChangeRow, ListFilter};
use crate::db::changes::next_change_seq;
use crate::db::establishments::Establishment;
use crate::db::{Db, DbConnection};
use crate::domain::page::{decode_cursor, PageParams};
use crate::domain::status::AssignmentStatus;
use crate::domain::values::{check_version, now, path_uuid, rfc3339};
use crate::error::ApiError;

/// 422 naming `status` unless it is an [`AssignmentStatus`].
pub fn check_status(s: &str) -> Result<(), ApiError> {
    match AssignmentStatus::parse(s) {
        Some(_) => Ok(()),
        None => Err(ApiError::field("status", AssignmentStatus::one_of())),
    }
}

/// An assignment as teams fetch it, with its establishment.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentDto {
    /// Id.
    pub id: String,
    plan_id: String,
    team_id: String,
    level: String,
    round: i32,
    selection_order: Option<i32>,
    status: String,
    due_by: NaiveDate,
    scheduled_for: Option<NaiveDate>,
    cancel_reason: Option<String>,
    version: i32,
    updated_at: String,
    #[serde(skip)]
    change_seq: i64,
    #[serde(skip)]
    unit_path: String,
    establishment: EstablishmentDto,
}

fn to_dto(a: Assignment, e: Establishment) -> AssignmentDto {
    AssignmentDto {
        id: a.id,
        plan_id: a.plan_id,
        team_id: a.team_id,
        level: a.level,
        round: a.round,
        selection_order: a.selection_order,
        status: a.status,
        due_by: a.due_by,
        scheduled_for: a.scheduled_for,
        cancel_reason: a.cancel_reason,
        version: a.version,
        updated_at: rfc3339(&a.updated_at),
        change_seq: a.change_seq,
        unit_path: e.unit_path.clone(),
        establishment: e.into(),
    }
}

/// A rehearsal's would-be assignment, shown like an assignment that was
/// never scheduled (it never reaches a team).
pub fn rehearsal_dto(
    r: crate::db::plans::RehearsalAssignment,
    due_by: NaiveDate,
    e: Establishment,
) -> AssignmentDto {
    AssignmentDto {
        id: r.id,
        plan_id: r.plan_id,
        team_id: r.team_id,
        level: r.level,
        round: r.round,
        selection_order: Some(r.selection_order),
        status: AssignmentStatus::Pending.as_str().to_string(),
        due_by,
        scheduled_for: None,
        cancel_reason: None,
        version: 1,
        updated_at: rfc3339(&r.created_at),
        change_seq: 0,
        unit_path: e.unit_path.clone(),
        establishment: e.into(),
    }
}

/// Which assignments to read.
#[derive(Debug, Default)]
pub struct Filter {
    /// One plan.
    pub plan_id: Option<String>,
    /// One team.
    pub team_id: Option<String>,
    /// Establishments under this path.
    pub unit_path: Option<String>,
    /// One status.
    pub status: Option<String>,
    /// Order by id, after this id.
    pub after_id: Option<String>,
    /// Order by change number, after this one (sync); includes cancellations.
    pub after_seq: Option<i64>,
    /// With `after_seq`: changes up to this number only (a team's fetch
    /// passes the change counter read with the caller). Besides a page that
    /// holds exactly what committed before that read, the closed range keeps
    /// PostgreSQL on the prepared statement's generic plan: for
    /// `change_seq > $n` alone it guesses a third of the team, finds the
    /// generic plan dearer than one made for the actual number and plans
    /// afresh at every request.
    pub upto_seq: Option<i64>,
    /// Leave out cancelled ones (a full fetch).
    pub open_only: bool,
    /// Leave the caller's area out of the SQL: the caller has checked that
    /// the team is visible and filters the rows itself ([`AuthUser::sees`]).
    /// Without the path condition PostgreSQL reads a team's changes in
    /// index order and stops at the limit.
    pub scope_checked_by_caller: bool,
}

/// Reads assignments visible to `user`: inside its area, and for an
/// inspector only its own team's.
pub fn query(
    conn: &mut DbConnection,
    user: &AuthUser,
    f: Filter,
    limit: i64,
) -> Result<Vec<AssignmentDto>, ApiError> {
    // What `sees_assignment` allows, as SQL conditions.
    let filter = ListFilter {
        own_team: (user.role == Role::Inspector).then(|| user.team_id.clone().unwrap_or_default()),
        scope_path: user
            .scope_path
            .clone()
            .filter(|_| !f.scope_checked_by_caller),
        plan_id: f.plan_id,
        team_id: f.team_id,
        unit_path: f.unit_path,
        status: f.status,
        status_not: f.open_only.then_some(AssignmentStatus::Cancelled.as_str()),
        upto_seq: f.upto_seq,
        after_seq: f.after_seq,
        after_id: f.after_id,
    };
    let rows = crate::db::assignments::list(conn, filter, limit)?;
    Ok(rows.into_iter().map(|(a, e)| to_dto(a, e)).collect())
}

/// A sync token or cursor: `s` and the change sequence number, as the spec's
/// pattern `^s[0-9]{1,18}$` says (18 digits always fit an `i64`).
fn encode_token(seq: i64) -> String {
    format!("s{seq}")
}

/// Reads a token; also the base64url form issued before tokens were plain,
/// so that devices holding one keep syncing.
fn decode_token(field: &str, t: &str) -> Result<i64, ApiError> {
    let plain = |s: &str| -> Option<i64> {
        let n = s.strip_prefix('s')?;
        if (1..=18).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().ok()
        } else {
            None
        }
    };
    plain(t)
        .or_else(|| decode_cursor(t).ok().and_then(|s| plain(&s)))
        .ok_or_else(|| ApiError::field(field, "not a token this server issued"))
}

/// A page of a team's assignments.
#[derive(Serialize)]
struct SyncPage {
    items: Vec<AssignmentDto>,
    next_cursor: Option<String>,
    sync_token: String,
    reviews: Vec<ReviewChangeDto>,
}

/// A review change of the team's minutes, carried by its sync so that a
/// phone learns that minutes were returned (or accepted, or corrected).
#[derive(Serialize)]
struct ReviewChangeDto {
    inspection_id: String,
    assignment_id: Option<String>,
    establishment_id: String,
    version: i32,
    status: String,
    comment: Option<String>,
    reviewed_at: Option<String>,
}

/// The review changes a sync page carries: on its first page, those after
/// `since` up to `upto`; a full fetch, the minutes now returned.
fn review_changes(
    conn: &mut DbConnection,
    user: &AuthUser,
    team_id: &str,
    since: Option<i64>,
    upto: i64,
) -> Result<Vec<ReviewChangeDto>, ApiError> {
    let rows = match since {
        Some(s) => crate::db::inspections::review_changes(conn, team_id, s, upto, None)?,
        None => crate::db::inspections::review_changes(conn, team_id, 0, upto, Some("returned"))?,
    };
    Ok(rows
        .into_iter()
        .filter(|r| user.sees(&r.8))
        .map(|r| ReviewChangeDto {
            inspection_id: r.0,
            assignment_id: r.1,
            establishment_id: r.2,
            version: r.3,
            status: r.4,
            comment: r.5,
            reviewed_at: r.6.as_ref().map(rfc3339),
        })
        .collect())
}

/// `GET /teams/{id}/assignments?since=` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncParams {
    since: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A team's fetch or sync, parsed.
#[derive(Debug)]
pub struct SyncRequest {
    team_id: String,
    since: Option<i64>,
    cursor: Option<i64>,
    limit: i64,
}

impl SyncRequest {
    /// Parses the path's team id and the query (422 on a token this server
    /// did not issue or a bad limit).
    pub fn parse(raw_team_id: &str, q: SyncParams) -> Result<SyncRequest, ApiError> {
        let team_id = path_uuid(raw_team_id)?;
        let since = q
            .since
            .as_deref()
            .map(|s| decode_token("since", s))
            .transpose()?;
        let cursor = q
            .cursor
            .as_deref()
            .map(|c| decode_token("cursor", c))
            .transpose()?;
        let limit = PageParams {
            limit: q.limit,
            cursor: None,
        }
        .limit()?;
        Ok(SyncRequest {
            team_id,
            since,
            cursor,
            limit,
        })
    }
}

fn changes_of(rows: impl Iterator<Item = ChangeRow>) -> Vec<AssignmentDto> {
    rows.filter_map(|(a, e)| Some(to_dto(a?, e?))).collect()
}

/// The caller and the changes to `team_id`'s assignments after change
/// number `after` (at most `limit`, in change order, cancellations
/// included): a device's delta sync is one statement. The rows are read
/// before the caller's right to the team is known, which the caller checks
/// before any leaves the server.
///
/// A caller kept in `cache` ([`AuthCache`]) is not read again: the statement
/// reads the auth epoch instead, and the kept caller is used if it was read
/// at that epoch. Otherwise (a first sync, or anything about callers changed
/// since) the statement reads the caller with the changes and the epoch,
/// and the caller is kept (the gain is in `docs/scaling.md`).
///
/// A full fetch does not come here: the sort this join needs reads all of a
/// team's open assignments for every page, where a delta is usually empty.
fn caller_and_changes(
    conn: &mut DbConnection,
    cache: &AuthCache,
    caller: &Caller,
    team_id: &str,
    after: i64,
    limit: i64,
) -> Result<(AuthUser, Vec<AssignmentDto>), ApiError> {
    if let Some((epoch, mut user)) = cache.get(caller.id()) {
        let rows = crate::db::assignments::epoch_and_changes(conn, team_id, after, limit)?;
        let now = rows.first().map(|r| r.0);
        if now == Some(epoch) {
            user.change_counter = rows.first().and_then(|r| r.1).unwrap_or(0);
            return Ok((user, changes_of(rows.into_iter().map(|r| r.2))));
        }
    }
    let rows =
        crate::db::assignments::caller_and_changes(conn, caller.id(), team_id, after, limit)?;
    let mut rows = rows.into_iter().peekable();
    let (auth, epoch) = rows
        .peek()
        .map(|(auth, epoch, _)| (auth.clone(), *epoch))
        .ok_or_else(unknown_user)?;
    let user = auth_users(vec![auth])?.pop().ok_or_else(unknown_user)?;
    if let Some(epoch) = epoch {
        cache.put(epoch, &user);
    }
    Ok((user, changes_of(rows.map(|r| r.2))))
}

/// `GET /teams/{id}/assignments`: everything open, or with `since` every
/// change after that token (cancellations included), in change order; the
/// page as JSON bytes, serialised on the blocking thread that read it.
pub fn team_page(
    conn: &mut DbConnection,
    cache: &AuthCache,
    caller: &Caller,
    r: SyncRequest,
) -> Result<Vec<u8>, ApiError> {
    let SyncRequest {
        team_id,
        since,
        cursor,
        limit,
    } = r;
    let after = cursor.or(since).unwrap_or(0);
    let (user, mut items) = if since.is_some() {
        caller_and_changes(conn, cache, caller, &team_id, after, limit + 1)?
    } else {
        let user = caller.load(conn)?;
        let filter = Filter {
            team_id: Some(team_id.clone()),
            after_seq: Some(after),
            upto_seq: Some(user.change_counter),
            open_only: true,
            scope_checked_by_caller: true,
            ..Default::default()
        };
        let items = query(conn, &user, filter, limit + 1)?;
        (user, items)
    };
    // The caller's own team was read with the caller: no second look-up.
    let own = user.team_id.as_deref() == Some(team_id.as_str());
    match &user.team_unit_path {
        Some(path) if own && sees_team_record(&user, &team_id, path) => {}
        _ => {
            crate::app::teams::load_visible(conn, &user, &team_id)?;
        }
    }
    // Remember the device synced: at most one write per 5 minutes,
    // and no statement at all when the caller's row says it is recent.
    let t = now();
    let stale = t - chrono::Duration::minutes(5);
    if own && user.last_sync_at.is_none_or(|last| last < stale) {
        crate::db::users::note_sync(conn, &user.id, t, stale)?;
        cache.synced(&user.id, t);
    }
    // Read with the caller, before the items or in the same
    // statement: the items stop there and the next sync starts there.
    let high_water = user.change_counter;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let last = items.last().map(|a| a.change_seq).unwrap_or(after);
    // A visible team's establishments lie in its jurisdiction, inside
    // the caller's area; one moved out since is left out here.
    items.retain(|a| user.sees(&a.unit_path));
    let sync = if more { last } else { last.max(high_water) };
    let reviews = if cursor.is_none() {
        review_changes(conn, &user, &team_id, since, high_water)?
    } else {
        Vec::new()
    };
    serde_json::to_vec(&SyncPage {
        items,
        next_cursor: more.then(|| encode_token(last)),
        sync_token: encode_token(sync),
        reviews,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The assignment `id` if the caller may see it (404 otherwise).
fn load_one(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<AssignmentDto, ApiError> {
    let (a, e) = crate::db::assignments::find(conn, id)?.ok_or(ApiError::NotFound)?;
    found_if(sees_assignment(user, &a.team_id, &e.unit_path))?;
    Ok(to_dto(a, e))
}

/// `GET /assignments/{id}`.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<AssignmentDto, ApiError> {
    db.run(move |conn| load_one(conn, &user, &id)).await
}

/// `PATCH /assignments/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The visit day, or null to unschedule; required.
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    scheduled_for: Option<Option<NaiveDate>>,
}

impl PatchBody {
    /// The visit day (`None` unschedules); 422 when the field is absent.
    pub fn visit_day(self) -> Result<Option<NaiveDate>, ApiError> {
        self.scheduled_for.ok_or_else(|| {
            ApiError::field(
                "scheduled_for",
                "is required (a date, or null to unschedule)",
            )
        })
    }
}

/// Schedules the visit of `id` on `when` (null unschedules it), if it is
/// at version `expected`: the team's leader, or a supervisor or admin with
/// authority over the team (403 for one that only reads it by area).
pub fn schedule(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    when: Option<NaiveDate>,
) -> Result<AssignmentDto, ApiError> {
    let before = load_one(conn, user, id)?;
    require_authority_over_team(user, &before.team_id, || {
        crate::db::teams::jurisdiction_path(conn, &before.team_id)
    })?;
    require_leader_or_manager(user, || {
        crate::db::teams::is_leader(conn, &before.team_id, &user.id)
    })?;
    check_version(expected, before.version)?;
    if matches!(
        AssignmentStatus::parse(&before.status),
        Some(AssignmentStatus::Completed | AssignmentStatus::Cancelled)
    ) {
        return Err(ApiError::Conflict(format!(
            "the assignment is {}",
            before.status
        )));
    }
    let year = crate::db::assignments::plan_year(conn, &before.plan_id)?;
    if let Some(d) = when {
        if d.year() != year {
            return Err(ApiError::field(
                "scheduled_for",
                format!("must fall in the plan's year {year}"),
            ));
        }
    }
    let seq = next_change_seq(conn, 1)?;
    let status = if when.is_some() {
        AssignmentStatus::Scheduled
    } else {
        AssignmentStatus::Pending
    };
    if !crate::db::assignments::schedule(
        conn,
        id,
        before.version,
        when,
        status.as_str(),
        seq,
        now(),
    )? {
        return Err(ApiError::PreconditionFailed {
            current_version: before.version + 1,
        });
    }
    let after = load_one(conn, user, id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "assignment.schedule",
        id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `PATCH /assignments/{id}` (`If-Match`): [`schedule`] in a transaction.
pub async fn patch(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    when: Option<NaiveDate>,
) -> Result<AssignmentDto, ApiError> {
    db.write(move |conn| schedule(conn, &user, &id, expected, when))
        .await
}

impl AssignmentDto {
    /// Its version (the ETag's value).
    pub fn version(&self) -> i32 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_are_plain_and_the_old_base64_ones_still_read() {
        assert_eq!(encode_token(42), "s42");
        assert_eq!(decode_token("since", "s42").unwrap(), 42);
        // `czQy` is base64url of `s42`, as tokens were issued before.
        assert_eq!(decode_token("since", "czQy").unwrap(), 42);
        for bad in [
            "",
            "s",
            "s-1",
            "s+1",
            "S42",
            "s1234567890123456789",
            "garbage",
        ] {
            assert!(decode_token("since", bad).is_err(), "{bad:?}");
        }
    }
}
