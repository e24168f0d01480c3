//! The draw of a plan, its top-ups and their verification. A round is read,
//! computed by the pure [`crate::domain::draw`] and stored in one write
//! transaction, unless the draw would use threads (a very large input): then
//! it is computed outside any transaction, and the write transaction re-reads
//! the input and stores the round only if its digest is unchanged.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use super::{load_plan, parse_seed, seed_record_of, Plan, Share, PLAN_CANCELLED};
use crate::app::auth::AuthUser;
use crate::app::policy::{found_if, require_manager};
use crate::db::changes::next_change_seq;
use crate::db::plans as rows;
use crate::db::{Db, DbConnection};
use crate::domain::draw::{
    self, DrawInput, DrawOutput, EligibleEstablishment, ExistingAssignment, ShareSpec, TeamSpec,
};
use crate::domain::seed::{self, SeedRecord, ZERO_SEED};
use crate::domain::status::{AssignmentStatus, PlanStatus};
use crate::domain::values::{now, path_uuid, rfc3339};
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
    /// The input's digest with a zero seed (what was frozen before the seed).
    frozen_digest: String,
    /// The seed procedure's record (the first draw only).
    record: Option<SeedRecord>,
    /// A rehearsal: its selections never reach a team.
    rehearsal: bool,
}

/// A round computed outside any transaction, ready to be stored.
struct Computed {
    kind: Kind,
    plan_id: String,
    round: i32,
    eligible: usize,
    seed_hex: String,
    digest: String,
    frozen_digest: String,
    record: Option<SeedRecord>,
    rehearsal: bool,
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

/// What `POST /plans/{id}/draw` may carry.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawBody {
    /// The published public value of a `public_beacon` plan.
    beacon_value: Option<String>,
}

impl DrawBody {
    /// A draw request carrying `beacon_value` (a `public_beacon` plan's
    /// published value; `None` for the other procedures).
    pub fn with_beacon(beacon_value: Option<String>) -> DrawBody {
        DrawBody { beacon_value }
    }
}

/// The input of the first draw and its seed, fixed by the plan's seed
/// procedure after the input is frozen (docs/draw.md §12).
fn prepare_draw(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    body: &DrawBody,
) -> Result<Prepared, ApiError> {
    let (plan, path) = load_drawable(conn, user, id)?;
    if plan.cancelled_at.is_some() {
        return Err(cancelled());
    }
    if plan.status != PlanStatus::Draft.as_str() {
        return Err(already_drawn());
    }
    let mut record = seed_record_of(&plan);
    let beacon = record.procedure == seed::PUBLIC_BEACON;
    if body.beacon_value.is_some() && !beacon {
        return Err(ApiError::field(
            "beacon_value",
            "only a public_beacon plan takes a beacon value",
        ));
    }
    let started = Instant::now();
    let mut input = if beacon {
        let frozen = plan.frozen_input.as_deref().ok_or_else(|| {
            ApiError::Conflict("freeze the plan's input first (POST /plans/{id}/freeze)".into())
        })?;
        let value = body
            .beacon_value
            .as_deref()
            .map(crate::domain::text::nfc)
            .filter(|v| !v.is_empty() && v.chars().count() <= 200)
            .ok_or_else(|| {
                ApiError::field(
                    "beacon_value",
                    "the published value of the plan's beacon is required (1 to 200 characters)",
                )
            })?;
        let input: DrawInput =
            serde_json::from_str(frozen).map_err(|e| ApiError::Internal(e.to_string()))?;
        record.server_value = plan.seed_secret.clone();
        if let Some(b) = record.beacon.as_mut() {
            b.value = Some(value);
        }
        input
    } else {
        let input = current_input(conn, &plan, &path, ZERO_SEED, Vec::new())?;
        record.frozen_at = Some(rfc3339(&now()));
        record.frozen_digest = Some(draw::input_digest(&input));
        if record.procedure == seed::CALLER {
            record.caller_seed = plan.seed.clone();
        } else {
            // A draft made before the procedures were recorded is drawn
            // like any other: the server value, after the input.
            record = SeedRecord {
                frozen_at: record.frozen_at.take(),
                frozen_digest: record.frozen_digest.take(),
                ..SeedRecord::new(seed::SERVER_RANDOM)
            };
            let value = hex::encode(rand::random::<[u8; 32]>());
            record.server_commitment = seed::commitment(&value);
            record.server_value = Some(value);
        }
        input
    };
    let frozen_digest = seed::frozen_digest(&input);
    input.seed = seed::derive_seed(&record)
        .ok_or_else(|| ApiError::Internal("the seed record is incomplete".into()))?;
    tracing::info!(plan = %plan.id, load_ms = started.elapsed().as_secs_f64() * 1e3, "draw input loaded");
    Ok(Prepared {
        kind: Kind::Draw,
        plan_id: plan.id,
        round: 1,
        input,
        frozen_digest,
        record: Some(record),
        rehearsal: plan.rehearsal,
    })
}

