//! `GET /plans/{id}/coverage`: where the plan stands, for the plan and per
//! child unit, team or business type ([`crate::app::coverage`]).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::auth::AuthUser;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `?group_by=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    group_by: Option<String>,
}

/// `GET /plans/{id}/coverage?group_by=org_unit|team|business_type`.
pub async fn coverage(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let group_by = match q.into_inner().group_by.as_deref().unwrap_or("org_unit") {
        "org_unit" => "org_unit",
        "team" => "team",
        "business_type" => "business_type",
        _ => {
            return Err(ApiError::field(
                "group_by",
                "must be org_unit, team or business_type",
            ))
        }
    };
    let body = crate::app::coverage::coverage(&db, user, id, group_by).await?;
    Ok(HttpResponse::Ok().json(body))
}
