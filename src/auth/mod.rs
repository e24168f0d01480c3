//! Authentication (the `AuthUser` extractor) and authorisation (roles, scope).

pub mod password;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use diesel::prelude::*;

use crate::db::schema::{org_units, users};
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

/// Loads a user's role and scope from the database. An inspector's scope is
/// its team's jurisdiction when it has a team, else its own org unit.
pub fn load_auth_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<AuthUser>, ApiError> {
    type Row = (String, String, String, Option<String>, Option<String>, bool);
    let row: Option<Row> = users::table
        .find(user_id)
        .select((
            users::id,
            users::username,
            users::role,
            users::org_unit_code,
            users::team_id,
            users::is_active,
        ))
        .first(conn)
        .optional()?;
    let Some((id, username, role, org_unit_code, team_id, active)) = row else {
        return Ok(None);
    };
    if !active {
        return Ok(None);
    }
    let role = Role::parse(&role).ok_or_else(|| ApiError::Internal(format!("bad role {role}")))?;
    // A unit that vanished, or a non-admin without one, sees nothing.
    const NOWHERE: &str = "/\u{0}/";
    let unit_path = |conn: &mut DbConnection, code: &Option<String>| -> Result<String, ApiError> {
        Ok(match code {
            Some(code) => org_units::table
                .find(code)
                .select(org_units::path)
                .first::<String>(conn)
                .optional()?
                .unwrap_or_else(|| NOWHERE.into()),
            None => NOWHERE.into(),
        })
    };
    let scope_path = match (&role, &team_id) {
        (Role::Admin, _) => None,
        // An inspector's team jurisdiction, in one query (the phones' path).
        (Role::Inspector, Some(t)) => Some(
            match crate::db::schema::teams::table
                .inner_join(org_units::table)
                .filter(crate::db::schema::teams::id.eq(t))
                .select(org_units::path)
                .first::<String>(conn)
                .optional()?
            {
                Some(path) => path,
                None => unit_path(conn, &org_unit_code)?,
            },
        ),
        _ => Some(unit_path(conn, &org_unit_code)?),
    };
    Ok(Some(AuthUser {
        id,
        username,
        role,
        org_unit_code,
        team_id,
        scope_path,
    }))
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

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let keys = req
            .app_data::<web::Data<crate::routes::AppState>>()
            .map(|s| s.keys.clone());
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let token = token?;
            let (keys, db) = match (keys, db) {
                (Some(k), Some(d)) => (k, d),
                _ => return Err(ApiError::Internal("auth state not configured".into())),
            };
            let claims = keys
                .verify(&token)
                .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
            let sub = claims.sub.clone();
            db.run(move |conn| load_auth_user(conn, &sub))
                .await?
                .ok_or_else(|| ApiError::Unauthorized("unknown or disabled user".into()))
        })
    }
}
