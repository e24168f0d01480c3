//! The `users` table: accounts as the API shows them, their credentials and
//! new accounts.

use diesel::prelude::*;

use crate::db::schema::{org_units, users};
use crate::db::{DbConnection, ResultExt};
use crate::error::ApiError;

/// A user's shown columns: id, username, full name, role, home unit, team,
/// active, created, version.
pub type UserRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    chrono::NaiveDateTime,
    i32,
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
    users::version,
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
        users::version,
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
        .set((
            users::team_id.eq(team_id),
            users::version.eq(users::version + 1),
        ))
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

/// The id of the user named `username`, if any.
pub fn id_of(conn: &mut DbConnection, username: &str) -> Result<Option<String>, ApiError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// The password hash of the user `id`, if it exists.
pub fn password_hash(conn: &mut DbConnection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(users::table
        .find(id)
        .select(users::password_hash)
        .first(conn)
        .optional()?)
}

/// Replaces the password hash of the user `id`; when `was` is given, only
/// if the stored hash is still that one (a concurrent change wins). The
/// number of rows changed.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    was: Option<&str>,
    hash: &str,
) -> Result<usize, ApiError> {
    let n = match was {
        Some(w) => diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::password_hash.eq(w)),
        )
        .set(users::password_hash.eq(hash))
        .execute(conn)?,
        None => diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)?,
    };
    Ok(n)
}

/// The columns an administrator changes on an account.
pub struct UserChange<'a> {
    /// Full name.
    pub full_name: &'a str,
    /// Role, as stored.
    pub role: &'a str,
    /// Home org unit.
    pub org_unit_code: Option<&'a str>,
    /// Team.
    pub team_id: Option<&'a str>,
    /// Whether the account may log in.
    pub is_active: bool,
}

/// Writes `c` to the user `id` if it is still at `version`, bumping the
/// version; the number of rows changed (0: someone changed it first).
pub fn update_at_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    c: UserChange<'_>,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::version.eq(version)),
    )
    .set((
        users::full_name.eq(c.full_name),
        users::role.eq(c.role),
        users::org_unit_code.eq(c.org_unit_code),
        users::team_id.eq(c.team_id),
        users::is_active.eq(c.is_active),
        users::version.eq(version + 1),
    ))
    .execute(conn)?)
}

/// Clears the user's team if it is `team_id` (its membership row is
/// deleted with it), bumping the user's version.
pub fn leave_team(conn: &mut DbConnection, id: &str, team_id: &str) -> Result<(), ApiError> {
    diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::team_id.eq(team_id)),
    )
    .set((
        users::team_id.eq(None::<String>),
        users::version.eq(users::version + 1),
    ))
    .execute(conn)?;
    Ok(())
}

/// Up to `limit` active users whose home unit lies under `scope` (every
/// active user with a home unit when `None`), by full name.
pub fn active_in_area(
    conn: &mut DbConnection,
    scope: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>, ApiError> {
    let mut query = users::table
        .inner_join(org_units::table.on(users::org_unit_code.eq(org_units::code.nullable())))
        .filter(users::is_active.eq(true))
        .select(user_columns())
        .order((users::full_name, users::id))
        .limit(limit)
        .into_boxed();
    if let Some(s) = scope {
        query = query.filter(org_units::path.like(format!("{s}%")));
    }
    Ok(query.load::<UserRow>(conn)?)
}
