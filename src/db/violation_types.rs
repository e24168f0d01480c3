//! The `violation_types` table: the catalogue minutes cite.

use diesel::prelude::*;

use crate::db::schema::violation_types;
use crate::db::{DbConnection, ResultExt};
use crate::error::ApiError;

/// A stored catalogue entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = violation_types)]
pub struct ViolationTypeRow {
    /// Code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Smallest fine, VND.
    pub min_fine_vnd: Option<i64>,
    /// Largest fine, VND.
    pub max_fine_vnd: Option<i64>,
}

/// The whole catalogue, by code.
pub fn list(conn: &mut DbConnection) -> Result<Vec<ViolationTypeRow>, ApiError> {
    Ok(violation_types::table
        .select(ViolationTypeRow::as_select())
        .order(violation_types::code)
        .load(conn)?)
}

/// Stores an entry; 409 when its code exists.
pub fn insert(
    conn: &mut DbConnection,
    v: &ViolationTypeRow,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(violation_types::table)
        .values((
            violation_types::code.eq(&v.code),
            violation_types::title.eq(&v.title),
            violation_types::legal_basis.eq(&v.legal_basis),
            violation_types::min_fine_vnd.eq(v.min_fine_vnd),
            violation_types::max_fine_vnd.eq(v.max_fine_vnd),
            violation_types::created_at.eq(at),
        ))
        .execute(conn)
        .on_unique("violation_types_pkey", "violation_types.code", || {
            ApiError::Conflict(format!("code {} exists", v.code))
        })?;
    Ok(())
}
