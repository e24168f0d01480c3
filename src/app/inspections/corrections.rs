//! Corrections: a new version of the minutes, checked as posted minutes are,
//! sent back to review.

use serde::Deserialize;

use super::{load_dto, load_head, InspectionDto};
use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::inspections as rows;
use crate::db::{Db, DbConnection};
use crate::domain::minutes::{
    parse_time, validate_content, Content, Location, ViolationIn, EARLIEST_YEAR,
};
use crate::domain::text::nfc;
use crate::domain::values::{check_version, now, path_uuid};
use crate::error::ApiError;

/// `POST /inspections/{id}/corrections` body: a reason and the fields that change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    reason: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    location: Option<Option<Location>>,
    members_present: Option<Vec<String>>,
    outcome: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    checklist: Option<Option<serde_json::Value>>,
    violations: Option<Vec<ViolationIn>>,
}

/// Corrects minutes `id` (the team's inspectors): a new version. `expected`
/// is the request's `If-Match` as parsed, answered after the role and the
/// path; `reason` must say why.
pub async fn correct(
    db: &Db,
    user: AuthUser,
    id: &str,
    expected: Result<Option<i32>, ApiError>,
    c: CorrectionBody,
) -> Result<InspectionDto, ApiError> {
    policy::require_inspector(&user)?;
    let id = path_uuid(id)?;
    let expected = expected?;
    // Answered before a connection is taken, as the body's other checks are.
    if nfc(&c.reason).is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    db.write(move |conn| correct_minutes(conn, &user, &id, expected, c))
        .await
}

/// [`correct`] inside the caller's transaction, the role already checked.
pub fn correct_minutes(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    c: CorrectionBody,
) -> Result<InspectionDto, ApiError> {
    let reason = nfc(&c.reason);
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    let head = load_head(conn, user, id)?;
    check_version(expected, head.current_version)?;
    let cur = rows::find_version(conn, id, head.current_version)?.content();
    let mut errs = Vec::new();
    let started_at = c
        .started_at
        .as_deref()
        .map(|s| parse_time(&mut errs, "started_at", s))
        .unwrap_or(Some(cur.started_at));
    let finished_at = c
        .finished_at
        .as_deref()
        .map(|s| parse_time(&mut errs, "finished_at", s))
        .unwrap_or(Some(cur.finished_at));
    let (Some(started_at), Some(finished_at)) = (started_at, finished_at) else {
        return Err(ApiError::Validation(errs));
    };
    let next = Content {
        started_at,
        finished_at,
        location: c.location.unwrap_or(cur.location),
        members_present: c
            .members_present
            .map(|m| m.iter().map(|x| x.to_lowercase()).collect())
            .unwrap_or(cur.members_present),
        outcome: c.outcome.unwrap_or(cur.outcome),
        notes: c.notes.map(|n| n.as_deref().map(nfc)).unwrap_or(cur.notes),
        checklist: c.checklist.unwrap_or(cur.checklist),
        violations: c.violations.unwrap_or(cur.violations),
    };
    let codes: Vec<&str> = next.violations.iter().map(|v| v.code.as_str()).collect();
    let roster = rows::load_roster(conn, &[&head.team_id], &codes)?;
    // A correction is bounded as the first post was: the plan's year, if any.
    let earliest_year = match &head.plan_id {
        Some(p) => rows::plan_year(conn, p)?.unwrap_or(EARLIEST_YEAR),
        None => EARLIEST_YEAR,
    };
    validate_content(&roster, &head.team_id, &next, now(), earliest_year)?;
    let version = head.current_version + 1;
    rows::store_version(conn, id, version, &next, Some(&reason), &user.id)?;
    rows::set_current_version(conn, id, version, &next)?;
    // Back to pending review: the team's next delta sync carries it.
    let seq = crate::db::changes::next_change_seq(conn, 1)?;
    rows::set_review_seq(conn, id, seq)?;
    let dto = load_dto(conn, user, id)?;
    crate::app::audit::record(conn, &user.id, "inspection.correct", id, None, Some(&dto))?;
    Ok(dto)
}
