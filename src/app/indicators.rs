//! A plan's other targets (issue 19): indicators defined per plan as data,
//! activities recorded against them by the units, and their values per
//! district and for the plan's area (rules in `docs/indicators.md`, the pure
//! computation in [`crate::domain::indicators`]).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::auth::AuthUser;
use crate::app::plans::{load_plan, Plan};
use crate::app::policy::{counted_path, found_if, require_manager};
use crate::db::indicators::{self as rows, ActivityFilter, ActivityRow, IndicatorRow};
use crate::db::{Db, DbConnection};
use crate::domain::indicators::{value_of, Done, Kind, Value};
use crate::domain::page::{Page, PageParams};
use crate::domain::text::nfc;
use crate::domain::values::{new_id, now, parse_uuid, path_uuid, rfc3339};
use crate::error::{ApiError, FieldError};

/// `recorded`: the activity counts.
pub const RECORDED: &str = "recorded";
/// `withdrawn`: kept for the record, counts for nothing.
pub const WITHDRAWN: &str = "withdrawn";

/// `POST /plans/{id}/indicators` body.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewIndicator {
    /// Unique within the plan: letters, digits, `_`, `-`, `.`.
    pub code: String,
    /// What it measures.
    pub name: String,
    /// `province`, `district` or `commune`.
    pub unit_level: String,
    /// `share_of_units`, `count` or `per_month`.
    pub kind: String,
    /// The target (a percent for `share_of_units`).
    pub target: f64,
}

/// `PUT /plans/{id}/indicators/{code}` body: the whole indicator but its
/// code, with the version it corrects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorPut {
    /// The version read.
    pub version: i32,
    /// What it measures.
    pub name: String,
    /// `province`, `district` or `commune`.
    pub unit_level: String,
    /// `share_of_units`, `count` or `per_month`.
    pub kind: String,
    /// The target.
    pub target: f64,
}

/// An indicator's value over one child unit of the plan's.
#[derive(Debug, Serialize, Clone)]
pub struct UnitLine {
    /// The unit's code.
    pub org_unit_code: String,
    /// Its name.
    pub name: String,
    /// The value (see the indicator's kind).
    pub value: f64,
    /// What it must be to be on track; `null` for a `count`, whose target
    /// is the plan area's total.
    pub expected: Option<f64>,
    /// Whether it is; `null` for a `count`.
    pub on_track: Option<bool>,
    /// share_of_units: units reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_reached: Option<i64>,
    /// share_of_units: units of the level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_total: Option<i64>,
}

/// An indicator with its value on a day.
#[derive(Debug, Serialize, Clone)]
pub struct IndicatorDto {
    /// Id.
    pub id: String,
    /// Its plan.
    pub plan_id: String,
    /// Unique within the plan.
    pub code: String,
    /// What it measures.
    pub name: String,
    /// The level of the units that report.
    pub unit_level: String,
    /// How the value is computed.
    pub kind: String,
    /// The target.
    pub target: f64,
    /// Optimistic version.
    pub version: i32,
    /// When defined (RFC 3339).
    pub created_at: String,
    /// When last changed (RFC 3339).
    pub updated_at: String,
    /// The day the value is for.
    pub as_of: NaiveDate,
    /// The value over the plan's area (the caller's part of it).
    pub value: f64,
    /// What it must be to be on track on `as_of`.
    pub expected: f64,
    /// Whether it is.
    pub on_track: bool,
    /// share_of_units: units reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_reached: Option<i64>,
    /// share_of_units: units of the level in the area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_total: Option<i64>,
    /// Per child unit of the plan's (district, or commune where there are
    /// no districts); empty for an indicator reported by the plan's own unit.
    pub by_org_unit: Vec<UnitLine>,
}

