//! Yearly plans: create, list, get, the plan's assignments, and what a closing
//! establishment does to its assignments. The draw, top-up and verify are in
//! [`draw`]; the pure draw itself is [`crate::domain::draw`].

pub mod draw;
pub mod warnings;

pub use draw::{draw, draw_in_tx, freeze, round_input, top_up, verify, DrawBody, DrawResult};

use serde::{Deserialize, Serialize};

use crate::app::auth::AuthUser;
use crate::app::policy::{found_if, sees_plan};
use crate::db::plans as rows;
pub use crate::db::plans::Plan;
use crate::db::{Db, DbConnection};
use crate::domain::draw::percent_to_basis_points;
use crate::domain::page::Page;
use crate::domain::seed::{self, Beacon, SeedRecord};
use crate::domain::status::AssignmentStatus;
use crate::domain::text::nfc;
use crate::domain::values::{new_id, now, rfc3339};
use crate::error::{ApiError, FieldError};

/// One share as the API writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Share {
    /// Team level.
    pub level: String,
    /// Percent of the eligible establishments (up to two decimals).
    pub percent: f64,
}

crate::domain::json::objects_only!(Share);

/// `POST /plans` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    name: String,
    #[serde(deserialize_with = "crate::domain::json::integer")]
    year: i32,
    org_unit_code: String,
    #[serde(default = "default_shares")]
    shares: Vec<Share>,
    #[serde(default = "default_stratify")]
    stratify_by: Vec<String>,
    #[serde(default)]
    risk_weighting: bool,
    seed: Option<String>,
    /// A rehearsal: may take `seed`; never reaches a team.
    #[serde(default)]
    rehearsal: bool,
    /// `server_random` (default) or `public_beacon` (docs/draw.md §12).
    seed_procedure: Option<String>,
    /// The public value of `public_beacon`: its source and day.
    beacon: Option<Beacon>,
    /// The plan's document number (`20/KH-BCĐ`).
    number: Option<String>,
    /// The body that issued it (`BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH`).
    issuing_body: Option<String>,
}

fn default_shares() -> Vec<Share> {
    vec![
        Share {
            level: "province".into(),
            percent: 10.0,
        },
        Share {
            level: "district".into(),
            percent: 40.0,
        },
    ]
}

fn default_stratify() -> Vec<String> {
    vec!["business_type".into()]
}

impl NewPlan {
    /// A real plan with the default shares (10% province, 40% district),
    /// stratification by business type and a server-random seed.
    pub fn new(name: &str, year: i32, org_unit_code: &str) -> Self {
        NewPlan {
            name: name.into(),
            year,
            org_unit_code: org_unit_code.into(),
            shares: default_shares(),
            stratify_by: default_stratify(),
            risk_weighting: false,
            seed: None,
            rehearsal: false,
            seed_procedure: None,
            beacon: None,
            number: None,
            issuing_body: None,
        }
    }

    /// The same plan with its document number and issuing body.
    pub fn with_document(mut self, number: &str, issuing_body: &str) -> Self {
        self.number = Some(number.into());
        self.issuing_body = Some(issuing_body.into());
        self
    }

    /// The procedure that fixes this plan's seed.
    fn procedure(&self) -> &str {
        match (&self.seed, &self.seed_procedure) {
            (Some(_), _) if self.rehearsal => seed::CALLER,
            (_, Some(p)) => p,
            (_, None) => seed::SERVER_RANDOM,
        }
    }

    /// `unit|year|levels` (levels sorted): one live plan per key.
    fn live_key(&self) -> Option<String> {
        if self.rehearsal {
            return None;
        }
        let mut levels: Vec<&str> = self.shares.iter().map(|s| s.level.as_str()).collect();
        levels.sort_unstable();
        levels.dedup();
        Some(format!(
            "{}|{}|{}",
            self.org_unit_code,
            self.year,
            levels.join(",")
        ))
    }
}

/// A plan as the API shows it.
#[derive(Debug, Serialize)]
pub struct PlanDto {
    id: String,
    name: String,
    year: i32,
    org_unit_code: String,
    shares: Vec<Share>,
    stratify_by: Vec<String>,
    risk_weighting: bool,
    seed: Option<String>,
    status: String,
    version: i32,
    created_at: String,
    updated_at: String,
    rehearsal: bool,
    seed_procedure: SeedRecord,
    rounds: Vec<RoundDto>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    number: Option<String>,
    issuing_body: Option<String>,
}

