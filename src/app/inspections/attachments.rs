//! Photos of the minutes: stored once per content hash in the attachments
//! directory, linked to the minutes in the database.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::load_head;
use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::inspections as rows;
use crate::db::Db;
use crate::domain::minutes::{check_photo, is_sha256_hex, sniff_photo};

/// The media type of a binary body of unstated kind.
pub const OCTET_STREAM: &str = "application/octet-stream";
use crate::domain::values::{now, path_uuid};
use crate::error::ApiError;

/// Where a photo lives: `DIR/ab/abcdef…`.
pub fn photo_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(&sha[..2]).join(sha)
}

/// Writes a file so that a crash leaves either nothing or all of it: a
/// temporary file, synced, renamed into place, and the directory synced.
pub(crate) fn write_durably(dir: &Path, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let target = photo_path(dir, sha);
    if target.exists() {
        return Ok(());
    }
    let parent = target.parent().expect("photo path has a parent");
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    std::fs::File::open(parent)?.sync_all()
}

/// Runs file I/O on the blocking thread pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Photos being decoded at once: each may take up to
/// [`PHOTO_MAX_DECODED`](crate::domain::minutes::PHOTO_MAX_DECODED) and a
/// core for a fraction of a second.
pub(crate) fn decoding_slot() -> &'static tokio::sync::Semaphore {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    &SLOTS
}

/// A photo upload whose target is checked, its body not yet read.
#[derive(Debug)]
pub struct PhotoUpload {
    id: String,
    sha: String,
    declared: String,
}

/// A stored photo, as the upload answers it.
#[derive(Debug, Serialize)]
pub struct StoredPhoto {
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its size.
    pub size_bytes: usize,
    /// Linked to the minutes now (not already).
    #[serde(skip)]
    pub created: bool,
}

/// Checks an upload before its body is read (the team's inspectors): the
/// minutes `id` the caller may read, `sha` spelled as 64 lower-case hex
/// digits, `declared` the request's media type as checked (its error is
/// answered after the role, the path and the hash).
pub async fn open_photo(
    db: &Db,
    user: &AuthUser,
    id: &str,
    sha: String,
    declared: Result<String, ApiError>,
) -> Result<PhotoUpload, ApiError> {
    policy::require_inspector(user)?;
    let id = path_uuid(id)?;
    if !is_sha256_hex(&sha) {
        return Err(ApiError::field(
            "sha256",
            "must be 64 lower-case hex digits",
        ));
    }
    let declared = declared?;
    let (user, id2) = (user.clone(), id.clone());
    db.run(move |conn| load_head(conn, &user, &id2).map(|_| ()))
        .await?;
    Ok(PhotoUpload { id, sha, declared })
}

/// Stores the body of a checked upload: a JPEG or PNG as declared, matching
/// its hash, written durably under `dir` and linked to the minutes.
pub async fn attach_photo(
    db: &Db,
    user: AuthUser,
    dir: PathBuf,
    upload: PhotoUpload,
    bytes: Vec<u8>,
) -> Result<StoredPhoto, ApiError> {
    let PhotoUpload { id, sha, declared } = upload;
    // Decoding takes time and memory: off the async workers, two at a time.
    let permit = decoding_slot()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // `application/octet-stream` (what generated clients send for a binary
    // body) means "whichever of the two the content is".
    let declared = match declared.as_str() {
        OCTET_STREAM => sniff_photo(&bytes).unwrap_or("image/jpeg").to_string(),
        _ => declared,
    };
    let kind = declared.clone();
    let (checked, bytes) = blocking(move || (check_photo(&bytes, &kind), bytes)).await?;
    drop(permit);
    checked.map_err(|message| ApiError::field("body", message))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != sha {
        return Err(ApiError::field(
            "sha256",
            format!("does not match the body (its SHA-256 is {actual})"),
        ));
    }
    let (sha2, size_bytes) = (sha.clone(), bytes.len());
    blocking(move || write_durably(&dir, &sha2, &bytes))
        .await?
        .map_err(|e| ApiError::Internal(format!("cannot store the photo: {e}")))?;
    let created = db
        .write(move |conn| {
            load_head(conn, &user, &id)?;
            let t = now();
            rows::upsert_attachment(conn, &sha, &declared, size_bytes as i64, t)?;
            let linked = rows::link_attachment(conn, &id, &sha, t)?;
            if linked {
                crate::app::audit::record(
                    conn,
                    &user.id,
                    "inspection.attach",
                    &id,
                    None,
                    Some(&sha),
                )?;
            }
            Ok(linked)
        })
        .await?;
    Ok(StoredPhoto {
        sha256: actual,
        size_bytes,
        created,
    })
}

/// Photo `sha` of minutes `id` the caller may read: its content type and
/// bytes, read from `dir`.
pub async fn read_photo(
    db: &Db,
    user: AuthUser,
    dir: &Path,
    id: String,
    sha: String,
) -> Result<(String, Vec<u8>), ApiError> {
    let sha2 = sha.clone();
    let kind = db
        .run(move |conn| {
            load_head(conn, &user, &id)?;
            rows::attachment_type(conn, &id, &sha2)?.ok_or(ApiError::NotFound)
        })
        .await?;
    let file = photo_path(dir, &sha);
    let bytes = blocking(move || std::fs::read(file))
        .await?
        .map_err(|e| ApiError::Internal(format!("stored photo unreadable: {e}")))?;
    Ok((kind, bytes))
}
