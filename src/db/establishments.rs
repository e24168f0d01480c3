//! The `establishments` table, and the copies of an establishment's unit
//! path, commune and business type on its inspections.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{establishments, inspections};
use crate::db::{DbConnection, ResultExt};
use crate::domain::establishment::EstablishmentFields;
use crate::domain::status::EstablishmentStatus;
use crate::error::ApiError;

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

/// A new establishment row, as the API, the import and the demo write it.
#[derive(Insertable)]
#[diesel(table_name = establishments, treat_none_as_default_value = false)]
pub struct NewEstablishment {
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
    pub fn new(id: String, f: EstablishmentFields, unit_path: String, t: NaiveDateTime) -> Self {
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
            status: EstablishmentStatus::Active.as_str(),
            reinspect: false,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }
}

/// 409 for a licence number another establishment holds.
fn duplicate_licence(licence: &str) -> ApiError {
    ApiError::Conflict(crate::domain::establishment::licence_unavailable(licence))
}

/// Maps a violation of the licence number's uniqueness to its 409.
fn on_licence_taken<T>(r: QueryResult<T>, licence: &str) -> Result<T, ApiError> {
    r.on_unique(
        "establishments_licence_no_key",
        "establishments.licence_no",
        || duplicate_licence(licence),
    )
}

