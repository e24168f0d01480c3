//! `GET /users/me`, `POST /users`, `GET /users` (admin).

use actix_web::{web, HttpResponse};

use crate::api::extract::ValidJson;
use crate::app::auth::AuthUser;
use crate::app::users::NewUser;
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