fn code_ok(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The field errors of an indicator's name, level, kind and target.
fn check_indicator(name: &str, level: &str, kind: &str, target: f64) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if nfc(name).is_empty() {
        errs.push(FieldError::new("name", "is required"));
    } else if name.chars().count() > 500 {
        errs.push(FieldError::new("name", "at most 500 characters"));
    }
    if crate::domain::level_rank(level).is_none() {
        errs.push(FieldError::new(
            "unit_level",
            "must be province, district or commune",
        ));
    }
    match Kind::parse(kind) {
        None => errs.push(FieldError::new(
            "kind",
            "must be share_of_units, count or per_month",
        )),
        Some(k) => {
            if let Err(m) = k.check_target(target) {
                errs.push(FieldError::new("target", m));
            }
        }
    }
    errs
}

fn fail_if(errs: Vec<FieldError>) -> Result<(), ApiError> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// The plan, if the caller may define its indicators: whoever may create
/// or change the plan (a manager whose area holds the plan's unit); a plan
/// the caller cannot change is 404, as for cancelling it.
fn plan_to_change(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
) -> Result<(Plan, String), ApiError> {
    let (plan, path) = load_plan(conn, user, plan_id)?;
    found_if(user.sees(&path))?;
    Ok((plan, path))
}

/// `POST /plans/{id}/indicators` (admin, supervisor whose area holds the
/// plan's unit): 201 with the indicator and its value today.
pub async fn create(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    body: NewIndicator,
) -> Result<IndicatorDto, ApiError> {
    require_manager(&user)?;
    let plan_id = path_uuid(&plan_id)?;
    db.write(move |conn| {
        let (plan, path) = plan_to_change(conn, &user, &plan_id)?;
        let row = define_in_tx(conn, &user, &plan, body)?;
        let mut dtos = with_values(conn, &user, &plan, &path, &[row], default_day(&plan))?;
        dtos.pop().ok_or(ApiError::NotFound)
    })
    .await
}

/// Validates and stores an indicator of `plan` (inside the caller's
/// transaction), audited as `indicator.create`.
pub fn define_in_tx(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: &Plan,
    body: NewIndicator,
) -> Result<IndicatorRow, ApiError> {
    let code = body.code.trim().to_string();
    let mut errs = Vec::new();
    if !code_ok(&code) {
        errs.push(FieldError::new(
            "code",
            "1 to 32 letters, digits, '_', '-' or '.'",
        ));
    }
    errs.extend(check_indicator(
        &body.name,
        &body.unit_level,
        &body.kind,
        body.target,
    ));
    fail_if(errs)?;
    let t = now();
    let row = IndicatorRow {
        id: new_id(),
        plan_id: plan.id.clone(),
        position: rows::next_position(conn, &plan.id)?,
        code,
        name: nfc(&body.name),
        unit_level: body.unit_level,
        kind: body.kind,
        target: body.target,
        version: 1,
        created_by: user.id.clone(),
        created_at: t,
        updated_by: user.id.clone(),
        updated_at: t,
    };
    rows::insert(conn, &row)?;
    crate::app::audit::record(
        conn,
        &user.id,
        "indicator.create",
        &row.id,
        None,
        Some(&row),
    )?;
    Ok(row)
}

/// `PUT /plans/{id}/indicators/{code}`: the corrected indicator; a stale
/// `version` is 409 (and a stale `If-Match` 412, as everywhere); its level
/// cannot change once activities are recorded against it.
pub async fn update(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    code: String,
    expected: Option<i32>,
    body: IndicatorPut,
) -> Result<IndicatorDto, ApiError> {
    require_manager(&user)?;
    let plan_id = path_uuid(&plan_id)?;
    db.write(move |conn| {
        let (plan, path) = plan_to_change(conn, &user, &plan_id)?;
        let before = rows::find(conn, &plan.id, &code)?.ok_or(ApiError::NotFound)?;
        crate::domain::values::check_version(expected, before.version)?;
        fail_if(check_indicator(
            &body.name,
            &body.unit_level,
            &body.kind,
            body.target,
        ))?;
        if body.version != before.version {
            return Err(stale(before.version));
        }
        if body.unit_level != before.unit_level && rows::count_of_indicator(conn, &before.id)? > 0 {
            return Err(ApiError::field(
                "unit_level",
                "cannot change: activities are recorded at the current level",
            ));
        }
        let mut after = before.clone();
        after.name = nfc(&body.name);
        after.unit_level = body.unit_level;
        after.kind = body.kind;
        after.target = body.target;
        after.updated_by = user.id.clone();
        after.updated_at = now();
        if rows::update_at_version(conn, &after, before.version)? == 0 {
            return Err(stale(before.version + 1));
        }
        after.version = before.version + 1;
        crate::app::audit::record(
            conn,
            &user.id,
            "indicator.update",
            &after.id,
            Some(&before),
            Some(&after),
        )?;
        let mut dtos = with_values(conn, &user, &plan, &path, &[after], default_day(&plan))?;
        dtos.pop().ok_or(ApiError::NotFound)
    })
    .await
}

