//! What printed documents (the biên bản) read besides the minutes: the
//! team's members with their agencies, names of units, plans and the
//! violation catalogue.

use diesel::prelude::*;

use crate::db::schema::{org_units, plans, team_members, teams, users, violation_types};
use crate::db::DbConnection;
use crate::error::ApiError;

/// (user id, full name, agency, is leader): a member present at an inspection.
pub type Member = (String, String, Option<String>, Option<bool>);

/// (user id, full name, agency, is leader) of the users `ids`, with their
/// membership of team `team_id` if any.
pub fn members(
    conn: &mut DbConnection,
    team_id: &str,
    ids: &[String],
) -> Result<Vec<Member>, ApiError> {
    Ok(users::table
        .left_join(
            team_members::table.on(team_members::user_id
                .eq(users::id)
                .and(team_members::team_id.eq(team_id))),
        )
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::full_name,
            team_members::agency.nullable(),
            team_members::is_leader.nullable(),
        ))
        .load(conn)?)
}

/// (name, org unit code) of a team.
pub fn team(conn: &mut DbConnection, id: &str) -> Result<Option<(String, String)>, ApiError> {
    Ok(teams::table
        .find(id)
        .select((teams::name, teams::org_unit_code))
        .first(conn)
        .optional()?)
}

/// The name of a unit.
pub fn unit_name(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select(org_units::name)
        .first(conn)
        .optional()?)
}

/// The name of a plan.
pub fn plan_name(conn: &mut DbConnection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(plans::table
        .find(id)
        .select(plans::name)
        .first(conn)
        .optional()?)
}

/// (code, title, legal basis) of the whole catalogue.
pub fn violation_types(conn: &mut DbConnection) -> Result<Vec<(String, String, String)>, ApiError> {
    Ok(violation_types::table
        .select((
            violation_types::code,
            violation_types::title,
            violation_types::legal_basis,
        ))
        .load(conn)?)
}
