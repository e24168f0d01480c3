//! Review: a supervisor accepts minutes or returns them with a reason.

use serde::Deserialize;

use super::{load_dto, load_head, InspectionDto};
use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::inspections as rows;
use crate::db::{Db, DbConnection};
use crate::domain::status::ReviewStatus;
use crate::domain::text::nfc;
use crate::domain::values::{check_version, now, path_uuid};
use crate::error::ApiError;

/// `POST /inspections/{id}/review` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    decision: String,
    #[serde(default)]
    comment: Option<String>,
}

/// Records a decision on minutes `id` (supervisor, admin). `expected` is the
/// request's `If-Match` as parsed, answered after the role and the path.
pub async fn review(
    db: &Db,
    user: AuthUser,
    id: &str,
    expected: Result<Option<i32>, ApiError>,
    body: ReviewBody,
) -> Result<InspectionDto, ApiError> {
    policy::require_manager(&user)?;
    let id = path_uuid(id)?;
    let expected = expected?;
    let (decision, comment) = decide(body)?;
    db.write(move |conn| review_minutes(conn, &user, &id, expected, decision, comment.as_deref()))
        .await
}

/// The decision, accepted or returned, and its comment (required to return).
fn decide(body: ReviewBody) -> Result<(ReviewStatus, Option<String>), ApiError> {
    let decision = match ReviewStatus::parse(&body.decision) {
        Some(d @ (ReviewStatus::Accepted | ReviewStatus::Returned)) => d,
        _ => return Err(ApiError::field("decision", "must be accepted or returned")),
    };
    let comment = body.comment.as_deref().map(nfc).filter(|c| !c.is_empty());
    if decision == ReviewStatus::Returned && comment.is_none() {
        return Err(ApiError::field(
            "comment",
            "say why the minutes are returned",
        ));
    }
    Ok((decision, comment))
}

/// [`review`] inside the caller's transaction, the role and the decision
/// already checked: minutes the caller reads by area but of a team outside
/// its authority are 403.
pub fn review_minutes(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    decision: ReviewStatus,
    comment: Option<&str>,
) -> Result<InspectionDto, ApiError> {
    let head = load_head(conn, user, id)?;
    policy::require_authority_over_team(user, &head.team_id, || {
        crate::db::teams::jurisdiction_path(conn, &head.team_id)
    })?;
    check_version(expected, head.current_version)?;
    rows::set_review(conn, id, decision, comment, &user.id, now())?;
    // Numbered like an assignment change: the team's next delta sync carries it.
    let seq = crate::db::changes::next_change_seq(conn, 1)?;
    rows::set_review_seq(conn, id, seq)?;
    let dto = load_dto(conn, user, id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "inspection.review",
        id,
        None,
        Some(&dto.review),
    )?;
    Ok(dto)
}
