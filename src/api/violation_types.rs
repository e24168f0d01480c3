//! The violation catalogue: `GET /violation-types`, `POST /violation-types` (admin).

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::app::auth::{AuthUser, Role};
use crate::db::schema::violation_types;
use crate::db::Db;
use crate::db::ResultExt;
use crate::domain::text::nfc;
use crate::domain::values::now;
use crate::error::{ApiError, FieldError};

/// A catalogue entry.
#[derive(Debug, Clone, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = violation_types)]
#[serde(deny_unknown_fields)]
pub struct ViolationType {
    /// Stable code cited by minutes.
    pub code: String,
    /// What the violation is.
    pub title: String,
    /// The legal text that defines it.
    pub legal_basis: String,
    /// Smallest fine, VND.
    #[serde(default, deserialize_with = "crate::domain::json::opt_integer")]
    pub min_fine_vnd: Option<i64>,
    /// Largest fine, VND.
    #[serde(default, deserialize_with = "crate::domain::json::opt_integer")]
    pub max_fine_vnd: Option<i64>,
}

/// `GET /violation-types` (every authenticated user), by code.
pub async fn list(_user: AuthUser, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let items: Vec<ViolationType> = db
        .run(|conn| {
            Ok(violation_types::table
                .select(ViolationType::as_select())
                .order(violation_types::code)
                .load(conn)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

/// `POST /violation-types` (admin).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: crate::api::extract::ValidJson<ViolationType>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let mut v = body.0;
    v.title = nfc(&v.title);
    v.legal_basis = nfc(&v.legal_basis);
    v.code = v.code.trim().to_string();
    let mut errs = Vec::new();
    if v.code.is_empty()
        || v.code.len() > 40
        || !v
            .code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        errs.push(FieldError::new("code", "must be 1 to 40 of A-Z, 0-9, _"));
    }
    if v.title.is_empty() {
        errs.push(FieldError::new("title", "is required"));
    }
    if v.legal_basis.is_empty() {
        errs.push(FieldError::new("legal_basis", "is required"));
    }
    for (f, x) in [
        ("min_fine_vnd", v.min_fine_vnd),
        ("max_fine_vnd", v.max_fine_vnd),
    ] {
        if x.is_some_and(|x| x < 0) {
            errs.push(FieldError::new(f, "cannot be negative"));
        }
    }
    if let (Some(a), Some(b)) = (v.min_fine_vnd, v.max_fine_vnd) {
        if a > b {
            errs.push(FieldError::new(
                "max_fine_vnd",
                "must be at least min_fine_vnd",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    let stored = v.clone();
    db.write(move |conn| {
        diesel::insert_into(violation_types::table)
            .values((
                violation_types::code.eq(&v.code),
                violation_types::title.eq(&v.title),
                violation_types::legal_basis.eq(&v.legal_basis),
                violation_types::min_fine_vnd.eq(v.min_fine_vnd),
                violation_types::max_fine_vnd.eq(v.max_fine_vnd),
                violation_types::created_at.eq(now()),
            ))
            .execute(conn)
            .on_unique("violation_types_pkey", "violation_types.code", || {
                ApiError::Conflict(format!("code {} exists", v.code))
            })?;
        crate::app::audit::record(
            conn,
            &user.id,
            "violation_type.create",
            &v.code,
            None,
            Some(&v),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Created().json(stored))
}
