//! The draw of a plan, its top-ups and their verification. A round is read,
//! computed by the pure [`crate::domain::draw`] and stored in one write
//! transaction, unless the draw would use threads (a very large input): then
//! it is computed outside any transaction, and the write transaction re-reads
//! the input and stores the round only if its digest is unchanged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use super::{load_plan, parse_seed, Plan, Share};
use crate::app::auth::AuthUser;
use crate::app::policy::{found_if, require_manager};
use crate::db::changes::next_change_seq;
use crate::db::plans as rows;
use crate::db::{Db, DbConnection};
use crate::domain::draw::{
    self, DrawInput, DrawOutput, EligibleEstablishment, ExistingAssignment, ShareSpec, TeamSpec,
};
use crate::domain::status::PlanStatus;
use crate::domain::values::{now, path_uuid};
use crate::error::ApiError;

/// How often a draw or top-up is read and computed again when the registry
/// changed between its computation and its write, before it gives up (409).
const ATTEMPTS: usize = 3;

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

/// One round's verification.
#[derive(Debug, Serialize)]
pub struct RoundCheck {
    round: i32,
    input_digest: String,
    matches: bool,
}

/// The first draw (round 1) or a top-up (a later round).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Draw,
    TopUp,
}

/// A round read from the registry, not computed yet.
struct Prepared {
    kind: Kind,
    plan_id: String,
    round: i32,
    input: DrawInput,
}

/// A round computed outside any transaction, ready to be stored.
struct Computed {
    kind: Kind,
    plan_id: String,
    round: i32,
    eligible: usize,
    seed_hex: String,
    digest: String,
    inputs_json: String,
    out: DrawOutput,
    drawn: Duration,
}

/// A round computed from an input that has changed since: compute it again.
struct Stale;

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
    let team_specs = rows::teams_under(conn, unit_path)?
        .into_iter()
        .map(|(id, level, jurisdiction)| TeamSpec {
            id,
            level,
            jurisdiction,
        })
        .collect();
    // Re-inspection: a violation found in the last 12 months makes an
    // establishment a priority, like an explicit re-inspection flag.
    let violators = if plan.risk_weighting {
        rows::violators_since(conn, unit_path, now() - chrono::Duration::days(365))?
    } else {
        Default::default()
    };
    let establishments = rows::active_establishments_under(conn, unit_path)?
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