/// The input of the next top-up: the registry and the assignments kept.
fn prepare_top_up(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<Prepared, ApiError> {
    let (plan, path) = load_drawable(conn, user, id)?;
    if plan.cancelled_at.is_some() {
        return Err(cancelled());
    }
    if plan.status != PlanStatus::Drawn.as_str() {
        return Err(not_drawn());
    }
    if plan.rehearsal {
        return Err(ApiError::Conflict(
            "a rehearsal is drawn once; it has no top-up".into(),
        ));
    }
    let round = rows::last_round(conn, id)? + 1;
    let input = top_up_input(conn, &plan, &path)?;
    Ok(Prepared {
        kind: Kind::TopUp,
        plan_id: plan.id,
        round,
        frozen_digest: seed::frozen_digest(&input),
        input,
        record: None,
        rehearsal: false,
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

fn cancelled() -> ApiError {
    ApiError::Conflict("the plan is cancelled".into())
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
        frozen_digest: p.frozen_digest,
        record: p.record,
        rehearsal: p.rehearsal,
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
    let record_json = c
        .record
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_default());
    let stale = match c.kind {
        Kind::Draw => {
            let record = record_json.as_deref().unwrap_or("{}");
            if rows::mark_drawn(conn, &plan.id, &c.seed_hex, record, plan.version + 1, now())? == 0
            {
                return Err(if plan.cancelled_at.is_some() {
                    cancelled()
                } else {
                    already_drawn()
                });
            }
            let frozen_beforehand = c
                .record
                .as_ref()
                .is_some_and(|r| r.procedure == seed::PUBLIC_BEACON);
            match recheck {
                // A public_beacon plan draws the input frozen beforehand.
                Recheck::Input if !frozen_beforehand => {
                    let input = current_input(conn, &plan, &path, ZERO_SEED, Vec::new())?;
                    draw::input_digest(&input) != c.frozen_digest
                }
                _ => false,
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
                Recheck::No => false,
                Recheck::Input => {
                    draw::input_digest(&top_up_input(conn, &plan, &path)?) != c.digest
                }
            }
        }
    };
    if stale {
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
    if c.rehearsal {
        rows::insert_rehearsal_assignments(conn, &plan.id, c.round, now(), &c.out.selections)?;
    } else {
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
        if c.record
            .as_ref()
            .is_some_and(|r| r.procedure == seed::PUBLIC_BEACON)
        {
            // The frozen input may hold establishments closed since the
            // freeze: their new assignments are withdrawn at once, as a close
            // would have done (verify explains them by that audited close).
            let ids: Vec<String> = c
                .out
                .selections
                .iter()
                .map(|s| s.establishment_id.clone())
                .collect();
            for id in rows::inactive_among(conn, &ids)? {
                crate::app::closing::cancel_open_assignments(conn, &id)?;
            }
        }
    }
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
    // What verify compares the stored round with (docs/draw.md §12).
    let summary = serde_json::json!({
        "round": c.round,
        "seed": c.seed_hex,
        "input_digest": c.digest,
        "assignments": n,
        "selections_digest": selections_digest(&c.out.selections),
        "seed_record": c.record,
    });
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
    Outside(Box<Prepared>),
}

/// Reads, computes and stores a round, reading and computing again while the
/// registry changes under it (at most [`ATTEMPTS`] times).
async fn run_round(
    db: &Db,
    user: AuthUser,
    id: String,
    kind: Kind,
    body: DrawBody,
) -> Result<DrawResult, ApiError> {
    let body = std::sync::Arc::new(body);
    for _ in 0..ATTEMPTS {
        let (u, i, b) = (user.clone(), id.clone(), body.clone());
        let step = db
            .run(move |conn| {
                rows::write_tx_unless(conn, |c| {
                    let prepared = match kind {
                        Kind::Draw => prepare_draw(c, &u, &i, &b)?,
                        Kind::TopUp => prepare_top_up(c, &u, &i)?,
                    };
                    if draw::uses_threads(&prepared.input) {
                        return Ok(Ok(Step::Outside(Box::new(prepared))));
                    }
                    let computed = compute(prepared)?;
                    Ok(store(c, &u, &computed, Recheck::No)?.map(Step::Stored))
                })
            })
            .await?;
        let prepared = match step {
            Ok(Step::Stored(r)) => return Ok(r),
            Ok(Step::Outside(p)) => *p,
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
pub async fn draw(
    db: &Db,
    user: AuthUser,
    id: &str,
    body: DrawBody,
) -> Result<DrawResult, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(id)?;
    run_round(db, user, id, Kind::Draw, body).await
}

/// `POST /plans/{id}/top-up` (admin, supervisor): restores quotas after the
/// registry changed, adding assignments and moving none. `id` as in [`draw`].
pub async fn top_up(db: &Db, user: AuthUser, id: &str) -> Result<DrawResult, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(id)?;
    run_round(db, user, id, Kind::TopUp, DrawBody::default()).await
}

/// Draws a plan inside the caller's transaction (the demo's seeding): read,
/// computed and stored on the one connection, whatever the input's size.
pub fn draw_in_tx(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<DrawResult, ApiError> {
    let computed = compute(prepare_draw(conn, user, id, &DrawBody::default())?)?;
    store(conn, user, &computed, Recheck::No)?.map_err(|Stale| {
        ApiError::Conflict("the registry changed during the draw; try again".into())
    })
}

/// The audited digest of a round's selections, in selection order.
fn selections_digest(selections: &[draw::Selection]) -> String {
    seed::selections_digest(selections.iter().map(|s| {
        (
            s.establishment_id.as_str(),
            s.team_id.as_str(),
            s.level.as_str(),
        )
    }))
}

/// `POST /plans/{id}/freeze` (admin, supervisor): a `public_beacon` draft's
/// round-1 input is read and recorded with its digest, and the server value
/// is drawn and committed to (its SHA-256 is published), before the
/// beacon's day; audited as `plan.freeze`.
pub async fn freeze(db: &Db, user: AuthUser, id: &str) -> Result<super::PlanDto, ApiError> {
    require_manager(&user)?;
    let id = path_uuid(id)?;
    db.write(move |conn| {
        let (plan, path) = load_drawable(conn, &user, &id)?;
        if plan.cancelled_at.is_some() {
            return Err(cancelled());
        }
        if plan.status != PlanStatus::Draft.as_str() {
            return Err(already_drawn());
        }
        let mut record = seed_record_of(&plan);
        if record.procedure != seed::PUBLIC_BEACON {
            return Err(ApiError::Conflict(
                "only a public_beacon plan is frozen before its draw".into(),
            ));
        }
        if plan.frozen_input.is_some() {
            return Err(ApiError::Conflict(
                "the plan's input is frozen already".into(),
            ));
        }
        let day = record
            .beacon
            .as_ref()
            .and_then(|b| NaiveDate::parse_from_str(&b.date, "%Y-%m-%d").ok())
            .ok_or_else(|| ApiError::Internal("public_beacon plan without a beacon day".into()))?;
        if crate::domain::calendar::today() >= day {
            return Err(ApiError::Conflict(
                "the beacon's day has come: the input can no longer be frozen before it; \
                 cancel the plan and create a new one"
                    .into(),
            ));
        }
        let input = current_input(conn, &plan, &path, ZERO_SEED, Vec::new())?;
        let secret = hex::encode(rand::random::<[u8; 32]>());
        record.frozen_at = Some(rfc3339(&now()));
        record.frozen_digest = Some(draw::input_digest(&input));
        record.server_commitment = seed::commitment(&secret);
        let frozen =
            serde_json::to_string(&input).map_err(|e| ApiError::Internal(e.to_string()))?;
        let record_json = serde_json::to_string(&record).unwrap_or_default();
        if rows::freeze(conn, &plan.id, &frozen, &secret, &record_json, now())? == 0 {
            return Err(ApiError::Conflict(
                "the plan's input is frozen already".into(),
            ));
        }
        crate::app::audit::record(conn, &user.id, "plan.freeze", &plan.id, None, Some(&record))?;
        let (after, _) = load_plan(conn, &user, &plan.id)?;
        Ok(super::PlanDto::from(after))
    })
    .await
}

/// `GET /plans/{id}/rounds/{n}/input`: the round's recorded input, as the
/// canonical bytes its digest covers (`json` false) or as JSON.
pub async fn round_input(
    db: &Db,
    user: AuthUser,
    id: String,
    round: i32,
    json: bool,
) -> Result<Vec<u8>, ApiError> {
    let (recorded, digest) = db
        .run(move |conn| {
            load_plan(conn, &user, &id)?;
            rows::round_input(conn, &id, round)
        })
        .await?
        .ok_or(ApiError::NotFound)?;
    if json {
        return Ok(recorded.into_bytes());
    }
    tokio::task::spawn_blocking(move || {
        let input: DrawInput =
            serde_json::from_str(&recorded).map_err(|e| ApiError::Internal(e.to_string()))?;
        // The bytes under the header of the version that drew the round (a
        // round recorded with version 1 keeps its own digest).
        Ok(draw::canonical_input_for(&input, &digest))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("input task failed: {e}")))?
}

/// Everything verify reads, with the connection returned before it computes.
struct Evidence {
    plan: Plan,
    rounds: Vec<(i32, String, String, String)>,
    stored: Vec<rows::StoredSelection>,
    /// The plan's own audited entries (create, freeze, draw, top-up, cancel).
    plan_entries: Vec<crate::app::audit::Entry>,
    /// Establishments with an audited close.
    closed: HashSet<String>,
    /// Assignments with an audited scheduling.
    scheduled: HashSet<String>,
    /// Assignments with an inspection whose creation is audited.
    inspected: HashSet<String>,
}

/// `GET /plans/{id}/verify`: recomputes every round from its recorded
/// inputs, compares seeds, digests and selections with the audited draw and
/// top-up entries, recomputes the seed from its procedure's record, and
/// lists every assignment status that no audited action explains.
pub async fn verify(db: &Db, user: AuthUser, id: String) -> Result<serde_json::Value, ApiError> {
    let ev = db
        .run(move |conn| {
            let (plan, _) = load_plan(conn, &user, &id)?;
            let rounds = rows::rounds(conn, &id)?;
            if rounds.is_empty() {
                return Err(not_drawn());
            }
            let stored = rows::assignments_of_plan(conn, &id, plan.rehearsal)?;
            let plan_entries = crate::db::audit::entries_about(
                conn,
                std::slice::from_ref(&id),
                &[
                    "plan.create",
                    "plan.freeze",
                    "plan.draw",
                    "plan.top_up",
                    "plan.cancel",
                ],
            )?;
            let ids_where = |status: AssignmentStatus| -> Vec<String> {
                stored
                    .iter()
                    .filter(|a| a.status == status.as_str())
                    .map(|a| a.id.clone())
                    .collect()
            };
            let cancelled_ests: Vec<String> = stored
                .iter()
                .filter(|a| a.status == AssignmentStatus::Cancelled.as_str())
                .map(|a| a.establishment_id.clone())
                .collect();
            let closed =
                crate::db::audit::entries_about(conn, &cancelled_ests, &["establishment.close"])?
                    .into_iter()
                    .map(|e| e.entity_id)
                    .collect();
            let scheduled = crate::db::audit::entries_about(
                conn,
                &ids_where(AssignmentStatus::Scheduled),
                &["assignment.schedule"],
            )?
            .into_iter()
            .map(|e| e.entity_id)
            .collect();
            let filed =
                rows::inspections_of_assignments(conn, &ids_where(AssignmentStatus::Completed))?;
            let inspection_ids: Vec<String> = filed.iter().map(|(_, i)| i.clone()).collect();
            let audited: HashSet<String> =
                crate::db::audit::entries_about(conn, &inspection_ids, &["inspection.create"])?
                    .into_iter()
                    .map(|e| e.entity_id)
                    .collect();
            let inspected = filed
                .into_iter()
                .filter(|(_, i)| audited.contains(i))
                .map(|(a, _)| a)
                .collect();
            Ok(Evidence {
                plan,
                rounds,
                stored,
                plan_entries,
                closed,
                scheduled,
                inspected,
            })
        })
        .await?;
    tokio::task::spawn_blocking(move || check_rounds(ev))
        .await
        .map_err(|e| ApiError::Internal(format!("verify task failed: {e}")))
}

/// One thing verify found wrong.
#[derive(Debug, Serialize)]
struct Discrepancy {
    check: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    round: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment_id: Option<String>,
    detail: String,
}

impl Discrepancy {
    fn new(check: &'static str, round: Option<i32>, detail: impl Into<String>) -> Self {
        Discrepancy {
            check,
            round,
            assignment_id: None,
            detail: detail.into(),
        }
    }
}

/// The verify body (see [`verify`]).
fn check_rounds(ev: Evidence) -> serde_json::Value {
    let Evidence {
        plan,
        rounds,
        stored,
        plan_entries,
        closed,
        scheduled,
        inspected,
    } = ev;
    let mut found: Vec<Discrepancy> = Vec::new();
    let mut by_round: HashMap<i32, Vec<&rows::StoredSelection>> = HashMap::new();
    for a in &stored {
        by_round.entry(a.round).or_default().push(a);
    }
    // The audited draw and top-up entries, by round.
    let mut audited: HashMap<i32, serde_json::Value> = HashMap::new();
    let mut freeze_commitment = None;
    for e in &plan_entries {
        let after: serde_json::Value = e
            .after
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default();
        match e.action.as_str() {
            "plan.draw" | "plan.top_up" => {
                if let Some(r) = after["round"].as_i64() {
                    audited.insert(r as i32, after);
                }
            }
            "plan.freeze" => {
                freeze_commitment = after["server_commitment"].as_str().map(String::from)
            }
            _ => {}
        }
    }
    let mut checks = Vec::new();
    let mut first_input: Option<DrawInput> = None;
    for (round, seed_hex, digest, inputs) in &rounds {
        let round = *round;
        let mut recomputed_ok = false;
        let mut actual: Vec<&rows::StoredSelection> = by_round.remove(&round).unwrap_or_default();
        let actual_digest = seed::selections_digest(actual.iter().map(|a| {
            (
                a.establishment_id.as_str(),
                a.team_id.as_str(),
                a.level.as_str(),
            )
        }));
        match serde_json::from_str::<DrawInput>(inputs) {
            Ok(input) => {
                // The recorded digest names the algorithm version that drew the round.
                let recomputed = draw::recompute(&input, digest);
                let digest_ok = recomputed.is_some();
                let out = match recomputed {
                    Some((_, out)) => out,
                    None => draw::draw(&input),
                };
                let expected_digest = selections_digest(&out.selections);
                let in_order = actual.iter().all(|a| a.selection_order.is_some());
                let same = if in_order {
                    expected_digest == actual_digest
                } else {
                    // Assignments made before selection_order was stored.
                    let mut e: Vec<(String, String, String)> = out
                        .selections
                        .into_iter()
                        .map(|s| (s.establishment_id, s.team_id, s.level))
                        .collect();
                    e.sort();
                    actual.sort_by(|a, b| a.establishment_id.cmp(&b.establishment_id));
                    let mut a: Vec<(String, String, String)> = actual
                        .iter()
                        .map(|a| {
                            (
                                a.establishment_id.clone(),
                                a.team_id.clone(),
                                a.level.clone(),
                            )
                        })
                        .collect();
                    a.sort();
                    e == a
                };
                let seed_ok =
                    hex::encode(input.seed) == *seed_hex && Some(seed_hex) == plan.seed.as_ref();
                if !digest_ok {
                    found.push(Discrepancy::new(
                        "recomputed",
                        Some(round),
                        "the recorded input does not hash to the recorded digest",
                    ));
                }
                if !seed_ok {
                    found.push(Discrepancy::new(
                        "recomputed",
                        Some(round),
                        "the recorded input's seed is not the round's and the plan's seed",
                    ));
                }
                if !same {
                    found.push(Discrepancy::new(
                        "recomputed",
                        Some(round),
                        "the stored assignments are not the draw of the recorded input",
                    ));
                }
                recomputed_ok = digest_ok && seed_ok && same;
                if round == 1 {
                    first_input = Some(input);
                }
            }
            Err(_) => found.push(Discrepancy::new(
                "recomputed",
                Some(round),
                "the recorded input cannot be read",
            )),
        }
        // The audit trail.
        let mut audit_ok = false;
        match audited.remove(&round) {
            None => found.push(Discrepancy::new(
                "audit_trail",
                Some(round),
                "no audited draw or top-up entry records this round",
            )),
            Some(a) => {
                let mut ok = true;
                let mut cmp = |field: &str, ours: &str| {
                    if a[field].as_str() != Some(ours) {
                        ok = false;
                        found.push(Discrepancy::new(
                            "audit_trail",
                            Some(round),
                            format!("the round's {field} is not the audited one"),
                        ));
                    }
                };
                cmp("seed", seed_hex);
                cmp("input_digest", digest);
                cmp("selections_digest", &actual_digest);
                if a["assignments"].as_u64() != Some(actual.len() as u64) {
                    ok = false;
                    found.push(Discrepancy::new(
                        "audit_trail",
                        Some(round),
                        "the round's number of assignments is not the audited one",
                    ));
                }
                if round == 1 {
                    let ours = serde_json::to_value(seed_record_of(&plan)).unwrap_or_default();
                    if a["seed_record"] != ours {
                        ok = false;
                        found.push(Discrepancy::new(
                            "audit_trail",
                            Some(round),
                            "the plan's seed record is not the audited one",
                        ));
                    }
                }
                audit_ok = ok;
            }
        }
        checks.push(serde_json::json!({
            "round": round,
            "input_digest": digest,
            "matches": recomputed_ok,
            "audited": audit_ok,
        }));
    }
    for (round, _) in audited {
        found.push(Discrepancy::new(
            "audit_trail",
            Some(round),
            "an audited round is missing from the plan's record",
        ));
    }
    for (round, rest) in by_round {
        found.push(Discrepancy::new(
            "recomputed",
            Some(round),
            format!("{} assignments belong to no recorded round", rest.len()),
        ));
    }
    // The seed procedure.
    let record = seed_record_of(&plan);
    match seed::derive_seed(&record) {
        None => found.push(Discrepancy::new(
            "seed_procedure",
            None,
            format!(
                "the seed cannot be recomputed from its record (procedure {})",
                record.procedure
            ),
        )),
        Some(s) if Some(hex::encode(s)) != plan.seed => {
            found.push(Discrepancy::new(
                "seed_procedure",
                None,
                "the plan's seed is not the one its procedure's record fixes",
            ));
        }
        Some(_) => {}
    }
    if record.procedure != seed::CALLER {
        let frozen = first_input.as_ref().map(seed::frozen_digest);
        if frozen.is_none() || frozen != record.frozen_digest {
            found.push(Discrepancy::new(
                "seed_procedure",
                Some(1),
                "round 1's input (with a zero seed) does not hash to the frozen digest",
            ));
        }
    }
    if record.procedure == seed::PUBLIC_BEACON {
        let committed = record.server_value.as_deref().and_then(seed::commitment);
        if committed.is_none()
            || committed != record.server_commitment
            || freeze_commitment != record.server_commitment
        {
            found.push(Discrepancy::new(
                "seed_procedure",
                None,
                "the server value does not match the commitment audited at the freeze",
            ));
        }
        let frozen_day = record
            .frozen_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| crate::domain::calendar::date_of(t.naive_utc()));
        let beacon_day = record
            .beacon
            .as_ref()
            .and_then(|b| NaiveDate::parse_from_str(&b.date, "%Y-%m-%d").ok());
        if !matches!((frozen_day, beacon_day), (Some(f), Some(b)) if f < b) {
            found.push(Discrepancy::new(
                "seed_procedure",
                None,
                "the input was not frozen before the beacon's day",
            ));
        }
    }
    // Every status change must have an audited cause.
    let plan_cancelled = plan_entries.iter().any(|e| e.action == "plan.cancel");
    for a in &stored {
        let why = match AssignmentStatus::parse(&a.status) {
            Some(AssignmentStatus::Cancelled) => {
                let reason = a.cancel_reason.as_deref().unwrap_or("");
                let ok = (reason == "establishment closed" && closed.contains(&a.establishment_id))
                    || (reason.starts_with(PLAN_CANCELLED) && plan_cancelled);
                (!ok).then_some(
                    "cancelled, but no audited establishment close or plan cancel explains it",
                )
            }
            Some(AssignmentStatus::Scheduled) => (!scheduled.contains(&a.id))
                .then_some("scheduled, but no audited scheduling explains it"),
            Some(AssignmentStatus::Completed) => (!inspected.contains(&a.id))
                .then_some("completed, but no audited inspection was filed against it"),
            Some(AssignmentStatus::Pending) => None,
            None => Some("its status is not one the service writes"),
        };
        if let Some(why) = why {
            found.push(Discrepancy {
                check: "status_changes",
                round: Some(a.round),
                assignment_id: Some(a.id.clone()),
                detail: why.into(),
            });
        }
    }
    let ok = |c: &str| !found.iter().any(|d| d.check == c);
    let (recomputed, audit_trail, seed_procedure, status_changes) = (
        ok("recomputed"),
        ok("audit_trail"),
        ok("seed_procedure"),
        ok("status_changes"),
    );
    serde_json::json!({
        "plan_id": plan.id,
        "matches": found.is_empty(),
        "seed": plan.seed,
        "input_digest": rounds[0].2,
        "rounds": checks,
        "recomputed": recomputed,
        "audit_trail": audit_trail,
        "seed_procedure": seed_procedure,
        "status_changes": status_changes,
        "discrepancies": found,
    })
}
