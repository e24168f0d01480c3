//! A plan's indicators and the activities recorded against them:
//! `/plans/{id}/indicators`, `/activities`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};

use crate::api::extract::{if_match, read_body, require_media_type, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::evidence;
use crate::app::indicators::{
    self as app, ActivityParams, ActivityPut, IndicatorPut, NewActivity, NewIndicator,
    ValuesParams, WithdrawBody,
};
use crate::db::Db;
use crate::domain::indicators::{evidence_extension, EVIDENCE_LIMIT};
use crate::error::ApiError;
use crate::state::AppState;

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

/// The request's media type, checked to be an evidence file's (or
/// `application/octet-stream`), lower-cased without parameters.
fn evidence_type(req: &HttpRequest) -> Result<String, ApiError> {
    require_media_type(
        req,
        &[
            "image/jpeg",
            "image/png",
            "application/pdf",
            crate::app::inspections::OCTET_STREAM,
        ],
    )
}

/// `PUT /activities/{id}/evidence` (admin, supervisor inside its area; body
/// the file, JPEG, PNG or PDF up to 10 MiB; `If-Match` honoured): the
/// activity with `evidence_sha256` set. The target is checked before the
/// body is read.
pub async fn put_evidence(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let upload = evidence::open_evidence(&db, &user, &id, evidence_type(&req)).await?;
    let bytes = read_body(&req, &mut payload, EVIDENCE_LIMIT).await?;
    let dir = state.settings.attachments_dir.clone();
    let dto = evidence::attach_evidence(&db, user, dir, upload, expected, bytes).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /activities/{id}/evidence`: the file, as a download
/// (`Content-Disposition: attachment`), never rendered in the service's
/// origin; 404 when the activity has none.
pub async fn get_evidence(
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let file =
        evidence::read_evidence(&db, user, &state.settings.attachments_dir, id.clone()).await?;
    let name = format!(
        "attachment; filename=\"minh-chung-{id}.{}\"",
        evidence_extension(&file.content_type)
    );
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_DISPOSITION, name))
        .body(file.bytes))
}
