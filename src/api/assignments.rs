//! `GET /teams/{id}/assignments` (a team's fetch and delta sync),
//! `GET /assignments/{id}`, `PATCH /assignments/{id}`.

use actix_web::http::header::{ContentType, ETAG};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, ValidJson};
use crate::app::assignments::{PatchBody, SyncParams, SyncRequest};
use crate::app::auth::{AuthUser, Caller};
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /teams/{id}/assignments`: everything open, or with `since` every
/// change after that token (cancellations included), in change order.
pub async fn team_assignments(
    caller: Caller,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<SyncParams>,
) -> Result<HttpResponse, ApiError> {
    let request = SyncRequest::parse(&id, q.into_inner())?;
    let body = db
        .run(move |conn| {
            crate::app::assignments::team_page(conn, &state.auth_cache, &caller, request)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// `GET /assignments/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = crate::app::assignments::get(&db, user, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, format!("\"{}\"", dto.version())))
        .json(dto))
}

/// `PATCH /assignments/{id}` (`If-Match`): the team's leader, or a
/// supervisor or admin, schedules the visit (null unschedules it).
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    let when = body.0.visit_day()?;
    let dto = crate::app::assignments::patch(&db, user, id, expected, when).await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, format!("\"{}\"", dto.version())))
        .json(dto))
}
