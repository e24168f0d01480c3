//! The establishment registry: create, read, list, patch, close, import.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::app::auth::AuthUser;
use crate::app::inspection_copies::copy_ordered_against_minutes;
use crate::app::policy;
use crate::db::establishments::{self as store, Copies, NewEstablishment};
use crate::db::{Db, DbConnection};
use crate::domain::establishment::{EstablishmentFields, EstablishmentInput};
use crate::domain::imports::{
    csv_rows, row_input, xlsx_rows, ImportRow, ImportSummary, RowError, UNREADABLE,
};
use crate::domain::page::{Page, PageParams};
use crate::domain::status::EstablishmentStatus;
use crate::domain::text::{fold, like_contains, nfc};
use crate::domain::values::{check_version, new_id, now, rfc3339};
use crate::domain::BUSINESS_TYPES;
use crate::error::ApiError;

pub use crate::db::establishments::Establishment;

/// An establishment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EstablishmentDto {
    id: String,
    licence_no: String,
    name: String,
    business_type: String,
    org_unit_code: String,
    address: String,
    owner_name: Option<String>,
    phone: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    status: String,
    closed_on: Option<NaiveDate>,
    closed_reason: Option<String>,
    reinspect: bool,
    version: i32,
    created_at: String,
    updated_at: String,
}

impl EstablishmentDto {
    /// The version, for the `ETag`.
    pub fn version(&self) -> i32 {
        self.version
    }
}

impl From<Establishment> for EstablishmentDto {
    fn from(e: Establishment) -> Self {
        EstablishmentDto {
            created_at: rfc3339(&e.created_at),
            updated_at: rfc3339(&e.updated_at),
            id: e.id,
            licence_no: e.licence_no,
            name: e.name,
            business_type: e.business_type,
            org_unit_code: e.org_unit_code,
            address: e.address,
            owner_name: e.owner_name,
            phone: e.phone,
            latitude: e.latitude,
            longitude: e.longitude,
            status: e.status,
            closed_on: e.closed_on,
            closed_reason: e.closed_reason,
            reinspect: e.reinspect,
            version: e.version,
        }
    }
}

/// Loads one establishment visible to `user` (404 otherwise).
pub fn load_visible(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<Establishment, ApiError> {
    let e = store::find(conn, id)?.ok_or(ApiError::NotFound)?;
    user.check_scope(&e.unit_path)?;
    Ok(e)
}

/// Copies an establishment's unit path, commune and business type onto its
/// inspections if any of them changed from `before`, inside the caller's
/// transaction after the establishment's own update (see
/// [`crate::app::inspection_copies`]).
pub fn copy_to_inspections(
    conn: &mut DbConnection,
    before: &Establishment,
    c: Copies<'_>,
) -> Result<(), ApiError> {
    if before.unit_path == c.unit_path
        && before.org_unit_code == c.org_unit_code
        && before.business_type == c.business_type
    {
        return Ok(());
    }
    copy_ordered_against_minutes(
        conn,
        |conn| store::copy_to_inspections(conn, &before.id, &c),
        |conn| store::copy_to_differing_inspections(conn, &before.id, &c),
    )
}

/// The path of an org unit the caller may place establishments in; the
/// error names `field` when the unit does not exist or is outside its area.
fn unit_path_in_scope(
    conn: &mut DbConnection,
    user: &AuthUser,
    code: &str,
    field: &str,
) -> Result<String, ApiError> {
    match crate::db::org_units::path_of(conn, code)? {
        Some(p) if user.sees(&p) => Ok(p),
        _ => Err(ApiError::field(field, "no such org unit in your area")),
    }
}

/// Registers an establishment inside the caller's transaction.
pub fn create_establishment(
    conn: &mut DbConnection,
    user: &AuthUser,
    fields: EstablishmentFields,
) -> Result<Establishment, ApiError> {
    let path = unit_path_in_scope(conn, user, &fields.org_unit_code, "org_unit_code")?;
    let id = new_id();
    store::insert(conn, NewEstablishment::new(id.clone(), fields, path, now()))?;
    let created = load_visible(conn, user, &id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "establishment.create",
        &id,
        None,
        Some(&created),
    )?;
    Ok(created)
}

/// `POST /establishments` (admin, supervisor).
pub async fn create(
    db: &Db,
    user: AuthUser,
    input: EstablishmentInput,
) -> Result<EstablishmentDto, ApiError> {
    policy::require_manager(&user)?;
    let fields = input.parse().map_err(ApiError::Validation)?;
    let e = db
        .write(move |conn| create_establishment(conn, &user, fields))
        .await?;
    Ok(e.into())
}

/// `GET /establishments/{id}`.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<EstablishmentDto, ApiError> {
    let e = db.run(move |conn| load_visible(conn, &user, &id)).await?;
    Ok(e.into())
}

