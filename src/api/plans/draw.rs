//! The draw of a plan, its top-ups and their verification
//! ([`crate::app::plans::draw`]).

use actix_web::{web, HttpResponse};

use crate::app::auth::AuthUser;
use crate::app::plans;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `POST /plans/{id}/draw` (admin, supervisor): once per plan.
pub async fn draw_plan(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(plans::draw(&db, user, &id).await?))
}

/// `POST /plans/{id}/top-up` (admin, supervisor): restores quotas after the
/// registry changed, adding assignments and moving none.
pub async fn top_up(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(plans::top_up(&db, user, &id).await?))
}

/// `GET /plans/{id}/verify`: recomputes every round from its recorded inputs.
pub async fn verify(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    Ok(HttpResponse::Ok().json(plans::verify(&db, user, id).await?))
}
