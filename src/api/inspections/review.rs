//! `POST /inspections/{id}/review`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::inspections::{self, ReviewBody};
use crate::db::Db;
use crate::error::ApiError;

/// `POST /inspections/{id}/review` (supervisor, admin).
pub async fn review(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let dto = inspections::review(&db, user, &id, if_match(&req), body.0).await?;
    Ok(HttpResponse::Ok().json(dto))
}