fn stale(current: i32) -> ApiError {
    ApiError::Conflict(format!(
        "stale version: the record is at version {current}; read it again and re-apply the change"
    ))
}

/// `?date=` of the indicator list.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValuesParams {
    /// The day the values are for (default: today, within the plan's year).
    pub date: Option<NaiveDate>,
}

/// The day values are computed for by default: today, but no later than
/// the plan's last day.
pub fn default_day(plan: &Plan) -> NaiveDate {
    let today = crate::domain::calendar::today();
    NaiveDate::from_ymd_opt(plan.year, 12, 31).map_or(today, |end| today.min(end))
}

/// `GET /plans/{id}/indicators?date=`: every indicator of a plan the caller
/// may see, each with its value for the plan's area (the caller's part of
/// it) and per child unit, against its target on the day.
pub async fn list(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    q: ValuesParams,
) -> Result<Page<IndicatorDto>, ApiError> {
    let plan_id = path_uuid(&plan_id)?;
    db.run(move |conn| {
        let (plan, path) = load_plan(conn, &user, &plan_id)?;
        let day = q.date.unwrap_or_else(|| default_day(&plan));
        let defs = rows::of_plan(conn, &plan.id)?;
        Ok(Page {
            items: with_values(conn, &user, &plan, &path, &defs, day)?,
            next_cursor: None,
        })
    })
    .await
}

