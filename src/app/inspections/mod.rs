//! Inspection minutes from the field: idempotent posting through the group
//! commit, corrections as new versions, review, reading, photos.

mod attachments;
mod corrections;
mod post;
mod queue;
mod read;
mod review;

pub use attachments::{
    attach_photo, open_photo, photo_path, read_photo, PhotoUpload, StoredPhoto, OCTET_STREAM,
};
pub(crate) use attachments::{blocking, decoding_slot, write_durably};
pub use corrections::{correct, correct_minutes, CorrectionBody};
pub use post::{insert_minutes, post, post_batch, Posting, Written};
pub use queue::{review_queue, QueueRow};
pub use read::{get, list, versions, ListParams};
pub use review::{review, review_minutes, ReviewBody};

use serde::Serialize;

use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::inspections::{self as rows, Head, VersionRow};
use crate::db::DbConnection;
use crate::domain::minutes::{Location, ViolationIn};
use crate::domain::values::rfc3339;
use crate::error::ApiError;

/// The minutes as the API shows them.
#[derive(Debug, Serialize)]
pub struct InspectionDto {
    id: String,
    assignment_id: Option<String>,
    establishment_id: String,
    team_id: String,
    plan_id: Option<String>,
    version: i32,
    started_at: String,
    finished_at: String,
    location: Option<Location>,
    members_present: Vec<String>,
    outcome: String,
    notes: Option<String>,
    checklist: Option<serde_json::Value>,
    violations: Vec<ViolationIn>,
    review: serde_json::Value,
    received_at: String,
    flags: serde_json::Value,
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// What a post did.
pub enum Posted {
    /// Stored now.
    Created(InspectionDto),
    /// Stored before, with the same body.
    Existing(InspectionDto),
}

fn to_dto(h: &Head, v: &VersionRow) -> InspectionDto {
    let c = v.content();
    InspectionDto {
        id: h.id.clone(),
        assignment_id: h.assignment_id.clone(),
        establishment_id: h.establishment_id.clone(),
        team_id: h.team_id.clone(),
        plan_id: h.plan_id.clone(),
        version: v.version,
        started_at: c.started_at.to_rfc3339(),
        finished_at: c.finished_at.to_rfc3339(),
        location: c.location,
        members_present: c.members_present,
        outcome: c.outcome,
        notes: c.notes,
        checklist: c.checklist,
        violations: c.violations,
        review: serde_json::json!({
            "status": h.review_status, "comment": h.review_comment,
            "reviewed_by": h.reviewed_by, "reviewed_at": h.reviewed_at.as_ref().map(rfc3339),
        }),
        received_at: rfc3339(&h.received_at),
        flags: serde_json::json!({
            "clock_skew": h.clock_skew, "far_from_establishment": h.far_from_site, "distance_m": h.distance_m.map(|d| d.round()),
        }),
        created_by: h.created_by.clone(),
        attachments: None,
        reason: v.reason.clone(),
    }
}

/// Loads minutes the caller may read: an inspector its team's, others those
/// of establishments inside their area.
fn load_head(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Head, ApiError> {
    let (head, path) = rows::find_head(conn, id)?.ok_or(ApiError::NotFound)?;
    policy::found_if(policy::sees_team_record(user, &head.team_id, &path))?;
    Ok(head)
}

fn load_dto(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<InspectionDto, ApiError> {
    let head = load_head(conn, user, id)?;
    let v = rows::find_version(conn, id, head.current_version)?;
    let mut dto = to_dto(&head, &v);
    dto.attachments = Some(rows::attachment_shas(conn, id)?);
    Ok(dto)
}

/// Reads the stored minutes of a repeated post: 200 if the body is the same, 409 if not.
fn replay(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    hash: &str,
) -> Result<Posted, ApiError> {
    match rows::stored_body_hash(conn, id)? {
        Some(h) if h == hash => Ok(Posted::Existing(load_dto(conn, user, id)?)),
        Some(_) => Err(ApiError::Conflict(
            "minutes with this id were posted with a different body".into(),
        )),
        None => Err(ApiError::Internal(
            "inspection vanished after a conflict".into(),
        )),
    }
}

/// Minutes `id` as JSON (the API's shape), read under the same area check as
/// `GET /inspections/{id}`: for documents printed from them.
pub(crate) fn read_value(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let dto = load_dto(conn, user, id)?;
    serde_json::to_value(dto).map_err(|e| ApiError::Internal(e.to_string()))
}
