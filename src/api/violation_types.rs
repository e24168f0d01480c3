//! The violation catalogue: `GET /violation-types`, `POST /violation-types` (admin).

use actix_web::{web, HttpResponse};

use crate::api::extract::ValidJson;
use crate::app::auth::AuthUser;
use crate::app::violation_types::ViolationType;
use crate::db::Db;
use crate::error::ApiError;

/// `GET /violation-types` (every authenticated user), by code.
pub async fn list(_user: AuthUser, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let items = crate::app::violation_types::list(&db).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

/// `POST /violation-types` (admin).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<ViolationType>,
) -> Result<HttpResponse, ApiError> {
    let stored = crate::app::violation_types::create(&db, user, body.0).await?;
    Ok(HttpResponse::Created().json(stored))
}
