//! `POST /auth/login`, `/auth/refresh`, `/auth/logout`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{parse_json, read_body, require_media_type, ValidJson, JSON_LIMIT};
use crate::app::auth::AuthUser;
use crate::app::sessions::{LoginBody, LogoutBody, RefreshBody};
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

/// Client address for rate limiting (the peer, not a forwarded header).
fn peer(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `POST /auth/login`: limited per username and per address first.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    state
        .login_limiter
        .check(&[format!("u:{}", body.username), format!("a:{}", peer(&req))])?;
    let pair = crate::app::sessions::login(
        &db,
        state.keys.clone(),
        state.settings.refresh_ttl_secs,
        body,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// `POST /auth/refresh`: rotates the token; a reused one revokes its family.
pub async fn refresh(
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let pair = crate::app::sessions::refresh(
        &db,
        state.keys.clone(),
        state.settings.refresh_ttl_secs,
        body.0,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// `POST /auth/logout`: revokes the family of the given refresh token, or
/// every refresh token of the caller when none is given.
pub async fn logout(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, &mut payload, JSON_LIMIT).await?;
    // No body at all means "every refresh token"; anything else, even white
    // space alone, must be a JSON object.
    let body: LogoutBody = if body.is_empty() {
        LogoutBody::default()
    } else {
        require_media_type(&req, &["application/json"])?;
        parse_json(&body)?
    };
    crate::app::sessions::logout(&db, user, body).await?;
    Ok(HttpResponse::NoContent().finish())
}
