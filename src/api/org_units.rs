//! `/org-units`: the CSV import (admin) and reads; the use cases are
//! [`crate::app::org_units`].

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{read_body, require_media_type, IMPORT_LIMIT};
use crate::app::auth::AuthUser;
use crate::app::org_units::ListParams;
use crate::app::policy;
use crate::db::Db;
use crate::error::ApiError;

/// `POST /org-units/import` (admin, `text/csv`).
pub async fn import(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    // The role first: a caller without it gets 403 before its upload is read.
    policy::require_admin(&user)?;
    // `application/octet-stream` (what generated clients send) is read as CSV.
    require_media_type(&req, &["text/csv", crate::app::inspections::OCTET_STREAM])?;
    let body = read_body(&req, &mut payload, IMPORT_LIMIT).await?;
    let summary = crate::app::org_units::import(&db, user, body).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// `GET /org-units?parent=&level=`, by code.
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = crate::app::org_units::list(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /org-units/{code}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let unit = crate::app::org_units::get(&db, user, code.into_inner()).await?;
    Ok(HttpResponse::Ok().json(unit))
}
