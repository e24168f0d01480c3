//! Yearly plans and the verifiable draw: create, draw, verify, top-up, list
//! assignments. The draw itself is the pure [`crate::domain::draw`].

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::assignments::AssignmentDto;
use crate::api::extract::ValidJson;
use crate::app::auth::{AuthUser, Role};
use crate::db::changes::next_change_seq;
use crate::db::schema::{assignments, draw_rounds, establishments, org_units, plans, teams};
use crate::db::{Db, DbConnection};
use crate::domain::draw::{
    self, DrawInput, EligibleEstablishment, ExistingAssignment, ShareSpec, TeamSpec,
};
use crate::domain::page::{Page, PageParams};
use crate::domain::text::nfc;
use crate::domain::values::{new_id, now, path_uuid, rfc3339};
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

/// A stored plan.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = plans)]
pub struct Plan {
    /// Id.
    pub id: String,
    name: String,
    /// The plan's year.
    pub year: i32,
    org_unit_code: String,
    /// JSON of the shares.
    pub shares: String,
    stratify_by: String,
    risk_weighting: bool,
    seed: Option<String>,
    status: String,
    version: i32,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
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
}

impl From<Plan> for PlanDto {
    fn from(p: Plan) -> Self {
        PlanDto {
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
            status: p.status,
            version: p.version,
        }
    }
}

/// Loads a plan inside the caller's area, with its unit's path.
pub fn load_plan(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<(Plan, String), ApiError> {
    let (plan, path): (Plan, String) = plans::table
        .inner_join(org_units::table)
        .filter(plans::id.eq(id))
        .select((Plan::as_select(), org_units::path))
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)?;
    // Inspectors see plans that cover their jurisdiction (plans sit above them).
    let visible = user.sees(&path)
        || user
            .scope_path
            .as_deref()
            .is_some_and(|s| s.starts_with(&path));
    if !visible {
        return Err(ApiError::NotFound);
    }
    Ok((plan, path))
}

