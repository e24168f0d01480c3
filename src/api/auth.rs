//! `POST /auth/login`, `/auth/refresh`, `/auth/logout`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::extract::{read_body, ValidJson};
use crate::api::users::UserDto;
use crate::app::auth::password::{dummy_hash, verify_password};
use crate::app::auth::tokens::{hash_refresh_token, new_refresh_token, TokenKeys};
use crate::app::auth::AuthUser;
use crate::db::schema::{refresh_tokens, users};
use crate::db::{Db, DbConnection};
use crate::domain::values::{new_id, now};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /auth/login` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// `POST /auth/refresh` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

/// What login and refresh answer.
#[derive(Serialize)]
pub struct TokenPair {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
    user: UserDto,
}

/// Stores a new refresh token of `family` and returns it in clear.
fn store_refresh(
    conn: &mut DbConnection,
    user_id: &str,
    family: &str,
    ttl: i64,
) -> Result<String, ApiError> {
    let token = new_refresh_token();
    let t = now();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(new_id()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::token_hash.eq(hash_refresh_token(&token)),
            refresh_tokens::expires_at.eq(t + Duration::seconds(ttl)),
            refresh_tokens::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(token)
}

fn pair(keys: &TokenKeys, user: UserDto, refresh_token: String) -> TokenPair {
    TokenPair {
        access_token: keys.issue(&user.id, &user.role),
        token_type: "Bearer",
        expires_in: keys.access_ttl,
        refresh_token,
        user,
    }
}

/// Client address for rate limiting (the peer, not a forwarded header).
fn peer(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `POST /auth/login`.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { username, password } = body.0;
    state
        .login_limiter
        .check(&[format!("u:{username}"), format!("a:{}", peer(&req))])?;
    let keys = state.keys.clone();
    let ttl = state.settings.refresh_ttl_secs;
    // The password is checked outside any transaction and without holding a
    // connection: argon2 takes tens of milliseconds.
    let who = username.clone();
    let row: Option<(String, String, bool)> = db
        .run(move |conn| {
            Ok(users::table
                .filter(users::username.eq(&who))
                .select((users::id, users::password_hash, users::is_active))
                .first(conn)
                .optional()?)
        })
        .await?;
    let checked = web::block(move || match row {
        // Same work as a real check, so timing does not tell names apart.
        None => {
            verify_password(&password, dummy_hash());
            None
        }
        Some((id, hash, active)) => (verify_password(&password, &hash) && active).then_some(id),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(id) = checked else {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };
    let result = db
        .write(move |conn| {
            let user = crate::api::users::load_user(conn, &id)?;
            let refresh = store_refresh(conn, &id, &new_id(), ttl)?;
            Ok(pair(&keys, user, refresh))
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Outcome of presenting a refresh token.
enum RefreshOutcome {
    Fresh(Box<TokenPair>),
    Rejected(&'static str),
}

/// `POST /auth/refresh`: rotates the token; a reused one revokes its family.
pub async fn refresh(
    state: web::Data<AppState>,
    db: web::Data<Db>,
    body: ValidJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let presented = hash_refresh_token(&body.0.refresh_token);
    let keys = state.keys.clone();
    let ttl = state.settings.refresh_ttl_secs;
    // The revocation of a reused family must commit, so rejection is an Ok value.
    let outcome = db
        .write(move |conn| {
            let row: Option<(
                String,
                String,
                String,
                chrono::NaiveDateTime,
                Option<chrono::NaiveDateTime>,
            )> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&presented))
                .select((
                    refresh_tokens::id,
                    refresh_tokens::user_id,
                    refresh_tokens::family_id,
                    refresh_tokens::expires_at,
                    refresh_tokens::revoked_at,
                ))
                .first(conn)
                .optional()?;
            let Some((id, user_id, family, expires_at, revoked_at)) = row else {
                return Ok(RefreshOutcome::Rejected("unknown refresh token"));
            };
            let t = now();
            if revoked_at.is_some() {
                return Ok(RefreshOutcome::Rejected("refresh token revoked"));
            }
            // Claim the token; zero rows means it was used before: a replay.
            let claimed = diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::id.eq(&id))
                    .filter(refresh_tokens::used_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(t))
            .execute(conn)?;
            if claimed == 0 {
                revoke_family(conn, &family)?;
                return Ok(RefreshOutcome::Rejected(
                    "refresh token reused; its family is revoked",
                ));
            }
            if expires_at < t {
                return Ok(RefreshOutcome::Rejected("refresh token expired"));
            }
            let user = match crate::api::users::load_user(conn, &user_id) {
                Ok(u) if u.is_active => u,
                _ => return Ok(RefreshOutcome::Rejected("user disabled")),
            };
            let token = store_refresh(conn, &user_id, &family, ttl)?;
            Ok(RefreshOutcome::Fresh(Box::new(pair(&keys, user, token))))
        })
        .await?;
    match outcome {
        RefreshOutcome::Fresh(p) => Ok(HttpResponse::Ok().json(*p)),
        RefreshOutcome::Rejected(why) => Err(ApiError::Unauthorized(why.into())),
    }
}

fn revoke_family(conn: &mut DbConnection, family: &str) -> Result<(), ApiError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogoutBody {
    refresh_token: Option<String>,
}

/// `POST /auth/logout`: revokes the family of the given refresh token, or
/// every refresh token of the caller when none is given.
pub async fn logout(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, &mut payload, crate::api::extract::JSON_LIMIT).await?;
    // No body at all means "every refresh token"; anything else, even white
    // space alone, must be a JSON object.
    let body: LogoutBody = if body.is_empty() {
        LogoutBody::default()
    } else {
        crate::api::extract::require_media_type(&req, &["application/json"])?;
        crate::api::extract::parse_json(&body)?
    };
    db.write(move |conn| {
        match body.refresh_token {
            Some(t) => {
                let family: Option<String> = refresh_tokens::table
                    .filter(refresh_tokens::token_hash.eq(hash_refresh_token(&t)))
                    .filter(refresh_tokens::user_id.eq(&user.id))
                    .select(refresh_tokens::family_id)
                    .first(conn)
                    .optional()?;
                if let Some(f) = family {
                    revoke_family(conn, &f)?;
                }
            }
            None => {
                diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::user_id.eq(&user.id))
                        .filter(refresh_tokens::revoked_at.is_null()),
                )
                .set(refresh_tokens::revoked_at.eq(now()))
                .execute(conn)?;
            }
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
