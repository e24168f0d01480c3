//! An activity's evidence file (issue 19: "plus an optional evidence
//! attachment"): a JPEG, PNG or PDF stored like the minutes' photos, once
//! per content hash in the attachments directory with a row in
//! `attachments`, so that `kiemtra backup` and `restore` copy it with them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::app::auth::AuthUser;
use crate::app::indicators::{load_activity, save, ActivityDto, WITHDRAWN};
use crate::app::inspections::{blocking, decoding_slot, write_durably, OCTET_STREAM};
use crate::app::policy::require_manager;
use crate::db::Db;
use crate::domain::indicators::{check_evidence, sniff_evidence};
use crate::domain::values::{check_version, now, path_uuid};
use crate::error::ApiError;

/// An evidence upload whose target is checked, its body not yet read.
#[derive(Debug)]
pub struct EvidenceUpload {
    id: String,
    declared: String,
}

fn withdrawn() -> ApiError {
    ApiError::Conflict("the activity is withdrawn: its evidence can no longer change".into())
}

/// Checks an upload before its body is read (admin, supervisor inside its
/// area): activity `id` the caller may see (else 404), still recorded
/// (else 409); `declared` the request's media type as checked (answered
/// after the role, the path and the scope).
pub async fn open_evidence(
    db: &Db,
    user: &AuthUser,
    id: &str,
    declared: Result<String, ApiError>,
) -> Result<EvidenceUpload, ApiError> {
    require_manager(user)?;
    let id = path_uuid(id)?;
    let (user, id2) = (user.clone(), id.clone());
    let status = db
        .run(move |conn| load_activity(conn, &user, &id2).map(|a| a.status))
        .await?;
    let declared = declared?;
    if status == WITHDRAWN {
        return Err(withdrawn());
    }
    Ok(EvidenceUpload { id, declared })
}

/// Stores the body of a checked upload as the activity's evidence: a JPEG,
/// PNG or PDF as declared (`application/octet-stream`: whichever it is),
/// written durably under `dir`; the activity's `evidence_sha256` becomes
/// its SHA-256, a new version, audited `activity.evidence`. The same bytes
/// again change nothing (RFC 9110 §13.1.1 lets a request already applied
/// succeed whatever its `If-Match`); otherwise a stale `If-Match` is 412.
pub async fn attach_evidence(
    db: &Db,
    user: AuthUser,
    dir: PathBuf,
    upload: EvidenceUpload,
    expected: Option<i32>,
    bytes: Vec<u8>,
) -> Result<ActivityDto, ApiError> {
    let EvidenceUpload { id, declared } = upload;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "is empty: send the file"));
    }
    let kind = match declared.as_str() {
        OCTET_STREAM => sniff_evidence(&bytes).unwrap_or(OCTET_STREAM),
        d => crate::domain::indicators::EVIDENCE_TYPES
            .into_iter()
            .find(|t| *t == d)
            .unwrap_or(OCTET_STREAM),
    };
    // Photos are decoded to be checked: off the async workers, as many at
    // once as the minutes' photos allow.
    let permit = decoding_slot()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (checked, bytes) = blocking(move || (check_evidence(&bytes, kind), bytes)).await?;
    drop(permit);
    checked.map_err(|message| ApiError::field("body", message))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let size_bytes = bytes.len() as i64;
    // The file before its row, as for photos: a backup never names a file
    // that is not on disk.
    let sha2 = sha.clone();
    blocking(move || write_durably(&dir, &sha2, &bytes))
        .await?
        .map_err(|e| ApiError::Internal(format!("cannot store the evidence: {e}")))?;
    db.write(move |conn| {
        let before = load_activity(conn, &user, &id)?;
        if before.evidence_sha256.as_deref() == Some(sha.as_str()) {
            return Ok(before.into());
        }
        check_version(expected, before.version)?;
        if before.status == WITHDRAWN {
            return Err(withdrawn());
        }
        crate::db::inspections::upsert_attachment(conn, &sha, kind, size_bytes, now())?;
        let mut after = before.clone();
        after.evidence_sha256 = Some(sha);
        save(conn, &user, "activity.evidence", before, after)
    })
    .await
}

/// A stored evidence file.
#[derive(Debug)]
pub struct Evidence {
    /// Its media type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The evidence of activity `id` the caller may see (withdrawn ones too),
/// read from `dir`; 404 when the activity has none.
pub async fn read_evidence(
    db: &Db,
    user: AuthUser,
    dir: &Path,
    id: String,
) -> Result<Evidence, ApiError> {
    let id = path_uuid(&id)?;
    let (sha, content_type) = db
        .run(move |conn| {
            let a = load_activity(conn, &user, &id)?;
            let sha = a.evidence_sha256.ok_or(ApiError::NotFound)?;
            let kind =
                crate::db::indicators::evidence_type(conn, &sha)?.ok_or(ApiError::NotFound)?;
            Ok((sha, kind))
        })
        .await?;
    let file = crate::app::inspections::photo_path(dir, &sha);
    let bytes = blocking(move || std::fs::read(file))
        .await?
        .map_err(|e| ApiError::Internal(format!("stored evidence unreadable: {e}")))?;
    Ok(Evidence {
        content_type,
        bytes,
    })
}
