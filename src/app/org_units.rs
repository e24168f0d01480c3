//! Org units: the CSV import (admin) and reads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::app::auth::AuthUser;
use crate::app::inspection_copies::copy_ordered_against_minutes;
use crate::app::policy;
use crate::db::org_units::{self as store, UnitRow};
use crate::db::{Db, DbConnection};
use crate::domain::imports::ImportSummary;
use crate::domain::level_rank;
use crate::domain::org_unit::{compute_paths, drop_orphans, read_units_csv, Unit};
use crate::domain::page::{Page, PageParams};
use crate::domain::values::now;
use crate::error::ApiError;

/// An org unit as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OrgUnitDto {
    /// Statistics-office code.
    pub code: String,
    /// Name.
    pub name: String,
    /// province, district or commune.
    pub level: String,
    /// Parent's code (none for a province).
    pub parent_code: Option<String>,
}

impl From<UnitRow> for OrgUnitDto {
    fn from(r: UnitRow) -> Self {
        OrgUnitDto {
            code: r.code,
            name: r.name,
            level: r.level,
            parent_code: r.parent_code,
        }
    }
}

/// Parses and applies an org-unit CSV (`code,name,level,parent_code`) inside
/// the caller's transaction: valid rows land, invalid rows are reported,
/// paths of units and establishments below a moved unit follow.
pub fn import_units(conn: &mut DbConnection, csv_text: &[u8]) -> Result<ImportSummary, ApiError> {
    let (mut incoming, mut errors) = read_units_csv(csv_text)?;
    let existing = store::all_units(conn)?;
    let old_paths = store::all_paths(conn)?;
    drop_orphans(&mut incoming, &existing, &mut errors);
    let mut summary = ImportSummary {
        errors,
        ..ImportSummary::default()
    };

    // The merged tree and every unit's path.
    let mut merged: HashMap<String, Unit> = existing.clone();
    for (code, (_, u)) in &incoming {
        merged.insert(code.clone(), u.clone());
    }
    let paths = compute_paths(&merged);

    let t = now();
    let mut new_rows = Vec::new();
    // Parents before children, so foreign keys hold at every insert.
    let mut ordered: Vec<(&String, &(usize, Unit))> = incoming.iter().collect();
    ordered.sort_by_key(|(code, _)| paths[*code].matches('/').count());
    for (code, (_, u)) in ordered {
        match existing.get(code) {
            None => {
                summary.created += 1;
                new_rows.push((code, u, paths[code].clone()));
            }
            Some(old) if old == u => summary.unchanged += 1,
            Some(_) => {
                summary.updated += 1;
                store::update(conn, code, u, t)?;
            }
        }
    }
    store::insert_many(conn, &new_rows, t)?;
    // Units whose path changed (a moved parent), their establishments, and
    // the copy of the path on those establishments' inspections. An
    // establishment's path is its unit's, so its inspections are those with
    // the unit's old path.
    let moved: Vec<(&String, &String, &String)> = paths
        .iter()
        .filter_map(|(code, path)| match old_paths.get(code) {
            Some(old) if old != path => Some((code, old, path)),
            _ => None,
        })
        .collect();
    if !moved.is_empty() {
        copy_ordered_against_minutes(
            conn,
            |conn| {
                for &(code, old, path) in &moved {
                    store::set_path(conn, code, path)?;
                    crate::db::establishments::set_unit_path_of_unit(conn, code, path)?;
                    store::copy_path_to_inspections(conn, code, old, path)?;
                }
                Ok(())
            },
            |conn| {
                for &(code, old, path) in &moved {
                    store::copy_path_to_inspections(conn, code, old, path)?;
                }
                Ok(())
            },
        )?;
    }
    summary.errors.sort_by_key(|e| e.row);
    Ok(summary)
}

/// `POST /org-units/import` (admin): applies a CSV in one transaction.
pub async fn import(db: &Db, user: AuthUser, body: Vec<u8>) -> Result<ImportSummary, ApiError> {
    policy::require_admin(&user)?;
    db.write(move |conn| import_units(conn, &body)).await
}

/// Filters of `GET /org-units`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    parent: Option<String>,
    level: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /org-units?parent=&level=`, by code: the caller's subtree and the
/// units above it.
pub async fn list(db: &Db, user: AuthUser, q: ListParams) -> Result<Page<OrgUnitDto>, ApiError> {
    if let Some(l) = &q.level {
        if level_rank(l).is_none() {
            return Err(ApiError::field(
                "level",
                "must be province, district or commune",
            ));
        }
    }
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    db.run(move |conn| {
        // Subtree by prefix; the few ancestors by their codes.
        let scope = user.scope_path.as_deref().map(|scope| {
            let ancestors: Vec<String> = scope
                .trim_matches('/')
                .split('/')
                .map(str::to_string)
                .collect();
            (scope, ancestors)
        });
        let rows = store::list_page(
            conn,
            store::ListFilter {
                parent: q.parent.as_deref(),
                level: q.level.as_deref(),
                scope,
                after,
                limit: limit + 1,
            },
        )?;
        let items = rows.into_iter().map(OrgUnitDto::from).collect();
        Ok(Page::from_rows(items, limit, |u: &OrgUnitDto| {
            u.code.clone()
        }))
    })
    .await
}

/// Loads one unit with its path.
pub fn find_unit(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<(OrgUnitDto, String)>, ApiError> {
    Ok(store::find(conn, code)?.map(|r| {
        let path = r.path.clone();
        (OrgUnitDto::from(r), path)
    }))
}

/// `GET /org-units/{code}`: 404 unless the caller sees the unit.
pub async fn get(db: &Db, user: AuthUser, code: String) -> Result<OrgUnitDto, ApiError> {
    let found = db.run(move |conn| find_unit(conn, &code)).await?;
    match found {
        Some((dto, path)) if policy::sees_org_unit(&user, &path) => Ok(dto),
        _ => Err(ApiError::NotFound),
    }
}
