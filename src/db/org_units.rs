//! The `org_units` table: the administrative tree with each unit's path, and
//! the path copies a moved unit leaves to update on inspections.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{inspections, org_units};
use crate::db::DbConnection;
use crate::domain::org_unit::Unit;
use crate::error::ApiError;

/// A stored unit with its path.
#[derive(Debug, Clone, Queryable)]
pub struct UnitRow {
    /// Statistics-office code.
    pub code: String,
    /// Name.
    pub name: String,
    /// province, district or commune.
    pub level: String,
    /// Parent's code (none for a province).
    pub parent_code: Option<String>,
    /// `/a/b/c/` from the province down.
    pub path: String,
}

/// The columns of [`UnitRow`], in its order.
type UnitColumns = (
    org_units::code,
    org_units::name,
    org_units::level,
    org_units::parent_code,
    org_units::path,
);

const UNIT_COLUMNS: UnitColumns = (
    org_units::code,
    org_units::name,
    org_units::level,
    org_units::parent_code,
    org_units::path,
);

/// One unit with its path.
pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<UnitRow>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select(UNIT_COLUMNS)
        .first::<UnitRow>(conn)
        .optional()?)
}

/// The path of a unit, if it exists.
pub fn path_of(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select(org_units::path)
        .first(conn)
        .optional()?)
}

/// Every unit's path by code.
pub fn all_paths(conn: &mut DbConnection) -> Result<HashMap<String, String>, ApiError> {
    Ok(org_units::table
        .select((org_units::code, org_units::path))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Every unit (without its path) by code.
pub fn all_units(conn: &mut DbConnection) -> Result<HashMap<String, Unit>, ApiError> {
    Ok(org_units::table
        .select((
            org_units::code,
            org_units::name,
            org_units::level,
            org_units::parent_code,
        ))
        .load::<(String, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(c, n, l, p)| {
            (
                c,
                Unit {
                    name: n,
                    level: l,
                    parent: p,
                },
            )
        })
        .collect())
}

/// What `GET /org-units` filters on.
pub struct ListFilter<'a> {
    /// Children of this code only.
    pub parent: Option<&'a str>,
    /// This level only.
    pub level: Option<&'a str>,
    /// The caller's subtree (by path prefix) and the units above it (by code).
    pub scope: Option<(&'a str, Vec<String>)>,
    /// Codes after this one (the page cursor).
    pub after: Option<String>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of units by code.
pub fn list_page(conn: &mut DbConnection, f: ListFilter<'_>) -> Result<Vec<UnitRow>, ApiError> {
    let mut query = org_units::table
        .select(UNIT_COLUMNS)
        .order(org_units::code)
        .limit(f.limit)
        .into_boxed();
    if let Some(p) = f.parent {
        query = query.filter(org_units::parent_code.eq(p.to_string()));
    }
    if let Some(l) = f.level {
        query = query.filter(org_units::level.eq(l.to_string()));
    }
    if let Some((scope, ancestors)) = f.scope {
        query = query.filter(
            org_units::path
                .like(format!("{scope}%"))
                .or(org_units::code.eq_any(ancestors)),
        );
    }
    if let Some(a) = f.after {
        query = query.filter(org_units::code.gt(a));
    }
    Ok(query.load::<UnitRow>(conn)?)
}

/// Inserts new units `(code, unit, path)`, parents before children.
pub fn insert_many(
    conn: &mut DbConnection,
    units: &[(&String, &Unit, String)],
    t: NaiveDateTime,
) -> Result<(), ApiError> {
    let rows: Vec<_> = units
        .iter()
        .map(|(code, u, path)| {
            (
                org_units::code.eq((*code).clone()),
                org_units::name.eq(u.name.clone()),
                org_units::level.eq(u.level.clone()),
                org_units::parent_code.eq(u.parent.clone()),
                org_units::path.eq(path.clone()),
                org_units::created_at.eq(t),
                org_units::updated_at.eq(t),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::per_backend!(conn, |c| diesel::insert_into(org_units::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Updates a unit's name, level and parent (not its path).
pub fn update(
    conn: &mut DbConnection,
    code: &str,
    u: &Unit,
    t: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(org_units::table.find(code))
        .set((
            org_units::name.eq(&u.name),
            org_units::level.eq(&u.level),
            org_units::parent_code.eq(&u.parent),
            org_units::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets a unit's path.
pub fn set_path(conn: &mut DbConnection, code: &str, path: &str) -> Result<(), ApiError> {
    diesel::update(org_units::table.find(code))
        .set(org_units::path.eq(path))
        .execute(conn)?;
    Ok(())
}

/// Sets the path copy on the inspections of a unit's establishments: those
/// of the unit with its old path.
pub fn copy_path_to_inspections(
    conn: &mut DbConnection,
    code: &str,
    old: &str,
    path: &str,
) -> Result<(), ApiError> {
    diesel::update(
        inspections::table
            .filter(inspections::unit_path.eq(old))
            .filter(inspections::org_unit_code.eq(code)),
    )
    .set(inspections::unit_path.eq(path))
    .execute(conn)?;
    Ok(())
}
