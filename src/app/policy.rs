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
    user.sees(plan_path)
        || user
            .scope_path
            .as_deref()
            .is_some_and(|s| s.starts_with(plan_path))
}

/// Whether the caller may see an org unit at `unit_path`: its subtree, and
/// the units above it (so that it can name where its area lies).
pub fn sees_org_unit(user: &AuthUser, unit_path: &str) -> bool {
    match &user.scope_path {
        None => true,
        Some(scope) => unit_path.starts_with(scope.as_str()) || scope.starts_with(unit_path),
    }
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
