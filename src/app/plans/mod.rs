//! Yearly plans: create, list, get, the plan's assignments, and what a closing
//! establishment does to its assignments. The draw, top-up and verify are in
//! [`draw`]; the pure draw itself is [`crate::domain::draw`].

pub mod draw;
pub mod warnings;

pub use draw::{draw, draw_in_tx, top_up, verify, DrawResult, RoundCheck};

use serde::{Deserialize, Serialize};

use crate::app::auth::AuthUser;
use crate::app::policy::{found_if, sees_plan};
use crate::db::plans as rows;
pub use crate::db::plans::Plan;
use crate::db::{Db, DbConnection};
use crate::domain::draw::percent_to_basis_points;
use crate::domain::page::Page;
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

/// Validates and stores a draft plan (inside the caller's transaction).
pub fn create_plan(conn: &mut DbConnection, user: &AuthUser, p: NewPlan) -> Result<Plan, ApiError> {
    validate(conn, user, &p)?;
    let id = new_id();
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
            created_by: &user.id,
            at: now(),
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

/// `GET /plans/{id}`.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<PlanDto, ApiError> {
    let (plan, _) = db.run(move |conn| load_plan(conn, &user, &id)).await?;
    Ok(PlanDto::from(plan))
}

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
            .map(|(p, _)| PlanDto::from(p))
            .collect();
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
/// caller may see.
pub async fn plan_assignments(
    db: &Db,
    user: AuthUser,
    id: String,
    q: AssignmentQuery,
) -> Result<Page<crate::app::assignments::AssignmentDto>, ApiError> {
    db.run(move |conn| {
        load_plan(conn, &user, &id)?;
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
