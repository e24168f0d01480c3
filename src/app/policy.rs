//! Who may do what, and see what: the one place where roles and area scope
//! are decided. Every use case asks here; a record outside the caller's area
//! is answered as if it did not exist (404), a role that may not act is 403.

use crate::app::auth::{AuthUser, Role};
use crate::error::ApiError;

/// Roles that manage the programme: the registry, teams, plans, review.
pub const MANAGERS: [Role; 2] = [Role::Admin, Role::Supervisor];

/// 403 unless the caller manages the programme (admin or supervisor).
pub fn require_manager(user: &AuthUser) -> Result<(), ApiError> {
    user.require(&MANAGERS)
}

/// 403 unless the caller is an administrator.
pub fn require_admin(user: &AuthUser) -> Result<(), ApiError> {
    user.require(&[Role::Admin])
}

/// 403 unless the caller is an inspector (only teams write minutes).
pub fn require_inspector(user: &AuthUser) -> Result<(), ApiError> {
    user.require(&[Role::Inspector])
}

/// Whether the caller may see a plan of the unit at `plan_path`: plans in
/// the caller's area, and the plans above it that cover its jurisdiction.
pub fn sees_plan(user: &AuthUser, plan_path: &str) -> bool {
    in_or_above_area(user, plan_path)
}

/// Whether the caller may see an org unit at `unit_path`: its subtree, and
/// the units above it (so that it can name where its area lies).
pub fn sees_org_unit(user: &AuthUser, unit_path: &str) -> bool {
    in_or_above_area(user, unit_path)
}

/// Whether `path` lies inside the caller's area or above it: the one rule
/// behind [`sees_plan`] and [`sees_org_unit`].
fn in_or_above_area(user: &AuthUser, path: &str) -> bool {
    user.sees(path)
        || user
            .scope_path
            .as_deref()
            .is_some_and(|s| s.starts_with(path))
}

/// Whether the caller may see a team's record (the team, its minutes): an
/// inspector only its own team's, others those in their area.
pub fn sees_team_record(user: &AuthUser, team_id: &str, unit_path: &str) -> bool {
    match user.role {
        Role::Inspector => user.team_id.as_deref() == Some(team_id),
        _ => user.sees(unit_path),
    }
}

/// The one team whose records a list shows the caller: an inspector's own
/// (none matches when it has no team), for the other roles `None`, their
/// area deciding.
pub fn listed_team(user: &AuthUser) -> Option<String> {
    (user.role == Role::Inspector).then(|| user.team_id.clone().unwrap_or_default())
}

/// Whether the caller may see an assignment: its establishment in the
/// caller's area and, for an inspector, of its own team.
pub fn sees_assignment(user: &AuthUser, team_id: &str, unit_path: &str) -> bool {
    user.sees(unit_path)
        && (user.role != Role::Inspector || user.team_id.as_deref() == Some(team_id))
}

/// 403 for an inspector who does not lead the team (`leads` is read only
/// for inspectors): a team's schedule is its leader's call, or a manager's.
pub fn require_leader_or_manager(
    user: &AuthUser,
    leads: impl FnOnce() -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    if user.role == Role::Inspector && !leads()? {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// 404 unless `visible`: a record the caller may not see does not exist
/// for it.
pub fn found_if(visible: bool) -> Result<(), ApiError> {
    if visible {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The area the caller's aggregates (coverage, its silent devices, the
/// reports, the dashboard) are counted over: an inspector's team's
/// jurisdiction, a supervisor's subtree; `None` for an admin, who counts
/// everything. Totals over a wider area would leak other areas' work.
pub fn area_of(user: &AuthUser) -> Option<&str> {
    user.scope_path.as_deref()
}

/// What every rule here reads of a caller: its role, area and team.
/// Callers alike in these are allowed and shown the same things, so a read
/// result kept for one may serve the other (`db::memo`); the caller itself
/// is still read and checked on every request.
pub fn policy_key(user: &AuthUser) -> String {
    format!(
        "{:?}|{}|{}|{}",
        user.role,
        user.scope_path.as_deref().unwrap_or("*"),
        user.team_id.as_deref().unwrap_or("-"),
        user.team_unit_path.as_deref().unwrap_or("-"),
    )
}

/// The unit path a plan's aggregates are counted under for the caller: the
/// plan's unit, narrowed to the caller's area when that lies below it (a
/// district's caller reading the province's plan).
pub fn counted_path(user: &AuthUser, plan_path: &str) -> String {
    match area_of(user) {
        Some(area) if area.starts_with(plan_path) => area.to_string(),
        _ => plan_path.to_string(),
    }
}

/// Whether the caller may change a team's work (schedule its visits,
/// review its minutes): an admin always, a supervisor when the team's
/// jurisdiction lies inside its subtree, an inspector for its own team.
/// Reading stays by area: a district's supervisor reads the province
/// team's work in the district but may not act on it.
pub fn has_authority_over_team(user: &AuthUser, team_id: &str, team_unit_path: &str) -> bool {
    match user.role {
        Role::Admin => true,
        Role::Supervisor => user.sees(team_unit_path),
        Role::Inspector => user.team_id.as_deref() == Some(team_id),
    }
}

/// 403 unless the caller has authority over the team `team_id`
/// ([`has_authority_over_team`]); `team_unit_path` reads the team's
/// jurisdiction (not read for an admin; a team gone is 404).
pub fn require_authority_over_team(
    user: &AuthUser,
    team_id: &str,
    team_unit_path: impl FnOnce() -> Result<Option<String>, ApiError>,
) -> Result<(), ApiError> {
    if user.is_admin() {
        return Ok(());
    }
    let path = team_unit_path()?.ok_or(ApiError::NotFound)?;
    if has_authority_over_team(user, team_id, &path) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Whether the caller may manage the account of a user whose stored role is
/// `target_role`, whose home unit lies at `home_path` and whose team's
/// jurisdiction at `team_path` (its password, its flags, its team): an
/// admin any account; a supervisor an account whose unit or team lies in
/// its area (404 otherwise), never an admin's (403); an inspector none
/// (403; its own password goes through `/users/me/password`).
pub fn may_manage_user(
    user: &AuthUser,
    target_role: &str,
    home_path: Option<&str>,
    team_path: Option<&str>,
) -> Result<(), ApiError> {
    require_manager(user)?;
    if user.is_admin() {
        return Ok(());
    }
    found_if(home_path.is_some_and(|p| user.sees(p)) || team_path.is_some_and(|p| user.sees(p)))?;
    if Role::parse(target_role) == Some(Role::Admin) {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// 403 unless the caller may give an account `role`: only an admin makes
/// an admin.
pub fn may_grant_role(user: &AuthUser, role: Role) -> Result<(), ApiError> {
    if role == Role::Admin && !user.is_admin() {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}