/// One round of a plan as the plan shows it.
#[derive(Debug, Serialize)]
pub struct RoundDto {
    round: i32,
    seed: String,
    input_digest: String,
    assignments: i32,
    created_at: String,
    /// Where its exact input is published.
    input: String,
}

impl PlanDto {
    /// The plan with its recorded rounds.
    fn with_rounds(p: Plan, rounds: Vec<rows::RoundSummary>) -> Self {
        let mut dto = PlanDto::from(p);
        dto.rounds = rounds
            .into_iter()
            .map(|r| RoundDto {
                input: format!("/api/v1/plans/{}/rounds/{}/input", dto.id, r.round),
                round: r.round,
                seed: r.seed,
                input_digest: r.input_digest,
                assignments: r.assignments,
                created_at: rfc3339(&r.created_at),
            })
            .collect();
        dto
    }
}

/// The plan's seed record as stored, or a fresh one for its procedure.
pub(crate) fn seed_record_of(p: &Plan) -> SeedRecord {
    p.seed_record
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_else(|| SeedRecord::new(&p.seed_procedure))
}

impl From<Plan> for PlanDto {
    fn from(p: Plan) -> Self {
        let status = if p.cancelled_at.is_some() {
            "cancelled".to_string()
        } else {
            p.status.clone()
        };
        PlanDto {
            seed_procedure: seed_record_of(&p),
            rehearsal: p.rehearsal,
            rounds: Vec::new(),
            cancelled_at: p.cancelled_at.as_ref().map(rfc3339),
            cancel_reason: p.cancel_reason.clone(),
            number: p.number.clone(),
            issuing_body: p.issuing_body.clone(),
            shares: serde_json::from_str(&p.shares).unwrap_or_default(),
            stratify_by: serde_json::from_str(&p.stratify_by).unwrap_or_default(),
            created_at: rfc3339(&p.created_at),
            updated_at: rfc3339(&p.updated_at),
            id: p.id,
            name: p.name,
            year: p.year,
            org_unit_code: p.org_unit_code,
            risk_weighting: p.risk_weighting,
            seed: p.seed,
            status,
            version: p.version,
        }
    }
}

