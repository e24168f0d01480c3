//! Inspection teams and their members.

use serde::{Deserialize, Serialize};

use crate::app::auth::{AuthUser, Role};
use crate::app::policy::{found_if, may_manage_user, require_manager, sees_team_record};
use crate::db::teams::{TeamFilter, TeamRow};
use crate::db::{Db, DbConnection};
use crate::domain::page::{Page, PageParams};
use crate::domain::text::nfc;
use crate::domain::values::{new_id, now, parse_uuid, path_uuid, rfc3339};
use crate::error::{ApiError, FieldError};

/// Agencies a member can come from (Decree 178 teams are inter-agency).
pub const AGENCIES: [&str; 5] = [
    "labour_social_affairs",
    "police",
    "culture_sports_tourism",
    "health",
    "other",
];

/// A member as shown inside a team.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDto {
    user_id: String,
    username: String,
    full_name: String,
    agency: String,
    is_leader: bool,
}

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TeamDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// province, district or commune.
    pub level: String,
    /// Jurisdiction.
    pub org_unit_code: String,
    /// Version.
    pub version: i32,
    /// Created.
    pub created_at: String,
    /// Members (only on single reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberDto>>,
}

fn to_dto(r: TeamRow) -> TeamDto {
    TeamDto {
        id: r.0,
        name: r.1,
        level: r.2,
        org_unit_code: r.3,
        version: r.4,
        created_at: rfc3339(&r.5),
        members: None,
    }
}

/// Loads a team the caller may see, with its jurisdiction's path (404 otherwise).
pub fn load_visible(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<(TeamDto, String), ApiError> {
    let row = crate::db::teams::find(conn, id)?.ok_or(ApiError::NotFound)?;
    let path = row.6.clone();
    found_if(sees_team_record(user, id, &path))?;
    Ok((to_dto(row), path))
}

fn members_of(conn: &mut DbConnection, team_id: &str) -> Result<Vec<MemberDto>, ApiError> {
    Ok(crate::db::teams::members(conn, team_id)?
        .into_iter()
        .map(
            |(user_id, username, full_name, agency, is_leader)| MemberDto {
                user_id,
                username,
                full_name,
                agency,
                is_leader,
            },
        )
        .collect())
}

/// `POST /teams` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
    level: String,
    org_unit_code: String,
}

impl NewTeam {
    /// A team body (for the demo and the CLI).
    pub fn new(name: &str, level: &str, org_unit_code: &str) -> Self {
        NewTeam {
            name: name.into(),
            level: level.into(),
            org_unit_code: org_unit_code.into(),
        }
    }
}

