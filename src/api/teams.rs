//! Inspection teams and their members.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::extract::ValidJson;
use crate::app::auth::{AuthUser, Role};
use crate::db::schema::{org_units, team_members, teams, users};
use crate::db::ResultExt;
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

type TeamRow = (
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

/// Whether a team exists.
pub fn team_exists(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    Ok(teams::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// Loads a team the caller may see, with its jurisdiction's path (404 otherwise).
pub fn load_visible(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<(TeamDto, String), ApiError> {
    let row: TeamRow = teams::table
        .inner_join(org_units::table)
        .filter(teams::id.eq(id))
        .select(team_columns())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)?;
    let path = row.6.clone();
    // An inspector sees its own team; others see teams inside their subtree.
    let visible = match user.role {
        Role::Inspector => user.team_id.as_deref() == Some(id),
        _ => user.sees(&path),
    };
    if !visible {
        return Err(ApiError::NotFound);
    }
    Ok((to_dto(row), path))
}

fn members_of(conn: &mut DbConnection, team_id: &str) -> Result<Vec<MemberDto>, ApiError> {
    let rows: Vec<(String, String, String, String, bool)> = team_members::table
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
        .load(conn)?;
    Ok(rows
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
    let unit: Option<(String, String)> = org_units::table
        .find(&t.org_unit_code)
        .select((org_units::level, org_units::path))
        .first(conn)
        .optional()?;
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
    let ts = now();
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(&id),
            teams::name.eq(&name),
            teams::level.eq(&t.level),
            teams::org_unit_code.eq(&t.org_unit_code),
            teams::version.eq(1),
            teams::created_at.eq(ts),
            teams::updated_at.eq(ts),
        ))
        .execute(conn)?;
    let (dto, _) = load_visible(conn, user, &id)?;
    crate::app::audit::record(conn, &user.id, "team.create", &id, None, Some(&dto))?;
    Ok(dto)
}

/// `POST /teams` (admin, supervisor inside its area).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewTeam>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let dto = db
        .write(move |conn| create_team(conn, &user, body.0))
        .await?;
    Ok(HttpResponse::Created().json(dto))
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

/// `GET /teams?level=&org_unit=` (by id).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
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
    let page = db
        .run(move |conn| {
            let mut query = teams::table
                .inner_join(org_units::table)
                .select(team_columns())
                .order(teams::id)
                .limit(limit + 1)
                .into_boxed();
            match (user.role, &user.scope_path) {
                (Role::Inspector, _) => {
                    query = query.filter(teams::id.eq(user.team_id.clone().unwrap_or_default()))
                }
                (_, Some(scope)) => query = query.filter(org_units::path.like(format!("{scope}%"))),
                _ => {}
            }
            if let Some(l) = &q.level {
                query = query.filter(teams::level.eq(l.clone()));
            }
            if let Some(o) = &q.org_unit {
                query = query.filter(teams::org_unit_code.eq(o.clone()));
            }
            if let Some(a) = after {
                query = query.filter(teams::id.gt(a));
            }
            let rows: Vec<TeamRow> = query.load(conn)?;
            Ok(Page::from_rows(
                rows.into_iter().map(to_dto).collect(),
                limit,
                |t: &TeamDto| t.id.clone(),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /teams/{id}` with its members.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = db
        .run(move |conn| {
            let (mut dto, _) = load_visible(conn, &user, &id)?;
            dto.members = Some(members_of(conn, &id)?);
            Ok(dto)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
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
    let member: Option<(Option<String>, String)> = users::table
        .find(&member_id)
        .select((users::org_unit_code, users::role))
        .first(conn)
        .optional()?;
    let member_path = match &member {
        Some((Some(code), _)) => org_units::table
            .find(code)
            .select(org_units::path)
            .first::<String>(conn)
            .optional()?,
        _ => None,
    };
    match (&member, &member_path) {
        (None, _) => errs.push(FieldError::new("user_id", "no such user")),
        (Some(_), Some(p)) if user.sees(p) => {}
        (Some((_, role)), None) if role == "admin" && user.is_admin() => {}
        _ => errs.push(FieldError::new("user_id", "no such user in your area")),
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(&team.id),
            team_members::user_id.eq(&member_id),
            team_members::agency.eq(&m.agency),
            team_members::is_leader.eq(m.is_leader),
            team_members::created_at.eq(now()),
        ))
        .execute(conn)
        .on_unique("team_members_user_key", "team_members.user_id", || {
            ApiError::Conflict("this user is already a member of a team".into())
        })?;
    diesel::update(users::table.find(&member_id))
        .set(users::team_id.eq(&team.id))
        .execute(conn)?;
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

/// `POST /teams/{id}/members` (admin, supervisor).
pub async fn add_member(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<NewMember>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let id = path_uuid(&id)?;
    let dto = db
        .write(move |conn| add_member_to(conn, &user, &id, body.0))
        .await?;
    Ok(HttpResponse::Created().json(dto))
}