/// The values of `defs` (indicators of `plan`, whose unit is at
/// `plan_path`) on `day`, over the caller's part of the plan's area.
pub fn with_values(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: &Plan,
    plan_path: &str,
    defs: &[IndicatorRow],
    day: NaiveDate,
) -> Result<Vec<IndicatorDto>, ApiError> {
    let area = counted_path(user, plan_path);
    let like = format!("{area}%");
    let done = rows::recorded_of_plan(conn, &plan.id, &like)?;
    // The children of the plan's unit (inside the caller's area).
    let plan_level = crate::db::org_units::find(conn, &plan.org_unit_code)?
        .map(|u| u.level)
        .unwrap_or_default();
    let level_below = crate::domain::level_rank(&plan_level).map(|r| r + 1);
    let children: Vec<(String, String, String)> = level_below
        .and_then(|r| crate::domain::LEVELS.get(r))
        .map(|lvl| rows::units_at(conn, &like, lvl))
        .transpose()?
        .unwrap_or_default();
    let mut units_cache: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    let mut out = Vec::with_capacity(defs.len());
    for def in defs {
        let kind = Kind::parse(&def.kind).unwrap_or(Kind::Count);
        if !units_cache.contains_key(&def.unit_level) {
            let units = rows::units_at(conn, &like, &def.unit_level)?;
            units_cache.insert(def.unit_level.clone(), units);
        }
        let units = &units_cache[&def.unit_level];
        let mine: Vec<(&str, &str, Done<'_>)> = done
            .iter()
            .filter(|a| a.0 == def.id)
            .map(|a| {
                (
                    a.1.as_str(),
                    a.2.as_str(),
                    Done {
                        unit: a.1.as_str(),
                        date: a.3,
                        quantity: a.4,
                    },
                )
            })
            .collect();
        let all: Vec<Done<'_>> = mine.iter().map(|m| m.2.clone()).collect();
        let codes: Vec<&str> = units.iter().map(|u| u.0.as_str()).collect();
        let total = value_of(kind, def.target, plan.year, day, &codes, &all);
        let child_rank = level_below.unwrap_or(usize::MAX);
        let reported_below =
            crate::domain::level_rank(&def.unit_level).is_some_and(|r| r >= child_rank);
        let by_org_unit = if reported_below {
            children
                .iter()
                .map(|(ccode, cname, cpath)| {
                    let inside: Vec<&str> = units
                        .iter()
                        .filter(|u| u.2.starts_with(cpath.as_str()))
                        .map(|u| u.0.as_str())
                        .collect();
                    let acts: Vec<Done<'_>> = mine
                        .iter()
                        .filter(|m| m.1.starts_with(cpath.as_str()))
                        .map(|m| m.2.clone())
                        .collect();
                    let v: Value = value_of(kind, def.target, plan.year, day, &inside, &acts);
                    let whole = kind != Kind::Count;
                    UnitLine {
                        org_unit_code: ccode.clone(),
                        name: cname.clone(),
                        value: v.value,
                        expected: whole.then_some(v.expected),
                        on_track: whole.then_some(v.on_track),
                        units_reached: v.units_reached,
                        units_total: v.units_total,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(IndicatorDto {
            id: def.id.clone(),
            plan_id: def.plan_id.clone(),
            code: def.code.clone(),
            name: def.name.clone(),
            unit_level: def.unit_level.clone(),
            kind: def.kind.clone(),
            target: def.target,
            version: def.version,
            created_at: rfc3339(&def.created_at),
            updated_at: rfc3339(&def.updated_at),
            as_of: day,
            value: total.value,
            expected: total.expected,
            on_track: total.on_track,
            units_reached: total.units_reached,
            units_total: total.units_total,
            by_org_unit,
        });
    }
    Ok(out)
}

/// `POST /activities` body.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// A client-made UUID: the same id posted again is answered, never
    /// stored twice.
    pub id: Option<String>,
    /// The plan.
    pub plan_id: String,
    /// The plan's indicator.
    pub indicator_code: String,
    /// The unit that did it (at the indicator's level).
    pub org_unit_code: String,
    /// The day, `YYYY-MM-DD`, in the plan's year.
    pub date: String,
    /// How many (default 1; at least 0).
    pub quantity: Option<i64>,
    /// What was done.
    pub note: Option<String>,
}

/// `PUT /activities/{id}` body: the corrected fields and the version read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPut {
    /// The version read.
    pub version: i32,
    /// The unit that did it.
    pub org_unit_code: String,
    /// The day.
    pub date: String,
    /// How many.
    pub quantity: i64,
    /// What was done.
    #[serde(default)]
    pub note: String,
}

/// `POST /activities/{id}/withdraw` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Why it no longer counts.
    pub reason: String,
    /// The version read (a stale one is 409).
    pub version: Option<i32>,
}

/// An activity as the API shows it.
#[derive(Debug, Serialize, Clone)]
pub struct ActivityDto {
    /// Id.
    pub id: String,
    /// Its plan.
    pub plan_id: String,
    /// Its indicator's code.
    pub indicator_code: String,
    /// The unit that did it.
    pub org_unit_code: String,
    /// The day.
    pub date: NaiveDate,
    /// How many.
    pub quantity: i64,
    /// What was done.
    pub note: String,
    /// `recorded` or `withdrawn`.
    pub status: String,
    /// Why it was withdrawn.
    pub withdraw_reason: Option<String>,
    /// SHA-256 of its evidence file, if one was uploaded.
    pub evidence_sha256: Option<String>,
    /// Optimistic version.
    pub version: i32,
    /// Who recorded it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When last changed (RFC 3339).
    pub updated_at: String,
}

impl From<ActivityRow> for ActivityDto {
    fn from(a: ActivityRow) -> Self {
        ActivityDto {
            created_at: rfc3339(&a.created_at),
            updated_at: rfc3339(&a.updated_at),
            id: a.id,
            plan_id: a.plan_id,
            indicator_code: a.indicator_code,
            org_unit_code: a.org_unit_code,
            date: a.date,
            quantity: a.quantity,
            note: a.note,
            status: a.status,
            withdraw_reason: a.withdraw_reason,
            evidence_sha256: a.evidence_sha256,
            version: a.version,
            created_by: a.created_by,
        }
    }
}

/// The checked place and day of an activity: the unit's path and the date.
struct Placed {
    unit_path: String,
    date: NaiveDate,
}

/// An activity's unit, day and quantity as the caller wrote them.
struct Proposed<'a> {
    org_unit_code: &'a str,
    date: &'a str,
    quantity: i64,
}

/// Checks an activity's unit, day and quantity against its plan and
/// indicator: a unit outside the caller's area is 404; the rest 422 naming
/// the field.
fn place(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: &Plan,
    plan_path: &str,
    indicator: Option<&IndicatorRow>,
    proposed: Proposed<'_>,
    mut errs: Vec<FieldError>,
) -> Result<Placed, ApiError> {
    let Proposed {
        org_unit_code,
        date,
        quantity,
    } = proposed;
    let unit = crate::db::org_units::find(conn, org_unit_code)?;
    if let Some(u) = &unit {
        // Another area's unit does not exist for the caller.
        found_if(user.sees(&u.path))?;
    }
    match (&unit, indicator) {
        (None, _) => errs.push(FieldError::new("org_unit_code", "no such org unit")),
        (Some(u), _) if !u.path.starts_with(plan_path) => errs.push(FieldError::new(
            "org_unit_code",
            "not inside the plan's area",
        )),
        (Some(u), Some(i)) if u.level != i.unit_level => errs.push(FieldError::new(
            "org_unit_code",
            format!(
                "must be a {} (the indicator's unit_level), not a {}",
                i.unit_level, u.level
            ),
        )),
        _ => {}
    }
    let day = match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) if chrono::Datelike::year(&d) != plan.year => {
            errs.push(FieldError::new(
                "date",
                format!("outside the plan's year ({})", plan.year),
            ));
            None
        }
        Ok(d) if d > crate::domain::calendar::today() => {
            errs.push(FieldError::new("date", "is in the future"));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(FieldError::new("date", "must be YYYY-MM-DD"));
            None
        }
    };
    if quantity < 0 {
        errs.push(FieldError::new("quantity", "must be at least 0"));
    } else if quantity > 1_000_000_000 {
        errs.push(FieldError::new("quantity", "must be at most 1000000000"));
    }
    fail_if(errs)?;
    Ok(Placed {
        unit_path: unit.map(|u| u.path).unwrap_or_default(),
        date: day.unwrap_or_default(),
    })
}

