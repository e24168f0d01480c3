//! The `users` table: accounts as the API shows them, their credentials and
//! new accounts.

use diesel::prelude::*;

use crate::db::schema::{org_units, users};
use crate::db::{DbConnection, ResultExt};
use crate::error::ApiError;

/// A user's shown columns: id, username, full name, role, home unit, team,
/// active, created.
pub type UserRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    chrono::NaiveDateTime,
);

fn user_columns() -> (
    users::id,
    users::username,
    users::full_name,
    users::role,
    users::org_unit_code,
    users::team_id,
    users::is_active,
    users::created_at,
) {
    (
        users::id,
        users::username,
        users::full_name,
        users::role,
        users::org_unit_code,
        users::team_id,
        users::is_active,
        users::created_at,
    )
}

/// The user `id`, if it exists.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<UserRow>, ApiError> {
    Ok(users::table
        .find(id)
        .select(user_columns())
        .first::<UserRow>(conn)
        .optional()?)
}

/// At most `limit` users by id, after `after`.
pub fn list_page(
    conn: &mut DbConnection,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<UserRow>, ApiError> {
    let mut query = users::table
        .select(user_columns())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        query = query.filter(users::id.gt(a));
    }
    Ok(query.load::<UserRow>(conn)?)
}

/// The id, password hash and active flag of the user named `username`.
pub fn credentials(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<(String, String, bool)>, ApiError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select((users::id, users::password_hash, users::is_active))
        .first(conn)
        .optional()?)
}

/// Whether the org unit `code` exists.
pub fn org_unit_exists(conn: &mut DbConnection, code: &str) -> Result<bool, ApiError> {
    Ok(org_units::table
        .find(code)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// A new account's columns.
pub struct NewUserRow<'a> {
    /// Id.
    pub id: &'a str,
    /// Login name.
    pub username: &'a str,
    /// The argon2 PHC string.
    pub password_hash: &'a str,
    /// Full name.
    pub full_name: &'a str,
    /// Role, as stored.
    pub role: &'a str,
    /// Home org unit.
    pub org_unit_code: Option<&'a str>,
    /// Team.
    pub team_id: Option<&'a str>,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
}

/// Stores an active account; 409 on a taken username.
pub fn insert(conn: &mut DbConnection, u: NewUserRow<'_>) -> Result<(), ApiError> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(u.id),
            users::username.eq(u.username),
            users::password_hash.eq(u.password_hash),
            users::full_name.eq(u.full_name),
            users::role.eq(u.role),
            users::org_unit_code.eq(u.org_unit_code),
            users::team_id.eq(u.team_id),
            users::is_active.eq(true),
            users::created_at.eq(u.created_at),
        ))
        .execute(conn)
        .on_unique("users_username_key", "users.username", || {
            ApiError::Conflict(format!("username {} is taken", u.username))
        })?;
    Ok(())
}

/// The home unit and stored role of the user `id`, if it exists.
pub fn unit_and_role(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(Option<String>, String)>, ApiError> {
    Ok(users::table
        .find(id)
        .select((users::org_unit_code, users::role))
        .first(conn)
        .optional()?)
}

/// Sets the user's team (its membership row is written with it).
pub fn set_team(conn: &mut DbConnection, id: &str, team_id: &str) -> Result<(), ApiError> {
    diesel::update(users::table.find(id))
        .set(users::team_id.eq(team_id))
        .execute(conn)?;
    Ok(())
}

/// Notes a team fetch by `id` at `at`, unless one is stored after `stale`
/// (at most one write per device in that span).
pub fn note_sync(
    conn: &mut DbConnection,
    id: &str,
    at: chrono::NaiveDateTime,
    stale: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(
        users::table.find(id).filter(
            users::last_sync_at
                .is_null()
                .or(users::last_sync_at.lt(stale)),
        ),
    )
    .set(users::last_sync_at.eq(at))
    .execute(conn)?;
    Ok(())
}
