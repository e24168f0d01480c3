//! Who is calling: roles, the caller's scope, tokens, passwords. The HTTP
//! layer extracts the caller (`crate::api::extract`); the use cases check it.

mod cache;
pub mod password;
pub mod tokens;

pub use cache::AuthCache;

use crate::db::callers::AuthRow;
use crate::db::DbConnection;
use crate::error::ApiError;

/// The three roles of the API contract (`api-spec/openapi.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads its subtree, plans and draws, reviews.
    Supervisor,
    /// Member of one team; works in the team's jurisdiction.
    Inspector,
}

impl Role {
    /// Parses the stored/JSON spelling.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "inspector" => Some(Role::Inspector),
            _ => None,
        }
    }
    /// The stored/JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Inspector => "inspector",
        }
    }
}

/// The authenticated caller, with the subtree it may see.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Home org unit (none only for an admin without one).
    pub org_unit_code: Option<String>,
    /// The caller's team, if any.
    pub team_id: Option<String>,
    /// Path prefix of everything the caller may see (`/37/372/`); `None` = all.
    pub scope_path: Option<String>,
    /// The unit path of the caller's team (read with the caller, so that a
    /// team's own fetch needs no second look-up); `None` without a team.
    pub team_unit_path: Option<String>,
    /// When the caller's device last fetched its team's assignments.
    pub last_sync_at: Option<chrono::NaiveDateTime>,
    /// The change counter (the sync high-water mark), read in the same
    /// statement as the caller: a team fetch reads it before its items
    /// without a statement of its own.
    pub change_counter: i64,
}

impl AuthUser {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Whether a resource at `unit_path` lies inside the caller's subtree.
    pub fn sees(&self, unit_path: &str) -> bool {
        match &self.scope_path {
            None => true,
            Some(p) => unit_path.starts_with(p.as_str()),
        }
    }

    /// 404 (existence not revealed) unless `unit_path` is in scope.
    pub fn check_scope(&self, unit_path: &str) -> Result<(), ApiError> {
        if self.sees(unit_path) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The active user `user_id` with its scope, if any.
pub fn load_user(conn: &mut DbConnection, user_id: &str) -> Result<Option<AuthUser>, ApiError> {
    Ok(auth_users(crate::db::callers::load_auth_user(conn, user_id)?)?.pop())
}

/// [`load_user`] for many users in one statement (the minutes group commit
/// loads the posters of a whole batch at once): the active ones, in no
/// particular order.
pub fn load_users(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<AuthUser>, ApiError> {
    auth_users(crate::db::callers::load_auth_users(conn, ids)?)
}

/// The 401 for a valid token whose user is disabled or gone, wherever the
/// caller is looked up.
pub fn unknown_user() -> ApiError {
    ApiError::Unauthorized("unknown or disabled user".into())
}

/// The active users among `rows`, with their scope.
pub fn auth_users(rows: Vec<AuthRow>) -> Result<Vec<AuthUser>, ApiError> {
    let mut found = Vec::with_capacity(rows.len());
    for AuthRow {
        id,
        username,
        role,
        org_unit_code,
        team_id,
        is_active: active,
        last_sync_at,
        team_path,
        home_path,
        change_counter: counter,
    } in rows
    {
        if !active {
            continue;
        }
        let role =
            Role::parse(&role).ok_or_else(|| ApiError::Internal(format!("bad role {role}")))?;
        // A unit that vanished, or a non-admin without one, sees nothing.
        const NOWHERE: &str = "/\u{0}/";
        let home = home_path.unwrap_or_else(|| NOWHERE.into());
        let scope_path = match (&role, &team_path) {
            (Role::Admin, _) => None,
            (Role::Inspector, Some(path)) => Some(path.clone()),
            _ => Some(home),
        };
        found.push(AuthUser {
            id,
            username,
            role,
            org_unit_code,
            team_id,
            scope_path,
            team_unit_path: team_path,
            last_sync_at,
            change_counter: counter.unwrap_or(0),
        });
    }
    Ok(found)
}

/// A caller whose access token verified, not yet looked up: the hottest
/// handlers (a team's fetch, posting minutes) load the [`AuthUser`] on the
/// same trip to the database as their own work instead of one trip before.
#[derive(Debug, Clone)]
pub struct Caller {
    sub: String,
}

impl Caller {
    /// The caller named by a verified token's subject.
    pub fn new(sub: String) -> Caller {
        Caller { sub }
    }

    /// The caller's user id (the token's subject), not yet looked up.
    pub fn id(&self) -> &str {
        &self.sub
    }

    /// The caller's role and scope; 401 for a user since disabled or removed.
    pub fn load(&self, conn: &mut DbConnection) -> Result<AuthUser, ApiError> {
        load_user(conn, &self.sub)?.ok_or_else(unknown_user)
    }
}
