//! The violation catalogue minutes cite.

use serde::{Deserialize, Serialize};

use crate::app::auth::AuthUser;
use crate::app::policy::require_admin;
use crate::db::violation_types::ViolationTypeRow;
use crate::db::Db;
use crate::domain::text::nfc;
use crate::domain::values::now;
use crate::error::{ApiError, FieldError};

/// A catalogue entry, as shown and as posted.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

impl From<ViolationTypeRow> for ViolationType {
    fn from(r: ViolationTypeRow) -> Self {
        ViolationType {
            code: r.code,
            title: r.title,
            legal_basis: r.legal_basis,
            min_fine_vnd: r.min_fine_vnd,
            max_fine_vnd: r.max_fine_vnd,
        }
    }
}

/// `GET /violation-types` (every authenticated user), by code.
pub async fn list(db: &Db) -> Result<Vec<ViolationType>, ApiError> {
    db.run(|conn| {
        Ok(crate::db::violation_types::list(conn)?
            .into_iter()
            .map(ViolationType::from)
            .collect())
    })
    .await
}

/// Normalises and validates an entry (422 naming every bad field).
fn checked(mut v: ViolationType) -> Result<ViolationType, ApiError> {
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
    if errs.is_empty() {
        Ok(v)
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// `POST /violation-types` (admin): stores the entry and audits it; returns
/// it as stored.
pub async fn create(
    db: &Db,
    user: AuthUser,
    input: ViolationType,
) -> Result<ViolationType, ApiError> {
    require_admin(&user)?;
    let v = checked(input)?;
    let stored = v.clone();
    db.write(move |conn| {
        let row = ViolationTypeRow {
            code: v.code.clone(),
            title: v.title.clone(),
            legal_basis: v.legal_basis.clone(),
            min_fine_vnd: v.min_fine_vnd,
            max_fine_vnd: v.max_fine_vnd,
        };
        crate::db::violation_types::insert(conn, &row, now())?;
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
    Ok(stored)
}