fn digest(a: &NewActivity, note: &str, quantity: i64) -> String {
    let canonical = serde_json::json!({
        "plan_id": a.plan_id,
        "indicator_code": a.indicator_code,
        "org_unit_code": a.org_unit_code,
        "date": a.date,
        "quantity": quantity,
        "note": note,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// `POST /activities` (admin, supervisor inside its area): the stored
/// activity and whether it is new (201) or the same post again (200); the
/// same id with other content is 409.
pub async fn record(
    db: &Db,
    user: AuthUser,
    body: NewActivity,
) -> Result<(ActivityDto, bool), ApiError> {
    require_manager(&user)?;
    db.write(move |conn| record_in_tx(conn, &user, body)).await
}

/// [`record`] inside the caller's transaction (also the demo's seeding).
pub fn record_in_tx(
    conn: &mut DbConnection,
    user: &AuthUser,
    body: NewActivity,
) -> Result<(ActivityDto, bool), ApiError> {
    let id = match &body.id {
        Some(id) => parse_uuid("id", id)?,
        None => new_id(),
    };
    let note = nfc(body.note.as_deref().unwrap_or(""));
    let quantity = body.quantity.unwrap_or(1);
    let posted = digest(&body, &note, quantity);
    if let Some(old) = rows::find_activity(conn, &id)? {
        found_if(user.sees(&old.unit_path))?;
        return if old.posted_digest == posted {
            Ok((old.into(), false))
        } else {
            Err(ApiError::Conflict(
                "an activity with this id was posted with other content".into(),
            ))
        };
    }
    let plan_id = parse_uuid("plan_id", &body.plan_id)?;
    let Some((plan, plan_path)) = crate::db::plans::find_with_path(conn, &plan_id)?
        .filter(|(_, p)| crate::app::policy::sees_plan(user, p))
    else {
        return Err(ApiError::field("plan_id", "no such plan"));
    };
    let indicator = rows::find(conn, &plan.id, &body.indicator_code)?;
    let mut errs = Vec::new();
    if indicator.is_none() {
        errs.push(FieldError::new(
            "indicator_code",
            "the plan has no indicator with this code",
        ));
    }
    if note.chars().count() > 2000 {
        errs.push(FieldError::new("note", "at most 2000 characters"));
    }
    let placed = place(
        conn,
        user,
        &plan,
        &plan_path,
        indicator.as_ref(),
        Proposed {
            org_unit_code: &body.org_unit_code,
            date: &body.date,
            quantity,
        },
        errs,
    )?;
    let indicator = indicator.ok_or(ApiError::NotFound)?;
    let t = now();
    let row = ActivityRow {
        id,
        plan_id: plan.id,
        indicator_id: indicator.id,
        indicator_code: indicator.code,
        org_unit_code: body.org_unit_code,
        unit_path: placed.unit_path,
        date: placed.date,
        quantity,
        note,
        status: RECORDED.into(),
        withdraw_reason: None,
        evidence_sha256: None,
        posted_digest: posted,
        version: 1,
        created_by: user.id.clone(),
        created_at: t,
        updated_by: user.id.clone(),
        updated_at: t,
    };
    rows::insert_activity(conn, &row)?;
    crate::app::audit::record(conn, &user.id, "activity.create", &row.id, None, Some(&row))?;
    Ok((row.into(), true))
}

/// An activity the caller may see (its unit in the caller's area), else 404.
pub(crate) fn load_activity(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<ActivityRow, ApiError> {
    let a = rows::find_activity(conn, id)?.ok_or(ApiError::NotFound)?;
    found_if(user.sees(&a.unit_path))?;
    Ok(a)
}

/// `GET /activities/{id}`.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<ActivityDto, ApiError> {
    let id = path_uuid(&id)?;
    db.run(move |conn| load_activity(conn, &user, &id).map(ActivityDto::from))
        .await
}

/// `PUT /activities/{id}` (admin, supervisor inside its area): the
/// corrected activity; a stale `version` is 409, a stale `If-Match` 412.
pub async fn correct(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    body: ActivityPut,
) -> Result<ActivityDto, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(&id)?;
    db.write(move |conn| {
        let before = load_activity(conn, &user, &id)?;
        crate::domain::values::check_version(expected, before.version)?;
        let (plan, plan_path) =
            crate::db::plans::find_with_path(conn, &before.plan_id)?.ok_or(ApiError::NotFound)?;
        let indicator = rows::find(conn, &plan.id, &before.indicator_code)?;
        let note = nfc(&body.note);
        let mut errs = Vec::new();
        if note.chars().count() > 2000 {
            errs.push(FieldError::new("note", "at most 2000 characters"));
        }
        let placed = place(
            conn,
            &user,
            &plan,
            &plan_path,
            indicator.as_ref(),
            Proposed {
                org_unit_code: &body.org_unit_code,
                date: &body.date,
                quantity: body.quantity,
            },
            errs,
        )?;
        if body.version != before.version {
            return Err(stale(before.version));
        }
        let mut after = before.clone();
        after.org_unit_code = body.org_unit_code;
        after.unit_path = placed.unit_path;
        after.date = placed.date;
        after.quantity = body.quantity;
        after.note = note;
        save(conn, &user, "activity.correct", before, after)
    })
    .await
}

/// Writes `after` over `before` at its version, audited as `action`.
pub(crate) fn save(
    conn: &mut DbConnection,
    user: &AuthUser,
    action: &str,
    before: ActivityRow,
    mut after: ActivityRow,
) -> Result<ActivityDto, ApiError> {
    after.updated_by = user.id.clone();
    after.updated_at = now();
    if rows::update_activity_at_version(conn, &after, before.version)? == 0 {
        return Err(stale(before.version + 1));
    }
    after.version = before.version + 1;
    crate::app::audit::record(
        conn,
        &user.id,
        action,
        &after.id,
        Some(&before),
        Some(&after),
    )?;
    Ok(after.into())
}

/// `POST /activities/{id}/withdraw` (admin, supervisor inside its area):
/// the activity stays, `withdrawn` with the reason, and counts for nothing;
/// withdrawing a withdrawn one is 409.
pub async fn withdraw(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    body: WithdrawBody,
) -> Result<ActivityDto, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(&id)?;
    db.write(move |conn| {
        let before = load_activity(conn, &user, &id)?;
        crate::domain::values::check_version(expected, before.version)?;
        let reason = nfc(&body.reason);
        if reason.is_empty() {
            return Err(ApiError::field("reason", "is required"));
        }
        if body.version.is_some_and(|v| v != before.version) {
            return Err(stale(before.version));
        }
        if before.status == WITHDRAWN {
            return Err(ApiError::Conflict(
                "the activity is already withdrawn".into(),
            ));
        }
        let mut after = before.clone();
        after.status = WITHDRAWN.into();
        after.withdraw_reason = Some(reason);
        save(conn, &user, "activity.withdraw", before, after)
    })
    .await
}

/// `GET /activities` query.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    /// Of this plan.
    pub plan_id: Option<String>,
    /// Of this indicator (code).
    pub indicator_code: Option<String>,
    /// Of this unit and the units below it.
    pub org_unit_code: Option<String>,
    /// `recorded` or `withdrawn`.
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<i64>,
    /// Page cursor.
    pub cursor: Option<String>,
}

