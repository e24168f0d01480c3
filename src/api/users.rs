//! `GET /users/me`, `POST /users`, `GET /users` (admin), `GET`/`PATCH
//! /users/{id}`, `POST /users/{id}/password`, `POST /users/me/password`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::users::{NewPassword, NewUser, PasswordChange, UserDto, UserPatch};
use crate::db::Db;
use crate::domain::page::PageParams;
use crate::error::ApiError;

/// `POST /users` (admin).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let created = crate::app::users::create(&db, user, body.0).await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /users/me`.
pub async fn me(user: AuthUser, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let dto = crate::app::users::me(&db, user).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /users` (admin): every account, by id.
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = crate::app::users::list(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The user with `status`, its version as the `ETag`.
fn with_etag(status: StatusCode, u: UserDto) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{}\"", u.version)))
        .json(u)
}

/// `GET /users/{id}` (admin; a supervisor inside its area).
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::app::users::get(&db, user, &id).await?;
    Ok(with_etag(StatusCode::OK, u))
}

/// `PATCH /users/{id}` (admin; a supervisor inside its area; `If-Match`).
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    // The role first: a caller without it gets 403 whatever If-Match says.
    crate::app::policy::require_manager(&user)?;
    let expected = if_match(&req)?;
    let u = crate::app::users::patch(&db, user, &id, expected, body.0).await?;
    Ok(with_etag(StatusCode::OK, u))
}

/// `POST /users/{id}/password` (admin; a supervisor inside its area).
pub async fn reset_password(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<NewPassword>,
) -> Result<HttpResponse, ApiError> {
    crate::app::users::reset_password(&db, user, &id, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /users/me/password` (the caller's own, given the current one).
pub async fn change_own_password(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    crate::app::users::change_own_password(&db, user, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