/// Filters of `GET /establishments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    org_unit: Option<String>,
    business_type: Option<String>,
    status: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /establishments?org_unit=&business_type=&status=&q=` (by id): the
/// caller's area; `q` matches the name without accents or the licence number.
pub async fn list(
    db: &Db,
    user: AuthUser,
    q: ListParams,
) -> Result<Page<EstablishmentDto>, ApiError> {
    if let Some(b) = &q.business_type {
        if !BUSINESS_TYPES.contains(&b.as_str()) {
            return Err(ApiError::field(
                "business_type",
                format!("must be one of {}", BUSINESS_TYPES.join(", ")),
            ));
        }
    }
    let status = match &q.status {
        None => None,
        Some(s) => Some(
            EstablishmentStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", "must be active or closed"))?,
        ),
    };
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    db.run(move |conn| {
        let mut under: Vec<String> = user.scope_path.iter().cloned().collect();
        if let Some(code) = &q.org_unit {
            match crate::db::org_units::path_of(conn, code)? {
                Some(p) => under.push(p),
                None => {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    })
                }
            }
        }
        // `%`, `_` and a backslash in `q` are text, never wildcards.
        let text = q.q.as_deref().map(fold).filter(|t| !t.is_empty()).map(|t| {
            (
                like_contains(&t),
                like_contains(&nfc(q.q.as_deref().unwrap_or(""))),
            )
        });
        let rows = store::list_page(
            conn,
            store::ListFilter {
                under,
                business_type: q.business_type,
                status,
                text,
                after,
                limit: limit + 1,
            },
        )?;
        let items: Vec<EstablishmentDto> = rows.into_iter().map(EstablishmentDto::from).collect();
        Ok(Page::from_rows(items, limit, |e: &EstablishmentDto| {
            e.id.clone()
        }))
    })
    .await
}

/// `PATCH /establishments/{id}` body: any create field, plus `reinspect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    licence_no: Option<String>,
    name: Option<String>,
    business_type: Option<String>,
    org_unit_code: Option<String>,
    address: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    owner_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    longitude: Option<Option<f64>>,
    reinspect: Option<bool>,
}

