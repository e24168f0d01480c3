//! What to fix before drawing a plan (read-only): a level of the plan's
//! shares with a unit that has establishments but no team of that level, a
//! team with no members, a quota that the unit's establishments cannot fill.
//! The draw itself still runs; these are the supervisor's to-do list.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{load_plan, Share};
use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::Db;
use crate::domain::draw::percent_to_basis_points;
use crate::domain::level_rank;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// One warning.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// `level_without_team`, `team_without_members` or `quota_unreachable`.
    pub kind: &'static str,
    /// The share level concerned.
    pub level: String,
    /// The unit concerned (the team's jurisdiction for a team).
    pub org_unit_code: String,
    /// Its name.
    pub org_unit_name: String,
    /// The team concerned, if any.
    pub team_id: Option<String>,
    /// The team's name, if any.
    pub team_name: Option<String>,
    /// Active establishments in the unit.
    pub eligible: i64,
    /// What the shares ask of the unit.
    pub quota: i64,
}

/// `GET /plans/{id}/warnings`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanWarnings {
    /// The plan.
    pub plan_id: String,
    /// Its status (warnings matter while it is `draft`).
    pub status: String,
    /// Active establishments counted (inside the caller's area).
    pub eligible: i64,
    /// The warnings, by unit code then kind.
    pub warnings: Vec<Warning>,
}

/// `ceil(bp × n / 10000)`.
fn ceil_share(bp: u32, n: i64) -> i64 {
    (i64::from(bp) * n + 9_999) / 10_000
}

/// The warnings of plan `id` (admin, supervisor), counted inside the
/// caller's area when the plan lies above it; kept while nothing is written
/// (`db::memo`).
pub async fn warnings(db: &Db, user: AuthUser, id: &str) -> Result<PlanWarnings, ApiError> {
    policy::require_manager(&user)?;
    let id = path_uuid(id)?;
    let key = format!("warnings|{id}|{}", policy::policy_key(&user));
    let kept = db.memo().get_or(key, || count(db, user, id)).await?;
    Ok(PlanWarnings::clone(&kept))
}

/// [`warnings`], counted.
async fn count(db: &Db, user: AuthUser, id: String) -> Result<PlanWarnings, ApiError> {
    db.run(move |conn| {
        let (plan, plan_path) = load_plan(conn, &user, &id)?;
        let path = policy::counted_path(&user, &plan_path);
        let shares: Vec<Share> =
            serde_json::from_str(&plan.shares).map_err(|e| ApiError::Internal(e.to_string()))?;
        let shares: Vec<(String, u32)> = shares
            .into_iter()
            .map(|s| (s.level, percent_to_basis_points(s.percent).unwrap_or(0)))
            .collect();
        let levels: Vec<String> = shares.iter().map(|(l, _)| l.clone()).collect();
        let counts = crate::db::console::active_counts_by_unit(conn, &path)?;
        let units = crate::db::console::units_under(conn, &path, &levels)?;
        let teams = crate::db::console::teams_with_member_counts(conn, &path)?;
        let eligible_in = |unit_path: &str| -> i64 {
            counts
                .iter()
                .filter(|(p, _)| p.starts_with(unit_path))
                .map(|(_, n)| n)
                .sum()
        };
        let staffed: HashSet<(&str, &str)> = teams
            .iter()
            .map(|(_, _, level, unit, _)| (level.as_str(), unit.as_str()))
            .collect();
        let names: HashMap<&str, &str> = units
            .iter()
            .map(|(code, name, _, _)| (code.as_str(), name.as_str()))
            .collect();
        let finest = levels
            .iter()
            .filter_map(|l| level_rank(l).map(|r| (r, l.clone())))
            .max()
            .map(|(_, l)| l);
        let mut out = Vec::new();
        for (code, name, level, unit_path) in &units {
            let Some(bp) = shares.iter().find(|(l, _)| l == level).map(|(_, b)| *b) else {
                continue;
            };
            let n = eligible_in(unit_path);
            if n > 0 && !staffed.contains(&(level.as_str(), code.as_str())) {
                out.push(Warning {
                    kind: "level_without_team",
                    level: level.clone(),
                    org_unit_code: code.clone(),
                    org_unit_name: name.clone(),
                    team_id: None,
                    team_name: None,
                    eligible: n,
                    quota: ceil_share(bp, n),
                });
            }
            // The finest level's quota comes on top of its share of the
            // coarser levels' (spread by largest remainder, so at least the
            // floor of theirs): more than the unit holds cannot be met.
            if finest.as_deref() == Some(level.as_str()) {
                let coarser: i64 = shares
                    .iter()
                    .filter(|(l, _)| l != level)
                    .map(|(_, b)| i64::from(*b) * n / 10_000)
                    .sum();
                let required = ceil_share(bp, n) + coarser;
                if required > n {
                    out.push(Warning {
                        kind: "quota_unreachable",
                        level: level.clone(),
                        org_unit_code: code.clone(),
                        org_unit_name: name.clone(),
                        team_id: None,
                        team_name: None,
                        eligible: n,
                        quota: required,
                    });
                }
            }
        }
        for (team_id, team_name, level, unit, members) in &teams {
            if *members == 0 && levels.contains(level) {
                out.push(Warning {
                    kind: "team_without_members",
                    level: level.clone(),
                    org_unit_code: unit.clone(),
                    org_unit_name: names.get(unit.as_str()).unwrap_or(&"").to_string(),
                    team_id: Some(team_id.clone()),
                    team_name: Some(team_name.clone()),
                    eligible: 0,
                    quota: 0,
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.org_unit_code, a.kind, &a.team_id).cmp(&(&b.org_unit_code, b.kind, &b.team_id))
        });
        Ok(PlanWarnings {
            plan_id: plan.id,
            status: plan.status,
            eligible: counts.iter().map(|(_, n)| n).sum(),
            warnings: out,
        })
    })
    .await
}

/// How many open assignments of plan `id` are past their due date, in the
/// caller's area (the overview's "quá hạn"); kept while nothing is written
/// (`db::memo`).
pub async fn overdue(db: &Db, user: AuthUser, id: &str) -> Result<i64, ApiError> {
    let id = path_uuid(id)?;
    let today = crate::domain::calendar::today();
    let key = format!("overdue|{id}|{}|{today}", policy::policy_key(&user));
    let kept = db
        .memo()
        .get_or(key, || {
            db.run(move |conn| {
                let (plan, plan_path) = load_plan(conn, &user, &id)?;
                let path = policy::counted_path(&user, &plan_path);
                crate::db::console::overdue_count(conn, &plan.id, &path, today)
            })
        })
        .await?;
    Ok(*kept)
}