/// Loads a plan the caller may see ([`sees_plan`]), with its unit's path.
pub fn load_plan(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<(Plan, String), ApiError> {
    let (plan, path) = rows::find_with_path(conn, id)?.ok_or(ApiError::NotFound)?;
    found_if(sees_plan(user, &path))?;
    Ok((plan, path))
}

/// The 32 bytes of a seed written as 64 hex digits.
pub(crate) fn parse_seed(s: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(s).ok()?;
    bytes.try_into().ok()
}

fn validate(conn: &mut DbConnection, user: &AuthUser, p: &NewPlan) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    if nfc(&p.name).is_empty() {
        errs.push(FieldError::new("name", "is required"));
    }
    if !(2000..=2100).contains(&p.year) {
        errs.push(FieldError::new("year", "must be between 2000 and 2100"));
    }
    let path = rows::unit_path(conn, &p.org_unit_code)?;
    if !path.as_deref().is_some_and(|path| user.sees(path)) {
        errs.push(FieldError::new(
            "org_unit_code",
            "no such org unit in your area",
        ));
    }
    if p.shares.is_empty() {
        errs.push(FieldError::new("shares", "needs at least one share"));
    }
    let mut total = 0u32;
    for (i, s) in p.shares.iter().enumerate() {
        if crate::domain::level_rank(&s.level).is_none() {
            errs.push(FieldError::new(
                format!("shares[{i}].level"),
                "must be province, district or commune",
            ));
        }
        if p.shares[..i].iter().any(|o| o.level == s.level) {
            errs.push(FieldError::new(
                format!("shares[{i}].level"),
                "appears twice",
            ));
        }
        match percent_to_basis_points(s.percent) {
            Some(bp) if bp > 0 => total += bp,
            _ => errs.push(FieldError::new(
                format!("shares[{i}].percent"),
                "must be above 0 and at most 100, with at most two decimals",
            )),
        }
    }
    if total > 10_000 {
        errs.push(FieldError::new(
            "shares",
            "percentages add up to more than 100",
        ));
    }
    for (i, s) in p.stratify_by.iter().enumerate() {
        if s != "business_type" {
            errs.push(FieldError::new(
                format!("stratify_by[{i}]"),
                "only business_type is supported",
            ));
        }
    }
    if let Some(seed) = &p.seed {
        if !p.rehearsal {
            errs.push(FieldError::new(
                "seed",
                "only a rehearsal (\"rehearsal\": true) takes a seed: a real plan's seed is \
                 fixed by its seed procedure after its input is frozen",
            ));
        } else if parse_seed(seed).is_none() || seed.chars().any(|c| c.is_ascii_uppercase()) {
            errs.push(FieldError::new(
                "seed",
                "must be 64 lower-case hex digits (256 bits)",
            ));
        }
    }
    match p.seed_procedure.as_deref() {
        None | Some(seed::SERVER_RANDOM) => {}
        Some(seed::PUBLIC_BEACON) if p.seed.is_some() => errs.push(FieldError::new(
            "seed_procedure",
            "a plan with a seed is a caller-seeded rehearsal",
        )),
        Some(seed::PUBLIC_BEACON) => match &p.beacon {
            None => errs.push(FieldError::new(
                "beacon",
                "public_beacon needs {source, date}",
            )),
            Some(b) => {
                if nfc(&b.source).is_empty() {
                    errs.push(FieldError::new("beacon.source", "is required"));
                }
                match chrono::NaiveDate::parse_from_str(&b.date, "%Y-%m-%d") {
                    Ok(d) if d > crate::domain::calendar::today() => {}
                    Ok(_) => errs.push(FieldError::new(
                        "beacon.date",
                        "must be a day after today (Vietnam time): the input is frozen before it",
                    )),
                    Err(_) => errs.push(FieldError::new("beacon.date", "must be YYYY-MM-DD")),
                }
                if b.value.is_some() {
                    errs.push(FieldError::new(
                        "beacon.value",
                        "is given with the draw, after it is published",
                    ));
                }
            }
        },
        Some(_) => errs.push(FieldError::new(
            "seed_procedure",
            "must be server_random or public_beacon",
        )),
    }
    errs.extend(document_errors(&p.number, &p.issuing_body));
    if p.beacon.is_some() && p.seed_procedure.as_deref() != Some(seed::PUBLIC_BEACON) {
        errs.push(FieldError::new(
            "beacon",
            "only with \"seed_procedure\": \"public_beacon\"",
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// Longest document number and issuing body accepted.
const NUMBER_MAX: usize = 50;
const ISSUING_BODY_MAX: usize = 200;

/// A document field as stored: NFC, trimmed; `None` if absent or blank.
fn document_field(v: &Option<String>) -> Option<String> {
    v.as_deref().map(nfc).filter(|s| !s.is_empty())
}

/// What is wrong with a document number and issuing body.
fn document_errors(number: &Option<String>, issuing_body: &Option<String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (field, v, max) in [
        ("number", number, NUMBER_MAX),
        ("issuing_body", issuing_body, ISSUING_BODY_MAX),
    ] {
        if let Some(s) = document_field(v) {
            if s.chars().count() > max {
                errs.push(FieldError::new(
                    field,
                    format!("must be at most {max} characters"),
                ));
            } else if s.chars().any(char::is_control) {
                errs.push(FieldError::new(field, "must be one line of text"));
            }
        }
    }
    errs
}

/// Validates and stores a draft plan (inside the caller's transaction).
pub fn create_plan(conn: &mut DbConnection, user: &AuthUser, p: NewPlan) -> Result<Plan, ApiError> {
    validate(conn, user, &p)?;
    let id = new_id();
    let mut record = SeedRecord::new(p.procedure());
    record.caller_seed = p.seed.clone().filter(|_| p.rehearsal);
    record.beacon = p.beacon.clone().map(|mut b| {
        b.source = nfc(&b.source);
        b
    });
    rows::insert_draft(
        conn,
        rows::NewPlanRow {
            id: &id,
            name: nfc(&p.name),
            year: p.year,
            org_unit_code: &p.org_unit_code,
            shares: serde_json::to_string(&p.shares).unwrap_or_default(),
            stratify_by: serde_json::to_string(&p.stratify_by).unwrap_or_default(),
            risk_weighting: p.risk_weighting,
            seed: p.seed.as_deref(),
            rehearsal: p.rehearsal,
            seed_procedure: p.procedure(),
            seed_record: serde_json::to_string(&record).ok(),
            live_key: p.live_key(),
            created_by: &user.id,
            at: now(),
            number: document_field(&p.number),
            issuing_body: document_field(&p.issuing_body),
        },
    )?;
    let (plan, _) = load_plan(conn, user, &id)?;
    crate::app::audit::record(conn, &user.id, "plan.create", &id, None, Some(&plan))?;
    Ok(plan)
}

/// `POST /plans` (admin, supervisor inside its area).
pub async fn create(db: &Db, user: AuthUser, p: NewPlan) -> Result<PlanDto, ApiError> {
    crate::app::policy::require_manager(&user)?;
    let plan = db.write(move |conn| create_plan(conn, &user, p)).await?;
    Ok(PlanDto::from(plan))
}

/// `GET /plans/{id}`: the plan with its rounds.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<PlanDto, ApiError> {
    db.run(move |conn| {
        let (plan, _) = load_plan(conn, &user, &id)?;
        let rounds = rows::round_summaries(conn, &id)?;
        Ok(PlanDto::with_rounds(plan, rounds))
    })
    .await
}

/// `PATCH /plans/{id}` body: the plan's document fields, which do not enter
/// the draw and so may change at any time. An absent field stays as it is;
/// an empty string clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchPlan {
    number: Option<String>,
    issuing_body: Option<String>,
}

/// `PATCH /plans/{id}` (admin, supervisor inside its area; `If-Match`):
/// sets the plan's number and issuing body; audited as `plan.update`.
pub async fn patch(
    db: &Db,
    user: AuthUser,
    id: String,
    expected: Option<i32>,
    body: PatchPlan,
) -> Result<PlanDto, ApiError> {
    crate::app::policy::require_manager(&user)?;
    let errs = document_errors(&body.number, &body.issuing_body);
    if !errs.is_empty() {
        return Err(ApiError::Validation(errs));
    }
    db.write(move |conn| {
        let (before, path) = load_plan(conn, &user, &id)?;
        // A plan above the caller's area is readable, not writable.
        found_if(user.sees(&path))?;
        crate::domain::values::check_version(expected, before.version)?;
        let keep = |new: &Option<String>, old: &Option<String>| match new {
            Some(_) => document_field(new),
            None => old.clone(),
        };
        let number = keep(&body.number, &before.number);
        let issuing_body = keep(&body.issuing_body, &before.issuing_body);
        if rows::update_document_at_version(
            conn,
            &id,
            before.version,
            number.as_deref(),
            issuing_body.as_deref(),
            now(),
        )? == 0
        {
            return Err(ApiError::PreconditionFailed {
                current_version: before.version + 1,
            });
        }
        let (after, _) = load_plan(conn, &user, &id)?;
        crate::app::audit::record(
            conn,
            &user.id,
            "plan.update",
            &id,
            Some(&before),
            Some(&after),
        )?;
        let rounds = rows::round_summaries(conn, &id)?;
        Ok(PlanDto::with_rounds(after, rounds))
    })
    .await
}

/// `POST /plans/{id}/cancel` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    reason: String,
}

/// `POST /plans/{id}/cancel` (admin, supervisor inside its area): the plan
/// stops being live (a new one for its unit, year and levels may be
/// created), stays listed with its rounds, and its open assignments are
/// cancelled with the reason; audited as `plan.cancel`.
pub async fn cancel(
    db: &Db,
    user: AuthUser,
    id: String,
    body: CancelBody,
) -> Result<PlanDto, ApiError> {
    crate::app::policy::require_manager(&user)?;
    let reason = nfc(&body.reason);
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    db.write(move |conn| {
        let (before, path) = load_plan(conn, &user, &id)?;
        found_if(user.sees(&path))?;
        if rows::cancel_plan(conn, &id, &reason, now())? == 0 {
            return Err(ApiError::Conflict("the plan is cancelled already".into()));
        }
        let open = if before.rehearsal {
            Vec::new()
        } else {
            rows::open_assignments_of_plan(conn, &id)?
        };
        if !open.is_empty() {
            let seq = crate::db::changes::next_change_seq(conn, open.len() as i64)?;
            let why = format!("{PLAN_CANCELLED}{reason}");
            for (i, a) in open.iter().enumerate() {
                crate::db::assignments::cancel_assignment(conn, a, &why, seq + i as i64, now())?;
            }
        }
        let (after, _) = load_plan(conn, &user, &id)?;
        crate::app::audit::record(
            conn,
            &user.id,
            "plan.cancel",
            &id,
            Some(&before),
            Some(&after),
        )?;
        let rounds = rows::round_summaries(conn, &id)?;
        Ok(PlanDto::with_rounds(after, rounds))
    })
    .await
}

/// A page of a rehearsal's would-be assignments: for managers only (no
/// inspector, no team ever sees them), all `pending`.
fn rehearsal_assignments(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: &Plan,
    q: AssignmentQuery,
    unit_path: Option<String>,
) -> Result<Page<crate::app::assignments::AssignmentDto>, ApiError> {
    let empty = Page {
        items: vec![],
        next_cursor: None,
    };
    if user.role == crate::app::auth::Role::Inspector
        || q.status
            .is_some_and(|s| s != crate::domain::status::AssignmentStatus::Pending)
    {
        return Ok(empty);
    }
    let due_by = chrono::NaiveDate::from_ymd_opt(plan.year, 12, 31)
        .ok_or_else(|| ApiError::Internal("plan year out of range".into()))?;
    let items: Vec<_> = rows::rehearsal_list(
        conn,
        &plan.id,
        rows::RehearsalFilter {
            scope_path: user.scope_path.clone(),
            team_id: q.team_id,
            unit_path,
            after_id: q.after,
        },
        q.limit + 1,
    )?
    .into_iter()
    .map(|(r, e)| crate::app::assignments::rehearsal_dto(r, due_by, e))
    .collect();
    Ok(Page::from_rows(
        items,
        q.limit,
        |a: &crate::app::assignments::AssignmentDto| a.id.clone(),
    ))
}

/// How the reason of an assignment cancelled with its plan begins.
pub const PLAN_CANCELLED: &str = "plan cancelled: ";

/// `GET /plans`: the plans the caller may see ([`sees_plan`]), by id.
pub async fn list(
    db: &Db,
    user: AuthUser,
    limit: i64,
    after: Option<String>,
) -> Result<Page<PlanDto>, ApiError> {
    db.run(move |conn| {
        // Few plans exist (one per unit and year): visibility is filtered here.
        let items: Vec<PlanDto> = rows::list_with_paths(conn, after)?
            .into_iter()
            .filter(|(_, path)| sees_plan(&user, path))
            .take(limit as usize + 1)
            .map(|(p, _)| {
                let rounds = rows::round_summaries(conn, &p.id)?;
                Ok(PlanDto::with_rounds(p, rounds))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Page::from_rows(items, limit, |p: &PlanDto| p.id.clone()))
    })
    .await
}

/// Filters of `GET /plans/{id}/assignments`, parsed.
#[derive(Debug, Default)]
pub struct AssignmentQuery {
    /// Only this team's.
    pub team_id: Option<String>,
    /// Only establishments under this org unit (none if it does not exist).
    pub org_unit: Option<String>,
    /// Only this status.
    pub status: Option<AssignmentStatus>,
    /// Page size.
    pub limit: i64,
    /// Ids after this one.
    pub after: Option<String>,
}

/// `GET /plans/{id}/assignments`: a page of the plan's assignments the
/// caller may see (a team's schedule in the console), kept while nothing is
/// written (`db::memo`).
pub async fn plan_assignments(
    db: &Db,
    user: AuthUser,
    id: String,
    q: AssignmentQuery,
) -> Result<Page<crate::app::assignments::AssignmentDto>, ApiError> {
    let key = format!(
        "assignments|{id}|{q:?}|{}",
        crate::app::policy::policy_key(&user)
    );
    let kept = db
        .memo()
        .get_or(key, || read_plan_assignments(db, user, id, q))
        .await?;
    Ok(Page::clone(&kept))
}

/// [`plan_assignments`], read.
async fn read_plan_assignments(
    db: &Db,
    user: AuthUser,
    id: String,
    q: AssignmentQuery,
) -> Result<Page<crate::app::assignments::AssignmentDto>, ApiError> {
    db.run(move |conn| {
        let (plan, _) = load_plan(conn, &user, &id)?;
        let unit_path = match &q.org_unit {
            Some(code) => match rows::unit_path(conn, code)? {
                Some(p) => Some(p),
                None => {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    })
                }
            },
            None => None,
        };
        if plan.rehearsal {
            return rehearsal_assignments(conn, &user, &plan, q, unit_path);
        }
        let items = crate::app::assignments::query(
            conn,
            &user,
            crate::app::assignments::Filter {
                plan_id: Some(id),
                team_id: q.team_id,
                unit_path,
                status: q.status.map(|s| s.as_str().to_string()),
                after_id: q.after,
                ..Default::default()
            },
            q.limit + 1,
        )?;
        Ok(Page::from_rows(
            items,
            q.limit,
            |a: &crate::app::assignments::AssignmentDto| a.id.clone(),
        ))
    })
    .await
}
