//! Posting minutes: checked and written by the group commit, many clients'
//! minutes in one transaction; a repeat of stored minutes is answered as one.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;

use super::{replay, to_dto, InspectionDto, Posted};
use crate::app::auth::{AuthUser, Caller};
use crate::app::minutes_writer::MinutesWriter;
use crate::app::policy;
use crate::db::changes::next_change_seq;
use crate::db::inspections::{
    self as rows, new_violations, AssignmentFacts, Head, NewInspection, NewViolation, Place,
    VersionRow,
};
use crate::db::{Db, DbConnection};
use crate::domain::minutes::{
    body_hash, distance_m, far_from_site, parse_time, validate_content, Content, InspectionBody,
    Roster, ViolationIn, EARLIEST_YEAR,
};
use crate::domain::status::{AssignmentStatus, ReviewStatus};
use crate::domain::text::nfc;
use crate::domain::values::{now, parse_uuid};
use crate::error::ApiError;

/// Posted minutes, checked and turned into the rows to write.
#[derive(Debug)]
struct Ready {
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
enum Prep {
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
    assignments: HashMap<String, AssignmentFacts>,
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
    let mut establishments = BTreeSet::new();
    let mut assignments = BTreeSet::new();
    let mut teams = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for p in posts {
        let b = &p.body;
        ids.extend(uuid_or_none(&b.id));
        establishments.extend(uuid_or_none(&b.establishment_id));
        assignments.extend(b.assignment_id.as_deref().and_then(uuid_or_none));
        teams.extend(uuid_or_none(&b.team_id));
        codes.extend(b.violations.iter().map(|v| v.code.as_str()));
    }
    let wanted: Vec<&str> = establishments.iter().map(String::as_str).collect();
    let places = rows::places(conn, &wanted)?;
    let assignments = if assignments.is_empty() {
        HashMap::new()
    } else {
        let wanted: Vec<&str> = assignments.iter().map(String::as_str).collect();
        rows::assignments_of(conn, &wanted)?
    };
    // Read after the assignments, never before: each statement sees what
    // had committed when it began, so minutes whose commit closed one of
    // these assignments are then seen stored too, and their repeat is
    // answered as one. Read the other way round, a repeat racing its first
    // post through the other writer could find the assignment completed but
    // the minutes not yet stored, and get 409.
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let stored = rows::stored_among(conn, &ids)?;
    let teams: Vec<&str> = teams.iter().map(String::as_str).collect();
    let codes: Vec<&str> = codes.into_iter().collect();
    let roster = rows::load_roster(conn, &teams, &codes)?;
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
    policy::require_inspector(user)?;
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
    let mut earliest_year = EARLIEST_YEAR;
    if let Some(a) = &assignment_id {
        let (a_team, a_est, status, a_plan, a_year) =
            facts.assignments.get(a).ok_or(ApiError::NotFound)?;
        if *a_team != team_id {
            return Err(ApiError::NotFound);
        }
        if *a_est != establishment_id {
            return Err(ApiError::field(
                "establishment_id",
                "is not the assignment's establishment",
            ));
        }
        if !AssignmentStatus::parse(status).is_some_and(AssignmentStatus::is_open) {
            return Err(ApiError::Conflict(format!("the assignment is {status}")));
        }
        plan_id = Some(a_plan.clone());
        earliest_year = *a_year;
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
    let skew = validate_content(&facts.roster, &team_id, &content, received, earliest_year)?;
    let distance = distance_m(content.location.as_ref(), est_lat, est_lon);
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
        review_status: ReviewStatus::Pending.as_str().into(),
        clock_skew: skew,
        distance_m: distance,
        far_from_site: far_from_site(distance),
        received_at: received,
        created_by: user.id.clone(),
        updated_at: received,
        unit_path: est_path,
        org_unit_code: est_unit,
        business_type: est_type,
    };
    Ok(Prep::Ready(Box::new(Ready {
        version: VersionRow::new(&id, 1, &content, None, &user.id, received),
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
            // An assignment cancelled or completed since `check` looked (by
            // another server, or by minutes earlier in this batch) is left
            // alone by the guarded update.
            let completed = rows::complete_assignment(conn, a, seq, r.head.received_at)?;
            seq += 1;
            if !completed {
                // Completed meanwhile, perhaps by the same minutes posted
                // through another server: then this post is their repeat.
                if rows::is_stored(conn, &r.head.id)? {
                    answers.push(Ok(Written::Stored));
                    continue;
                }
                taken.remove(&r.head.id);
                let status = rows::assignment_status(conn, a)?;
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
    rows::insert_new(conn, &heads, &versions, &violations_rows)?;
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
    rows::refresh_establishment_copies(conn, &heads)?;
    Ok(answers)
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

/// Posts minutes through the group commit: [`Posted::Created`] the first
/// time, [`Posted::Existing`] for the very same body again, 409 for the same
/// id with another body; never stored twice. Nothing is read before the
/// writer loads the caller and checks the minutes, for many clients at once.
pub async fn post(
    db: &Db,
    writer: &MinutesWriter,
    caller: Caller,
    b: InspectionBody,
) -> Result<Posted, ApiError> {
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
        Err(ApiError::Duplicate { constraint })
            if crate::db::inspections::is_minutes_key(&constraint) =>
        {
            Written::Stored
        }
        other => other?,
    };
    match written {
        Written::Created(d) => Ok(Posted::Created(*d)),
        Written::Stored => {
            db.run(move |conn| {
                let user = caller.load(conn)?;
                replay(conn, &user, &id, &hash)
            })
            .await
        }
    }
}