/// One establishment by id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Establishment>, ApiError> {
    Ok(establishments::table
        .find(id)
        .select(Establishment::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts one establishment; 409 when its licence number is taken.
pub fn insert(conn: &mut DbConnection, row: NewEstablishment) -> Result<(), ApiError> {
    let licence = row.licence_no.clone();
    on_licence_taken(
        diesel::insert_into(establishments::table)
            .values(row)
            .execute(conn),
        &licence,
    )?;
    Ok(())
}

/// Inserts many new establishments at once.
pub fn insert_many(conn: &mut DbConnection, rows: &[NewEstablishment]) -> Result<(), ApiError> {
    // 19 columns a row: 1,000 rows a statement stays under SQLite's bind limit.
    crate::bulk_insert!(conn, establishments::table, rows, 1000);
    Ok(())
}

/// What `GET /establishments` filters on.
pub struct ListFilter {
    /// Unit paths under each of these prefixes (the caller's area, the unit asked for).
    pub under: Vec<String>,
    /// This business type only.
    pub business_type: Option<String>,
    /// This status only.
    pub status: Option<EstablishmentStatus>,
    /// Folded names `LIKE` the first pattern, or licence numbers `LIKE` the
    /// second; both escape with a backslash.
    pub text: Option<(String, String)>,
    /// Ids after this one (the page cursor).
    pub after: Option<String>,
    /// Rows to read.
    pub limit: i64,
}

/// A page of establishments by id.
pub fn list_page(conn: &mut DbConnection, f: ListFilter) -> Result<Vec<Establishment>, ApiError> {
    let mut query = establishments::table
        .select(Establishment::as_select())
        .order(establishments::id)
        .limit(f.limit)
        .into_boxed();
    for prefix in f.under {
        query = query.filter(establishments::unit_path.like(format!("{prefix}%")));
    }
    if let Some(b) = f.business_type {
        query = query.filter(establishments::business_type.eq(b));
    }
    if let Some(s) = f.status {
        query = query.filter(establishments::status.eq(s.as_str()));
    }
    if let Some((name, licence)) = f.text {
        // `licence_no || ''` is the licence number itself: the expression
        // PostgreSQL's trigram index is on (see the migration
        // 000111_search_and_inspected), so that `LIKE '%…%'` on both columns
        // is answered from the indexes.
        let licence_no =
            diesel::dsl::sql::<diesel::sql_types::Text>("(establishments.licence_no || '')");
        query = query.filter(
            establishments::name_fold
                .like(name)
                .escape('\\')
                .or(licence_no.like(licence).escape('\\')),
        );
    }
    if let Some(a) = f.after {
        query = query.filter(establishments::id.gt(a));
    }
    Ok(query.load::<Establishment>(conn)?)
}

/// The establishments holding any of these licence numbers.
pub fn by_licences(
    conn: &mut DbConnection,
    licences: &[&str],
) -> Result<Vec<Establishment>, ApiError> {
    Ok(establishments::table
        .filter(establishments::licence_no.eq_any(licences))
        .select(Establishment::as_select())
        .load(conn)?)
}

/// Writes new fields over the establishment at `version`, bumping it;
/// returns how many rows changed (0 when another writer got there first).
/// 409 when the licence number is taken.
pub fn update_at_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    f: &EstablishmentFields,
    unit_path: &str,
    reinspect: bool,
    t: NaiveDateTime,
) -> Result<usize, ApiError> {
    on_licence_taken(
        diesel::update(
            establishments::table
                .find(id)
                .filter(establishments::version.eq(version)),
        )
        .set((
            establishments::licence_no.eq(&f.licence_no),
            establishments::name.eq(&f.name),
            establishments::name_fold.eq(&f.name_fold),
            establishments::business_type.eq(&f.business_type),
            establishments::org_unit_code.eq(&f.org_unit_code),
            establishments::unit_path.eq(unit_path),
            establishments::address.eq(&f.address),
            establishments::owner_name.eq(&f.owner_name),
            establishments::phone.eq(&f.phone),
            establishments::latitude.eq(f.latitude),
            establishments::longitude.eq(f.longitude),
            establishments::reinspect.eq(reinspect),
            establishments::version.eq(version + 1),
            establishments::updated_at.eq(t),
        ))
        .execute(conn),
        &f.licence_no,
    )
}

/// Writes an import row's fields (all but the licence number, which found
/// it) over an establishment, bumping its version.
pub fn update_from_import(
    conn: &mut DbConnection,
    e: &Establishment,
    f: &EstablishmentFields,
    unit_path: &str,
    t: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(establishments::table.find(&e.id))
        .set((
            establishments::name.eq(&f.name),
            establishments::name_fold.eq(&f.name_fold),
            establishments::business_type.eq(&f.business_type),
            establishments::org_unit_code.eq(&f.org_unit_code),
            establishments::unit_path.eq(unit_path),
            establishments::address.eq(&f.address),
            establishments::owner_name.eq(&f.owner_name),
            establishments::phone.eq(&f.phone),
            establishments::latitude.eq(f.latitude),
            establishments::longitude.eq(f.longitude),
            establishments::version.eq(e.version + 1),
            establishments::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Closes the establishment at `version`, bumping it; returns how many rows
/// changed (0 when another writer got there first).
pub fn close_at_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    closed_on: NaiveDate,
    reason: &str,
    t: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        establishments::table
            .find(id)
            .filter(establishments::version.eq(version)),
    )
    .set((
        establishments::status.eq(EstablishmentStatus::Closed.as_str()),
        establishments::closed_on.eq(closed_on),
        establishments::closed_reason.eq(reason),
        establishments::version.eq(version + 1),
        establishments::updated_at.eq(t),
    ))
    .execute(conn)?)
}

/// Sets the unit path of every establishment of a unit (the unit moved).
pub fn set_unit_path_of_unit(
    conn: &mut DbConnection,
    org_unit_code: &str,
    path: &str,
) -> Result<(), ApiError> {
    diesel::update(establishments::table.filter(establishments::org_unit_code.eq(org_unit_code)))
        .set(establishments::unit_path.eq(path))
        .execute(conn)?;
    Ok(())
}

/// The copies an inspection keeps of its establishment.
pub struct Copies<'a> {
    /// The unit's path.
    pub unit_path: &'a str,
    /// The commune.
    pub org_unit_code: &'a str,
    /// The business type.
    pub business_type: &'a str,
}

/// Sets the copies on every inspection of an establishment.
pub fn copy_to_inspections(
    conn: &mut DbConnection,
    id: &str,
    c: &Copies<'_>,
) -> Result<(), ApiError> {
    diesel::update(inspections::table.filter(inspections::establishment_id.eq(id)))
        .set((
            inspections::unit_path.eq(c.unit_path),
            inspections::org_unit_code.eq(c.org_unit_code),
            inspections::business_type.eq(c.business_type),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the copies on the inspections of an establishment where any of them
/// differs.
pub fn copy_to_differing_inspections(
    conn: &mut DbConnection,
    id: &str,
    c: &Copies<'_>,
) -> Result<(), ApiError> {
    diesel::update(
        inspections::table
            .filter(inspections::establishment_id.eq(id))
            .filter(
                inspections::unit_path
                    .ne(c.unit_path)
                    .or(inspections::org_unit_code.ne(c.org_unit_code))
                    .or(inspections::business_type.ne(c.business_type)),
            ),
    )
    .set((
        inspections::unit_path.eq(c.unit_path),
        inspections::org_unit_code.eq(c.org_unit_code),
        inspections::business_type.eq(c.business_type),
    ))
    .execute(conn)?;
    Ok(())
}