/// `GET /activities?plan_id=&indicator_code=&org_unit_code=&status=`: the
/// activities in the caller's area, by id, paged.
pub async fn list_activities(
    db: &Db,
    user: AuthUser,
    q: ActivityParams,
) -> Result<Page<ActivityDto>, ApiError> {
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let after = page.after()?;
    if let Some(s) = q.status.as_deref() {
        if s != RECORDED && s != WITHDRAWN {
            return Err(ApiError::field("status", "must be recorded or withdrawn"));
        }
    }
    let plan_id = q
        .plan_id
        .as_deref()
        .map(|p| parse_uuid("plan_id", p))
        .transpose()?;
    db.run(move |conn| {
        let unit_like = match q.org_unit_code.as_deref() {
            None => None,
            Some(code) => Some(format!(
                "{}%",
                crate::db::org_units::path_of(conn, code)?.unwrap_or_else(|| "\u{1}".into())
            )),
        };
        let rows_ = rows::list_activities(
            conn,
            ActivityFilter {
                plan_id: plan_id.as_deref(),
                indicator_code: q.indicator_code.as_deref(),
                unit_like,
                area_like: crate::app::policy::area_of(&user).map(|a| format!("{a}%")),
                status: q.status.as_deref(),
                after,
                limit: limit + 1,
            },
        )?;
        let items: Vec<ActivityDto> = rows_.into_iter().map(ActivityDto::from).collect();
        Ok(Page::from_rows(items, limit, |a| a.id.clone()))
    })
    .await
}

