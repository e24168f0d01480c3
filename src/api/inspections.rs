//! Inspection minutes from the field: idempotent posting, corrections as new
//! versions, review, photos.

use std::collections::{BTreeSet, HashMap, HashSet};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::extract::ValidJson;
use crate::app::auth::{AuthUser, Caller, Role};
use crate::db::changes::next_change_seq;
use crate::db::schema::{
    assignments, establishments, inspection_attachments, inspection_versions, inspections,
    team_members, violation_types, violations,
};
use crate::db::{Db, DbConnection};
use crate::domain::page::{Page, PageParams};
use crate::domain::text::nfc;
use crate::domain::values::{now, parse_uuid, path_uuid, rfc3339};
use crate::error::{ApiError, FieldError};

/// Outcomes of a visit.
pub const OUTCOMES: [&str; 5] = [
    "no_violation",
    "violations_found",
    "closed",
    "refused_entry",
    "not_found",
];
/// Sanctions a violation can propose.
pub const SANCTIONS: [&str; 4] = ["warning", "fine", "suspension", "referral"];
/// How far the client's clock may run ahead of ours before the minutes are flagged.
pub const CLOCK_TOLERANCE_MIN: i64 = 10;
/// How far ahead a time may be before it is rejected as impossible.
pub const FUTURE_LIMIT_HOURS: i64 = 24;
/// Distance from the registered position beyond which minutes are flagged.
pub const FAR_METRES: f64 = 500.0;

/// Where the minutes were taken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Location {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    accuracy_m: Option<f64>,
}

/// One violation as posted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ViolationIn {
    code: String,
    #[serde(default)]
    description: Option<String>,
    sanction: String,
    #[serde(default, deserialize_with = "crate::domain::json::opt_integer")]
    fine_vnd: Option<i64>,
}

crate::domain::json::objects_only!(Location, ViolationIn);

/// `POST /inspections` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionBody {
    id: String,
    #[serde(default)]
    assignment_id: Option<String>,
    establishment_id: String,
    team_id: String,
    started_at: String,
    finished_at: String,
    #[serde(default)]
    location: Option<Location>,
    members_present: Vec<String>,
    outcome: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    checklist: Option<serde_json::Value>,
    #[serde(default)]
    violations: Vec<ViolationIn>,
}

/// What a version of the minutes says.
#[derive(Debug, Clone, Serialize)]
struct Content {
    started_at: DateTime<FixedOffset>,
    finished_at: DateTime<FixedOffset>,
    location: Option<Location>,
    members_present: Vec<String>,
    outcome: String,
    notes: Option<String>,
    checklist: Option<serde_json::Value>,
    violations: Vec<ViolationIn>,
}

fn parse_time(errs: &mut Vec<FieldError>, field: &str, s: &str) -> Option<DateTime<FixedOffset>> {
    use chrono::SubsecRound;
    match DateTime::parse_from_rfc3339(s) {
        // Microseconds: what both backends store, so that the answer to the
        // first post and a later read agree.
        Ok(t) => Some(t.trunc_subsecs(6)),
        Err(_) => {
            errs.push(FieldError::new(
                field,
                "must be an RFC 3339 time with offset, e.g. 2016-07-01T09:30:00+07:00",
            ));
            None
        }
    }
}

/// Teams' members and catalogue entries, as checking minutes needs them.
#[derive(Default)]
struct Roster {
    /// Team id → its members' user ids.
    members: HashMap<String, HashSet<String>>,
    /// Violation code → (min fine, max fine).
    catalogue: HashMap<String, (Option<i64>, Option<i64>)>,
}

/// The members of `teams` and the catalogue entries of `codes`, in one
/// statement.
fn load_roster(
    conn: &mut DbConnection,
    teams: &[&str],
    codes: &[&str],
) -> Result<Roster, ApiError> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    // UNION is beyond `MultiConnection`: the same query on each backend.
    // Rows: (team id, or none for a catalogue entry; member id or code; min
    // fine; max fine).
    type Row = (Option<String>, String, Option<i64>, Option<i64>);
    let rows: Vec<Row> = crate::per_backend!(conn, |c| {
        team_members::table
            .filter(team_members::team_id.eq_any(teams))
            .select((
                team_members::team_id.nullable(),
                team_members::user_id,
                None::<i64>.into_sql::<Nullable<BigInt>>(),
                None::<i64>.into_sql::<Nullable<BigInt>>(),
            ))
            .union_all(
                violation_types::table
                    .filter(violation_types::code.eq_any(codes))
                    .select((
                        None::<String>.into_sql::<Nullable<Text>>(),
                        violation_types::code,
                        violation_types::min_fine_vnd,
                        violation_types::max_fine_vnd,
                    )),
            )
            .load(c)
    })?;
    let mut roster = Roster::default();
    for (team, key, min, max) in rows {
        match team {
            Some(team) => {
                roster.members.entry(team).or_default().insert(key);
            }
            None => {
                roster.catalogue.insert(key, (min, max));
            }
        }
    }
    Ok(roster)
}

