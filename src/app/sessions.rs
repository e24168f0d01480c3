//! Sessions: login (throttled, `app::ratelimit`), refresh with rotation (a
//! reused token revokes its family, but a retry within the grace window gets
//! the same successor), logout.

use std::net::IpAddr;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::app::auth::password::{dummy_hash, verify_password};
use crate::app::auth::tokens::{
    hash_refresh_token, new_refresh_token, successor_refresh_token, TokenKeys,
};
use crate::app::auth::AuthUser;
use crate::app::ratelimit::Limiter;
use crate::app::users::{load_user, UserDto};
use crate::config::Secret;
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

/// Stores `token`, a new refresh token of `family`, and returns it; the
/// user's expired tokens and console sessions go (so the table holds what
/// can still be used or must still be refused, not every sign-in ever).
fn store_refresh(
    conn: &mut DbConnection,
    user_id: &str,
    family: &str,
    ttl: i64,
    token: String,
) -> Result<String, ApiError> {
    let t = now();
    crate::db::refresh_tokens::purge_expired_of(conn, user_id, t)?;
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

/// `POST /auth/login` from the client at `client`: throttled first (429
/// with `Retry-After`, see [`Limiter`]); tokens of a new family, refresh
/// tokens living `ttl` seconds. A failure counts against the user and the
/// address, a success clears the user's failures. The password is checked
/// outside any transaction and without holding a connection: argon2 takes
/// tens of milliseconds.
pub async fn login(
    db: &Db,
    keys: TokenKeys,
    ttl: i64,
    throttle: &Limiter,
    client: IpAddr,
    body: LoginBody,
) -> Result<TokenPair, ApiError> {
    let id = check_credentials(db, throttle, client, body).await?;
    db.write(move |conn| {
        let user = load_user(conn, &id)?;
        let refresh = store_refresh(conn, &id, &new_id(), ttl, new_refresh_token())?;
        Ok(pair(&keys, user, refresh))
    })
    .await
}

/// The user id of `body`'s active account if its password is right,
/// throttled like every login (429 first, then 401 for a wrong pair): the
/// API's login and the console's sign-in both go through it.
pub async fn check_credentials(
    db: &Db,
    throttle: &Limiter,
    client: IpAddr,
    body: LoginBody,
) -> Result<String, ApiError> {
    let LoginBody { username, password } = body;
    throttle.check(&username, client)?;
    let name = username.clone();
    let row = db
        .run(move |conn| crate::db::users::credentials(conn, &name))
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
        throttle.failed(&username, client);
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };
    throttle.succeeded(&username);
    Ok(id)
}

/// Outcome of presenting a refresh token.
enum RefreshOutcome {
    Fresh(Box<TokenPair>),
    Rejected(&'static str),
}

/// `POST /auth/refresh`: rotates the token into its successor (derived
/// from it under `secret`, see [`successor_refresh_token`]). The same token
/// presented again within `grace_secs` of its use, while its successor is
/// still unused, answers that same successor (with a fresh access token): the
/// first answer was lost. Any other reuse revokes the whole family.
pub async fn refresh(
    db: &Db,
    keys: TokenKeys,
    ttl: i64,
    grace_secs: i64,
    secret: &Secret,
    body: RefreshBody,
) -> Result<TokenPair, ApiError> {
    let presented = hash_refresh_token(&body.refresh_token);
    let successor = successor_refresh_token(secret.expose().as_bytes(), &body.refresh_token);
    let successor_hash = hash_refresh_token(&successor);
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
            // Claim the token; not claimed means it was used before: a retry
            // within the grace (the successor untouched), else a replay.
            if !crate::db::refresh_tokens::claim(conn, &id, t)? {
                let used = crate::db::refresh_tokens::used_at(conn, &id)?;
                let retried = grace_secs > 0
                    && used.is_some_and(|u| t - u <= Duration::seconds(grace_secs))
                    && crate::db::refresh_tokens::is_live_in_family(
                        conn,
                        &successor_hash,
                        &family,
                        t,
                    )?;
                if retried {
                    return Ok(match load_user(conn, &user_id) {
                        Ok(u) if u.is_active => {
                            RefreshOutcome::Fresh(Box::new(pair(&keys, u, successor)))
                        }
                        _ => RefreshOutcome::Rejected("user disabled"),
                    });
                }
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
            let token = store_refresh(conn, &user_id, &family, ttl, successor)?;
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

/// The console's sessions are rows of `refresh_tokens`, so that everything
/// that ends a user's refresh families (signing out everywhere, disabling
/// the account, resetting or changing its password) ends its console
/// sessions too. A session's row is keyed by a hash of its nonce that no
/// refresh token can produce (a SHA-256 is hex, the prefix is not), so a
/// console cookie is never accepted by `POST /auth/refresh` and the other
/// way round.
fn console_hash(nonce: &str) -> String {
    format!("console:{}", hash_refresh_token(nonce))
}

/// Records a new console session of `user_id` (its cookie holds `nonce`),
/// ending `max_age_secs` from now.
pub async fn open_console_session(
    db: &Db,
    user_id: String,
    nonce: String,
    max_age_secs: i64,
) -> Result<(), ApiError> {
    db.write(move |conn| {
        let t = now();
        crate::db::refresh_tokens::purge_expired_of(conn, &user_id, t)?;
        crate::db::refresh_tokens::insert(
            conn,
            &new_id(),
            &user_id,
            &new_id(),
            &console_hash(&nonce),
            t + Duration::seconds(max_age_secs),
            t,
        )
    })
    .await
}

/// The caller of a console session: 401 when the session was ended on the
/// server (signed out, account disabled, password reset), has expired, is
/// not `user_id`'s, or the user is disabled.
pub async fn console_caller(db: &Db, user_id: String, nonce: String) -> Result<AuthUser, ApiError> {
    db.run(move |conn| {
        let live = match crate::db::refresh_tokens::find_by_hash(conn, &console_hash(&nonce))? {
            Some((_, owner, _, expires_at, revoked_at)) => {
                owner == user_id && revoked_at.is_none() && expires_at > now()
            }
            None => false,
        };
        if !live {
            return Err(ApiError::Unauthorized("console session ended".into()));
        }
        crate::app::auth::Caller::new(user_id).load(conn)
    })
    .await
}

/// Ends the console session of `user_id` whose cookie holds `nonce`.
pub async fn close_console_session(
    db: &Db,
    user_id: String,
    nonce: String,
) -> Result<(), ApiError> {
    db.write(move |conn| {
        if let Some(f) =
            crate::db::refresh_tokens::family_of(conn, &console_hash(&nonce), &user_id)?
        {
            crate::db::refresh_tokens::revoke_family(conn, &f, now())?;
        }
        Ok(())
    })
    .await
}
