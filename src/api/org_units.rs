//! Org units: CSV import (admin) and reads.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::extract::{read_body, require_media_type, IMPORT_LIMIT};
use crate::app::auth::{AuthUser, Role};
use crate::db::schema::{establishments, inspections, org_units};
use crate::db::{Db, DbConnection};
use crate::domain::level_rank;
use crate::domain::page::{Page, PageParams};
use crate::domain::values::now;
use crate::error::{ApiError, FieldError};

/// An org unit as the API shows it.
#[derive(Debug, Clone, Serialize, Queryable)]
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

/// One row's problem in an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column at fault (null when the row as a whole is unreadable).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportSummary {
    /// Rows that made a new record.
    pub created: usize,
    /// Rows that changed an existing record.
    pub updated: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
    /// Rows rejected, with the reason.
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    name: String,
    level: String,
    parent: Option<String>,
}

/// Parses and applies an org-unit CSV (`code,name,level,parent_code`) in one
/// transaction: valid rows land, invalid rows are reported, paths of units
/// and establishments below a moved unit follow.
pub fn import_units(conn: &mut DbConnection, csv_text: &[u8]) -> Result<ImportSummary, ApiError> {
    if csv_text.contains(&0) {
        return Err(ApiError::field("body", crate::api::extract::NUL_MESSAGE));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text);
    let headers = rdr
        .headers()
        .map_err(|e| ApiError::field("body", format!("cannot read the CSV header: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    // Like the establishment import: a column the import does not know is
    // an error, not silently dropped data.
    let unknown: Vec<FieldError> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .filter(|h| !["code", "name", "level", "parent_code"].contains(h))
        .take(4)
        .map(|h| FieldError::new(h, "unknown column; expected code,name,level,parent_code"))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let (Some(c_code), Some(c_name), Some(c_level)) = (col("code"), col("name"), col("level"))
    else {
        return Err(ApiError::field(
            "body",
            "the header must name the columns code,name,level,parent_code",
        ));
    };
    let c_parent = col("parent_code");
    let mut summary = ImportSummary::default();

    let existing: HashMap<String, Unit> = org_units::table
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
        .collect();
    let old_paths: HashMap<String, String> = org_units::table
        .select((org_units::code, org_units::path))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();

    // Pass 1: each row on its own.
    let mut incoming: BTreeMap<String, (usize, Unit)> = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                summary.errors.push(RowError {
                    row,
                    field: None,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let err = |field: &str, message: String| RowError {
            row,
            field: Some(field.into()),
            message,
        };
        let code = get(c_code);
        let name = crate::domain::text::nfc(&get(c_name));
        let level = get(c_level);
        let parent = c_parent.map(get).filter(|p| !p.is_empty());
        if code.is_empty() || code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            summary
                .errors
                .push(err("code", "must be 1 to 16 letters or digits".into()));
            continue;
        }
        if name.is_empty() {
            summary.errors.push(err("name", "is required".into()));
            continue;
        }
        let Some(rank) = level_rank(&level) else {
            summary
                .errors
                .push(err("level", "must be province, district or commune".into()));
            continue;
        };
        if rank == 0 && parent.is_some() {
            summary
                .errors
                .push(err("parent_code", "a province has no parent".into()));
            continue;
        }
        if rank > 0 && parent.is_none() {
            summary
                .errors
                .push(err("parent_code", format!("a {level} needs a parent")));
            continue;
        }
        if incoming.contains_key(&code) {
            summary.errors.push(err(
                "code",
                format!("code {code} appears twice in the file"),
            ));
            continue;
        }
        incoming.insert(
            code,
            (
                row,
                Unit {
                    name,
                    level,
                    parent,
                },
            ),
        );
    }

    // Pass 2: parents must exist (stored or valid in the file) and rank
    // above their children; drop rows until that holds (a child of a
    // rejected row is rejected too).
    loop {
        let mut bad = Vec::new();
        for (code, (row, u)) in &incoming {
            let Some(p) = &u.parent else { continue };
            let parent_level = incoming
                .get(p)
                .map(|(_, pu)| pu.level.as_str())
                .or_else(|| {
                    // A stored parent counts unless the file itself rejected its new version.
                    existing.get(p).map(|eu| eu.level.as_str())
                });
            let msg = match parent_level {
                None => Some(format!("parent {p} does not exist")),
                Some(pl) if level_rank(pl) >= level_rank(&u.level) => {
                    Some(format!("parent {p} is a {pl}, not above a {}", u.level))
                }
                _ => None,
            };
            if let Some(m) = msg {
                bad.push((code.clone(), *row, m));
            }
        }
        if bad.is_empty() {
            break;
        }
        for (code, row, message) in bad {
            incoming.remove(&code);
            summary.errors.push(RowError {
                row,
                field: Some("parent_code".into()),
                message,
            });
        }
    }

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
                new_rows.push((
                    org_units::code.eq(code.clone()),
                    org_units::name.eq(u.name.clone()),
                    org_units::level.eq(u.level.clone()),
                    org_units::parent_code.eq(u.parent.clone()),
                    org_units::path.eq(paths[code].clone()),
                    org_units::created_at.eq(t),
                    org_units::updated_at.eq(t),
                ));
            }
            Some(old) if old == u => summary.unchanged += 1,
            Some(_) => {
                summary.updated += 1;
                diesel::update(org_units::table.find(code))
                    .set((
                        org_units::name.eq(&u.name),
                        org_units::level.eq(&u.level),
                        org_units::parent_code.eq(&u.parent),
                        org_units::updated_at.eq(t),
                    ))
                    .execute(conn)?;
            }
        }
    }
    for chunk in new_rows.chunks(500) {
        crate::per_backend!(conn, |c| diesel::insert_into(org_units::table)
            .values(chunk)
            .execute(c))?;
    }
    // Units whose path changed (a moved parent), their establishments, and
    // the copy of the path on those establishments' inspections (coverage
    // counts read it there). An establishment's path is its unit's, so its
    // inspections are those with the unit's old path.
    let moved: Vec<(&String, &String, &String)> = paths
        .iter()
        .filter_map(|(code, path)| match old_paths.get(code) {
            Some(old) if old != path => Some((code, old, path)),
            _ => None,
        })
        .collect();
    let copy_path = |conn: &mut DbConnection, code: &str, old: &str, path: &str| {
        diesel::update(
            inspections::table
                .filter(inspections::unit_path.eq(old))
                .filter(inspections::org_unit_code.eq(code)),
        )
        .set(inspections::unit_path.eq(path))
        .execute(conn)
    };
    for &(code, old, path) in &moved {
        diesel::update(org_units::table.find(code))
            .set(org_units::path.eq(path))
            .execute(conn)?;
        diesel::update(establishments::table.filter(establishments::org_unit_code.eq(code)))
            .set(establishments::unit_path.eq(path))
            .execute(conn)?;
        copy_path(conn, code, old, path)?;
    }
    // Again holding the audit tail's lock, for minutes written meanwhile
    // with the old path: see establishments::copy_to_inspections.
    if !moved.is_empty() {
        crate::app::audit::lock_tail(conn)?;
        for &(code, old, path) in &moved {
            copy_path(conn, code, old, path)?;
        }
    }
    summary.errors.sort_by_key(|e| e.row);
    Ok(summary)
}