/// A plan the caller may draw: one it may see that lies inside its area.
fn load_drawable(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<(Plan, String), ApiError> {
    let (plan, path) = load_plan(conn, user, id)?;
    found_if(user.sees(&path))?;
    Ok((plan, path))
}

/// The input of the first draw, with the plan's seed or a new random one.
fn prepare_draw(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Prepared, ApiError> {
    let (plan, path) = load_drawable(conn, user, id)?;
    if plan.status != PlanStatus::Draft.as_str() {
        return Err(already_drawn());
    }
    let seed_hex = plan
        .seed
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    let seed = parse_seed(&seed_hex)
        .ok_or_else(|| ApiError::Internal("stored seed is not 32 bytes".into()))?;
    let started = Instant::now();
    let input = current_input(conn, &plan, &path, seed, Vec::new())?;
    tracing::info!(plan = %plan.id, load_ms = started.elapsed().as_secs_f64() * 1e3, "draw input loaded");
    Ok(Prepared {
        kind: Kind::Draw,
        plan_id: plan.id,
        round: 1,
        input,
    })
}

/// The input of the next top-up: the registry and the assignments kept.
fn prepare_top_up(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<Prepared, ApiError> {
    let (plan, path) = load_drawable(conn, user, id)?;
    if plan.status != PlanStatus::Drawn.as_str() {
        return Err(not_drawn());
    }
    let round = rows::last_round(conn, id)? + 1;
    let input = top_up_input(conn, &plan, &path)?;
    Ok(Prepared {
        kind: Kind::TopUp,
        plan_id: plan.id,
        round,
        input,
    })
}

fn top_up_input(conn: &mut DbConnection, plan: &Plan, path: &str) -> Result<DrawInput, ApiError> {
    let seed = plan
        .seed
        .as_deref()
        .and_then(parse_seed)
        .ok_or_else(|| ApiError::Internal("drawn plan without seed".into()))?;
    let existing = rows::kept_assignments(conn, &plan.id)?
        .into_iter()
        .map(|(establishment_id, team_id)| ExistingAssignment {
            establishment_id,
            team_id,
        })
        .collect();
    current_input(conn, plan, path, seed, existing)
}

fn already_drawn() -> ApiError {
    ApiError::Conflict("the plan has been drawn already; use top-up".into())
}

fn not_drawn() -> ApiError {
    ApiError::Conflict("the plan has not been drawn yet".into())
}

/// The pure part of a round: no connection, no transaction (the draw may
/// use several threads on a large input).
fn compute(p: Prepared) -> Result<Computed, ApiError> {
    let started = Instant::now();
    let digest = draw::input_digest(&p.input);
    let out = draw::draw(&p.input);
    let drawn = started.elapsed();
    let inputs_json =
        serde_json::to_string(&p.input).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Computed {
        kind: p.kind,
        plan_id: p.plan_id,
        round: p.round,
        eligible: p.input.establishments.len(),
        seed_hex: hex::encode(p.input.seed),
        digest,
        inputs_json,
        out,
        drawn,
    })
}

/// Whether a computed round must be checked against the registry before it
/// is stored: only when it was computed outside the storing transaction.
#[derive(Clone, Copy, PartialEq)]
enum Recheck {
    /// Read and computed in this transaction: the input is the one read.
    No,
    /// Computed outside: re-read the input and compare its digest.
    Input,
}

/// Stores a computed round inside the caller's write transaction, after
/// claiming the plan; with [`Recheck::Input`] the round is stored only if
/// the input read now has the digest the round was computed from, so the
/// stored assignments are exactly the draw of the registry as written.
fn store(
    conn: &mut DbConnection,
    user: &AuthUser,
    c: &Computed,
    recheck: Recheck,
) -> Result<Result<DrawResult, Stale>, ApiError> {
    let (plan, path) = load_drawable(conn, user, &c.plan_id)?;
    let started = Instant::now();
    let input = match c.kind {
        Kind::Draw => {
            if rows::mark_drawn(conn, &plan.id, &c.seed_hex, plan.version + 1, now())? == 0 {
                return Err(already_drawn());
            }
            match recheck {
                Recheck::No => None,
                Recheck::Input => {
                    let seed = parse_seed(&c.seed_hex)
                        .ok_or_else(|| ApiError::Internal("stored seed is not 32 bytes".into()))?;
                    Some(current_input(conn, &plan, &path, seed, Vec::new())?)
                }
            }
        }
        Kind::TopUp => {
            // Serialise top-ups of one plan: bump its version under the row lock.
            if rows::bump_drawn(conn, &plan.id, now())? == 0 {
                return Err(not_drawn());
            }
            if rows::last_round(conn, &plan.id)? + 1 != c.round {
                return Ok(Err(Stale));
            }
            match recheck {
                Recheck::No => None,
                Recheck::Input => Some(top_up_input(conn, &plan, &path)?),
            }
        }
    };
    if input.is_some_and(|input| draw::input_digest(&input) != c.digest) {
        return Ok(Err(Stale));
    }
    let checked = started.elapsed();
    let n = c.out.selections.len();
    rows::insert_round(
        conn,
        rows::RoundRow {
            plan_id: &plan.id,
            round: c.round,
            seed: &c.seed_hex,
            input_digest: &c.digest,
            inputs: &c.inputs_json,
            assignments: n as i32,
            created_by: &user.id,
            at: now(),
        },
    )?;
    let recorded = started.elapsed();
    let due_by = NaiveDate::from_ymd_opt(plan.year, 12, 31)
        .ok_or_else(|| ApiError::field("year", "invalid"))?;
    let seq = next_change_seq(conn, n as i64)?;
    rows::insert_assignments(
        conn,
        &plan.id,
        c.round,
        due_by,
        seq,
        now(),
        &c.out.selections,
    )?;
    tracing::info!(
        plan = %plan.id,
        round = c.round,
        eligible = c.eligible,
        assignments = n,
        draw_ms = c.drawn.as_secs_f64() * 1e3,
        recheck_ms = checked.as_secs_f64() * 1e3,
        record_ms = (recorded - checked).as_secs_f64() * 1e3,
        assignments_ms = (started.elapsed() - recorded).as_secs_f64() * 1e3,
        "plan drawn"
    );
    let summary = serde_json::json!({"round": c.round, "input_digest": c.digest, "assignments": n});
    crate::app::audit::record(
        conn,
        &user.id,
        match c.kind {
            Kind::Draw => "plan.draw",
            Kind::TopUp => "plan.top_up",
        },
        &plan.id,
        None,
        Some(&summary),
    )?;
    Ok(Ok(DrawResult {
        plan_id: plan.id,
        round: c.round,
        seed: c.seed_hex.clone(),
        input_digest: c.digest.clone(),
        assignments: n,
        quotas: c.out.quotas.clone(),
    }))
}

/// What the first, single-transaction attempt at a round did.
enum Step {
    /// Read, computed and stored.
    Stored(DrawResult),
    /// Read only: the draw would use threads, so it is computed outside.
    Outside(Prepared),
}

/// Reads, computes and stores a round, reading and computing again while the
/// registry changes under it (at most [`ATTEMPTS`] times).
async fn run_round(
    db: &Db,
    user: AuthUser,
    id: String,
    kind: Kind,
) -> Result<DrawResult, ApiError> {
    for _ in 0..ATTEMPTS {
        let (u, i) = (user.clone(), id.clone());
        let step = db
            .run(move |conn| {
                rows::write_tx_unless(conn, |c| {
                    let prepared = match kind {
                        Kind::Draw => prepare_draw(c, &u, &i)?,
                        Kind::TopUp => prepare_top_up(c, &u, &i)?,
                    };
                    if draw::uses_threads(&prepared.input) {
                        return Ok(Ok(Step::Outside(prepared)));
                    }
                    let computed = compute(prepared)?;
                    Ok(store(c, &u, &computed, Recheck::No)?.map(Step::Stored))
                })
            })
            .await?;
        let prepared = match step {
            Ok(Step::Stored(r)) => return Ok(r),
            Ok(Step::Outside(p)) => p,
            Err(Stale) => continue,
        };
        // Drawn outside the write transaction, with no connection held,
        // because the draw spawns threads on this input (`store` re-checks
        // the input's digest, so the stored round is the registry's draw).
        let computed = tokio::task::spawn_blocking(move || compute(prepared))
            .await
            .map_err(|e| ApiError::Internal(format!("draw task failed: {e}")))??;
        let u = user.clone();
        let stored = db
            .run(move |conn| {
                rows::write_tx_unless(conn, |c| store(c, &u, &computed, Recheck::Input))
            })
            .await?;
        if let Ok(r) = stored {
            return Ok(r);
        }
    }
    Err(ApiError::Conflict(
        "the registry kept changing during the draw; try again".into(),
    ))
}

/// `POST /plans/{id}/draw` (admin, supervisor): once per plan. `id` is the
/// path segment as sent: the role is checked before it is parsed.
pub async fn draw(db: &Db, user: AuthUser, id: &str) -> Result<DrawResult, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(id)?;
    run_round(db, user, id, Kind::Draw).await
}

/// `POST /plans/{id}/top-up` (admin, supervisor): restores quotas after the
/// registry changed, adding assignments and moving none. `id` as in [`draw`].
pub async fn top_up(db: &Db, user: AuthUser, id: &str) -> Result<DrawResult, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(id)?;
    run_round(db, user, id, Kind::TopUp).await
}

