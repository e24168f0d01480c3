//! `PUT` and `GET /inspections/{id}/attachments/{sha256}`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};

use crate::api::extract::{read_body, require_media_type};
use crate::app::auth::AuthUser;
use crate::app::inspections;
use crate::db::Db;
use crate::domain::minutes::PHOTO_LIMIT;
use crate::domain::values::path_uuid;
use crate::error::ApiError;
use crate::state::AppState;

/// The request's media type, checked to be a photo's, lower-cased without
/// parameters.
fn declared_type(req: &HttpRequest) -> Result<String, ApiError> {
    require_media_type(req, &["image/jpeg", "image/png", inspections::OCTET_STREAM])
}

/// `PUT /inspections/{id}/attachments/{sha256}` (the team's inspectors): a
/// JPEG or PNG photo up to 10 MiB, verified against its hash; 201 stored,
/// 200 already there. The target is checked before the body is read.
pub async fn put_attachment(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, sha) = path.into_inner();
    let upload = inspections::open_photo(&db, &user, &id, sha, declared_type(&req)).await?;
    let bytes = read_body(&req, &mut payload, PHOTO_LIMIT).await?;
    let dir = state.settings.attachments_dir.clone();
    let stored = inspections::attach_photo(&db, user, dir, upload, bytes).await?;
    Ok(if stored.created {
        HttpResponse::Created().json(stored)
    } else {
        HttpResponse::Ok().json(stored)
    })
}

/// `GET /inspections/{id}/attachments/{sha256}`: the photo, as a download
/// named by its hash (`Content-Disposition: attachment`), never rendered in
/// the service's origin.
pub async fn get_attachment(
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, sha) = path.into_inner();
    let id = path_uuid(&id)?;
    let (kind, bytes) =
        inspections::read_photo(&db, user, &state.settings.attachments_dir, id, sha.clone())
            .await?;
    let ext = if kind == "image/png" { "png" } else { "jpg" };
    let name = format!("attachment; filename=\"{sha}.{ext}\"");
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CONTENT_DISPOSITION, name))
        .body(bytes))
}
