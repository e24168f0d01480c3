//! The `teams` and `team_members` tables.

use diesel::prelude::*;

use crate::db::schema::{org_units, team_members, teams, users};
use crate::db::{DbConnection, ResultExt};
use crate::error::ApiError;

/// A team's columns: id, name, level, jurisdiction, version, created, and
/// the jurisdiction's path.
pub type TeamRow = (
    String,
    String,
    String,
    String,
    i32,
    chrono::NaiveDateTime,
    String,
);

fn team_columns() -> (
    teams::id,
    teams::name,
    teams::level,
    teams::org_unit_code,
    teams::version,
    teams::created_at,
    org_units::path,
) {
    (
        teams::id,
        teams::name,
        teams::level,
        teams::org_unit_code,
        teams::version,
        teams::created_at,
        org_units::path,
    )
}

/// Whether the team `id` exists.
pub fn exists(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    Ok(teams::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// The team `id` with its jurisdiction's path, if it exists.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<TeamRow>, ApiError> {
    Ok(teams::table
        .inner_join(org_units::table)
        .filter(teams::id.eq(id))
        .select(team_columns())
        .first(conn)
        .optional()?)
}

/// The unit path of the jurisdiction of team `id`, if the team exists.
pub fn jurisdiction_path(conn: &mut DbConnection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(teams::table
        .inner_join(org_units::table)
        .filter(teams::id.eq(id))
        .select(org_units::path)
        .first(conn)
        .optional()?)
}

/// Which teams a page of [`list_page`] reads.
pub struct TeamFilter {
    /// Only this team (an inspector's own).
    pub only_team: Option<String>,
    /// Only teams whose jurisdiction lies under this path.
    pub under_path: Option<String>,
    /// One level.
    pub level: Option<String>,
    /// One jurisdiction.
    pub org_unit: Option<String>,
    /// By id, after this one.
    pub after: Option<String>,
}

/// At most `limit` teams matching `f`, by id.
pub fn list_page(
    conn: &mut DbConnection,
    f: TeamFilter,
    limit: i64,
) -> Result<Vec<TeamRow>, ApiError> {
    let mut query = teams::table
        .inner_join(org_units::table)
        .select(team_columns())
        .order(teams::id)
        .limit(limit)
        .into_boxed();
    if let Some(t) = f.only_team {
        query = query.filter(teams::id.eq(t));
    } else if let Some(scope) = f.under_path {
        query = query.filter(org_units::path.like(format!("{scope}%")));
    }
    if let Some(l) = f.level {
        query = query.filter(teams::level.eq(l));
    }
    if let Some(o) = f.org_unit {
        query = query.filter(teams::org_unit_code.eq(o));
    }
    if let Some(a) = f.after {
        query = query.filter(teams::id.gt(a));
    }
    Ok(query.load(conn)?)
}

/// A member's columns: user id, username, full name, agency, leader.
pub type MemberRow = (String, String, String, String, bool);

/// The members of `team_id`, by username.
pub fn members(conn: &mut DbConnection, team_id: &str) -> Result<Vec<MemberRow>, ApiError> {
    Ok(team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .select((
            users::id,
            users::username,
            users::full_name,
            team_members::agency,
            team_members::is_leader,
        ))
        .order(users::username)
        .load(conn)?)
}

/// Whether `user_id` leads `team_id` (false when not a member).
pub fn is_leader(conn: &mut DbConnection, team_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(team_members::table
        .find((team_id, user_id))
        .select(team_members::is_leader)
        .first(conn)
        .optional()?
        .unwrap_or(false))
}

/// The level and path of the org unit `code`, if it exists.
pub fn unit_level_path(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<(String, String)>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select((org_units::level, org_units::path))
        .first(conn)
        .optional()?)
}

/// The path of the org unit `code`, if it exists.
pub fn unit_path(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select(org_units::path)
        .first::<String>(conn)
        .optional()?)
}

/// Stores a team at version 1.
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    level: &str,
    org_unit_code: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(id),
            teams::name.eq(name),
            teams::level.eq(level),
            teams::org_unit_code.eq(org_unit_code),
            teams::version.eq(1),
            teams::created_at.eq(at),
            teams::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a membership; 409 when the user is already in a team.
pub fn insert_member(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
    agency: &str,
    is_leader: bool,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team_id),
            team_members::user_id.eq(user_id),
            team_members::agency.eq(agency),
            team_members::is_leader.eq(is_leader),
            team_members::created_at.eq(at),
        ))
        .execute(conn)
        .on_unique("team_members_user_key", "team_members.user_id", || {
            ApiError::Conflict("this user is already a member of a team".into())
        })?;
    Ok(())
}

/// The leaders of the teams at `level`, as `(user id, team id)`.
pub fn leaders_at_level(
    conn: &mut DbConnection,
    level: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    Ok(team_members::table
        .inner_join(teams::table)
        .filter(team_members::is_leader.eq(true))
        .filter(teams::level.eq(level))
        .select((team_members::user_id, teams::id))
        .load(conn)?)
}

/// The user ids of a team's members.
pub fn member_ids(conn: &mut DbConnection, team_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(team_members::table
        .filter(team_members::team_id.eq(team_id))
        .select(team_members::user_id)
        .load(conn)?)
}

/// Deletes the membership of `user_id` in `team_id`; whether there was one.
pub fn delete_member(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
) -> Result<bool, ApiError> {
    Ok(diesel::delete(team_members::table.find((team_id, user_id))).execute(conn)? > 0)
}

/// Deletes whatever membership `user_id` has.
pub fn delete_membership_of(conn: &mut DbConnection, user_id: &str) -> Result<(), ApiError> {
    diesel::delete(team_members::table.filter(team_members::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// The agency and leader flag of `user_id` in `team_id`, if a member.
pub fn membership(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
) -> Result<Option<(String, bool)>, ApiError> {
    Ok(team_members::table
        .find((team_id, user_id))
        .select((team_members::agency, team_members::is_leader))
        .first(conn)
        .optional()?)
}

/// Sets the agency and leader flag of `user_id` in `team_id`; a new leader
/// replaces the team's others (one leader per team).
pub fn update_member(
    conn: &mut DbConnection,
    team_id: &str,
    user_id: &str,
    agency: &str,
    is_leader: bool,
) -> Result<(), ApiError> {
    if is_leader {
        diesel::update(
            team_members::table
                .filter(team_members::team_id.eq(team_id))
                .filter(team_members::user_id.ne(user_id))
                .filter(team_members::is_leader.eq(true)),
        )
        .set(team_members::is_leader.eq(false))
        .execute(conn)?;
    }
    diesel::update(team_members::table.find((team_id, user_id)))
        .set((
            team_members::agency.eq(agency),
            team_members::is_leader.eq(is_leader),
        ))
        .execute(conn)?;
    Ok(())
}