/// Checks the content against the team, the catalogue and the clock.
/// Returns whether the client clock looks ahead of ours.
fn validate_content(
    roster: &Roster,
    team_id: &str,
    c: &Content,
    received: NaiveDateTime,
) -> Result<bool, ApiError> {
    let mut errs = Vec::new();
    let recv = received.and_utc();
    let mut skew = false;
    for (field, t) in [("started_at", c.started_at), ("finished_at", c.finished_at)] {
        if t > recv + Duration::hours(FUTURE_LIMIT_HOURS) {
            errs.push(FieldError::new(field, "is in the future"));
        } else if t > recv + Duration::minutes(CLOCK_TOLERANCE_MIN) {
            skew = true;
        }
    }
    if c.finished_at < c.started_at {
        errs.push(FieldError::new("finished_at", "is before started_at"));
    }
    if let Some(l) = &c.location {
        if !(-90.0..=90.0).contains(&l.latitude) {
            errs.push(FieldError::new(
                "location.latitude",
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&l.longitude) {
            errs.push(FieldError::new(
                "location.longitude",
                "must be between -180 and 180",
            ));
        }
        if l.accuracy_m
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            errs.push(FieldError::new(
                "location.accuracy_m",
                "must be between 0 and 100000",
            ));
        }
    }
    if c.checklist.as_ref().is_some_and(|v| !v.is_object()) {
        errs.push(FieldError::new("checklist", "must be an object"));
    }
    if !OUTCOMES.contains(&c.outcome.as_str()) {
        errs.push(FieldError::new(
            "outcome",
            format!("must be one of {}", OUTCOMES.join(", ")),
        ));
    }
    match (c.outcome.as_str(), c.violations.is_empty()) {
        ("violations_found", true) => errs.push(FieldError::new(
            "violations",
            "outcome violations_found needs at least one violation",
        )),
        (o, false) if o != "violations_found" => errs.push(FieldError::new(
            "violations",
            format!("must be empty when the outcome is {o}"),
        )),
        _ => {}
    }
    if c.members_present.is_empty() {
        errs.push(FieldError::new(
            "members_present",
            "at least one team member must be present",
        ));
    }
    let members = roster.members.get(team_id);
    let mut seen = HashSet::new();
    for (i, m) in c.members_present.iter().enumerate() {
        if !members.is_some_and(|ms| ms.contains(&m.to_lowercase())) {
            errs.push(FieldError::new(
                format!("members_present[{i}]"),
                "is not a member of the team",
            ));
        } else if !seen.insert(m.to_lowercase()) {
            errs.push(FieldError::new(
                format!("members_present[{i}]"),
                "is listed twice",
            ));
        }
    }
    for (i, v) in c.violations.iter().enumerate() {
        let Some(&(min, max)) = roster.catalogue.get(&v.code) else {
            errs.push(FieldError::new(
                format!("violations[{i}].code"),
                "is not in the violation catalogue",
            ));
            continue;
        };
        if !SANCTIONS.contains(&v.sanction.as_str()) {
            errs.push(FieldError::new(
                format!("violations[{i}].sanction"),
                format!("must be one of {}", SANCTIONS.join(", ")),
            ));
        }
        match (v.sanction.as_str(), v.fine_vnd) {
            ("fine", None) => errs.push(FieldError::new(
                format!("violations[{i}].fine_vnd"),
                "is required with a fine",
            )),
            ("fine", Some(f))
                if min.is_some_and(|m| f < m) || max.is_some_and(|m| f > m) || f <= 0 =>
            {
                errs.push(FieldError::new(
                    format!("violations[{i}].fine_vnd"),
                    format!(
                        "must be within the catalogue range {}–{} VND",
                        min.unwrap_or(1),
                        max.map(|m| m.to_string()).unwrap_or("∞".into())
                    ),
                ));
            }
            ("fine", Some(_)) => {}
            (_, Some(_)) => errs.push(FieldError::new(
                format!("violations[{i}].fine_vnd"),
                "is only for the sanction fine",
            )),
            _ => {}
        }
    }
    if errs.is_empty() {
        Ok(skew)
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// Great-circle distance in metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_000.0_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// A version of the minutes, as written and as read.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_versions, treat_none_as_default_value = false)]
struct VersionRow {
    inspection_id: String,
    version: i32,
    started_at: NaiveDateTime,
    finished_at: NaiveDateTime,
    utc_offset_min: i32,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    members_present: String,
    outcome: String,
    notes: Option<String>,
    checklist: Option<String>,
    violations: String,
    reason: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
}

/// A violation row as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = violations, treat_none_as_default_value = false)]
struct NewViolation {
    inspection_id: String,
    position: i32,
    code: String,
    sanction: String,
    fine_vnd: Option<i64>,
}

fn new_version(
    id: &str,
    version: i32,
    c: &Content,
    reason: Option<&str>,
    actor: &str,
    at: NaiveDateTime,
) -> VersionRow {
    VersionRow {
        inspection_id: id.to_string(),
        version,
        started_at: c.started_at.naive_utc(),
        finished_at: c.finished_at.naive_utc(),
        utc_offset_min: c.finished_at.offset().local_minus_utc() / 60,
        latitude: c.location.as_ref().map(|l| l.latitude),
        longitude: c.location.as_ref().map(|l| l.longitude),
        accuracy_m: c.location.as_ref().and_then(|l| l.accuracy_m),
        members_present: serde_json::to_string(&c.members_present).unwrap_or_default(),
        outcome: c.outcome.clone(),
        notes: c.notes.clone(),
        checklist: c.checklist.as_ref().map(|v| v.to_string()),
        violations: serde_json::to_string(&c.violations).unwrap_or_default(),
        reason: reason.map(str::to_string),
        created_by: actor.to_string(),
        created_at: at,
    }
}

fn new_violations(id: &str, c: &Content) -> Vec<NewViolation> {
    c.violations
        .iter()
        .enumerate()
        .map(|(i, v)| NewViolation {
            inspection_id: id.to_string(),
            position: i as i32,
            code: v.code.clone(),
            sanction: v.sanction.clone(),
            fine_vnd: v.fine_vnd,
        })
        .collect()
}

/// Writes a new version and makes its violations the current ones.
fn store_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    c: &Content,
    reason: Option<&str>,
    actor: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(inspection_versions::table)
        .values(new_version(id, version, c, reason, actor, now()))
        .execute(conn)?;
    diesel::delete(violations::table.filter(violations::inspection_id.eq(id))).execute(conn)?;
    let rows = new_violations(id, c);
    crate::per_backend!(conn, |c| diesel::insert_into(violations::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// The minutes as the API shows them.
#[derive(Debug, Serialize)]
pub struct InspectionDto {
    id: String,
    assignment_id: Option<String>,
    establishment_id: String,
    team_id: String,
    plan_id: Option<String>,
    version: i32,
    started_at: String,
    finished_at: String,
    location: Option<Location>,
    members_present: Vec<String>,
    outcome: String,
    notes: Option<String>,
    checklist: Option<serde_json::Value>,
    violations: Vec<ViolationIn>,
    review: serde_json::Value,
    received_at: String,
    flags: serde_json::Value,
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inspections)]
struct Head {
    id: String,
    establishment_id: String,
    team_id: String,
    assignment_id: Option<String>,
    plan_id: Option<String>,
    current_version: i32,
    review_status: String,
    review_comment: Option<String>,
    reviewed_by: Option<String>,
    reviewed_at: Option<NaiveDateTime>,
    clock_skew: bool,
    distance_m: Option<f64>,
    far_from_site: bool,
    received_at: NaiveDateTime,
    created_by: String,
}

fn at_offset(t: NaiveDateTime, offset_min: i32) -> DateTime<FixedOffset> {
    let off = FixedOffset::east_opt(offset_min * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    off.from_utc_datetime(&t)
}

fn content_of(v: &VersionRow) -> Content {
    Content {
        started_at: at_offset(v.started_at, v.utc_offset_min),
        finished_at: at_offset(v.finished_at, v.utc_offset_min),
        location: match (v.latitude, v.longitude) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
                accuracy_m: v.accuracy_m,
            }),
            _ => None,
        },
        members_present: serde_json::from_str(&v.members_present).unwrap_or_default(),
        outcome: v.outcome.clone(),
        notes: v.notes.clone(),
        checklist: v
            .checklist
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        violations: serde_json::from_str(&v.violations).unwrap_or_default(),
    }
}

fn to_dto(h: &Head, v: &VersionRow) -> InspectionDto {
    let c = content_of(v);
    InspectionDto {
        id: h.id.clone(),
        assignment_id: h.assignment_id.clone(),
        establishment_id: h.establishment_id.clone(),
        team_id: h.team_id.clone(),
        plan_id: h.plan_id.clone(),
        version: v.version,
        started_at: c.started_at.to_rfc3339(),
        finished_at: c.finished_at.to_rfc3339(),
        location: c.location,
        members_present: c.members_present,
        outcome: c.outcome,
        notes: c.notes,
        checklist: c.checklist,
        violations: c.violations,
        review: serde_json::json!({
            "status": h.review_status, "comment": h.review_comment,
            "reviewed_by": h.reviewed_by, "reviewed_at": h.reviewed_at.as_ref().map(rfc3339),
        }),
        received_at: rfc3339(&h.received_at),
        flags: serde_json::json!({
            "clock_skew": h.clock_skew, "far_from_establishment": h.far_from_site, "distance_m": h.distance_m.map(|d| d.round()),
        }),
        created_by: h.created_by.clone(),
        attachments: None,
        reason: v.reason.clone(),
    }
}

/// Loads minutes the caller may read: an inspector its team's, others those
/// of establishments inside their area.
fn load_head(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Head, ApiError> {
    let row: Option<(Head, String)> = inspections::table
        .inner_join(establishments::table)
        .filter(inspections::id.eq(id))
        .select((Head::as_select(), establishments::unit_path))
        .first(conn)
        .optional()?;
    let (head, path) = row.ok_or(ApiError::NotFound)?;
    let ok = match user.role {
        Role::Inspector => user.team_id.as_deref() == Some(head.team_id.as_str()),
        _ => user.sees(&path),
    };
    if ok {
        Ok(head)
    } else {
        Err(ApiError::NotFound)
    }
}

fn load_version(conn: &mut DbConnection, id: &str, version: i32) -> Result<VersionRow, ApiError> {
    Ok(inspection_versions::table
        .find((id, version))
        .select(VersionRow::as_select())
        .first(conn)?)
}

fn load_dto(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<InspectionDto, ApiError> {
    let head = load_head(conn, user, id)?;
    let v = load_version(conn, id, head.current_version)?;
    let mut dto = to_dto(&head, &v);
    dto.attachments = Some(
        inspection_attachments::table
            .filter(inspection_attachments::inspection_id.eq(id))
            .select(inspection_attachments::sha256)
            .order(inspection_attachments::created_at)
            .load(conn)?,
    );
    Ok(dto)
}

/// SHA-256 of the body in canonical form (keys sorted, no white space).
pub fn body_hash(b: &InspectionBody) -> String {
    let v = serde_json::to_value(b).unwrap_or_default();
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// What a post did.
pub enum Posted {
    /// Stored now.
    Created(InspectionDto),
    /// Stored before, with the same body.
    Existing(InspectionDto),
}

/// Reads the stored minutes of a repeated post: 200 if the body is the same, 409 if not.
fn replay(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    hash: &str,
) -> Result<Posted, ApiError> {
    let stored: Option<String> = inspections::table
        .find(id)
        .select(inspections::body_hash)
        .first(conn)
        .optional()?;
    match stored {
        Some(h) if h == hash => Ok(Posted::Existing(load_dto(conn, user, id)?)),
        Some(_) => Err(ApiError::Conflict(
            "minutes with this id were posted with a different body".into(),
        )),
        None => Err(ApiError::Internal(
            "inspection vanished after a conflict".into(),
        )),
    }
}

/// The head row of new minutes as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = inspections, treat_none_as_default_value = false)]
struct NewInspection {
    id: String,
    establishment_id: String,
    team_id: String,
    assignment_id: Option<String>,
    plan_id: Option<String>,
    body_hash: String,
    current_version: i32,
    outcome: String,
    finished_at: NaiveDateTime,
    violation_count: i32,
    review_status: String,
    clock_skew: bool,
    distance_m: Option<f64>,
    far_from_site: bool,
    received_at: NaiveDateTime,
    created_by: String,
    updated_at: NaiveDateTime,
    /// The establishment's unit path, commune and business type, copied for
    /// coverage counts (see [`refresh_establishment_copies`]).
    unit_path: String,
    org_unit_code: String,
    business_type: String,
}

/// Posted minutes, checked and turned into the rows to write.
#[derive(Debug)]
pub struct Ready {
    head: NewInspection,
    version: VersionRow,
    violations: Vec<NewViolation>,
}

impl Ready {
    /// The minutes as the API shows them once written.
    fn dto(&self) -> InspectionDto {
        let h = &self.head;
        let head = Head {
            id: h.id.clone(),
            establishment_id: h.establishment_id.clone(),
            team_id: h.team_id.clone(),
            assignment_id: h.assignment_id.clone(),
            plan_id: h.plan_id.clone(),
            current_version: h.current_version,
            review_status: h.review_status.clone(),
            review_comment: None,
            reviewed_by: None,
            reviewed_at: None,
            clock_skew: h.clock_skew,
            distance_m: h.distance_m,
            far_from_site: h.far_from_site,
            received_at: h.received_at,
            created_by: h.created_by.clone(),
        };
        let mut dto = to_dto(&head, &self.version);
        dto.attachments = Some(Vec::new());
        dto
    }
}

/// What checking posted minutes found.
#[derive(Debug)]
pub enum Prep {
    /// Minutes with this id are stored already: answer as a repeat.
    Stored,
    /// New minutes, ready to write.
    Ready(Box<Ready>),
}

/// What writing checked minutes did.
#[derive(Debug)]
pub enum Written {
    /// Stored now.
    Created(Box<InspectionDto>),
    /// Minutes with this id were stored first (by a repeat racing this one).
    Stored,
}

/// Minutes as posted, by a caller whose token verified, not yet checked
/// against the database.
#[derive(Debug)]
pub struct Posting {
    /// The caller's user id.
    pub caller: String,
    /// The body as posted.
    pub body: InspectionBody,
    /// [`body_hash`] of the body.
    pub hash: String,
    /// When the server received it.
    pub received: NaiveDateTime,
}

/// (unit path, commune, business type), then the registered position.
type Place = ((String, String, String), Option<f64>, Option<f64>);

/// What checking a batch of posted minutes reads, one statement per kind
/// for the whole batch ([`load_facts`]).
struct Facts {
    /// The posters that are active users.
    users: HashMap<String, AuthUser>,
    /// Establishment id → where it is.
    places: HashMap<String, Place>,
    /// Minutes ids of the batch that are stored already.
    stored: HashSet<String>,
    /// Assignment id → (team, establishment, status, plan).
    assignments: HashMap<String, (String, String, String, String)>,
    roster: Roster,
}

/// The ids a posting names, parsed; `None` where one is not a UUID (the
/// check then says so).
fn uuid_or_none(s: &str) -> Option<String> {
    parse_uuid("", s).ok()
}

/// Reads what [`check`] needs for `posts`: their posters, their
/// establishments, which of their ids are stored, their assignments, their
/// teams' members and the catalogue entries they cite.
fn load_facts(conn: &mut DbConnection, posts: &[&Posting]) -> Result<Facts, ApiError> {
    let callers: BTreeSet<&str> = posts.iter().map(|p| p.caller.as_str()).collect();
    let callers: Vec<&str> = callers.into_iter().collect();
    let users = crate::app::auth::load_users(conn, &callers)?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let mut ids = Vec::with_capacity(posts.len());
    let mut establishments_ = BTreeSet::new();
    let mut assignments_ = BTreeSet::new();
    let mut teams = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for p in posts {
        let b = &p.body;
        ids.extend(uuid_or_none(&b.id));
        establishments_.extend(uuid_or_none(&b.establishment_id));
        assignments_.extend(b.assignment_id.as_deref().and_then(uuid_or_none));
        teams.extend(uuid_or_none(&b.team_id));
        codes.extend(b.violations.iter().map(|v| v.code.as_str()));
    }
    let wanted: Vec<&str> = establishments_.iter().map(String::as_str).collect();
    let places = establishments::table
        .filter(establishments::id.eq_any(&wanted))
        .select((
            establishments::id,
            (
                (
                    establishments::unit_path,
                    establishments::org_unit_code,
                    establishments::business_type,
                ),
                establishments::latitude,
                establishments::longitude,
            ),
        ))
        .load::<(String, Place)>(conn)?
        .into_iter()
        .collect();
    let assignments = if assignments_.is_empty() {
        HashMap::new()
    } else {
        let wanted: Vec<&str> = assignments_.iter().map(String::as_str).collect();
        assignments::table
            .filter(assignments::id.eq_any(&wanted))
            .select((
                assignments::id,
                (
                    assignments::team_id,
                    assignments::establishment_id,
                    assignments::status,
                    assignments::plan_id,
                ),
            ))
            .load::<(String, (String, String, String, String))>(conn)?
            .into_iter()
            .collect()
    };
    // Read after the assignments, never before: each statement sees what
    // had committed when it began, so minutes whose commit closed one of
    // these assignments are then seen stored too, and their repeat is
    // answered as one. Read the other way round, a repeat racing its first
    // post through the other writer could find the assignment completed but
    // the minutes not yet stored, and get 409.
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let stored = stored_among(conn, &ids)?;
    let teams: Vec<&str> = teams.iter().map(String::as_str).collect();
    let codes: Vec<&str> = codes.into_iter().collect();
    let roster = load_roster(conn, &teams, &codes)?;
    Ok(Facts {
        users,
        places,
        stored,
        assignments,
        roster,
    })
}

/// Checks posted minutes against what [`load_facts`] read: scope, team,
/// establishment, assignment, catalogue, clock. See [`write_batch`] for the
/// writing.
fn check(p: &Posting, facts: &Facts) -> Result<Prep, ApiError> {
    let b = &p.body;
    let id = parse_uuid("id", &b.id)?;
    let user = facts
        .users
        .get(&p.caller)
        .ok_or_else(crate::app::auth::unknown_user)?;
    user.require(&[Role::Inspector])?;
    // Minutes with this id stored already are answered as a repeat, whatever
    // else the body says.
    if facts.stored.contains(&id) {
        return Ok(Prep::Stored);
    }
    let establishment_id = parse_uuid("establishment_id", &b.establishment_id);
    let team_id = parse_uuid("team_id", &b.team_id)?;
    // Another team's minutes: as if that team did not exist.
    if user.team_id.as_deref() != Some(team_id.as_str()) {
        return Err(ApiError::NotFound);
    }
    let establishment_id = establishment_id?;
    // The caller's own team, its unit read with the caller.
    let team_path = user.team_unit_path.as_deref().ok_or(ApiError::NotFound)?;
    let ((est_path, est_unit, est_type), est_lat, est_lon) = facts
        .places
        .get(&establishment_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    if !est_path.starts_with(team_path) {
        return Err(ApiError::NotFound);
    }
    let assignment_id = b
        .assignment_id
        .as_deref()
        .map(|a| parse_uuid("assignment_id", a))
        .transpose()?;
    let mut plan_id = None;
    if let Some(a) = &assignment_id {
        let (a_team, a_est, status, a_plan) = facts.assignments.get(a).ok_or(ApiError::NotFound)?;
        if *a_team != team_id {
            return Err(ApiError::NotFound);
        }
        if *a_est != establishment_id {
            return Err(ApiError::field(
                "establishment_id",
                "is not the assignment's establishment",
            ));
        }
        if !OPEN_ASSIGNMENT.contains(&status.as_str()) {
            return Err(ApiError::Conflict(format!("the assignment is {status}")));
        }
        plan_id = Some(a_plan.clone());
    }
    let mut errs = Vec::new();
    let started = parse_time(&mut errs, "started_at", &b.started_at);
    let finished = parse_time(&mut errs, "finished_at", &b.finished_at);
    let (Some(started_at), Some(finished_at)) = (started, finished) else {
        return Err(ApiError::Validation(errs));
    };
    let content = Content {
        started_at,
        finished_at,
        location: b.location.clone(),
        members_present: b.members_present.iter().map(|m| m.to_lowercase()).collect(),
        outcome: b.outcome.clone(),
        notes: b.notes.as_deref().map(nfc),
        checklist: b.checklist.clone(),
        violations: b
            .violations
            .iter()
            .map(|v| ViolationIn {
                description: v.description.as_deref().map(nfc),
                ..v.clone()
            })
            .collect(),
    };
    let received = p.received;
    let skew = validate_content(&facts.roster, &team_id, &content, received)?;
    let distance = match (&content.location, est_lat, est_lon) {
        (Some(l), Some(la), Some(lo)) => Some(haversine_m(l.latitude, l.longitude, la, lo)),
        _ => None,
    };
    let head = NewInspection {
        id: id.clone(),
        establishment_id,
        team_id,
        assignment_id,
        plan_id,
        body_hash: p.hash.clone(),
        current_version: 1,
        outcome: content.outcome.clone(),
        finished_at: content.finished_at.naive_utc(),
        violation_count: content.violations.len() as i32,
        review_status: "pending".into(),
        clock_skew: skew,
        distance_m: distance,
        far_from_site: distance.is_some_and(|d| d > FAR_METRES),
        received_at: received,
        created_by: user.id.clone(),
        updated_at: received,
        unit_path: est_path,
        org_unit_code: est_unit,
        business_type: est_type,
    };
    Ok(Prep::Ready(Box::new(Ready {
        version: new_version(&id, 1, &content, None, &user.id, received),
        violations: new_violations(&id, &content),
        head,
    })))
}

/// Checks and writes posted minutes inside the caller's transaction: what
/// the group commit of [`crate::app::minutes_writer`] runs for every
/// batch. One answer per posting, in order: refused, a repeat of stored
/// minutes ([`Written::Stored`]) or stored now.
pub fn post_batch(
    conn: &mut DbConnection,
    posts: &[&Posting],
) -> Result<Vec<Result<Written, ApiError>>, ApiError> {
    let facts = load_facts(conn, posts)?;
    let mut answers: Vec<Option<Result<Written, ApiError>>> = Vec::with_capacity(posts.len());
    let mut ready = Vec::new();
    for p in posts {
        answers.push(match check(p, &facts) {
            Ok(Prep::Stored) => Some(Ok(Written::Stored)),
            Ok(Prep::Ready(r)) => {
                ready.push((answers.len(), r));
                None
            }
            Err(e) => Some(Err(e)),
        });
    }
    if !ready.is_empty() {
        let items: Vec<&Ready> = ready.iter().map(|(_, r)| &**r).collect();
        let written = write_batch(conn, &items, facts.stored)?;
        for ((slot, _), w) in ready.iter().zip(written) {
            answers[*slot] = Some(w);
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(ApiError::Internal("minutes left unanswered".into()))))
        .collect())
}

/// Assignment statuses that minutes can complete.
const OPEN_ASSIGNMENT: [&str; 2] = ["pending", "scheduled"];

/// Writes checked minutes inside the caller's transaction, in order, with
/// one statement per table for all of them and one audit append. `taken`
/// holds the ids of the batch found stored in this transaction. Each item's
/// answer is its own: a repeat of an id stored before (or earlier in the
/// batch) is [`Written::Stored`], minutes for an assignment closed since
/// they were checked get 409. An `Err` means nothing of the batch may be
/// kept (the caller rolls back).
fn write_batch(
    conn: &mut DbConnection,
    items: &[&Ready],
    mut taken: HashSet<String>,
) -> Result<Vec<Result<Written, ApiError>>, ApiError> {
    let with_assignment = items
        .iter()
        .filter(|r| r.head.assignment_id.is_some() && !taken.contains(&r.head.id))
        .count() as i64;
    let mut seq = if with_assignment > 0 {
        next_change_seq(conn, with_assignment)?
    } else {
        0
    };
    let mut answers = Vec::with_capacity(items.len());
    let mut accepted: Vec<&Ready> = Vec::with_capacity(items.len());
    for r in items {
        if !taken.insert(r.head.id.clone()) {
            answers.push(Ok(Written::Stored));
            continue;
        }
        if let Some(a) = &r.head.assignment_id {
            // The guarded update is the check: an assignment cancelled or
            // completed since `check` looked (by another server, or by
            // minutes earlier in this batch) is left alone.
            let n = diesel::update(
                assignments::table
                    .find(a)
                    .filter(assignments::status.eq_any(OPEN_ASSIGNMENT)),
            )
            .set((
                assignments::status.eq("completed"),
                assignments::version.eq(assignments::version + 1),
                assignments::change_seq.eq(seq),
                assignments::updated_at.eq(r.head.received_at),
            ))
            .execute(conn)?;
            seq += 1;
            if n == 0 {
                // Completed meanwhile, perhaps by the same minutes posted
                // through another server: then this post is their repeat.
                let stored_now = inspections::table
                    .find(&r.head.id)
                    .count()
                    .get_result::<i64>(conn)?
                    > 0;
                if stored_now {
                    answers.push(Ok(Written::Stored));
                    continue;
                }
                taken.remove(&r.head.id);
                let status: String = assignments::table
                    .find(a)
                    .select(assignments::status)
                    .first(conn)?;
                answers.push(Err(ApiError::Conflict(format!(
                    "the assignment is {status}"
                ))));
                continue;
            }
        }
        accepted.push(r);
        answers.push(Ok(Written::Created(Box::new(r.dto()))));
    }
    if accepted.is_empty() {
        return Ok(answers);
    }
    let heads: Vec<NewInspection> = accepted.iter().map(|r| r.head.clone()).collect();
    let versions: Vec<VersionRow> = accepted.iter().map(|r| r.version.clone()).collect();
    let violations_rows: Vec<NewViolation> = accepted
        .iter()
        .flat_map(|r| r.violations.iter().cloned())
        .collect();
    // 20, 16 and 5 columns a row: statements of 1,000 rows on SQLite.
    crate::bulk_insert!(conn, inspections::table, &heads[..], 1000);
    crate::bulk_insert!(conn, inspection_versions::table, &versions[..], 1000);
    crate::bulk_insert!(conn, violations::table, &violations_rows[..], 1000);
    let mut audit = Vec::with_capacity(accepted.len());
    for (r, answer) in items.iter().zip(&answers) {
        if let Ok(Written::Created(dto)) = answer {
            let after =
                serde_json::to_string(dto).map_err(|e| ApiError::Internal(e.to_string()))?;
            audit.push((
                r.head.created_by.clone(),
                "inspection.create".to_string(),
                r.head.id.clone(),
                None,
                Some(after),
            ));
        }
    }
    // Every accepted minutes has its audit entry, so this took the audit
    // tail's lock, which the copies are refreshed under.
    crate::app::audit::append_by(conn, audit)?;
    refresh_establishment_copies(conn, &heads)?;
    Ok(answers)
}

/// Which of `ids` are stored already.
///
/// On PostgreSQL this is a statement diesel does not prepare and cache
/// (`sql_query`), so the server plans it for these very ids every time. A
/// cached statement switches to a generic plan after five executions, and
/// the writer's connection runs this one from the first minutes on: its
/// generic plan of `id = ANY($1)` was made while `inspections` was empty and
/// never analysed, a sequential scan, and kept as the table grew (measured:
/// 55 % of the writer's database time). Forcing custom plans for the whole
/// connection instead cost more than it saved: the foreign-key checks of the
/// batch's `COPY`s are cached plans too, and were planned again for every
/// row.
fn stored_among(conn: &mut DbConnection, ids: &[&str]) -> Result<HashSet<String>, ApiError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let found: Vec<String> = match conn {
        DbConnection::Pg(c) => diesel::sql_query("SELECT id FROM inspections WHERE id = ANY($1)")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
            .load::<Id>(c)?
            .into_iter()
            .map(|r| r.id)
            .collect(),
        c => inspections::table
            .filter(inspections::id.eq_any(ids))
            .select(inspections::id)
            .load(c)?,
    };
    Ok(found.into_iter().collect())
}

/// Sets the copies of the establishment's unit path, commune and business
/// type on minutes just inserted to the establishment as it is now:
/// [`load_facts`] read it before this transaction held the audit tail's
/// lock, and it may have moved since.
///
/// A write that moves an establishment or changes its type copies the new
/// values onto its inspections again while holding the audit tail's lock
/// ([`crate::api::establishments::copy_to_inspections`], the org-unit
/// import). This runs after the batch's audit entries were appended, under
/// the same lock (taken there, held to the commit), so either that write
/// commits first and this read sees it, or these minutes commit first and
/// its copy updates them. Nearly always nothing differs and nothing is
/// written.
fn refresh_establishment_copies(
    conn: &mut DbConnection,
    heads: &[NewInspection],
) -> Result<(), ApiError> {
    let ids: Vec<&str> = heads.iter().map(|h| h.establishment_id.as_str()).collect();
    let current: HashMap<String, (String, String, String)> = establishments::table
        .filter(establishments::id.eq_any(&ids))
        .select((
            establishments::id,
            (
                establishments::unit_path,
                establishments::org_unit_code,
                establishments::business_type,
            ),
        ))
        .load::<(String, (String, String, String))>(conn)?
        .into_iter()
        .collect();
    for h in heads {
        let Some((path, unit, btype)) = current.get(&h.establishment_id) else {
            continue;
        };
        if (path, unit, btype) != (&h.unit_path, &h.org_unit_code, &h.business_type) {
            diesel::update(inspections::table.find(&h.id))
                .set((
                    inspections::unit_path.eq(path),
                    inspections::org_unit_code.eq(unit),
                    inspections::business_type.eq(btype),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Stores posted minutes inside the caller's transaction (the demo's path;
/// the API goes through the group commit).
pub fn insert_minutes(
    conn: &mut DbConnection,
    user: &AuthUser,
    b: &InspectionBody,
    hash: &str,
) -> Result<Posted, ApiError> {
    let id = parse_uuid("id", &b.id)?;
    let posting = Posting {
        caller: user.id.clone(),
        body: b.clone(),
        hash: hash.to_string(),
        received: now(),
    };
    let written = post_batch(conn, &[&posting])?
        .pop()
        .ok_or_else(|| ApiError::Internal("empty batch answer".into()))??;
    match written {
        Written::Created(dto) => Ok(Posted::Created(*dto)),
        Written::Stored => replay(conn, user, &id, hash),
    }
}

/// `POST /inspections`: 201 the first time, 200 for the very same body
/// again, 409 for the same id with another body; never stored twice. The
/// handler reads nothing: the group commit loads the caller, checks the
/// minutes against the database and writes them, for many clients at once.
pub async fn create(
    caller: Caller,
    db: web::Data<Db>,
    writer: web::Data<crate::app::minutes_writer::MinutesWriter>,
    body: ValidJson<InspectionBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let received = now();
    let hash = body_hash(&b);
    let id = parse_uuid("id", &b.id)?;
    let posting = Posting {
        caller: caller.id().to_string(),
        body: b,
        hash: hash.clone(),
        received,
    };
    let written = match writer.submit(Box::new(posting)).await {
        // Another server stored the same id first.
        Err(ApiError::Conflict(m)) if m.starts_with("already exists") => Written::Stored,
        other => other?,
    };
    Ok(match written {
        Written::Created(d) => HttpResponse::Created().json(d),
        Written::Stored => {
            let answer = db
                .run(move |conn| {
                    let user = caller.load(conn)?;
                    replay(conn, &user, &id, &hash)
                })
                .await?;
            match answer {
                Posted::Created(d) | Posted::Existing(d) => HttpResponse::Ok().json(d),
            }
        }
    })
}

/// `GET /inspections/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let dto = db.run(move |conn| load_dto(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /inspections/{id}/versions`: every version, oldest first.
pub async fn versions(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let items = db
        .run(move |conn| {
            let head = load_head(conn, &user, &id)?;
            let rows: Vec<VersionRow> = inspection_versions::table
                .filter(inspection_versions::inspection_id.eq(&id))
                .order(inspection_versions::version)
                .select(VersionRow::as_select())
                .load(conn)?;
            Ok(rows.iter().map(|v| to_dto(&head, v)).collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

/// `POST /inspections/{id}/corrections` body: a reason and the fields that change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    reason: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    location: Option<Option<Location>>,
    members_present: Option<Vec<String>>,
    outcome: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::json::double_option")]
    checklist: Option<Option<serde_json::Value>>,
    violations: Option<Vec<ViolationIn>>,
}

/// `POST /inspections/{id}/corrections` (the team's inspectors): a new version.
pub async fn correct(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<CorrectionBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Inspector])?;
    let id = path_uuid(&id)?;
    let expected = crate::api::extract::if_match(&req)?;
    let c = body.0;
    let reason = nfc(&c.reason);
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    let dto = db
        .write(move |conn| {
            let head = load_head(conn, &user, &id)?;
            crate::domain::values::check_version(expected, head.current_version)?;
            let cur = content_of(&load_version(conn, &id, head.current_version)?);
            let mut errs = Vec::new();
            let started_at = c
                .started_at
                .as_deref()
                .map(|s| parse_time(&mut errs, "started_at", s))
                .unwrap_or(Some(cur.started_at));
            let finished_at = c
                .finished_at
                .as_deref()
                .map(|s| parse_time(&mut errs, "finished_at", s))
                .unwrap_or(Some(cur.finished_at));
            let (Some(started_at), Some(finished_at)) = (started_at, finished_at) else {
                return Err(ApiError::Validation(errs));
            };
            let next = Content {
                started_at,
                finished_at,
                location: c.location.unwrap_or(cur.location),
                members_present: c
                    .members_present
                    .map(|m| m.iter().map(|x| x.to_lowercase()).collect())
                    .unwrap_or(cur.members_present),
                outcome: c.outcome.unwrap_or(cur.outcome),
                notes: c.notes.map(|n| n.as_deref().map(nfc)).unwrap_or(cur.notes),
                checklist: c.checklist.unwrap_or(cur.checklist),
                violations: c.violations.unwrap_or(cur.violations),
            };
            let codes: Vec<&str> = next.violations.iter().map(|v| v.code.as_str()).collect();
            let roster = load_roster(conn, &[&head.team_id], &codes)?;
            validate_content(&roster, &head.team_id, &next, now())?;
            let version = head.current_version + 1;
            store_version(conn, &id, version, &next, Some(&reason), &user.id)?;
            diesel::update(inspections::table.find(&id))
                .set((
                    inspections::current_version.eq(version),
                    inspections::outcome.eq(&next.outcome),
                    inspections::finished_at.eq(next.finished_at.naive_utc()),
                    inspections::violation_count.eq(next.violations.len() as i32),
                    inspections::review_status.eq("pending"),
                    inspections::updated_at.eq(now()),
                ))
                .execute(conn)?;
            let dto = load_dto(conn, &user, &id)?;
            crate::app::audit::record(conn, &user.id, "inspection.correct", &id, None, Some(&dto))?;
            Ok(dto)
        })
        .await?;
    Ok(HttpResponse::Created().json(dto))
}

/// `POST /inspections/{id}/review` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    decision: String,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /inspections/{id}/review` (supervisor, admin).
pub async fn review(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: ValidJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Supervisor, Role::Admin])?;
    let id = path_uuid(&id)?;
    let expected = crate::api::extract::if_match(&req)?;
    let ReviewBody { decision, comment } = body.0;
    if decision != "accepted" && decision != "returned" {
        return Err(ApiError::field("decision", "must be accepted or returned"));
    }
    let comment = comment.as_deref().map(nfc).filter(|c| !c.is_empty());
    if decision == "returned" && comment.is_none() {
        return Err(ApiError::field(
            "comment",
            "say why the minutes are returned",
        ));
    }
    let dto = db
        .write(move |conn| {
            let head = load_head(conn, &user, &id)?;
            crate::domain::values::check_version(expected, head.current_version)?;
            let t = now();
            diesel::update(inspections::table.find(&id))
                .set((
                    inspections::review_status.eq(&decision),
                    inspections::review_comment.eq(&comment),
                    inspections::reviewed_by.eq(&user.id),
                    inspections::reviewed_at.eq(t),
                    inspections::updated_at.eq(t),
                ))
                .execute(conn)?;
            let dto = load_dto(conn, &user, &id)?;
            crate::app::audit::record(
                conn,
                &user.id,
                "inspection.review",
                &id,
                None,
                Some(&dto.review),
            )?;
            Ok(dto)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Filters of `GET /inspections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    plan_id: Option<String>,
    team_id: Option<String>,
    establishment_id: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /inspections?plan_id=&team_id=&establishment_id=&from=&to=` (by id;
/// `from`/`to` are days of `finished_at`, UTC, inclusive).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut q = q.into_inner();
    // Ids are UUIDs (API.md): anything else is 422, not an empty page.
    for (field, v) in [
        ("plan_id", &mut q.plan_id),
        ("team_id", &mut q.team_id),
        ("establishment_id", &mut q.establishment_id),
    ] {
        if let Some(id) = v.as_deref() {
            *v = Some(crate::domain::values::parse_uuid(field, id)?);
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
            let mut query = inspections::table
                .inner_join(establishments::table)
                .inner_join(
                    inspection_versions::table.on(inspection_versions::inspection_id
                        .eq(inspections::id)
                        .and(inspection_versions::version.eq(inspections::current_version))),
                )
                .select((Head::as_select(), VersionRow::as_select()))
                .order(inspections::id)
                .limit(limit + 1)
                .into_boxed();
            if user.role == Role::Inspector {
                query =
                    query.filter(inspections::team_id.eq(user.team_id.clone().unwrap_or_default()));
            }
            if let Some(scope) = &user.scope_path {
                query = query.filter(establishments::unit_path.like(format!("{scope}%")));
            }
            if let Some(p) = q.plan_id {
                query = query.filter(inspections::plan_id.eq(p));
            }
            if let Some(t) = q.team_id {
                query = query.filter(inspections::team_id.eq(t));
            }
            if let Some(e) = q.establishment_id {
                query = query.filter(inspections::establishment_id.eq(e));
            }
            if let Some(f) = q.from {
                query = query
                    .filter(inspections::finished_at.ge(crate::domain::calendar::day_start(f)));
            }
            if let Some(t) = q.to {
                query =
                    query.filter(inspections::finished_at.lt(crate::domain::calendar::day_end(t)));
            }
            if let Some(a) = after {
                query = query.filter(inspections::id.gt(a));
            }
            let rows: Vec<(Head, VersionRow)> = query.load(conn)?;
            let items: Vec<InspectionDto> = rows.iter().map(|(h, v)| to_dto(h, v)).collect();
            Ok(Page::from_rows(items, limit, |d: &InspectionDto| {
                d.id.clone()
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Largest photo accepted.
pub const PHOTO_LIMIT: usize = 10 * 1024 * 1024;

fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// Where a photo lives: `DIR/ab/abcdef…`.
pub fn photo_path(dir: &std::path::Path, sha: &str) -> std::path::PathBuf {
    dir.join(&sha[..2]).join(sha)
}

/// Writes a file so that a crash leaves either nothing or all of it: a
/// temporary file, synced, renamed into place, and the directory synced.
fn write_durably(dir: &std::path::Path, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let target = photo_path(dir, sha);
    if target.exists() {
        return Ok(());
    }
    let parent = target.parent().expect("photo path has a parent");
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    std::fs::File::open(parent)?.sync_all()
}

/// `PUT /inspections/{id}/attachments/{sha256}` (the team's inspectors): a
/// JPEG or PNG photo up to 10 MiB, verified against its hash; 201 stored,
/// 200 already there.
pub async fn put_attachment(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<crate::state::AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Inspector])?;
    let (id, sha) = path.into_inner();
    let id = path_uuid(&id)?;
    if sha.len() != 64
        || !sha
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        return Err(ApiError::field(
            "sha256",
            "must be 64 lower-case hex digits",
        ));
    }
    crate::api::extract::require_media_type(&req, &["image/jpeg", "image/png"])?;
    let declared = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (u2, id2) = (user.clone(), id.clone());
    db.run(move |conn| load_head(conn, &u2, &id2).map(|_| ()))
        .await?;
    let bytes = crate::api::extract::read_body(&req, &mut payload, PHOTO_LIMIT).await?;
    match sniff(&bytes) {
        Some(kind) if kind == declared => {}
        Some(kind) => {
            return Err(ApiError::field(
                "body",
                format!("the content is {kind}, not {declared}"),
            ))
        }
        None => {
            return Err(ApiError::field(
                "body",
                "the content is neither JPEG nor PNG",
            ))
        }
    }
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != sha {
        return Err(ApiError::field(
            "sha256",
            format!("does not match the body (its SHA-256 is {actual})"),
        ));
    }
    let dir = state.settings.attachments_dir.clone();
    let (sha2, bytes_len) = (sha.clone(), bytes.len());
    web::block(move || write_durably(&dir, &sha2, &bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("cannot store the photo: {e}")))?;
    let created = db
        .write(move |conn| {
            load_head(conn, &user, &id)?;
            let t = now();
            crate::per_backend!(conn, |c| diesel::insert_into(
                crate::db::schema::attachments::table
            )
            .values((
                crate::db::schema::attachments::sha256.eq(&sha),
                crate::db::schema::attachments::content_type.eq(&declared),
                crate::db::schema::attachments::size_bytes.eq(bytes_len as i64),
                crate::db::schema::attachments::created_at.eq(t),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
            let linked =
                crate::per_backend!(conn, |c| diesel::insert_into(inspection_attachments::table)
                    .values((
                        inspection_attachments::inspection_id.eq(&id),
                        inspection_attachments::sha256.eq(&sha),
                        inspection_attachments::created_at.eq(t),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c))?;
            if linked > 0 {
                crate::app::audit::record(
                    conn,
                    &user.id,
                    "inspection.attach",
                    &id,
                    None,
                    Some(&sha),
                )?;
            }
            Ok(linked > 0)
        })
        .await?;
    let body = serde_json::json!({"sha256": actual, "size_bytes": bytes_len});
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// `GET /inspections/{id}/attachments/{sha256}`: the photo.
pub async fn get_attachment(
    user: AuthUser,
    db: web::Data<Db>,
    state: web::Data<crate::state::AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, sha) = path.into_inner();
    let id = path_uuid(&id)?;
    let sha2 = sha.clone();
    let kind: String = db
        .run(move |conn| {
            load_head(conn, &user, &id)?;
            inspection_attachments::table
                .inner_join(crate::db::schema::attachments::table)
                .filter(inspection_attachments::inspection_id.eq(&id))
                .filter(inspection_attachments::sha256.eq(&sha2))
                .select(crate::db::schema::attachments::content_type)
                .first::<String>(conn)
                .optional()?
                .ok_or(ApiError::NotFound)
        })
        .await?;
    let file = photo_path(&state.settings.attachments_dir, &sha);
    let bytes = web::block(move || std::fs::read(file))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("stored photo unreadable: {e}")))?;
    Ok(HttpResponse::Ok().content_type(kind).body(bytes))
}
