//! A plan's indicators and the activities recorded against them:
//! `/plans/{id}/indicators`, `/activities`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::indicators::{
    self as app, ActivityParams, ActivityPut, IndicatorPut, NewActivity, NewIndicator,
    ValuesParams, WithdrawBody,
};
use crate::db::Db;
use crate::error::ApiError;

/// `POST /plans/{id}/indicators` → 201.
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<NewIndicator>,
) -> Result<HttpResponse, ApiError> {
    let dto = app::create(&db, user, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(dto))
}

/// `GET /plans/{id}/indicators?date=`.
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<ValuesParams>,
) -> Result<HttpResponse, ApiError> {
    let page = app::list(&db, user, id.into_inner(), q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `PUT /plans/{id}/indicators/{code}` (body `version`; `If-Match` honoured).
pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: ValidJson<IndicatorPut>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let (id, code) = path.into_inner();
    let dto = app::update(&db, user, id, code, expected, body.0).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `POST /activities` → 201, or 200 for the same post again.
pub async fn record(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewActivity>,
) -> Result<HttpResponse, ApiError> {
    let (dto, created) = app::record(&db, user, body.0).await?;
    Ok(if created {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

/// `GET /activities?plan_id=&indicator_code=&org_unit_code=&status=`.
pub async fn list_activities(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ActivityParams>,
) -> Result<HttpResponse, ApiError> {
    let page = app::list_activities(&db, user, q.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /activities/{id}`.
pub async fn get_activity(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let dto = app::get(&db, user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `PUT /activities/{id}` (body `version`; `If-Match` honoured).
pub async fn correct(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<ActivityPut>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let dto = app::correct(&db, user, id.into_inner(), expected, body.0).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `POST /activities/{id}/withdraw`.
pub async fn withdraw(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<WithdrawBody>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let dto = app::withdraw(&db, user, id.into_inner(), expected, body.0).await?;
    Ok(HttpResponse::Ok().json(dto))
}