/// Applies a patch inside the caller's transaction; `expected` is the
/// version `If-Match` asked for.
pub fn patch_establishment(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    p: PatchBody,
) -> Result<Establishment, ApiError> {
    let before = load_visible(conn, user, id)?;
    check_version(expected, before.version)?;
    let merged = EstablishmentInput {
        licence_no: p.licence_no.unwrap_or_else(|| before.licence_no.clone()),
        name: p.name.unwrap_or_else(|| before.name.clone()),
        business_type: p
            .business_type
            .unwrap_or_else(|| before.business_type.clone()),
        org_unit_code: p
            .org_unit_code
            .unwrap_or_else(|| before.org_unit_code.clone()),
        address: p.address.unwrap_or_else(|| before.address.clone()),
        owner_name: p.owner_name.unwrap_or_else(|| before.owner_name.clone()),
        phone: p.phone.unwrap_or_else(|| before.phone.clone()),
        latitude: p.latitude.unwrap_or(before.latitude),
        longitude: p.longitude.unwrap_or(before.longitude),
    };
    let f = merged.parse().map_err(ApiError::Validation)?;
    let path = unit_path_in_scope(conn, user, &f.org_unit_code, "org_unit_code")?;
    // The version guard makes a concurrent writer lose with 412, not overwrite.
    let reinspect = p.reinspect.unwrap_or(before.reinspect);
    let n = store::update_at_version(conn, id, before.version, &f, &path, reinspect, now())?;
    if n == 0 {
        return Err(ApiError::PreconditionFailed {
            current_version: before.version + 1,
        });
    }
    copy_to_inspections(
        conn,
        &before,
        Copies {
            unit_path: &path,
            org_unit_code: &f.org_unit_code,
            business_type: &f.business_type,
        },
    )?;
    let after = load_visible(conn, user, id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "establishment.update",
        id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `PATCH /establishments/{id}` (admin, supervisor; `If-Match`).
pub async fn patch(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    body: PatchBody,
) -> Result<EstablishmentDto, ApiError> {
    policy::require_manager(&user)?;
    let e = db
        .write(move |conn| patch_establishment(conn, &user, &id, expected, body))
        .await?;
    Ok(e.into())
}

/// `POST /establishments/{id}/close` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    closed_on: NaiveDate,
    reason: String,
}

/// Closes an establishment inside the caller's transaction: its open
/// assignments are withdrawn; `expected` is the version `If-Match` asked for.
pub fn close_establishment(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    expected: Option<i32>,
    closed_on: NaiveDate,
    reason: &str,
) -> Result<Establishment, ApiError> {
    let before = load_visible(conn, user, id)?;
    check_version(expected, before.version)?;
    if EstablishmentStatus::parse(&before.status) == Some(EstablishmentStatus::Closed) {
        return Err(ApiError::Conflict(
            "the establishment is already closed".into(),
        ));
    }
    let n = store::close_at_version(conn, id, before.version, closed_on, reason, now())?;
    if n == 0 {
        return Err(ApiError::PreconditionFailed {
            current_version: before.version + 1,
        });
    }
    crate::app::closing::cancel_open_assignments(conn, id)?;
    let after = load_visible(conn, user, id)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "establishment.close",
        id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after)
}

/// `POST /establishments/{id}/close` (admin, supervisor; `If-Match`).
pub async fn close(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    body: CloseBody,
) -> Result<EstablishmentDto, ApiError> {
    policy::require_manager(&user)?;
    let CloseBody { closed_on, reason } = body;
    let reason = nfc(&reason);
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    if closed_on > chrono::Utc::now().date_naive() + chrono::Duration::days(1) {
        return Err(ApiError::field("closed_on", "cannot be in the future"));
    }
    let e = db
        .write(move |conn| close_establishment(conn, &user, &id, expected, closed_on, &reason))
        .await?;
    Ok(e.into())
}

fn same_fields(e: &Establishment, f: &EstablishmentFields) -> bool {
    e.licence_no == f.licence_no
        && e.name == f.name
        && e.business_type == f.business_type
        && e.org_unit_code == f.org_unit_code
        && e.address == f.address
        && e.owner_name == f.owner_name
        && e.phone == f.phone
        && e.latitude == f.latitude
        && e.longitude == f.longitude
}

/// Checks one import row: its fields, its unit (in `scope`), and that its
/// licence number is not in `seen` already; `Err` holds its problems.
fn check_row(
    row: usize,
    cells: &HashMap<String, String>,
    units: &HashMap<String, String>,
    scope: Option<&str>,
    seen: &mut HashSet<String>,
) -> Result<(EstablishmentFields, String), Vec<RowError>> {
    if let Some(msg) = cells.get(UNREADABLE) {
        return Err(vec![RowError {
            row,
            field: None,
            message: msg.clone(),
        }]);
    }
    let fields = row_input(row, cells)?.parse().map_err(|errs| {
        errs.into_iter()
            .map(|e| RowError {
                row,
                field: Some(e.field),
                message: e.message,
            })
            .collect::<Vec<_>>()
    })?;
    let path = match units.get(&fields.org_unit_code) {
        Some(p) if scope.is_none_or(|s| p.starts_with(s)) => p.clone(),
        _ => {
            return Err(vec![RowError {
                row,
                field: Some("org_unit_code".into()),
                message: "no such org unit in your area".into(),
            }])
        }
    };
    if !seen.insert(fields.licence_no.clone()) {
        return Err(vec![RowError {
            row,
            field: Some("licence_no".into()),
            message: format!(
                "licence_no {} appears earlier in the file",
                fields.licence_no
            ),
        }]);
    }
    Ok((fields, path))
}

