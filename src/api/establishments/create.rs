//! `POST /establishments`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::with_etag;
use crate::api::extract::ValidJson;
use crate::app::auth::AuthUser;
use crate::db::Db;
use crate::domain::establishment::EstablishmentInput;
use crate::error::ApiError;

/// `POST /establishments` (admin, supervisor).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<EstablishmentInput>,
) -> Result<HttpResponse, ApiError> {
    let e = crate::app::establishments::create(&db, user, body.0).await?;
    Ok(with_etag(StatusCode::CREATED, e))
}