/// Creates a team (used by the API and the demo).
pub fn create_team(
    conn: &mut DbConnection,
    user: &AuthUser,
    t: NewTeam,
) -> Result<TeamDto, ApiError> {
    let mut errs = Vec::new();
    let name = nfc(&t.name);
    if name.is_empty() || name.chars().count() > 200 {
        errs.push(FieldError::new(
            "name",
            "is required, at most 200 characters",
        ));
    }
    if crate::domain::level_rank(&t.level).is_none() {
        errs.push(FieldError::new(
            "level",
            "must be province, district or commune",
        ));
    }
    let unit = crate::db::teams::unit_level_path(conn, &t.org_unit_code)?;
    match &unit {
        Some((_, path)) if !user.sees(path) => errs.push(FieldError::new(
            "org_unit_code",
            "no such org unit in your area",
        )),
        None => errs.push(FieldError::new(
            "org_unit_code",
            "no such org unit in your area",
        )),
        Some((level, _)) if *level != t.level && errs.is_empty() => errs.push(FieldError::new(
            "level",
            format!("the jurisdiction {} is a {level}", t.org_unit_code),
        )),
        _ => {}
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let id = new_id();
    crate::db::teams::insert(conn, &id, &name, &t.level, &t.org_unit_code, now())?;
    let (dto, _) = load_visible(conn, user, &id)?;
    crate::app::audit::record(conn, &user.id, "team.create", &id, None, Some(&dto))?;
    Ok(dto)
}

/// `POST /teams` (admin, supervisor inside its area).
pub async fn create(db: &Db, user: AuthUser, input: NewTeam) -> Result<TeamDto, ApiError> {
    require_manager(&user)?;
    db.write(move |conn| create_team(conn, &user, input)).await
}

/// Filters of `GET /teams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    level: Option<String>,
    org_unit: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /teams?level=&org_unit=` (by id): an inspector's own team, others
/// the teams in their area.
pub async fn list(db: &Db, user: AuthUser, q: ListParams) -> Result<Page<TeamDto>, ApiError> {
    if q.level
        .as_deref()
        .is_some_and(|l| crate::domain::level_rank(l).is_none())
    {
        return Err(ApiError::field(
            "level",
            "must be province, district or commune",
        ));
    }
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    let (only_team, under_path) = match user.role {
        Role::Inspector => (Some(user.team_id.clone().unwrap_or_default()), None),
        _ => (None, user.scope_path.clone()),
    };
    let filter = TeamFilter {
        only_team,
        under_path,
        level: q.level,
        org_unit: q.org_unit,
        after,
    };
    db.run(move |conn| {
        let rows = crate::db::teams::list_page(conn, filter, limit + 1)?;
        Ok(Page::from_rows(
            rows.into_iter().map(to_dto).collect(),
            limit,
            |t: &TeamDto| t.id.clone(),
        ))
    })
    .await
}

/// `GET /teams/{id}` with its members.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<TeamDto, ApiError> {
    db.run(move |conn| {
        let (mut dto, _) = load_visible(conn, &user, &id)?;
        dto.members = Some(members_of(conn, &id)?);
        Ok(dto)
    })
    .await
}

/// `POST /teams/{id}/members` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The user joining.
    pub user_id: String,
    /// Home agency.
    pub agency: String,
    /// Team leader?
    #[serde(default)]
    pub is_leader: bool,
}

/// Adds a member; the user's `team_id` follows. A user is in one team at most.
pub fn add_member_to(
    conn: &mut DbConnection,
    user: &AuthUser,
    team_id: &str,
    m: NewMember,
) -> Result<MemberDto, ApiError> {
    let (team, _) = load_visible(conn, user, team_id)?;
    let mut errs = Vec::new();
    if !AGENCIES.contains(&m.agency.as_str()) {
        errs.push(FieldError::new(
            "agency",
            format!("must be one of {}", AGENCIES.join(", ")),
        ));
    }
    let member_id = parse_uuid("user_id", &m.user_id)?;
    let member = crate::db::users::unit_and_role(conn, &member_id)?;
    let member_path = match &member {
        Some((Some(code), _)) => crate::db::teams::unit_path(conn, code)?,
        _ => None,
    };
    // One answer for a user that does not exist and one outside the
    // caller's area: the caller learns nothing about users it may not see.
    match (&member, &member_path) {
        (Some(_), Some(p)) if user.sees(p) => {}
        // An admin without a home unit joins a team only by an admin's hand.
        (Some((_, role)), None) if Role::parse(role) == Some(Role::Admin) && user.is_admin() => {}
        _ => errs.push(FieldError::new("user_id", "no such user in your area")),
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    crate::db::teams::insert_member(conn, &team.id, &member_id, &m.agency, m.is_leader, now())?;
    crate::db::users::set_team(conn, &member_id, &team.id)?;
    let dto = members_of(conn, &team.id)?
        .into_iter()
        .find(|x| x.user_id == member_id)
        .ok_or_else(|| ApiError::Internal("member vanished".into()))?;
    crate::app::audit::record(
        conn,
        &user.id,
        "team.add_member",
        &team.id,
        None,
        Some(&dto),
    )?;
    Ok(dto)
}

/// `POST /teams/{id}/members` (admin, supervisor); `raw_id` is the path's
/// segment, checked after the role.
pub async fn add_member(
    db: &Db,
    user: AuthUser,
    raw_id: &str,
    input: NewMember,
) -> Result<MemberDto, ApiError> {
    require_manager(&user)?;
    let team_id = path_uuid(raw_id)?;
    db.write(move |conn| add_member_to(conn, &user, &team_id, input))
        .await
}

/// The team `team_id` the caller may see and its member `member_id` whose
/// account the caller may manage (404 for a team outside the area or a user
/// not in the team, 403 for an admin member and a supervisor caller); the
/// member as shown.
fn load_member(
    conn: &mut DbConnection,
    user: &AuthUser,
    team_id: &str,
    member_id: &str,
) -> Result<MemberDto, ApiError> {
    let (_, path) = load_visible(conn, user, team_id)?;
    let member = members_of(conn, team_id)?
        .into_iter()
        .find(|m| m.user_id == member_id)
        .ok_or(ApiError::NotFound)?;
    let (_, role) = crate::db::users::unit_and_role(conn, member_id)?.ok_or(ApiError::NotFound)?;
    // A member's team lies in the caller's area: the team's path stands for
    // the member's.
    may_manage_user(user, &role, None, Some(&path))?;
    Ok(member)
}

/// Removes a member from a team inside the caller's transaction: the
/// user's `team_id` is cleared with it.
pub fn remove_member_from(
    conn: &mut DbConnection,
    user: &AuthUser,
    team_id: &str,
    member_id: &str,
) -> Result<(), ApiError> {
    let before = load_member(conn, user, team_id, member_id)?;
    crate::db::teams::delete_member(conn, team_id, member_id)?;
    crate::db::users::leave_team(conn, member_id, team_id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "team.remove_member",
        team_id,
        Some(&before),
        None,
    )
}

/// `DELETE /teams/{id}/members/{user_id}` (admin, supervisor inside its area).
pub async fn remove_member(
    db: &Db,
    user: AuthUser,
    raw_team: &str,
    raw_user: &str,
) -> Result<(), ApiError> {
    require_manager(&user)?;
    let team_id = path_uuid(raw_team)?;
    let member_id = path_uuid(raw_user)?;
    db.write(move |conn| remove_member_from(conn, &user, &team_id, &member_id))
        .await
}

/// `PATCH /teams/{id}/members/{user_id}` body: fields left out keep their
/// value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// Home agency.
    pub agency: Option<String>,
    /// true makes the member the team's one leader (the previous leader
    /// stops being one); false leaves the team without this leader.
    pub is_leader: Option<bool>,
}

/// Changes a member inside the caller's transaction.
pub fn update_member_of(
    conn: &mut DbConnection,
    user: &AuthUser,
    team_id: &str,
    member_id: &str,
    p: MemberPatch,
) -> Result<MemberDto, ApiError> {
    let before = load_member(conn, user, team_id, member_id)?;
    let agency = p.agency.unwrap_or_else(|| before.agency.clone());
    if !AGENCIES.contains(&agency.as_str()) {
        return Err(ApiError::field(
            "agency",
            format!("must be one of {}", AGENCIES.join(", ")),
        ));
    }
    let is_leader = p.is_leader.unwrap_or(before.is_leader);
    crate::db::teams::update_member(conn, team_id, member_id, &agency, is_leader)?;
    let after = members_of(conn, team_id)?
        .into_iter()
        .find(|m| m.user_id == member_id)
        .ok_or_else(|| ApiError::Internal("member vanished".into()))?;
    crate::app::audit::record(
        conn,
        &user.id,
        "team.update_member",
        team_id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `PATCH /teams/{id}/members/{user_id}` (admin, supervisor inside its area).
pub async fn update_member(
    db: &Db,
    user: AuthUser,
    raw_team: &str,
    raw_user: &str,
    input: MemberPatch,
) -> Result<MemberDto, ApiError> {
    require_manager(&user)?;
    let team_id = path_uuid(raw_team)?;
    let member_id = path_uuid(raw_user)?;
    db.write(move |conn| update_member_of(conn, &user, &team_id, &member_id, input))
        .await
}

/// The accounts a manager may add to team `raw_id` (admin, supervisor):
/// active inspectors whose home unit is inside the caller's area and who
/// are not members of the team yet, by name (at most 500). A supervisor
/// needs no access to the account list to staff its teams; 404 for a team
/// outside the area.
pub async fn member_candidates(
    db: &Db,
    user: AuthUser,
    raw_id: &str,
) -> Result<Vec<crate::app::users::UserDto>, ApiError> {
    require_manager(&user)?;
    let team_id = path_uuid(raw_id)?;
    db.run(move |conn| {
        let (team, _) = load_visible(conn, &user, &team_id)?;
        let members: Vec<String> = members_of(conn, &team.id)?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        Ok(
            crate::db::users::active_in_area(conn, user.scope_path.as_deref(), 500)?
                .into_iter()
                .map(crate::app::users::to_dto)
                .filter(|u| u.role == Role::Inspector.as_str() && !members.contains(&u.id))
                .collect(),
        )
    })
    .await
}