/// `/a/b/c/` paths for every unit of a tree. Parents rank strictly above
/// their children (checked on import), so there is no cycle to follow.
fn compute_paths(units: &HashMap<String, Unit>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::with_capacity(units.len());
    for start in units.keys() {
        // Walk up to the root or to a unit whose path is known already.
        let mut chain = Vec::new();
        let mut base = String::from("/");
        let mut cur = Some(start.clone());
        while let Some(c) = cur {
            if let Some(known) = out.get(&c) {
                base = known.clone();
                break;
            }
            cur = units
                .get(&c)
                .and_then(|u| u.parent.clone())
                .filter(|p| units.contains_key(p));
            chain.push(c);
        }
        for c in chain.into_iter().rev() {
            base = format!("{base}{c}/");
            out.insert(c, base.clone());
        }
    }
    out
}

/// `POST /org-units/import` (admin, `text/csv`).
pub async fn import(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    require_media_type(&req, &["text/csv"])?;
    let body = read_body(&req, &mut payload, IMPORT_LIMIT).await?;
    let summary = db.write(move |conn| import_units(conn, &body)).await?;
    Ok(HttpResponse::Ok().json(summary))
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

/// Whether the caller may see a unit: its subtree, and the units above it.
fn visible(user: &AuthUser, path: &str) -> bool {
    match &user.scope_path {
        None => true,
        Some(scope) => path.starts_with(scope.as_str()) || scope.starts_with(path),
    }
}

/// `GET /org-units?parent=&level=`, by code.
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
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
    let page = db
        .run(move |conn| {
            let mut query = org_units::table
                .select((
                    org_units::code,
                    org_units::name,
                    org_units::level,
                    org_units::parent_code,
                    org_units::path,
                ))
                .order(org_units::code)
                .limit(limit + 1)
                .into_boxed();
            if let Some(p) = &q.parent {
                query = query.filter(org_units::parent_code.eq(p.clone()));
            }
            if let Some(l) = &q.level {
                query = query.filter(org_units::level.eq(l.clone()));
            }
            if let Some(scope) = &user.scope_path {
                // Subtree by prefix; the few ancestors by their codes.
                let ancestors: Vec<String> = scope
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                query = query.filter(
                    org_units::path
                        .like(format!("{scope}%"))
                        .or(org_units::code.eq_any(ancestors)),
                );
            }
            if let Some(a) = after {
                query = query.filter(org_units::code.gt(a));
            }
            let rows = query.load::<(String, String, String, Option<String>, String)>(conn)?;
            let items = rows
                .into_iter()
                .map(|(code, name, level, parent_code, _)| OrgUnitDto {
                    code,
                    name,
                    level,
                    parent_code,
                })
                .collect();
            Ok(Page::from_rows(items, limit, |u: &OrgUnitDto| {
                u.code.clone()
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Loads one unit with its path.
pub fn find_unit(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<(OrgUnitDto, String)>, ApiError> {
    Ok(org_units::table
        .find(code)
        .select((
            org_units::code,
            org_units::name,
            org_units::level,
            org_units::parent_code,
            org_units::path,
        ))
        .first::<(String, String, String, Option<String>, String)>(conn)
        .optional()?
        .map(|(code, name, level, parent_code, path)| {
            (
                OrgUnitDto {
                    code,
                    name,
                    level,
                    parent_code,
                },
                path,
            )
        }))
}

/// `GET /org-units/{code}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let found = db.run(move |conn| find_unit(conn, &code)).await?;
    match found {
        Some((dto, path)) if visible(&user, &path) => Ok(HttpResponse::Ok().json(dto)),
        _ => Err(ApiError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(parent: Option<&str>) -> Unit {
        Unit {
            name: "x".into(),
            level: "district".into(),
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn paths_follow_parents() {
        let mut m = HashMap::new();
        m.insert("37".to_string(), u(None));
        m.insert("372".to_string(), u(Some("37")));
        m.insert("14362".to_string(), u(Some("372")));
        let p = compute_paths(&m);
        assert_eq!(p["14362"], "/37/372/14362/");
        assert_eq!(p["372"], "/37/372/");
        assert_eq!(p["37"], "/37/");
    }
}
