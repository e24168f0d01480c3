//! The `refresh_tokens` table: hashed refresh tokens in families that rotate.

use diesel::prelude::*;

use crate::db::schema::refresh_tokens;
use crate::db::DbConnection;
use crate::error::ApiError;

/// A stored token: id, user, family, expiry, revocation.
pub type TokenRow = (
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

/// Stores a token of `family` by its hash.
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    family: &str,
    token_hash: &str,
    expires_at: chrono::NaiveDateTime,
    created_at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(id),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::created_at.eq(created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The token whose hash is `token_hash`, if any.
pub fn find_by_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<TokenRow>, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
            refresh_tokens::revoked_at,
        ))
        .first(conn)
        .optional()?)
}

/// Marks the token `id` used at `at` unless it was used before; whether
/// this call claimed it.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    at: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    let claimed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(at))
    .execute(conn)?;
    Ok(claimed > 0)
}

/// When the token `id` was used, if it was.
pub fn used_at(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<chrono::NaiveDateTime>, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::id.eq(id))
        .select(refresh_tokens::used_at)
        .first::<Option<chrono::NaiveDateTime>>(conn)
        .optional()?
        .flatten())
}

/// Whether `family` holds a token hashed `token_hash` that is neither used,
/// nor revoked, nor expired at `at`.
pub fn is_live_in_family(
    conn: &mut DbConnection,
    token_hash: &str,
    family: &str,
    at: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .filter(refresh_tokens::family_id.eq(family))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::expires_at.gt(at))
        .select(refresh_tokens::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Revokes the family's tokens not yet revoked.
pub fn revoke_family(
    conn: &mut DbConnection,
    family: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// Deletes `user_id`'s tokens and console sessions that expired before
/// `at`: none of them can be used, and a used one presented again is
/// refused for its expiry as it would be for its reuse. How many went.
pub fn purge_expired_of(
    conn: &mut DbConnection,
    user_id: &str,
    at: chrono::NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::expires_at.lt(at)),
    )
    .execute(conn)?)
}

/// Revokes every token of `user_id` not yet revoked.
pub fn revoke_all_of(
    conn: &mut DbConnection,
    user_id: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// The family of `user_id`'s token whose hash is `token_hash`, if any.
pub fn family_of(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: &str,
) -> Result<Option<String>, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .filter(refresh_tokens::user_id.eq(user_id))
        .select(refresh_tokens::family_id)
        .first(conn)
        .optional()?)
}
