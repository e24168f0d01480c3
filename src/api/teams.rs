//! `POST /teams`, `GET /teams`, `GET /teams/{id}`, `POST /teams/{id}/members`,
//! `PATCH`/`DELETE /teams/{id}/members/{user_id}`.

use actix_web::{web, HttpResponse};

use crate::api::extract::ValidJson;
use crate::app::auth::AuthUser;
use crate::app::teams::{ListParams, MemberPatch, NewMember, NewTeam};
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `POST /teams` (admin, supervisor inside its area).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewTeam>,
) -> Result<HttpResponse, ApiError> {
    let dto = crate::app::teams::create(&db, user, body.0).await?;
    Ok(HttpResponse::Created().json(dto))
}

/// `GET /teams?level=&org_unit=` (by id).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = crate::app::teams::list(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /teams/{id}` with its members.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = crate::app::teams::get(&db, user, id).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `POST /teams/{id}/members` (admin, supervisor).
pub async fn add_member(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<NewMember>,
) -> Result<HttpResponse, ApiError> {
    let dto = crate::app::teams::add_member(&db, user, &id, body.0).await?;
    Ok(HttpResponse::Created().json(dto))
}

/// `PATCH /teams/{id}/members/{user_id}` (admin, supervisor): agency, leader.
pub async fn update_member(
    user: AuthUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: ValidJson<MemberPatch>,
) -> Result<HttpResponse, ApiError> {
    let (team, member) = path.into_inner();
    let dto = crate::app::teams::update_member(&db, user, &team, &member, body.0).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `DELETE /teams/{id}/members/{user_id}` (admin, supervisor).
pub async fn remove_member(
    user: AuthUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, member) = path.into_inner();
    crate::app::teams::remove_member(&db, user, &team, &member).await?;
    Ok(HttpResponse::NoContent().finish())
}
