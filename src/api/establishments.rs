//! The establishment registry: create, read, list, patch, close, CSV import.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::extract::{if_match, read_body, require_media_type, ValidJson, IMPORT_LIMIT};
use crate::api::org_units::{ImportSummary, RowError};
use crate::app::auth::{AuthUser, Role};
use crate::db::schema::{establishments, inspections, org_units};
use crate::db::ResultExt;
use crate::db::{Db, DbConnection};
use crate::domain::establishment::{EstablishmentFields, EstablishmentInput};
use crate::domain::page::{Page, PageParams};
use crate::domain::text::{fold, nfc};
use crate::domain::values::{check_version, new_id, now, path_uuid, rfc3339};
use crate::domain::BUSINESS_TYPES;
use crate::error::{ApiError, FieldError};

/// A stored establishment.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = establishments)]
pub struct Establishment {
    /// Id.
    pub id: String,
    /// Licence number.
    pub licence_no: String,
    /// Name.
    pub name: String,
    /// Name folded.
    pub name_fold: String,
    /// Business type.
    pub business_type: String,
    /// Org unit.
    pub org_unit_code: String,
    /// Path of the org unit.
    pub unit_path: String,
    /// Address.
    pub address: String,
    /// Owner.
    pub owner_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// active or closed.
    pub status: String,
    /// When it closed.
    pub closed_on: Option<NaiveDate>,
    /// Why it closed.
    pub closed_reason: Option<String>,
    /// Flagged for re-inspection.
    pub reinspect: bool,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

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

fn with_etag(status: actix_web::http::StatusCode, e: Establishment) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::ETAG, format!("\"{}\"", e.version)))
        .json(EstablishmentDto::from(e))
}