fn parse_seed(s: &str) -> Option<[u8; 32]> {
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
    let path: Option<String> = org_units::table
        .find(&p.org_unit_code)
        .select(org_units::path)
        .first(conn)
        .optional()?;
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
        match draw::percent_to_basis_points(s.percent) {
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
        if parse_seed(seed).is_none() || seed.chars().any(|c| c.is_ascii_uppercase()) {
            errs.push(FieldError::new(
                "seed",
                "must be 64 lower-case hex digits (256 bits)",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// `POST /plans` (admin, supervisor inside its area).
pub async fn create(
    user: AuthUser,
    db: web::Data<Db>,
    body: ValidJson<NewPlan>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let p = body.0;
    let plan = db.write(move |conn| create_plan(conn, &user, p)).await?;
    Ok(HttpResponse::Created().json(PlanDto::from(plan)))
}

impl NewPlan {
    /// A plan with the default shares (10% province, 40% district) and
    /// stratification by business type.
    pub fn new(name: &str, year: i32, org_unit_code: &str, seed: Option<String>) -> Self {
        NewPlan {
            name: name.into(),
            year,
            org_unit_code: org_unit_code.into(),
            shares: default_shares(),
            stratify_by: default_stratify(),
            risk_weighting: false,
            seed,
        }
    }
}

/// Validates and stores a draft plan.
pub fn create_plan(conn: &mut DbConnection, user: &AuthUser, p: NewPlan) -> Result<Plan, ApiError> {
    validate(conn, user, &p)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(plans::table)
        .values((
            plans::id.eq(&id),
            plans::name.eq(nfc(&p.name)),
            plans::year.eq(p.year),
            plans::org_unit_code.eq(&p.org_unit_code),
            plans::shares.eq(serde_json::to_string(&p.shares).unwrap_or_default()),
            plans::stratify_by.eq(serde_json::to_string(&p.stratify_by).unwrap_or_default()),
            plans::risk_weighting.eq(p.risk_weighting),
            plans::seed.eq(&p.seed),
            plans::status.eq("draft"),
            plans::version.eq(1),
            plans::created_by.eq(&user.id),
            plans::created_at.eq(t),
            plans::updated_at.eq(t),
        ))
        .execute(conn)?;
    let (plan, _) = load_plan(conn, user, &id)?;
    crate::app::audit::record(conn, &user.id, "plan.create", &id, None, Some(&plan))?;
    Ok(plan)
}

/// `GET /plans/{id}`.
pub async fn get(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let (plan, _) = db.run(move |conn| load_plan(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(PlanDto::from(plan)))
}

/// `GET /plans` (plans whose unit is inside or above the caller's area).
pub async fn list(
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after = q.after()?;
    let page = db
        .run(move |conn| {
            let mut query = plans::table
                .inner_join(org_units::table)
                .select((Plan::as_select(), org_units::path))
                .order(plans::id)
                .into_boxed();
            if let Some(a) = after {
                query = query.filter(plans::id.gt(a));
            }
            // Few plans exist (one per unit and year): filter visibility here.
            let rows: Vec<(Plan, String)> = query.load(conn)?;
            let items: Vec<PlanDto> = rows
                .into_iter()
                .filter(|(_, path)| {
                    user.sees(path)
                        || user
                            .scope_path
                            .as_deref()
                            .is_some_and(|s| s.starts_with(path.as_str()))
                })
                .take(limit as usize + 1)
                .map(|(p, _)| PlanDto::from(p))
                .collect();
            Ok(Page::from_rows(items, limit, |p: &PlanDto| p.id.clone()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// What draw and top-up answer.
#[derive(Debug, Serialize)]
pub struct DrawResult {
    /// The plan.
    pub plan_id: String,
    round: i32,
    seed: String,
    input_digest: String,
    /// How many assignments this round made.
    pub assignments: usize,
    quotas: Vec<draw::TeamQuota>,
}

/// Builds the draw input from the registry as it is now.
fn current_input(
    conn: &mut DbConnection,
    plan: &Plan,
    unit_path: &str,
    seed: [u8; 32],
    existing: Vec<ExistingAssignment>,
) -> Result<DrawInput, ApiError> {
    let shares: Vec<Share> =
        serde_json::from_str(&plan.shares).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stratify: Vec<String> =
        serde_json::from_str(&plan.stratify_by).map_err(|e| ApiError::Internal(e.to_string()))?;
    let share_specs = shares
        .iter()
        .map(|s| ShareSpec {
            level: s.level.clone(),
            basis_points: draw::percent_to_basis_points(s.percent).unwrap_or(0),
        })
        .collect();
    let team_specs = teams::table
        .inner_join(org_units::table)
        .filter(org_units::path.like(format!("{unit_path}%")))
        .select((teams::id, teams::level, teams::org_unit_code))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, level, jurisdiction)| TeamSpec {
            id,
            level,
            jurisdiction,
        })
        .collect();
    // Re-inspection: a violation found in the last 12 months makes an
    // establishment a priority, like an explicit re-inspection flag.
    let violators: std::collections::HashSet<String> = if plan.risk_weighting {
        crate::db::schema::inspections::table
            .inner_join(establishments::table)
            .filter(establishments::unit_path.like(format!("{unit_path}%")))
            .filter(crate::db::schema::inspections::violation_count.gt(0))
            .filter(
                crate::db::schema::inspections::finished_at.ge(now() - chrono::Duration::days(365)),
            )
            .select(crate::db::schema::inspections::establishment_id)
            .distinct()
            .load::<String>(conn)?
            .into_iter()
            .collect()
    } else {
        Default::default()
    };
    let rows: Vec<(String, String, String, bool)> = establishments::table
        .filter(establishments::unit_path.like(format!("{unit_path}%")))
        .filter(establishments::status.eq("active"))
        .select((
            establishments::id,
            establishments::unit_path,
            establishments::business_type,
            establishments::reinspect,
        ))
        .order(establishments::id)
        .load(conn)?;
    let establishments = rows
        .into_iter()
        .map(
            |(id, path, business_type, reinspect)| EligibleEstablishment {
                priority: plan.risk_weighting && (reinspect || violators.contains(&id)),
                unit_path: path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                id,
                business_type,
            },
        )
        .collect();
    Ok(DrawInput {
        plan_unit: plan.org_unit_code.clone(),
        shares: share_specs,
        stratify_by_business_type: stratify.iter().any(|s| s == "business_type"),
        risk_weighting: plan.risk_weighting,
        seed,
        teams: team_specs,
        establishments,
        existing,
    })
}

/// Runs one round (draw or top-up) and stores it with its assignments.
fn run_round(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: &Plan,
    input: DrawInput,
    round: i32,
) -> Result<DrawResult, ApiError> {
    let started = std::time::Instant::now();
    let digest = draw::input_digest(&input);
    let out = draw::draw(&input);
    let drawn = started.elapsed();
    let seed_hex = hex::encode(input.seed);
    diesel::insert_into(draw_rounds::table)
        .values((
            draw_rounds::plan_id.eq(&plan.id),
            draw_rounds::round.eq(round),
            draw_rounds::seed.eq(&seed_hex),
            draw_rounds::input_digest.eq(&digest),
            draw_rounds::inputs
                .eq(serde_json::to_string(&input).map_err(|e| ApiError::Internal(e.to_string()))?),
            draw_rounds::assignments.eq(out.selections.len() as i32),
            draw_rounds::created_by.eq(&user.id),
            draw_rounds::created_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ApiError::Conflict("this plan was drawn concurrently".into()),
            other => other.into(),
        })?;
    let recorded = started.elapsed();
    let due_by = NaiveDate::from_ymd_opt(plan.year, 12, 31)
        .ok_or_else(|| ApiError::field("year", "invalid"))?;
    let t = now();
    let seq = next_change_seq(conn, out.selections.len() as i64)?;
    let rows: Vec<_> = out
        .selections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                assignments::id.eq(new_id()),
                assignments::plan_id.eq(&plan.id),
                assignments::team_id.eq(&s.team_id),
                assignments::establishment_id.eq(&s.establishment_id),
                assignments::level.eq(&s.level),
                assignments::round.eq(round),
                assignments::status.eq("pending"),
                assignments::due_by.eq(due_by),
                assignments::version.eq(1),
                assignments::change_seq.eq(seq + i as i64),
                assignments::created_at.eq(t),
                assignments::updated_at.eq(t),
            )
        })
        .collect();
    // 12 columns a row: 2,000 rows a statement on SQLite.
    crate::bulk_insert!(conn, assignments::table, &rows[..], 2000);
    tracing::info!(
        plan = %plan.id,
        round,
        eligible = input.establishments.len(),
        assignments = out.selections.len(),
        draw_ms = drawn.as_secs_f64() * 1e3,
        record_ms = (recorded - drawn).as_secs_f64() * 1e3,
        assignments_ms = (started.elapsed() - recorded).as_secs_f64() * 1e3,
        "plan drawn"
    );
    let summary = serde_json::json!({"round": round, "input_digest": digest, "assignments": out.selections.len()});
    crate::app::audit::record(
        conn,
        &user.id,
        if round == 1 {
            "plan.draw"
        } else {
            "plan.top_up"
        },
        &plan.id,
        None,
        Some(&summary),
    )?;
    Ok(DrawResult {
        plan_id: plan.id.clone(),
        round,
        seed: seed_hex,
        input_digest: digest,
        assignments: out.selections.len(),
        quotas: out.quotas,
    })
}

/// `POST /plans/{id}/draw` (admin, supervisor): once per plan.
pub async fn draw_plan(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let id = path_uuid(&id)?;
    let result = db.write(move |conn| draw_in_tx(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Draws a plan inside the caller's transaction (once per plan).
pub fn draw_in_tx(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<DrawResult, ApiError> {
    let (plan, path) = load_plan(conn, user, id)?;
    if !user.sees(&path) {
        return Err(ApiError::NotFound);
    }
    // The guarded update is the lock: a concurrent draw of the same
    // plan waits here and then finds it drawn.
    let seed_hex = plan
        .seed
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    let claimed = diesel::update(plans::table.find(id).filter(plans::status.eq("draft")))
        .set((
            plans::status.eq("drawn"),
            plans::seed.eq(&seed_hex),
            plans::version.eq(plan.version + 1),
            plans::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if claimed == 0 {
        return Err(ApiError::Conflict(
            "the plan has been drawn already; use top-up".into(),
        ));
    }
    let seed = parse_seed(&seed_hex)
        .ok_or_else(|| ApiError::Internal("stored seed is not 32 bytes".into()))?;
    let started = std::time::Instant::now();
    let input = current_input(conn, &plan, &path, seed, Vec::new())?;
    tracing::info!(plan = %plan.id, load_ms = started.elapsed().as_secs_f64() * 1e3, "draw input loaded");
    run_round(conn, user, &plan, input, 1)
}

/// `POST /plans/{id}/top-up` (admin, supervisor): restores quotas after the
/// registry changed, adding assignments and moving none.
pub async fn top_up(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let id = path_uuid(&id)?;
    let result = db
        .write(move |conn| {
            let (plan, path) = load_plan(conn, &user, &id)?;
            if !user.sees(&path) {
                return Err(ApiError::NotFound);
            }
            // Serialise top-ups of one plan: bump its version under the row lock.
            let bumped = diesel::update(plans::table.find(&id).filter(plans::status.eq("drawn")))
                .set((
                    plans::version.eq(plans::version + 1),
                    plans::updated_at.eq(now()),
                ))
                .execute(conn)?;
            if bumped == 0 {
                return Err(ApiError::Conflict("the plan has not been drawn yet".into()));
            }
            let round: i32 = draw_rounds::table
                .filter(draw_rounds::plan_id.eq(&id))
                .select(diesel::dsl::max(draw_rounds::round))
                .first::<Option<i32>>(conn)?
                .unwrap_or(0)
                + 1;
            let seed = plan
                .seed
                .as_deref()
                .and_then(parse_seed)
                .ok_or_else(|| ApiError::Internal("drawn plan without seed".into()))?;
            let existing = assignments::table
                .filter(assignments::plan_id.eq(&id))
                .filter(assignments::status.ne("cancelled"))
                .select((assignments::establishment_id, assignments::team_id))
                .load::<(String, String)>(conn)?
                .into_iter()
                .map(|(establishment_id, team_id)| ExistingAssignment {
                    establishment_id,
                    team_id,
                })
                .collect();
            let input = current_input(conn, &plan, &path, seed, existing)?;
            run_round(conn, &user, &plan, input, round)
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// One round's verification.
#[derive(Debug, Serialize)]
pub struct RoundCheck {
    round: i32,
    input_digest: String,
    matches: bool,
}

/// `GET /plans/{id}/verify`: recomputes every round from its recorded inputs.
pub async fn verify(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let body = db
        .run(move |conn| {
            let (plan, _) = load_plan(conn, &user, &id)?;
            let rounds: Vec<(i32, String, String, String)> = draw_rounds::table
                .filter(draw_rounds::plan_id.eq(&id))
                .order(draw_rounds::round)
                .select((
                    draw_rounds::round,
                    draw_rounds::seed,
                    draw_rounds::input_digest,
                    draw_rounds::inputs,
                ))
                .load(conn)?;
            if rounds.is_empty() {
                return Err(ApiError::Conflict("the plan has not been drawn yet".into()));
            }
            let stored: Vec<(i32, String, String, String)> = assignments::table
                .filter(assignments::plan_id.eq(&id))
                .select((
                    assignments::round,
                    assignments::establishment_id,
                    assignments::team_id,
                    assignments::level,
                ))
                .load(conn)?;
            let mut by_round: HashMap<i32, Vec<(String, String, String)>> = HashMap::new();
            for (r, e, t, l) in stored {
                by_round.entry(r).or_default().push((e, t, l));
            }
            let mut checks = Vec::new();
            for (round, seed, digest, inputs) in &rounds {
                let ok = match serde_json::from_str::<DrawInput>(inputs) {
                    Ok(input) => {
                        let mut expected: Vec<(String, String, String)> = draw::draw(&input)
                            .selections
                            .into_iter()
                            .map(|s| (s.establishment_id, s.team_id, s.level))
                            .collect();
                        expected.sort();
                        let mut actual = by_round.remove(round).unwrap_or_default();
                        actual.sort();
                        draw::input_digest(&input) == *digest
                            && hex::encode(input.seed) == *seed
                            && Some(seed) == plan.seed.as_ref()
                            && expected == actual
                    }
                    Err(_) => false,
                };
                checks.push(RoundCheck {
                    round: *round,
                    input_digest: digest.clone(),
                    matches: ok,
                });
            }
            let matches = checks.iter().all(|c| c.matches) && by_round.is_empty();
            Ok(serde_json::json!({
                "plan_id": plan.id,
                "matches": matches,
                "seed": plan.seed,
                "input_digest": rounds[0].2,
                "rounds": checks,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Filters of `GET /plans/{id}/assignments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentFilters {
    team_id: Option<String>,
    org_unit: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /plans/{id}/assignments?team_id=&org_unit=&status=` (by id).
pub async fn plan_assignments(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<AssignmentFilters>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let q = q.into_inner();
    if let Some(s) = &q.status {
        crate::api::assignments::check_status(s)?;
    }
    if let Some(t) = &q.team_id {
        crate::domain::values::parse_uuid("team_id", t)?;
    }
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    let page = db
        .run(move |conn| {
            load_plan(conn, &user, &id)?;
            let unit_path = match &q.org_unit {
                Some(code) => match org_units::table
                    .find(code)
                    .select(org_units::path)
                    .first::<String>(conn)
                    .optional()?
                {
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
            let items = crate::api::assignments::query(
                conn,
                &user,
                crate::api::assignments::Filter {
                    plan_id: Some(id),
                    team_id: q.team_id,
                    unit_path,
                    status: q.status,
                    after_id: after,
                    ..Default::default()
                },
                limit + 1,
            )?;
            Ok(Page::from_rows(items, limit, |a: &AssignmentDto| {
                a.id.clone()
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Cancels the open assignments of an establishment that closed (called in
/// the closing transaction); top-up later replaces them from the same stratum.
pub fn on_establishment_closed(
    conn: &mut DbConnection,
    establishment_id: &str,
) -> Result<usize, ApiError> {
    let open: Vec<String> = assignments::table
        .filter(assignments::establishment_id.eq(establishment_id))
        .filter(assignments::status.eq_any(["pending", "scheduled"]))
        .select(assignments::id)
        .load(conn)?;
    if open.is_empty() {
        return Ok(0);
    }
    let seq = next_change_seq(conn, open.len() as i64)?;
    for (i, id) in open.iter().enumerate() {
        diesel::update(assignments::table.find(id))
            .set((
                assignments::status.eq("cancelled"),
                assignments::cancel_reason.eq("establishment closed"),
                assignments::version.eq(assignments::version + 1),
                assignments::change_seq.eq(seq + i as i64),
                assignments::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(open.len())
}
