//! Sessions: login, refresh with rotation (a reused token revokes its
//! family), logout.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::app::auth::password::{dummy_hash, verify_password};
use crate::app::auth::tokens::{hash_refresh_token, new_refresh_token, TokenKeys};
use crate::app::auth::AuthUser;
use crate::app::users::{load_user, UserDto};
use crate::db::{Db, DbConnection};
use crate::domain::values::{new_id, now};
use crate::error::ApiError;

/// `POST /auth/login` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /auth/refresh` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token presented.
    pub refresh_token: String,
}

/// `POST /auth/logout` body (none at all means every token of the caller).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    /// The token whose family ends.
    pub refresh_token: Option<String>,
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
    crate::db::refresh_tokens::insert(
        conn,
        &new_id(),
        user_id,
        family,
        &hash_refresh_token(&token),
        t + Duration::seconds(ttl),
        t,
    )?;
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

/// `POST /auth/login` (the caller's rate limit checked first): tokens of a
/// new family, refresh tokens living `ttl` seconds. The password is checked
/// outside any transaction and without holding a connection: argon2 takes
/// tens of milliseconds.
pub async fn login(
    db: &Db,
    keys: TokenKeys,
    ttl: i64,
    body: LoginBody,
) -> Result<TokenPair, ApiError> {
    let LoginBody { username, password } = body;
    let row = db
        .run(move |conn| crate::db::users::credentials(conn, &username))
        .await?;
    let checked = tokio::task::spawn_blocking(move || match row {
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
    db.write(move |conn| {
        let user = load_user(conn, &id)?;
        let refresh = store_refresh(conn, &id, &new_id(), ttl)?;
        Ok(pair(&keys, user, refresh))
    })
    .await
}

/// Outcome of presenting a refresh token.
enum RefreshOutcome {
    Fresh(Box<TokenPair>),
    Rejected(&'static str),
}

/// `POST /auth/refresh`: rotates the token; a reused one revokes its family.
pub async fn refresh(
    db: &Db,
    keys: TokenKeys,
    ttl: i64,
    body: RefreshBody,
) -> Result<TokenPair, ApiError> {
    let presented = hash_refresh_token(&body.refresh_token);
    // The revocation of a reused family must commit, so rejection is an Ok value.
    let outcome = db
        .write(move |conn| {
            let Some((id, user_id, family, expires_at, revoked_at)) =
                crate::db::refresh_tokens::find_by_hash(conn, &presented)?
            else {
                return Ok(RefreshOutcome::Rejected("unknown refresh token"));
            };
            let t = now();
            if revoked_at.is_some() {
                return Ok(RefreshOutcome::Rejected("refresh token revoked"));
            }
            // Claim the token; not claimed means it was used before: a replay.
            if !crate::db::refresh_tokens::claim(conn, &id, t)? {
                crate::db::refresh_tokens::revoke_family(conn, &family, now())?;
                return Ok(RefreshOutcome::Rejected(
                    "refresh token reused; its family is revoked",
                ));
            }
            if expires_at < t {
                return Ok(RefreshOutcome::Rejected("refresh token expired"));
            }
            let user = match load_user(conn, &user_id) {
                Ok(u) if u.is_active => u,
                _ => return Ok(RefreshOutcome::Rejected("user disabled")),
            };
            let token = store_refresh(conn, &user_id, &family, ttl)?;
            Ok(RefreshOutcome::Fresh(Box::new(pair(&keys, user, token))))
        })
        .await?;
    match outcome {
        RefreshOutcome::Fresh(p) => Ok(*p),
        RefreshOutcome::Rejected(why) => Err(ApiError::Unauthorized(why.into())),
    }
}

/// `POST /auth/logout`: revokes the family of the given refresh token (if
/// it is the caller's), or every refresh token of the caller when none is
/// given.
pub async fn logout(db: &Db, user: AuthUser, body: LogoutBody) -> Result<(), ApiError> {
    db.write(move |conn| {
        match body.refresh_token {
            Some(t) => {
                let family =
                    crate::db::refresh_tokens::family_of(conn, &hash_refresh_token(&t), &user.id)?;
                if let Some(f) = family {
                    crate::db::refresh_tokens::revoke_family(conn, &f, now())?;
                }
            }
            None => crate::db::refresh_tokens::revoke_all_of(conn, &user.id, now())?,
        }
        Ok(())
    })
    .await
}
