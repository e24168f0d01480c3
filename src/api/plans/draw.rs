//! The draw of a plan, its top-ups and their verification
//! ([`crate::app::plans::draw`]).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::extract::{parse_json, read_body, require_media_type, ValidJson};
use crate::app::auth::AuthUser;
use crate::app::plans::{self, CancelBody, DrawBody};
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `POST /plans/{id}/draw` (admin, supervisor): once per plan. The body is
/// optional (`{}` or none); a `public_beacon` plan sends `{beacon_value}`.
pub async fn draw_plan(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let raw = read_body(&req, &mut payload, 64 * 1024).await?;
    let body: DrawBody = if raw.is_empty() {
        DrawBody::default()
    } else {
        require_media_type(&req, &["application/json"])?;
        parse_json(&raw)?
    };
    Ok(HttpResponse::Ok().json(plans::draw(&db, user, &id, body).await?))
}

/// `POST /plans/{id}/freeze` (admin, supervisor): a `public_beacon` plan's
/// input is frozen and the server value committed before the beacon's day.
pub async fn freeze(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(plans::freeze(&db, user, &id).await?))
}

/// `POST /plans/{id}/cancel` (admin, supervisor): cancels (replaces) a plan.
pub async fn cancel(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    Ok(HttpResponse::Ok().json(plans::cancel(&db, user, id, body.0).await?))
}

/// `?format=` of a round's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFormat {
    format: Option<String>,
}

/// `GET /plans/{id}/rounds/{n}/input`: the exact canonical bytes the round's
/// input digest covers (`text/plain`), or its JSON with `?format=json` or
/// `Accept: application/json`.
pub async fn round_input(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    q: web::Query<InputFormat>,
) -> Result<HttpResponse, ApiError> {
    let (id, n) = path.into_inner();
    let id = path_uuid(&id)?;
    let round: i32 = match n.parse() {
        Ok(r) if r >= 1 && n.bytes().all(|b| b.is_ascii_digit()) => r,
        _ => return Err(ApiError::NotFound),
    };
    let json = match q.format.as_deref() {
        Some("json") => true,
        Some("canonical") => false,
        Some(_) => return Err(ApiError::field("format", "must be canonical or json")),
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json")),
    };
    let bytes = plans::round_input(&db, user, id, round, json).await?;
    let content_type = if json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(bytes))
}

/// `POST /plans/{id}/top-up` (admin, supervisor): restores quotas after the
/// registry changed, adding assignments and moving none.
pub async fn top_up(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(plans::top_up(&db, user, &id).await?))
}

/// `GET /plans/{id}/verify`: recomputes every round from its recorded inputs.
pub async fn verify(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    Ok(HttpResponse::Ok().json(plans::verify(&db, user, id).await?))
}
