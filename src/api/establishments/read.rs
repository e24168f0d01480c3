//! `GET /establishments` and `GET /establishments/{id}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::with_etag;
use crate::app::auth::AuthUser;
use crate::app::establishments::ListParams;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `GET /establishments/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let e = crate::app::establishments::get(&db, user, id).await?;
    Ok(with_etag(StatusCode::OK, e))
}

/// `GET /establishments?org_unit=&business_type=&status=&q=` (by id).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = crate::app::establishments::list(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
