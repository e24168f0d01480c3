//! `GET /inspections`, `GET /inspections/{id}`, `GET /inspections/{id}/versions`.

use actix_web::{web, HttpResponse};

use crate::app::auth::AuthUser;
use crate::app::inspections::{self, ListParams};
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `GET /inspections?plan_id=&team_id=&establishment_id=&from=&to=` (by id;
/// `from`/`to` are Vietnam days of `finished_at`, inclusive).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = inspections::list(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /inspections/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = inspections::get(&db, user, id).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /inspections/{id}/versions`: every version, oldest first.
pub async fn versions(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let page = inspections::versions(&db, user, id).await?;
    Ok(HttpResponse::Ok().json(page))
}
