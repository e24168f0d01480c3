//! `GET /users/me`, `POST /users`, `GET /users` (admin).

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::extract::ValidJson;
use crate::app::auth::password::hash_password;
use crate::app::auth::{AuthUser, Role};
use crate::db::schema::{org_units, users};
use crate::db::ResultExt;
use crate::db::{Db, DbConnection};
use crate::domain::page::{Page, PageParams};
use crate::domain::values::{new_id, now, rfc3339};
use crate::error::{ApiError, FieldError};

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserDto {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Role.
    pub role: String,
    /// Home org unit.
    pub org_unit_code: Option<String>,
    /// Team, for inspectors.
    pub team_id: Option<String>,
    /// Whether the account may log in.
    pub is_active: bool,
    /// When it was created.
    pub created_at: String,
}

type UserRow = (
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

fn to_dto(r: UserRow) -> UserDto {
    UserDto {
        id: r.0,
        username: r.1,
        full_name: r.2,
        role: r.3,
        org_unit_code: r.4,
        team_id: r.5,
        is_active: r.6,
        created_at: rfc3339(&r.7),
    }
}

/// Loads one user (404 if absent).
pub fn load_user(conn: &mut DbConnection, id: &str) -> Result<UserDto, ApiError> {
    users::table
        .find(id)
        .select(user_columns())
        .first::<UserRow>(conn)
        .optional()?
        .map(to_dto)
        .ok_or(ApiError::NotFound)
}

/// The body of `POST /users` (also what `kiemtra user add` builds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 3–64 of a-z 0-9 . _ -
    pub username: String,
    /// At least 10 characters.
    pub password: String,
    /// Full name.
    pub full_name: String,
    /// admin, supervisor or inspector.
    pub role: String,
    /// Home org unit; required except for admins.
    pub org_unit_code: Option<String>,
    /// Team (inspectors).
    pub team_id: Option<String>,
}

/// Minimum password length.
pub const MIN_PASSWORD: usize = 10;

/// Validates and stores a new user; 409 on a taken username.
pub fn create_user(conn: &mut DbConnection, u: NewUser) -> Result<UserDto, ApiError> {
    let mut errs = Vec::new();
    let username = u.username.trim().to_string();
    if username.len() < 3
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    {
        errs.push(FieldError::new(
            "username",
            "must be 3 to 64 of a-z, 0-9, '.', '_', '-'",
        ));
    }
    if u.password.chars().count() < MIN_PASSWORD {
        errs.push(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    let full_name = crate::domain::text::nfc(&u.full_name);
    if full_name.is_empty() {
        errs.push(FieldError::new("full_name", "is required"));
    }
    let role = Role::parse(&u.role);
    if role.is_none() {
        errs.push(FieldError::new(
            "role",
            "must be admin, supervisor or inspector",
        ));
    }
    match (&u.org_unit_code, role) {
        (None, Some(Role::Supervisor | Role::Inspector)) => errs.push(FieldError::new(
            "org_unit_code",
            "is required for this role",
        )),
        (Some(code), _) => {
            let exists = org_units::table
                .find(code)
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if !exists {
                errs.push(FieldError::new("org_unit_code", "no such org unit"));
            }
        }
        _ => {}
    }
    let team_id = match &u.team_id {
        None => None,
        Some(t) => match crate::domain::values::parse_uuid("team_id", t) {
            Ok(t) if crate::api::teams::team_exists(conn, &t)? => Some(t),
            Ok(_) => {
                errs.push(FieldError::new("team_id", "no such team"));
                None
            }
            Err(_) => {
                errs.push(FieldError::new("team_id", "must be a UUID"));
                None
            }
        },
    };
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let id = new_id();
    let hash = hash_password(&u.password);
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::username.eq(&username),
            users::password_hash.eq(hash),
            users::full_name.eq(full_name),
            users::role.eq(role.map(Role::as_str).unwrap_or_default()),
            users::org_unit_code.eq(&u.org_unit_code),
            users::team_id.eq(&team_id),
            users::is_active.eq(true),
            users::created_at.eq(now()),
        ))
        .execute(conn)
        .on_unique("users_username_key", "users.username", || {
            ApiError::Conflict(format!("username {username} is taken"))
        })?;
    if let Some(t) = &team_id {
        diesel::insert_into(crate::db::schema::team_members::table)
            .values((
                crate::db::schema::team_members::team_id.eq(t),
                crate::db::schema::team_members::user_id.eq(&id),
                crate::db::schema::team_members::agency.eq("other"),
                crate::db::schema::team_members::is_leader.eq(false),
                crate::db::schema::team_members::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    load_user(conn, &id)
}

/// `POST /users` (admin).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let created = db.write(move |conn| create_user(conn, body.0)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /users/me`.
pub async fn me(user: AuthUser, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let dto = db.run(move |conn| load_user(conn, &user.id)).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /users` (admin): every account, by id.
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let limit = q.limit()?;
    let after = q.after()?;
    let page = db
        .run(move |conn| {
            let mut query = users::table
                .select(user_columns())
                .order(users::id)
                .limit(limit + 1)
                .into_boxed();
            if let Some(a) = after {
                query = query.filter(users::id.gt(a));
            }
            let rows = query.load::<UserRow>(conn)?;
            Ok(Page::from_rows(
                rows.into_iter().map(to_dto).collect(),
                limit,
                |u: &UserDto| u.id.clone(),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
