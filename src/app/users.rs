//! Accounts: the caller's own, the admin's list, new users.

use serde::{Deserialize, Serialize};

use crate::app::auth::password::hash_password;
use crate::app::auth::{AuthUser, Role};
use crate::app::policy::require_admin;
use crate::db::users::{NewUserRow, UserRow};
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
    crate::db::users::find(conn, id)?
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

/// A [`NewUser`] whose password was hashed before the write transaction:
/// argon2 takes tens of milliseconds, and on SQLite the transaction holds
/// the database's one write lock.
pub struct HashedUser {
    new: NewUser,
    /// `None` when the password is too short (the user is then refused).
    password_hash: Option<String>,
}

impl NewUser {
    /// Hashes the password (blocks for argon2: call it off the async
    /// executor and outside any transaction); a too short one is not hashed.
    pub fn hashed(self) -> HashedUser {
        let password_hash =
            (self.password.chars().count() >= MIN_PASSWORD).then(|| hash_password(&self.password));
        HashedUser {
            new: self,
            password_hash,
        }
    }

    /// The user with a hash of its password computed beforehand (the demo
    /// hashes its accounts' passwords ahead of its one transaction).
    pub fn with_hash(self, password_hash: String) -> HashedUser {
        HashedUser {
            new: self,
            password_hash: Some(password_hash),
        }
    }
}

/// Validates and stores a new user; 409 on a taken username.
pub fn create_user(conn: &mut DbConnection, u: HashedUser) -> Result<UserDto, ApiError> {
    let HashedUser {
        new: u,
        password_hash,
    } = u;
    let mut errs = Vec::new();
    // Checked as sent: " admin" is not a spelling of "admin" but a bad name.
    let username = u.username.clone();
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
        (Some(code), _) if !crate::db::users::org_unit_exists(conn, code)? => {
            errs.push(FieldError::new("org_unit_code", "no such org unit"))
        }
        _ => {}
    }
    let team_id = match &u.team_id {
        None => None,
        Some(t) => match crate::domain::values::parse_uuid("team_id", t) {
            Ok(t) if crate::db::teams::exists(conn, &t)? => Some(t),
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
    let (Some(password_hash), true) = (password_hash, errs.is_empty()) else {
        return Err(ApiError::Validation(errs));
    };
    let id = new_id();
    crate::db::users::insert(
        conn,
        NewUserRow {
            id: &id,
            username: &username,
            password_hash: &password_hash,
            full_name: &full_name,
            role: role.map(Role::as_str).unwrap_or_default(),
            org_unit_code: u.org_unit_code.as_deref(),
            team_id: team_id.as_deref(),
            created_at: now(),
        },
    )?;
    if let Some(t) = &team_id {
        crate::db::teams::insert_member(conn, t, &id, "other", false, now())?;
    }
    load_user(conn, &id)
}

/// `POST /users` (admin): the password is hashed first, on a blocking
/// thread, then the user is stored in its own transaction.
pub async fn create(db: &Db, user: AuthUser, input: NewUser) -> Result<UserDto, ApiError> {
    require_admin(&user)?;
    let hashed = tokio::task::spawn_blocking(move || input.hashed())
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?;
    db.write(move |conn| create_user(conn, hashed)).await
}

/// `GET /users/me`.
pub async fn me(db: &Db, user: AuthUser) -> Result<UserDto, ApiError> {
    db.run(move |conn| load_user(conn, &user.id)).await
}

/// `GET /users` (admin): every account, by id.
pub async fn list(db: &Db, user: AuthUser, q: PageParams) -> Result<Page<UserDto>, ApiError> {
    require_admin(&user)?;
    let limit = q.limit()?;
    let after = q.after()?;
    db.run(move |conn| {
        let rows = crate::db::users::list_page(conn, after, limit + 1)?;
        Ok(Page::from_rows(
            rows.into_iter().map(to_dto).collect(),
            limit,
            |u: &UserDto| u.id.clone(),
        ))
    })
    .await
}
