//! `POST /inspections/{id}/corrections`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::inspections::{self, CorrectionBody};
use crate::db::Db;
use crate::error::ApiError;

/// `POST /inspections/{id}/corrections` (the team's inspectors): a new version.
pub async fn correct(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<CorrectionBody>,
) -> Result<HttpResponse, ApiError> {
    let dto = inspections::correct(&db, user, &id, if_match(&req), body.0).await?;
    Ok(HttpResponse::Created().json(dto))
}
