//! How a caller is read: the user, its team's unit and its own unit, with
//! the change counter, in one statement.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::ApiError;

/// Evaluates `$body` with `$from` bound to the callers' source (`users`,
/// left-joined to their team, the team's unit and their own unit) and
/// `$cols` to the columns of an [`AuthRow`] (with the change counter): the
/// one definition of how a caller is read, for [`auth_rows`] and for
/// statements that read the caller together with their own rows (a team's
/// sync).
macro_rules! with_auth_source {
    (|$from:ident, $cols:ident| $body:expr) => {{
        use $crate::db::schema::{change_counter, org_units, teams, users};
        let (team_unit, home_unit) = diesel::alias!(org_units as team_unit, org_units as home_unit);
        let $from = users::table
            .left_join(teams::table.on(users::team_id.eq(teams::id.nullable())))
            .left_join(
                team_unit.on(teams::org_unit_code
                    .nullable()
                    .eq(team_unit.field(org_units::code).nullable())),
            )
            .left_join(
                home_unit.on(users::org_unit_code.eq(home_unit.field(org_units::code).nullable())),
            );
        let $cols = (
            users::id,
            users::username,
            users::role,
            users::org_unit_code,
            users::team_id,
            users::is_active,
            users::last_sync_at,
            team_unit.field(org_units::path).nullable(),
            home_unit.field(org_units::path).nullable(),
            change_counter::table
                .find(1)
                .select(change_counter::value)
                .single_value(),
        );
        $body
    }};
}
pub(crate) use with_auth_source;

/// The callers' rows matching `$filter` on `users` (in scope there, as in
/// any [`with_auth_source`] body), loaded on `$conn`: one
/// query text for [`load_auth_user`] (`users.id = $1`) and
/// [`load_auth_users`] (`users.id = ANY($1)`). They stay two statements:
/// PostgreSQL plans the `ANY` form afresh at every execution (its generic
/// plan, costed for ten ids, never beats a custom plan for one).
macro_rules! auth_rows {
    ($conn:expr, $filter:expr) => {
        with_auth_source!(|from, cols| from.filter($filter).select(cols).load::<AuthRow>($conn))
    };
}

/// What [`with_auth_source`] reads of a caller, in its column order.
#[derive(Debug, Clone, Queryable)]
pub struct AuthRow {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Role, as stored.
    pub role: String,
    /// Home org unit.
    pub org_unit_code: Option<String>,
    /// Team, if any.
    pub team_id: Option<String>,
    /// Disabled users are not callers.
    pub is_active: bool,
    /// The device's last team fetch.
    pub last_sync_at: Option<chrono::NaiveDateTime>,
    /// Path of the team's unit.
    pub team_path: Option<String>,
    /// Path of the user's own unit.
    pub home_path: Option<String>,
    /// The change counter, read in the same statement.
    pub change_counter: Option<i64>,
}

/// Loads a user's role and scope from the database, in one query (every
/// request makes it): the user, its team's unit and its own unit. An
/// inspector's scope is its team's jurisdiction when it has a team, else its
/// own org unit.
pub fn load_auth_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<AuthRow>, ApiError> {
    Ok(auth_rows!(conn, users::id.eq(user_id))?)
}

/// [`load_auth_user`] for many users in one statement (the minutes group
/// commit loads the posters of a whole batch at once): the active ones, in
/// no particular order.
pub fn load_auth_users(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<AuthRow>, ApiError> {
    Ok(auth_rows!(conn, users::id.eq_any(ids))?)
}
