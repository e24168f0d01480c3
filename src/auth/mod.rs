//! Authentication (the `AuthUser` extractor) and authorisation (roles, scope).

mod cache;
pub mod password;
pub mod tokens;

pub use cache::AuthCache;

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use diesel::prelude::*;

use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// The three roles of API.md.
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

/// Evaluates `$body` with `$from` bound to the callers' source (`users`,
/// left-joined to their team, the team's unit and their own unit) and
/// `$cols` to the columns of an [`AuthRow`] (with the change counter): the
/// one definition of how a caller is read, for [`auth_rows`] and for
/// statements that read the caller together with their own rows (a team's
/// sync).
macro_rules! with_auth_source {
    (|$from:ident, $cols:ident| $body:expr) => {{
        use $crate::db::schema::{change_counter, org_units, teams, users};
        let (team_unit, home_unit) = diesel::alias!(org_units as team_unit, org_units as home_unit);
        let $from = users::table
            .left_join(teams::table.on(users::team_id.eq(teams::id.nullable())))
            .left_join(
                team_unit.on(teams::org_unit_code
                    .nullable()
                    .eq(team_unit.field(org_units::code).nullable())),
            )
            .left_join(
                home_unit.on(users::org_unit_code.eq(home_unit.field(org_units::code).nullable())),
            );
        let $cols = (
            users::id,
            users::username,
            users::role,
            users::org_unit_code,
            users::team_id,
            users::is_active,
            users::last_sync_at,
            team_unit.field(org_units::path).nullable(),
            home_unit.field(org_units::path).nullable(),
            change_counter::table
                .find(1)
                .select(change_counter::value)
                .single_value(),
        );
        $body
    }};
}
pub(crate) use with_auth_source;

/// The callers' rows matching `$filter` on `users` (in scope there, as in
/// any [`with_auth_source`] body), loaded on `$conn`: one
/// query text for [`load_auth_user`] (`users.id = $1`) and
/// [`load_auth_users`] (`users.id = ANY($1)`). They stay two statements:
/// PostgreSQL plans the `ANY` form afresh at every execution (its generic
/// plan, costed for ten ids, never beats a custom plan for one), measured as
/// 1.0 instead of 0.4 ms a delta sync when the sync still read its caller
/// this way.
macro_rules! auth_rows {
    ($conn:expr, $filter:expr) => {
        with_auth_source!(|from, cols| from.filter($filter).select(cols).load::<AuthRow>($conn))
    };
}

/// What [`with_auth_source`] reads of a caller.
pub(crate) type AuthRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// Loads a user's role and scope from the database, in one query (every
/// request makes it): the user, its team's unit and its own unit. An
/// inspector's scope is its team's jurisdiction when it has a team, else its
/// own org unit.
pub fn load_auth_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<AuthUser>, ApiError> {
    let rows = auth_rows!(conn, users::id.eq(user_id))?;
    Ok(auth_users(rows)?.pop())
}

/// [`load_auth_user`] for many users in one statement (the minutes group
/// commit loads the posters of a whole batch at once): the active ones, in
/// no particular order.
pub fn load_auth_users(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<AuthUser>, ApiError> {
    let rows = auth_rows!(conn, users::id.eq_any(ids))?;
    auth_users(rows)
}

/// The 401 for a valid token whose user is disabled or gone, wherever the
/// caller is looked up.
pub fn unknown_user() -> ApiError {
    ApiError::Unauthorized("unknown or disabled user".into())
}

/// The active users among `rows`, with their scope.
pub(crate) fn auth_users(rows: Vec<AuthRow>) -> Result<Vec<AuthUser>, ApiError> {
    let mut found = Vec::with_capacity(rows.len());
    for (
        id,
        username,
        role,
        org_unit_code,
        team_id,
        active,
        last_sync_at,
        team_path,
        home_path,
        counter,
    ) in rows
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

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization header".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthorized("expected a Bearer token".into()))?;
    Ok(token.trim().to_string())
}

/// The subject of the request's verified access token.
fn verified_subject(req: &HttpRequest) -> Result<String, ApiError> {
    let token = bearer(req)?;
    let keys = req
        .app_data::<web::Data<crate::routes::AppState>>()
        .map(|s| &s.keys)
        .ok_or_else(|| ApiError::Internal("auth state not configured".into()))?;
    let claims = keys
        .verify(&token)
        .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
    Ok(claims.sub)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sub = verified_subject(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let sub = sub?;
            let db = db.ok_or_else(|| ApiError::Internal("database not configured".into()))?;
            db.run(move |conn| Caller { sub }.load(conn)).await
        })
    }
}

/// A caller whose access token verified, not yet looked up: the hottest
/// handlers (a team's fetch, posting minutes) load the [`AuthUser`] on the
/// same trip to the database as their own work instead of one trip before.
#[derive(Debug, Clone)]
pub struct Caller {
    sub: String,
}

impl Caller {
    /// The caller's user id (the token's subject), not yet looked up.
    pub fn id(&self) -> &str {
        &self.sub
    }

    /// The caller's role and scope; 401 for a user since disabled or removed.
    pub fn load(&self, conn: &mut DbConnection) -> Result<AuthUser, ApiError> {
        load_auth_user(conn, &self.sub)?.ok_or_else(unknown_user)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verified_subject(req).map(|sub| Caller { sub }))
    }
}