/// Applies import rows in batches inside the caller's transaction: new
/// licence numbers are created, known ones updated when they differ (upsert
/// by `licence_no`), bad rows reported. `scope` limits where rows may land
/// (`None` = anywhere); `progress` is told how many rows are done.
pub fn import_rows(
    conn: &mut DbConnection,
    rows: Vec<ImportRow>,
    scope: Option<&str>,
    actor: &str,
    mut progress: impl FnMut(usize),
) -> Result<ImportSummary, ApiError> {
    let units = crate::db::org_units::all_paths(conn)?;
    let mut summary = ImportSummary::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut done = 0;
    for batch in rows.chunks(1000) {
        let mut valid: Vec<(usize, EstablishmentFields, String)> = Vec::with_capacity(batch.len());
        for (row, cells) in batch {
            match check_row(*row, cells, &units, scope, &mut seen) {
                Ok((fields, path)) => valid.push((*row, fields, path)),
                Err(errs) => summary.errors.extend(errs),
            }
        }
        let licences: Vec<&str> = valid
            .iter()
            .map(|(_, f, _)| f.licence_no.as_str())
            .collect();
        let existing: HashMap<String, Establishment> = store::by_licences(conn, &licences)?
            .into_iter()
            .map(|e| (e.licence_no.clone(), e))
            .collect();
        let t = now();
        let mut inserts = Vec::new();
        let mut created_ids = Vec::new();
        for (row, f, path) in valid {
            match existing.get(&f.licence_no) {
                None => {
                    summary.created += 1;
                    let id = new_id();
                    created_ids.push(id.clone());
                    inserts.push(NewEstablishment::new(id, f, path, t));
                }
                Some(e) if scope.is_some_and(|s| !e.unit_path.starts_with(s)) => {
                    summary.errors.push(RowError {
                        row,
                        field: Some("licence_no".into()),
                        message: crate::domain::establishment::licence_unavailable(&f.licence_no),
                    });
                }
                Some(e) if same_fields(e, &f) => summary.unchanged += 1,
                Some(e) => {
                    summary.updated += 1;
                    store::update_from_import(conn, e, &f, &path, t)?;
                    copy_to_inspections(
                        conn,
                        e,
                        Copies {
                            unit_path: &path,
                            org_unit_code: &f.org_unit_code,
                            business_type: &f.business_type,
                        },
                    )?;
                    let after = store::find(conn, &e.id)?.ok_or(ApiError::NotFound)?;
                    crate::app::audit::record(
                        conn,
                        actor,
                        "establishment.import_update",
                        &e.id,
                        Some(e),
                        Some(&after),
                    )?;
                }
            }
        }
        store::insert_many(conn, &inserts)?;
        crate::app::audit::record_created(
            conn,
            actor,
            "establishment.import_create",
            &created_ids,
        )?;
        done += batch.len();
        progress(done);
    }
    summary.errors.sort_by_key(|e| e.row);
    Ok(summary)
}

/// `POST /establishments/import` (admin, supervisor): reads a CSV or XLSX
/// file (off the async workers) and applies it in one transaction, within
/// the caller's area.
pub async fn import(
    db: &Db,
    user: AuthUser,
    body: Vec<u8>,
    is_xlsx: bool,
) -> Result<ImportSummary, ApiError> {
    policy::require_manager(&user)?;
    let rows = tokio::task::spawn_blocking(move || {
        if is_xlsx {
            xlsx_rows(&body)
        } else {
            csv_rows(&body)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    db.write(move |conn| import_rows(conn, rows, user.scope_path.as_deref(), &user.id, |_| {}))
        .await
}
