//! Assignments: what teams fetch and keep in sync offline, and scheduling.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::establishments::{Establishment, EstablishmentDto};
use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::{auth_users, unknown_user, AuthCache, AuthUser, Caller, Role};
use crate::db::callers::{with_auth_source, AuthRow};
use crate::db::changes::next_change_seq;
use crate::db::schema::{
    assignments, auth_epoch, change_counter, establishments, plans, team_members, users,
};
use crate::db::{Db, DbConnection};
use crate::domain::page::{decode_cursor, PageParams};
use crate::domain::values::{check_version, now, path_uuid, rfc3339};
use crate::error::ApiError;

/// Assignment statuses.
pub const STATUSES: [&str; 4] = ["pending", "scheduled", "completed", "cancelled"];

/// 422 naming `status` unless it is one of [`STATUSES`].
pub fn check_status(s: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&s) {
        Ok(())
    } else {
        Err(ApiError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ))
    }
}

/// An assignment as teams fetch it, with its establishment.
#[derive(Debug, Serialize)]
pub struct AssignmentDto {
    /// Id.
    pub id: String,
    plan_id: String,
    team_id: String,
    level: String,
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

/// A stored assignment.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = assignments)]
pub struct Assignment {
    id: String,
    plan_id: String,
    team_id: String,
    establishment_id: String,
    level: String,
    round: i32,
    status: String,
    due_by: NaiveDate,
    scheduled_for: Option<NaiveDate>,
    cancel_reason: Option<String>,
    version: i32,
    change_seq: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

fn to_dto(a: Assignment, e: Establishment) -> AssignmentDto {
    AssignmentDto {
        id: a.id,
        plan_id: a.plan_id,
        team_id: a.team_id,
        level: a.level,
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
    let mut q = assignments::table
        .inner_join(establishments::table)
        .select((Assignment::as_select(), Establishment::as_select()))
        .limit(limit)
        .into_boxed();
    if user.role == Role::Inspector {
        q = q.filter(assignments::team_id.eq(user.team_id.clone().unwrap_or_default()));
    }
    if let Some(scope) = user
        .scope_path
        .as_ref()
        .filter(|_| !f.scope_checked_by_caller)
    {
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
    if f.open_only {
        q = q.filter(assignments::status.ne("cancelled"));
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
    let rows: Vec<(Assignment, Establishment)> = q.load(conn)?;
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
}

/// `GET /teams/{id}/assignments?since=` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncParams {
    since: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
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

/// The changes to `team_id`'s assignments after change number `after`, at
/// most `limit`, in change order, cancellations included, up to the change
/// counter read in the same statement (everything below it has committed;
/// the closed range also keeps the generic plan, see [`Filter::upto_seq`]).
/// `$from` is the statement's source; the changes are left-joined to it.
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
type ChangeRow = (Option<Assignment>, Option<Establishment>);

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
/// and the caller is kept. Measured on `bench/run`'s data, 32 connections,
/// alternating runs of 20 s: 12,030 / 12,000 a second reading the caller
/// every time, 14,340 / 13,970 with it kept (PostgreSQL 60 → 46 µs and the
/// server 86 → 77 µs of CPU a request).
///
/// A full fetch does not come here: the sort this join needs reads all of a
/// team's open assignments for every page (21 instead of 12 ms for a page
/// of 500 of the busiest team), where a delta is usually empty. Measured on
/// `bench/run`'s data after `ANALYZE`, empty deltas of the busiest team over
/// 32 connections, alternating runs on a machine 2.5 times slower than the
/// one above: 2,330 a second as two statements planned afresh, 3,450 as two
/// keeping their plans, 4,270 as one (server 280 → 230 µs and PostgreSQL 238
/// → 196 µs of CPU a request).
fn caller_and_changes(
    conn: &mut DbConnection,
    cache: &AuthCache,
    caller: &Caller,
    team_id: &str,
    after: i64,
    limit: i64,
) -> Result<(AuthUser, Vec<AssignmentDto>), ApiError> {
    if let Some((epoch, mut user)) = cache.get(caller.id()) {
        let rows: Vec<(i64, Option<i64>, ChangeRow)> =
            with_changes!(auth_epoch::table, team_id, after)
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
                .load(conn)?;
        let now = rows.first().map(|r| r.0);
        if now == Some(epoch) {
            user.change_counter = rows.first().and_then(|r| r.1).unwrap_or(0);
            return Ok((user, changes_of(rows.into_iter().map(|r| r.2))));
        }
    }
    let rows: Vec<(AuthRow, Option<i64>, ChangeRow)> = with_auth_source!(|from, cols| {
        with_changes!(from, team_id, after)
            .filter(users::id.eq(caller.id().to_owned()))
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
    })?;
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
/// change after that token (cancellations included), in change order.
pub async fn team_assignments(
    caller: Caller,
    db: web::Data<Db>,
    state: web::Data<crate::state::AppState>,
    id: web::Path<String>,
    q: web::Query<SyncParams>,
) -> Result<HttpResponse, ApiError> {
    let team_id = path_uuid(&id)?;
    let q = q.into_inner();
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
    let body = db
        .run(move |conn| {
            let after = cursor.or(since).unwrap_or(0);
            let (user, mut items) = if since.is_some() {
                caller_and_changes(conn, &state.auth_cache, &caller, &team_id, after, limit + 1)?
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
                Some(path) if own && (user.role == Role::Inspector || user.sees(path)) => {}
                _ => {
                    crate::api::teams::load_visible(conn, &user, &team_id)?;
                }
            }
            // Remember the device synced: at most one write per 5 minutes,
            // and no statement at all when the caller's row says it is recent.
            let t = now();
            let stale = t - chrono::Duration::minutes(5);
            if own && user.last_sync_at.is_none_or(|last| last < stale) {
                diesel::update(
                    users::table.find(&user.id).filter(
                        users::last_sync_at
                            .is_null()
                            .or(users::last_sync_at.lt(stale)),
                    ),
                )
                .set(users::last_sync_at.eq(t))
                .execute(conn)?;
                state.auth_cache.synced(&user.id, t);
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
            // Serialised here, on the blocking thread, straight to bytes.
            serde_json::to_vec(&SyncPage {
                items,
                next_cursor: more.then(|| encode_token(last)),
                sync_token: encode_token(sync),
            })
            .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

fn load_one(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<AssignmentDto, ApiError> {
    let row: Option<(Assignment, Establishment)> = assignments::table
        .inner_join(establishments::table)
        .filter(assignments::id.eq(id))
        .select((Assignment::as_select(), Establishment::as_select()))
        .first(conn)
        .optional()?;
    let (a, e) = row.ok_or(ApiError::NotFound)?;
    if !user.sees(&e.unit_path)
        || (user.role == Role::Inspector && user.team_id.as_deref() != Some(a.team_id.as_str()))
    {
        return Err(ApiError::NotFound);
    }
    Ok(to_dto(a, e))
}

/// `GET /assignments/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = db.run(move |conn| load_one(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::ETAG,
            format!("\"{}\"", dto.version),
        ))
        .json(dto))
}

/// `PATCH /assignments/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The visit day, or null to unschedule; required.
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    scheduled_for: Option<Option<NaiveDate>>,
}

/// `PATCH /assignments/{id}` (`If-Match`): the team's leader, or a
/// supervisor or admin, schedules the visit (null unschedules it).
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    let when = body.0.scheduled_for.ok_or_else(|| {
        ApiError::field(
            "scheduled_for",
            "is required (a date, or null to unschedule)",
        )
    })?;
    let dto = db
        .write(move |conn| {
            let before = load_one(conn, &user, &id)?;
            if user.role == Role::Inspector {
                let leader: bool = team_members::table
                    .find((&before.team_id, &user.id))
                    .select(team_members::is_leader)
                    .first(conn)
                    .optional()?
                    .unwrap_or(false);
                if !leader {
                    return Err(ApiError::Forbidden);
                }
            }
            check_version(expected, before.version)?;
            if before.status == "completed" || before.status == "cancelled" {
                return Err(ApiError::Conflict(format!(
                    "the assignment is {}",
                    before.status
                )));
            }
            let year: i32 = plans::table
                .find(&before.plan_id)
                .select(plans::year)
                .first(conn)?;
            if let Some(d) = when {
                if d.year() != year {
                    return Err(ApiError::field(
                        "scheduled_for",
                        format!("must fall in the plan's year {year}"),
                    ));
                }
            }
            let seq = next_change_seq(conn, 1)?;
            let n = diesel::update(
                assignments::table
                    .find(&id)
                    .filter(assignments::version.eq(before.version)),
            )
            .set((
                assignments::scheduled_for.eq(when),
                assignments::status.eq(if when.is_some() {
                    "scheduled"
                } else {
                    "pending"
                }),
                assignments::version.eq(before.version + 1),
                assignments::change_seq.eq(seq),
                assignments::updated_at.eq(now()),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(ApiError::PreconditionFailed {
                    current_version: before.version + 1,
                });
            }
            let after = load_one(conn, &user, &id)?;
            crate::app::audit::record(
                conn,
                &user.id,
                "assignment.schedule",
                &id,
                Some(&before),
                Some(&after),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::ETAG,
            format!("\"{}\"", dto.version),
        ))
        .json(dto))
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