/// Loads one establishment visible to `user` (404 otherwise).
pub fn load_visible(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<Establishment, ApiError> {
    let e = establishments::table
        .find(id)
        .select(Establishment::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)?;
    user.check_scope(&e.unit_path)?;
    Ok(e)
}

/// Copies an establishment's unit path, commune and business type onto its
/// inspections, where coverage counts them, if any of them changed from
/// `before`; inside the caller's transaction, after the establishment's own
/// update.
///
/// The copy runs twice. First without further locks: it waits for, and then
/// locks, the inspections someone else is changing (a review, a correction),
/// which take the audit tail's lock after their row. Then again, only where a
/// row still differs, holding the audit tail's lock, under which minutes
/// being written read the establishment again (see
/// [`crate::api::inspections::post_batch`]): minutes committed in between
/// with the old values are caught here, later ones read the new values.
pub fn copy_to_inspections(
    conn: &mut DbConnection,
    before: &Establishment,
    unit_path: &str,
    org_unit_code: &str,
    business_type: &str,
) -> Result<(), ApiError> {
    if before.unit_path == unit_path
        && before.org_unit_code == org_unit_code
        && before.business_type == business_type
    {
        return Ok(());
    }
    let set = (
        inspections::unit_path.eq(unit_path),
        inspections::org_unit_code.eq(org_unit_code),
        inspections::business_type.eq(business_type),
    );
    let of_this = inspections::establishment_id.eq(&before.id);
    diesel::update(inspections::table.filter(of_this))
        .set(set)
        .execute(conn)?;
    crate::app::audit::lock_tail(conn)?;
    diesel::update(
        inspections::table.filter(of_this).filter(
            inspections::unit_path
                .ne(unit_path)
                .or(inspections::org_unit_code.ne(org_unit_code))
                .or(inspections::business_type.ne(business_type)),
        ),
    )
    .set(set)
    .execute(conn)?;
    Ok(())
}

/// The path of an org unit the caller may place establishments in; the
/// error names `field` when the unit does not exist or is outside its area.
fn unit_path_in_scope(
    conn: &mut DbConnection,
    user: &AuthUser,
    code: &str,
    field: &str,
) -> Result<String, ApiError> {
    let path: Option<String> = org_units::table
        .find(code)
        .select(org_units::path)
        .first(conn)
        .optional()?;
    match path {
        Some(p) if user.sees(&p) => Ok(p),
        _ => Err(ApiError::field(field, "no such org unit in your area")),
    }
}

/// A new establishment row, as the API, the import and the demo write it.
#[derive(Insertable)]
#[diesel(table_name = establishments, treat_none_as_default_value = false)]
struct NewEstablishment {
    id: String,
    licence_no: String,
    name: String,
    name_fold: String,
    business_type: String,
    org_unit_code: String,
    unit_path: String,
    address: String,
    owner_name: Option<String>,
    phone: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    status: &'static str,
    reinspect: bool,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl NewEstablishment {
    /// An active establishment at version 1 under `unit_path`.
    fn new(id: String, f: EstablishmentFields, unit_path: String, t: NaiveDateTime) -> Self {
        NewEstablishment {
            id,
            licence_no: f.licence_no,
            name: f.name,
            name_fold: f.name_fold,
            business_type: f.business_type,
            org_unit_code: f.org_unit_code,
            unit_path,
            address: f.address,
            owner_name: f.owner_name,
            phone: f.phone,
            latitude: f.latitude,
            longitude: f.longitude,
            status: "active",
            reinspect: false,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }
}

fn insert_new(
    conn: &mut DbConnection,
    f: &EstablishmentFields,
    unit_path: &str,
    t: NaiveDateTime,
) -> Result<String, diesel::result::Error> {
    let id = new_id();
    diesel::insert_into(establishments::table)
        .values(NewEstablishment::new(
            id.clone(),
            f.clone(),
            unit_path.to_string(),
            t,
        ))
        .execute(conn)?;
    Ok(id)
}

fn duplicate_licence(licence: &str) -> ApiError {
    ApiError::Conflict(format!(
        "an establishment with licence_no {licence} already exists"
    ))
}

/// `POST /establishments` (admin, supervisor).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<EstablishmentInput>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let fields = body.0.parse().map_err(ApiError::Validation)?;
    let e = db
        .write(move |conn| {
            let path = unit_path_in_scope(conn, &user, &fields.org_unit_code, "org_unit_code")?;
            let id = insert_new(conn, &fields, &path, now()).on_unique(
                "establishments_licence_no_key",
                "establishments.licence_no",
                || duplicate_licence(&fields.licence_no),
            )?;
            let created = load_visible(conn, &user, &id)?;
            crate::app::audit::record(
                conn,
                &user.id,
                "establishment.create",
                &id,
                None,
                Some(&created),
            )?;
            Ok(created)
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::CREATED, e))
}

/// `GET /establishments/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let e = db.run(move |conn| load_visible(conn, &user, &id)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, e))
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

/// `GET /establishments?org_unit=&business_type=&status=&q=` (by id).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if let Some(b) = &q.business_type {
        if !BUSINESS_TYPES.contains(&b.as_str()) {
            return Err(ApiError::field(
                "business_type",
                format!("must be one of {}", BUSINESS_TYPES.join(", ")),
            ));
        }
    }
    if let Some(s) = &q.status {
        if s != "active" && s != "closed" {
            return Err(ApiError::field("status", "must be active or closed"));
        }
    }
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    let page = db
        .run(move |conn| {
            let mut query = establishments::table
                .select(Establishment::as_select())
                .order(establishments::id)
                .limit(limit + 1)
                .into_boxed();
            if let Some(scope) = &user.scope_path {
                query = query.filter(establishments::unit_path.like(format!("{scope}%")));
            }
            if let Some(code) = &q.org_unit {
                let path: Option<String> = org_units::table
                    .find(code)
                    .select(org_units::path)
                    .first(conn)
                    .optional()?;
                match path {
                    Some(p) => {
                        query = query.filter(establishments::unit_path.like(format!("{p}%")))
                    }
                    None => {
                        return Ok(Page {
                            items: vec![],
                            next_cursor: None,
                        })
                    }
                }
            }
            if let Some(b) = &q.business_type {
                query = query.filter(establishments::business_type.eq(b.clone()));
            }
            if let Some(s) = &q.status {
                query = query.filter(establishments::status.eq(s.clone()));
            }
            if let Some(text) = q.q.as_deref().map(fold).filter(|t| !t.is_empty()) {
                let pattern = format!("%{}%", text.replace(['\\', '%'], "").replace('_', " "));
                let raw = format!("%{}%", nfc(q.q.as_deref().unwrap_or("")));
                query = query.filter(
                    establishments::name_fold
                        .like(pattern)
                        .or(establishments::licence_no.like(raw)),
                );
            }
            if let Some(a) = after {
                query = query.filter(establishments::id.gt(a));
            }
            let rows = query.load::<Establishment>(conn)?;
            let items: Vec<EstablishmentDto> =
                rows.into_iter().map(EstablishmentDto::from).collect();
            Ok(Page::from_rows(items, limit, |e: &EstablishmentDto| {
                e.id.clone()
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
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

/// `PATCH /establishments/{id}` (admin, supervisor; `If-Match`).
pub async fn patch(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    let p = body.0;
    let e = db
        .write(move |conn| {
            let before = load_visible(conn, &user, &id)?;
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
            let path = unit_path_in_scope(conn, &user, &f.org_unit_code, "org_unit_code")?;
            // The version guard makes a concurrent writer lose with 412, not overwrite.
            let n = diesel::update(
                establishments::table
                    .find(&id)
                    .filter(establishments::version.eq(before.version)),
            )
            .set((
                establishments::licence_no.eq(&f.licence_no),
                establishments::name.eq(&f.name),
                establishments::name_fold.eq(&f.name_fold),
                establishments::business_type.eq(&f.business_type),
                establishments::org_unit_code.eq(&f.org_unit_code),
                establishments::unit_path.eq(&path),
                establishments::address.eq(&f.address),
                establishments::owner_name.eq(&f.owner_name),
                establishments::phone.eq(&f.phone),
                establishments::latitude.eq(f.latitude),
                establishments::longitude.eq(f.longitude),
                establishments::reinspect.eq(p.reinspect.unwrap_or(before.reinspect)),
                establishments::version.eq(before.version + 1),
                establishments::updated_at.eq(now()),
            ))
            .execute(conn)
            .on_unique(
                "establishments_licence_no_key",
                "establishments.licence_no",
                || duplicate_licence(&f.licence_no),
            )?;
            if n == 0 {
                return Err(ApiError::PreconditionFailed {
                    current_version: before.version + 1,
                });
            }
            copy_to_inspections(conn, &before, &path, &f.org_unit_code, &f.business_type)?;
            let after = load_visible(conn, &user, &id)?;
            crate::app::audit::record(
                conn,
                &user.id,
                "establishment.update",
                &id,
                Some(&before),
                Some(&after),
            )?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, e))
}

/// `POST /establishments/{id}/close` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    closed_on: NaiveDate,
    reason: String,
}

/// `POST /establishments/{id}/close` (admin, supervisor).
pub async fn close(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<CloseBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let id = path_uuid(&id)?;
    let expected = if_match(&req)?;
    let CloseBody { closed_on, reason } = body.0;
    let reason = nfc(&reason);
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    if closed_on > chrono::Utc::now().date_naive() + chrono::Duration::days(1) {
        return Err(ApiError::field("closed_on", "cannot be in the future"));
    }
    let e = db
        .write(move |conn| {
            let before = load_visible(conn, &user, &id)?;
            check_version(expected, before.version)?;
            if before.status == "closed" {
                return Err(ApiError::Conflict(
                    "the establishment is already closed".into(),
                ));
            }
            let n = diesel::update(
                establishments::table
                    .find(&id)
                    .filter(establishments::version.eq(before.version)),
            )
            .set((
                establishments::status.eq("closed"),
                establishments::closed_on.eq(closed_on),
                establishments::closed_reason.eq(&reason),
                establishments::version.eq(before.version + 1),
                establishments::updated_at.eq(now()),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(ApiError::PreconditionFailed {
                    current_version: before.version + 1,
                });
            }
            crate::app::plans::on_establishment_closed(conn, &id)?;
            let after = load_visible(conn, &user, &id)?;
            crate::app::audit::record(
                conn,
                &user.id,
                "establishment.close",
                &id,
                Some(&before),
                Some(&after),
            )?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, e))
}

/// The columns an establishment import may carry (the create fields).
pub const IMPORT_COLUMNS: [&str; 9] = [
    "licence_no",
    "name",
    "business_type",
    "org_unit_code",
    "address",
    "owner_name",
    "phone",
    "latitude",
    "longitude",
];

/// One import row: its spreadsheet row number and its cells by column name.
pub type ImportRow = (usize, HashMap<String, String>);

/// Turns a row's cells into an input, or the first problem it has.
fn row_input(
    row: usize,
    cells: &HashMap<String, String>,
) -> Result<EstablishmentInput, Vec<RowError>> {
    let get = |k: &str| {
        cells
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let opt = |k: &str| Some(get(k)).filter(|s| !s.is_empty());
    let mut errs = Vec::new();
    let mut num = |k: &str| -> Option<f64> {
        let v = get(k);
        if v.is_empty() {
            return None;
        }
        match v.replace(',', ".").parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errs.push(RowError {
                    row,
                    field: Some(k.into()),
                    message: "must be a number".into(),
                });
                None
            }
        }
    };
    let input = EstablishmentInput {
        licence_no: get("licence_no"),
        name: get("name"),
        business_type: get("business_type"),
        org_unit_code: get("org_unit_code"),
        address: get("address"),
        owner_name: opt("owner_name"),
        phone: opt("phone"),
        latitude: num("latitude"),
        longitude: num("longitude"),
    };
    if errs.is_empty() {
        Ok(input)
    } else {
        Err(errs)
    }
}

/// Reads an establishment CSV into rows; a header naming an unknown column,
/// or lacking a required one, is a 422 naming it.
pub fn csv_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    if bytes.contains(&0) {
        return Err(ApiError::field("body", crate::api::extract::NUL_MESSAGE));
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ApiError::field("body", format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    check_header(&headers)?;
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let mut cells = HashMap::new();
        match rec {
            Ok(rec) => {
                for (h, v) in headers.iter().zip(rec.iter()) {
                    cells.insert(h.clone(), v.to_string());
                }
            }
            Err(e) => {
                cells.insert("\u{0}error".into(), format!("unreadable row: {e}"));
            }
        }
        rows.push((row, cells));
    }
    Ok(rows)
}

/// Media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Reads the first sheet of an XLSX workbook into rows (first row = header),
/// with the same header rules as CSV.
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| ApiError::field("body", format!("not a readable XLSX workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| ApiError::field("body", "the workbook has no sheet"))?
        .map_err(|e| ApiError::field("body", format!("cannot read the first sheet: {e}")))?;
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .ok_or_else(|| ApiError::field("body", "the sheet is empty"))?
        .iter()
        .map(|c| c.to_string().trim().to_string())
        .collect();
    let width = headers
        .iter()
        .rposition(|h| !h.is_empty())
        .map_or(0, |i| i + 1);
    let headers = headers[..width].to_vec();
    check_header(&headers)?;
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let cells = headers
            .iter()
            .zip(row.iter())
            .map(|(h, c)| {
                (
                    h.clone(),
                    if matches!(c, Data::Empty) {
                        String::new()
                    } else {
                        c.to_string()
                    },
                )
            })
            .collect();
        out.push((i + 2, cells));
    }
    Ok(out)
}

/// Checks an import header against [`IMPORT_COLUMNS`].
pub fn check_header(headers: &[String]) -> Result<(), ApiError> {
    // A hostile header (a million columns) gets one error, not a million.
    if headers.len() > 4 * IMPORT_COLUMNS.len() {
        return Err(ApiError::field(
            "header",
            format!(
                "{} columns; expected at most {} ({})",
                headers.len(),
                IMPORT_COLUMNS.len(),
                IMPORT_COLUMNS.join(",")
            ),
        ));
    }
    let mut errs = Vec::new();
    for h in headers {
        if !IMPORT_COLUMNS.contains(&h.as_str()) {
            errs.push(FieldError::new(
                h.clone(),
                format!("unknown column; expected {}", IMPORT_COLUMNS.join(",")),
            ));
        }
    }
    for required in &IMPORT_COLUMNS[..5] {
        if !headers.iter().any(|h| h == required) {
            errs.push(FieldError::new(
                *required,
                "required column missing from the header",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errs))
    }
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
    let units: HashMap<String, String> = org_units::table
        .select((org_units::code, org_units::path))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut summary = ImportSummary::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut done = 0;
    for batch in rows.chunks(1000) {
        let mut valid: Vec<(usize, EstablishmentFields, String)> = Vec::with_capacity(batch.len());
        for (row, cells) in batch {
            let row = *row;
            if let Some(msg) = cells.get("\u{0}error") {
                summary.errors.push(RowError {
                    row,
                    field: None,
                    message: msg.clone(),
                });
                continue;
            }
            let fields = match row_input(row, cells) {
                Err(errs) => {
                    summary.errors.extend(errs);
                    continue;
                }
                Ok(input) => match input.parse() {
                    Ok(f) => f,
                    Err(errs) => {
                        summary.errors.extend(errs.into_iter().map(|e| RowError {
                            row,
                            field: Some(e.field),
                            message: e.message,
                        }));
                        continue;
                    }
                },
            };
            let path = match units.get(&fields.org_unit_code) {
                Some(p) if scope.is_none_or(|s| p.starts_with(s)) => p.clone(),
                _ => {
                    summary.errors.push(RowError {
                        row,
                        field: Some("org_unit_code".into()),
                        message: "no such org unit in your area".into(),
                    });
                    continue;
                }
            };
            if !seen.insert(fields.licence_no.clone()) {
                summary.errors.push(RowError {
                    row,
                    field: Some("licence_no".into()),
                    message: format!(
                        "licence_no {} appears earlier in the file",
                        fields.licence_no
                    ),
                });
                continue;
            }
            valid.push((row, fields, path));
        }
        let licences: Vec<&str> = valid
            .iter()
            .map(|(_, f, _)| f.licence_no.as_str())
            .collect();
        let existing: HashMap<String, Establishment> = establishments::table
            .filter(establishments::licence_no.eq_any(&licences))
            .select(Establishment::as_select())
            .load(conn)?
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
                        message: "this licence belongs to an establishment outside your area"
                            .into(),
                    });
                }
                Some(e) if same_fields(e, &f) => summary.unchanged += 1,
                Some(e) => {
                    summary.updated += 1;
                    diesel::update(establishments::table.find(&e.id))
                        .set((
                            establishments::name.eq(&f.name),
                            establishments::name_fold.eq(&f.name_fold),
                            establishments::business_type.eq(&f.business_type),
                            establishments::org_unit_code.eq(&f.org_unit_code),
                            establishments::unit_path.eq(&path),
                            establishments::address.eq(&f.address),
                            establishments::owner_name.eq(&f.owner_name),
                            establishments::phone.eq(&f.phone),
                            establishments::latitude.eq(f.latitude),
                            establishments::longitude.eq(f.longitude),
                            establishments::version.eq(e.version + 1),
                            establishments::updated_at.eq(t),
                        ))
                        .execute(conn)?;
                    copy_to_inspections(conn, e, &path, &f.org_unit_code, &f.business_type)?;
                    let after = establishments::table
                        .find(&e.id)
                        .select(Establishment::as_select())
                        .first(conn)?;
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
        // 19 columns a row: 1,000 rows (19,000 binds) a statement on SQLite.
        crate::bulk_insert!(conn, establishments::table, &inserts[..], 1000);
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

/// `POST /establishments/import` (admin, supervisor; `text/csv`).
pub async fn import(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    require_media_type(&req, &["text/csv", XLSX])?;
    let is_xlsx = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(XLSX));
    let body = read_body(&req, &mut payload, IMPORT_LIMIT).await?;
    let rows = web::block(move || {
        if is_xlsx {
            xlsx_rows(&body)
        } else {
            csv_rows(&body)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let summary = db
        .write(move |conn| import_rows(conn, rows, user.scope_path.as_deref(), &user.id, |_| {}))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