/// The indicators section of a report: the plan's inspection target (from
/// the coverage figures already counted) first, then every indicator of
/// the plan, valued on `day` over the caller's part of the plan's area.
#[derive(Debug, Serialize, Clone)]
pub struct ReportIndicator {
    /// The indicator's code (`INSPECTIONS` for the inspection target).
    pub code: String,
    /// What it measures.
    pub name: String,
    /// How the value is computed.
    pub kind: String,
    /// The level of the units that report.
    pub unit_level: String,
    /// `coverage` (the inspections) or `activities`.
    pub source: String,
    /// The target.
    pub target: f64,
    /// The unit of the target and value, in Vietnamese.
    pub unit: String,
    /// The value over the area.
    pub value: f64,
    /// What it must be to be on track.
    pub expected: f64,
    /// Whether it is.
    pub on_track: bool,
    /// Per child unit.
    pub by_org_unit: Vec<UnitLine>,
}

impl From<IndicatorDto> for ReportIndicator {
    fn from(d: IndicatorDto) -> Self {
        let kind = Kind::parse(&d.kind).unwrap_or(Kind::Count);
        ReportIndicator {
            unit: kind.unit_vi().to_string(),
            code: d.code,
            name: d.name,
            kind: d.kind,
            unit_level: d.unit_level,
            source: "activities".into(),
            target: d.target,
            value: d.value,
            expected: d.expected,
            on_track: d.on_track,
            by_org_unit: d.by_org_unit,
        }
    }
}