/// Draws a plan inside the caller's transaction (the demo's seeding): read,
/// computed and stored on the one connection, whatever the input's size.
pub fn draw_in_tx(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<DrawResult, ApiError> {
    let computed = compute(prepare_draw(conn, user, id)?)?;
    store(conn, user, &computed, Recheck::No)?.map_err(|Stale| {
        ApiError::Conflict("the registry changed during the draw; try again".into())
    })
}

/// `GET /plans/{id}/verify`: recomputes every round from its recorded
/// inputs (after the connection is returned) and compares it with the
/// stored assignments.
pub async fn verify(db: &Db, user: AuthUser, id: String) -> Result<serde_json::Value, ApiError> {
    let (plan, rounds, stored) = db
        .run(move |conn| {
            let (plan, _) = load_plan(conn, &user, &id)?;
            let rounds = rows::rounds(conn, &id)?;
            if rounds.is_empty() {
                return Err(not_drawn());
            }
            let stored = rows::assignments_of_plan(conn, &id)?;
            Ok((plan, rounds, stored))
        })
        .await?;
    tokio::task::spawn_blocking(move || check_rounds(&plan, &rounds, stored))
        .await
        .map_err(|e| ApiError::Internal(format!("verify task failed: {e}")))
}

/// The verify body: each round recomputed from its recorded input.
fn check_rounds(
    plan: &Plan,
    rounds: &[(i32, String, String, String)],
    stored: Vec<(i32, String, String, String)>,
) -> serde_json::Value {
    let mut by_round: HashMap<i32, Vec<(String, String, String)>> = HashMap::new();
    for (r, e, t, l) in stored {
        by_round.entry(r).or_default().push((e, t, l));
    }
    let mut checks = Vec::new();
    for (round, seed, digest, inputs) in rounds {
        // The recorded digest names the algorithm version that drew the round.
        let ok = match serde_json::from_str::<DrawInput>(inputs)
            .ok()
            .and_then(|input| Some((draw::recompute(&input, digest)?.1, input)))
        {
            Some((out, input)) => {
                let mut expected: Vec<(String, String, String)> = out
                    .selections
                    .into_iter()
                    .map(|s| (s.establishment_id, s.team_id, s.level))
                    .collect();
                expected.sort();
                let mut actual = by_round.remove(round).unwrap_or_default();
                actual.sort();
                hex::encode(input.seed) == *seed
                    && Some(seed) == plan.seed.as_ref()
                    && expected == actual
            }
            None => false,
        };
        checks.push(RoundCheck {
            round: *round,
            input_digest: digest.clone(),
            matches: ok,
        });
    }
    let matches = checks.iter().all(|c| c.matches) && by_round.is_empty();
    serde_json::json!({
        "plan_id": plan.id,
        "matches": matches,
        "seed": plan.seed,
        "input_digest": rounds[0].2,
        "rounds": checks,
    })
}
