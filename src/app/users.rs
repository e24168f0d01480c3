//! Accounts: the caller's own, the admin's list, new users.

use serde::{Deserialize, Serialize};

use crate::app::auth::password::hash_password;
use crate::app::auth::{AuthUser, Role};
use crate::app::policy::{may_grant_role, may_manage_user, require_admin, require_manager};
use crate::db::users::{NewUserRow, UserRow};
use crate::db::{Db, DbConnection};
use crate::domain::page::{Page, PageParams};
use crate::domain::values::{check_version, new_id, now, path_uuid, rfc3339};
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
    /// Version (the `ETag`; `If-Match` of `PATCH /users/{id}`).
    pub version: i32,
}

pub(crate) fn to_dto(r: UserRow) -> UserDto {
    UserDto {
        id: r.0,
        username: r.1,
        full_name: r.2,
        role: r.3,
        org_unit_code: r.4,
        team_id: r.5,
        is_active: r.6,
        created_at: rfc3339(&r.7),
        version: r.8,
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

/// Runs `f` (argon2 work) on a blocking thread: never on the async executor
/// and never inside a write transaction.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))
}

/// 422 naming `field` unless `password` is long enough.
fn check_password(field: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::field(
            field,
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// Loads a user the caller may manage: 404 when absent or outside a
/// supervisor's area, 403 for an admin's account managed by a supervisor.
pub fn load_managed(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<UserDto, ApiError> {
    let dto = load_user(conn, id)?;
    let row = crate::db::callers::load_auth_user(conn, id)?
        .pop()
        .ok_or(ApiError::NotFound)?;
    may_manage_user(
        user,
        &dto.role,
        row.home_path.as_deref(),
        row.team_path.as_deref(),
    )?;
    Ok(dto)
}

/// `GET /users/{id}` (admin; a supervisor inside its area).
pub async fn get(db: &Db, user: AuthUser, raw_id: &str) -> Result<UserDto, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(raw_id)?;
    db.run(move |conn| load_managed(conn, &user, &id)).await
}

/// The body of `PATCH /users/{id}`: fields left out keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Full name.
    pub full_name: Option<String>,
    /// admin, supervisor or inspector.
    pub role: Option<String>,
    /// Home org unit (null clears it, for an admin).
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    pub org_unit_code: Option<Option<String>>,
    /// Team (null: leaves its team).
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    pub team_id: Option<Option<String>>,
    /// false disables the account: its tokens stop working at once.
    pub is_active: Option<bool>,
}

/// Applies a patch inside the caller's transaction (`actor` is the audit
/// log's actor); `expected` is the version `If-Match` asked for.
pub fn patch_user(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    p: UserPatch,
) -> Result<UserDto, ApiError> {
    let before = load_managed(conn, user, id)?;
    check_version(expected, before.version)?;
    let mut errs = Vec::new();
    let full_name = match &p.full_name {
        Some(n) => crate::domain::text::nfc(n),
        None => before.full_name.clone(),
    };
    if full_name.is_empty() {
        errs.push(FieldError::new("full_name", "is required"));
    }
    let role = match &p.role {
        Some(r) => Role::parse(r),
        None => Role::parse(&before.role),
    };
    match role {
        None => errs.push(FieldError::new(
            "role",
            "must be admin, supervisor or inspector",
        )),
        Some(r) => {
            may_grant_role(user, r)?;
            if id == user.id && r.as_str() != before.role {
                errs.push(FieldError::new("role", "you cannot change your own role"));
            }
        }
    }
    let is_active = p.is_active.unwrap_or(before.is_active);
    if id == user.id && !is_active {
        errs.push(FieldError::new(
            "is_active",
            "you cannot disable your own account",
        ));
    }
    let org_unit_code = match p.org_unit_code {
        None => before.org_unit_code.clone(),
        Some(None) => None,
        Some(Some(code)) => {
            match crate::db::teams::unit_path(conn, &code)? {
                Some(path) if user.sees(&path) => {}
                _ => errs.push(FieldError::new(
                    "org_unit_code",
                    "no such org unit in your area",
                )),
            }
            Some(code)
        }
    };
    if org_unit_code.is_none() && matches!(role, Some(Role::Supervisor | Role::Inspector)) {
        errs.push(FieldError::new(
            "org_unit_code",
            "is required for this role",
        ));
    }
    let team_id = match p.team_id {
        None => before.team_id.clone(),
        Some(None) => None,
        Some(Some(t)) => match crate::domain::values::parse_uuid("team_id", &t) {
            Ok(t) => {
                match crate::db::teams::find(conn, &t)? {
                    Some(row) if user.sees(&row.6) => {}
                    _ => errs.push(FieldError::new("team_id", "no such team in your area")),
                }
                Some(t)
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
    let role = role.map(Role::as_str).unwrap_or_default();
    let n = crate::db::users::update_at_version(
        conn,
        id,
        before.version,
        crate::db::users::UserChange {
            full_name: &full_name,
            role,
            org_unit_code: org_unit_code.as_deref(),
            team_id: team_id.as_deref(),
            is_active,
        },
    )?;
    if n == 0 {
        return Err(ApiError::PreconditionFailed {
            current_version: before.version + 1,
        });
    }
    if team_id != before.team_id {
        crate::db::teams::delete_membership_of(conn, id)?;
        if let Some(t) = &team_id {
            crate::db::teams::insert_member(conn, t, id, "other", false, now())?;
        }
    }
    if before.is_active && !is_active {
        // The access tokens stop at the next request (the users trigger
        // bumps the auth epoch); the refresh families end here.
        crate::db::refresh_tokens::revoke_all_of(conn, id, now())?;
    }
    let after = load_user(conn, id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "user.update",
        id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `PATCH /users/{id}` (admin; a supervisor inside its area, never making
/// or touching an admin); `raw_id` is the path's segment, checked after the
/// role.
pub async fn patch(
    db: &Db,
    user: AuthUser,
    raw_id: &str,
    expected: Option<i32>,
    body: UserPatch,
) -> Result<UserDto, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(raw_id)?;
    db.write(move |conn| patch_user(conn, &user, &id, expected, body))
        .await
}

/// The body of `POST /users/{id}/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// At least [`MIN_PASSWORD`] characters.
    pub password: String,
}

/// Sets a user's password hashed beforehand and revokes its refresh
/// families, inside the caller's transaction; audited as `actor`'s.
pub fn set_password(
    conn: &mut DbConnection,
    actor: &str,
    id: &str,
    hash: &str,
) -> Result<(), ApiError> {
    crate::db::users::set_password(conn, id, None, hash)?;
    crate::db::refresh_tokens::revoke_all_of(conn, id, now())?;
    crate::app::audit::record::<()>(conn, actor, "user.reset_password", id, None, None)
}

/// `POST /users/{id}/password` (admin; a supervisor inside its area, not
/// for an admin): a new password, hashed before the write transaction; the
/// user's refresh tokens are revoked.
pub async fn reset_password(
    db: &Db,
    user: AuthUser,
    raw_id: &str,
    body: NewPassword,
) -> Result<(), ApiError> {
    require_manager(&user)?;
    let id = path_uuid(raw_id)?;
    check_password("password", &body.password)?;
    let hash = blocking(move || hash_password(&body.password)).await?;
    db.write(move |conn| {
        load_managed(conn, &user, &id)?;
        set_password(conn, &user.id, &id, &hash)
    })
    .await
}

/// The body of `POST /users/me/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one, at least [`MIN_PASSWORD`] characters.
    pub new_password: String,
}

/// `POST /users/me/password` (any role): the caller's own password, given
/// the current one (a wrong one is 422 naming `current_password`); the
/// caller's refresh tokens are revoked, so other devices log in again.
pub async fn change_own_password(
    db: &Db,
    user: AuthUser,
    body: PasswordChange,
) -> Result<(), ApiError> {
    check_password("new_password", &body.new_password)?;
    let id = user.id.clone();
    let stored = db
        .run(move |conn| crate::db::users::password_hash(conn, &id))
        .await?
        .ok_or_else(crate::app::auth::unknown_user)?;
    let was = stored.clone();
    let hash = blocking(move || {
        crate::app::auth::password::verify_password(&body.current_password, &was)
            .then(|| hash_password(&body.new_password))
    })
    .await?
    .ok_or_else(|| ApiError::field("current_password", "is not your current password"))?;
    db.write(move |conn| {
        if crate::db::users::set_password(conn, &user.id, Some(&stored), &hash)? == 0 {
            return Err(ApiError::Conflict(
                "the password was changed meanwhile".into(),
            ));
        }
        crate::db::refresh_tokens::revoke_all_of(conn, &user.id, now())?;
        crate::app::audit::record::<()>(
            conn,
            &user.id,
            "user.change_password",
            &user.id,
            None,
            None,
        )
    })
    .await
}

/// The actor the audit log names for a change made with the `kiemtra`
/// command on the server.
pub const CLI_ACTOR: &str = "cli";

/// `kiemtra user disable|enable`: sets the account of `username` active or
/// not (disabling revokes its refresh tokens; its access tokens stop at the
/// next request); audited as [`CLI_ACTOR`]'s.
pub fn set_active_by_name(
    conn: &mut DbConnection,
    username: &str,
    active: bool,
) -> Result<UserDto, ApiError> {
    let id = crate::db::users::id_of(conn, username)?.ok_or(ApiError::NotFound)?;
    let before = load_user(conn, &id)?;
    crate::db::users::update_at_version(
        conn,
        &id,
        before.version,
        crate::db::users::UserChange {
            full_name: &before.full_name,
            role: &before.role,
            org_unit_code: before.org_unit_code.as_deref(),
            team_id: before.team_id.as_deref(),
            is_active: active,
        },
    )?;
    if !active {
        crate::db::refresh_tokens::revoke_all_of(conn, &id, now())?;
    }
    let after = load_user(conn, &id)?;
    crate::app::audit::record(
        conn,
        CLI_ACTOR,
        "user.update",
        &id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `kiemtra user reset-password`: the password of `username`, hashed
/// beforehand by the caller; its refresh tokens are revoked.
pub fn reset_password_by_name(
    conn: &mut DbConnection,
    username: &str,
    hash: &str,
) -> Result<UserDto, ApiError> {
    let id = crate::db::users::id_of(conn, username)?.ok_or(ApiError::NotFound)?;
    set_password(conn, CLI_ACTOR, &id, hash)?;
    load_user(conn, &id)
}