/// The code of the inspection target in a report's indicators.
pub const INSPECTIONS: &str = "KIEM_TRA_CO_SO";

fn pct(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        0.0
    } else {
        (a * 10_000.0 / b).round() / 100.0
    }
}

/// The indicators section of report `r`: the inspection target, derived
/// from the report's own coverage figures (the same quota and on-track
/// rule), then the plan's indicators valued on the period's last day (or
/// today, if earlier) over the caller's part of the plan's area.
pub fn for_report(
    conn: &mut DbConnection,
    user: &AuthUser,
    r: &crate::app::reports::Report,
) -> Result<Vec<ReportIndicator>, ApiError> {
    let day = r.to.min(crate::domain::calendar::today());
    let fraction = crate::app::coverage::year_fraction(r.year, day);
    let s = &r.summary;
    let num = |k: &str| s[k].as_f64().unwrap_or(0.0);
    let expected = |quota: f64, eligible: f64| pct((quota * fraction).floor(), eligible);
    let shares: Vec<String> = r
        .levels
        .iter()
        .filter(|l| l.level != "total")
        .map(|l| {
            format!(
                "{} {}",
                l.label.to_lowercase(),
                crate::domain::labels::percent_vi(l.share_percent)
            )
        })
        .collect();
    let mut out = vec![ReportIndicator {
        code: INSPECTIONS.into(),
        name: format!(
            "Kiểm tra ít nhất {} cơ sở kinh doanh dịch vụ nhạy cảm ({})",
            crate::domain::labels::percent_vi(num("target_percent")),
            shares.join(", ")
        ),
        kind: Kind::ShareOfUnits.as_str().into(),
        unit_level: "establishment".into(),
        source: "coverage".into(),
        target: num("target_percent"),
        unit: "%".into(),
        value: num("inspected_percent"),
        expected: expected(num("quota"), num("eligible")),
        on_track: s["on_track"].as_bool().unwrap_or(false),
        by_org_unit: r
            .coverage_by_org_unit
            .iter()
            .map(|g| UnitLine {
                org_unit_code: g.key.clone(),
                name: g.name.clone(),
                value: g.inspected_percent,
                expected: Some(expected(g.quota as f64, g.eligible as f64)),
                on_track: Some(g.on_track),
                units_reached: Some(g.inspected),
                units_total: Some(g.eligible),
            })
            .collect(),
    }];
    let (plan, path) = load_plan(conn, user, &r.plan_id)?;
    let defs = rows::of_plan(conn, &plan.id)?;
    out.extend(
        with_values(conn, user, &plan, &path, &defs, day)?
            .into_iter()
            .map(ReportIndicator::from),
    );
    Ok(out)
}
