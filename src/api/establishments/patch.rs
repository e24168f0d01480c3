//! `PATCH /establishments/{id}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::with_etag;
use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::establishments::PatchBody;
use crate::app::policy;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `PATCH /establishments/{id}` (admin, supervisor; `If-Match`).
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    // The role first: a caller without it gets 403 whatever the id or If-Match says.
    policy::require_manager(&user)?;
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    let e = crate::app::establishments::patch(&db, user, id, expected, body.0).await?;
    Ok(with_etag(StatusCode::OK, e))
}
