//! `POST /auth/login`, `/auth/refresh`, `/auth/logout`.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{parse_json, read_body, require_media_type, ValidJson, JSON_LIMIT};
use crate::app::auth::AuthUser;
use crate::app::sessions::{LoginBody, LogoutBody, RefreshBody};
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

/// The client's address for throttling: the peer, or, when the peer is one
/// of `TRUSTED_PROXIES`, the right-most `X-Forwarded-For` entry that is not.
pub fn client_address(req: &HttpRequest, state: &AppState) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
    state.settings.trusted_proxies.client(peer, &forwarded)
}

/// `POST /auth/login`: throttled per username and per address first.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let client = client_address(&req, &state);
    let pair = crate::app::sessions::login(
        &db,
        state.keys.clone(),
        state.settings.refresh_ttl_secs,
        &state.login_limiter,
        client,
        body.0,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// `POST /auth/refresh`: rotates the token; a retry within the grace gets the
/// same successor, any other reuse revokes the family.
pub async fn refresh(
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let pair = crate::app::sessions::refresh(
        &db,
        state.keys.clone(),
        state.settings.refresh_ttl_secs,
        state.settings.refresh_grace_secs,
        &state.settings.jwt_secret,
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
