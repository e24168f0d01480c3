//! Yearly plans: create, list, get and a plan's assignments; the draw, top-up
//! and verify are in [`draw`]. The use cases are [`crate::app::plans`].

pub mod draw;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::plans::{self, AssignmentQuery, NewPlan, PatchPlan};
use crate::db::Db;
use crate::domain::page::PageParams;
use crate::domain::status::AssignmentStatus;
use crate::domain::values::{parse_uuid, path_uuid};
use crate::error::ApiError;

/// `POST /plans` (admin, supervisor inside its area).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewPlan>,
) -> Result<HttpResponse, ApiError> {
    let plan = plans::create(&db, user, body.0).await?;
    Ok(HttpResponse::Created().json(plan))
}

/// `GET /plans/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    Ok(HttpResponse::Ok().json(plans::get(&db, user, id).await?))
}

/// `PATCH /plans/{id}` (admin, supervisor; `If-Match`): the plan's number
/// and issuing body.
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<PatchPlan>,
) -> Result<HttpResponse, ApiError> {
    // The role first: a caller without it gets 403 whatever the id says.
    crate::app::policy::require_manager(&user)?;
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    Ok(HttpResponse::Ok().json(plans::patch(&db, user, id, expected, body.0).await?))
}

/// `GET /plans` (plans whose unit is inside or above the caller's area).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after = q.after()?;
    Ok(HttpResponse::Ok().json(plans::list(&db, user, limit, after).await?))
}

/// Filters of `GET /plans/{id}/assignments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentFilters {
    team_id: Option<String>,
    org_unit: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /plans/{id}/assignments?team_id=&org_unit=&status=` (by id).
pub async fn plan_assignments(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<AssignmentFilters>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let q = q.into_inner();
    let status = match &q.status {
        Some(s) => Some(
            AssignmentStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", AssignmentStatus::one_of()))?,
        ),
        None => None,
    };
    if let Some(t) = &q.team_id {
        parse_uuid("team_id", t)?;
    }
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let query = AssignmentQuery {
        team_id: q.team_id,
        org_unit: q.org_unit,
        status,
        limit: pp.limit()?,
        after: pp.after()?,
    };
    Ok(HttpResponse::Ok().json(plans::plan_assignments(&db, user, id, query).await?))
}

/// `GET /plans/{id}/warnings` (admin, supervisor): what to fix before the draw.
pub async fn warnings(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(plans::warnings::warnings(&db, user, &id).await?))
}
