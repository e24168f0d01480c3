//! The minutes' tables: heads (`inspections`), their versions, the current
//! violations, the photos linked to them; and what checking posted minutes
//! reads from the establishments, assignments, teams and catalogue.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use diesel::prelude::*;

use crate::db::schema::{
    assignments, attachments, establishments, inspection_attachments, inspection_versions,
    inspections, plans, team_members, violation_types, violations,
};
use crate::db::DbConnection;
use crate::domain::minutes::{Content, Location, Roster};
use crate::domain::status::{AssignmentStatus, ReviewStatus};
use crate::domain::values::now;
use crate::error::ApiError;

/// A version of the minutes, as written and as read.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_versions, treat_none_as_default_value = false)]
pub struct VersionRow {
    /// The minutes' id.
    pub inspection_id: String,
    /// 1 for the minutes as posted, then one more per correction.
    pub version: i32,
    /// When the visit began, UTC.
    pub started_at: NaiveDateTime,
    /// When the visit ended, UTC.
    pub finished_at: NaiveDateTime,
    /// The client's offset from UTC, in minutes.
    pub utc_offset_min: i32,
    /// Where the minutes were taken.
    pub latitude: Option<f64>,
    /// Where the minutes were taken.
    pub longitude: Option<f64>,
    /// The device's accuracy estimate.
    pub accuracy_m: Option<f64>,
    /// The members present, a JSON array.
    pub members_present: String,
    /// What the visit found.
    pub outcome: String,
    /// Free text.
    pub notes: Option<String>,
    /// The checklist, a JSON object.
    pub checklist: Option<String>,
    /// The violations, a JSON array.
    pub violations: String,
    /// Why it was corrected (none for version 1).
    pub reason: Option<String>,
    /// Who wrote this version.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
}

impl VersionRow {
    /// The row of version `version` of minutes `id` saying `c`.
    pub fn new(
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

    /// What this version says, its times at the client's offset.
    pub fn content(&self) -> Content {
        Content {
            started_at: at_offset(self.started_at, self.utc_offset_min),
            finished_at: at_offset(self.finished_at, self.utc_offset_min),
            location: match (self.latitude, self.longitude) {
                (Some(latitude), Some(longitude)) => Some(Location {
                    latitude,
                    longitude,
                    accuracy_m: self.accuracy_m,
                }),
                _ => None,
            },
            members_present: serde_json::from_str(&self.members_present).unwrap_or_default(),
            outcome: self.outcome.clone(),
            notes: self.notes.clone(),
            checklist: self
                .checklist
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            violations: serde_json::from_str(&self.violations).unwrap_or_default(),
        }
    }
}

fn at_offset(t: NaiveDateTime, offset_min: i32) -> DateTime<FixedOffset> {
    let off = FixedOffset::east_opt(offset_min * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    off.from_utc_datetime(&t)
}

/// A violation row as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = violations, treat_none_as_default_value = false)]
pub struct NewViolation {
    /// The minutes' id.
    pub inspection_id: String,
    /// Its place in the minutes, from 0.
    pub position: i32,
    /// Its catalogue code.
    pub code: String,
    /// The proposed sanction.
    pub sanction: String,
    /// The fine, if the sanction is one.
    pub fine_vnd: Option<i64>,
}

/// The current violation rows of minutes `id` saying `c`.
pub fn new_violations(id: &str, c: &Content) -> Vec<NewViolation> {
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

/// The head row of minutes as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inspections)]
pub struct Head {
    /// The minutes' id.
    pub id: String,
    /// The establishment visited.
    pub establishment_id: String,
    /// The team that visited.
    pub team_id: String,
    /// The assignment completed, if any.
    pub assignment_id: Option<String>,
    /// The assignment's plan.
    pub plan_id: Option<String>,
    /// The latest version.
    pub current_version: i32,
    /// Where the review stands.
    pub review_status: String,
    /// The reviewer's comment.
    pub review_comment: Option<String>,
    /// The reviewer.
    pub reviewed_by: Option<String>,
    /// When reviewed.
    pub reviewed_at: Option<NaiveDateTime>,
    /// The client's clock looked ahead of ours.
    pub clock_skew: bool,
    /// Distance from the registered position.
    pub distance_m: Option<f64>,
    /// Taken far from the registered position.
    pub far_from_site: bool,
    /// When the server received the first post.
    pub received_at: NaiveDateTime,
    /// Who posted them.
    pub created_by: String,
}

/// The head row of new minutes as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = inspections, treat_none_as_default_value = false)]
pub struct NewInspection {
    /// The minutes' id.
    pub id: String,
    /// The establishment visited.
    pub establishment_id: String,
    /// The team that visited.
    pub team_id: String,
    /// The assignment completed, if any.
    pub assignment_id: Option<String>,
    /// The assignment's plan.
    pub plan_id: Option<String>,
    /// Hash of the body as posted, to tell a repeat from a conflict.
    pub body_hash: String,
    /// 1.
    pub current_version: i32,
    /// What the visit found.
    pub outcome: String,
    /// When the visit ended, UTC.
    pub finished_at: NaiveDateTime,
    /// How many violations.
    pub violation_count: i32,
    /// Pending.
    pub review_status: String,
    /// The client's clock looked ahead of ours.
    pub clock_skew: bool,
    /// Distance from the registered position.
    pub distance_m: Option<f64>,
    /// Taken far from the registered position.
    pub far_from_site: bool,
    /// When the server received them.
    pub received_at: NaiveDateTime,
    /// Who posted them.
    pub created_by: String,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// The establishment's unit path, copied for coverage counts (see
    /// [`refresh_establishment_copies`]).
    pub unit_path: String,
    /// The establishment's commune, copied likewise.
    pub org_unit_code: String,
    /// The establishment's business type, copied likewise.
    pub business_type: String,
}

/// The members of `teams` and the catalogue entries of `codes`, in one
/// statement.
pub fn load_roster(
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

/// Writes a new version and makes its violations the current ones.
pub fn store_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    c: &Content,
    reason: Option<&str>,
    actor: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(inspection_versions::table)
        .values(VersionRow::new(id, version, c, reason, actor, now()))
        .execute(conn)?;
    diesel::delete(violations::table.filter(violations::inspection_id.eq(id))).execute(conn)?;
    let rows = new_violations(id, c);
    crate::per_backend!(conn, |c| diesel::insert_into(violations::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// Makes `version`, saying `c`, the current one and sends the minutes back
/// to review.
pub fn set_current_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    c: &Content,
) -> Result<(), ApiError> {
    diesel::update(inspections::table.find(id))
        .set((
            inspections::current_version.eq(version),
            inspections::outcome.eq(&c.outcome),
            inspections::finished_at.eq(c.finished_at.naive_utc()),
            inspections::violation_count.eq(c.violations.len() as i32),
            inspections::review_status.eq(ReviewStatus::Pending.as_str()),
            inspections::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a review decision.
pub fn set_review(
    conn: &mut DbConnection,
    id: &str,
    decision: ReviewStatus,
    comment: Option<&str>,
    reviewer: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(inspections::table.find(id))
        .set((
            inspections::review_status.eq(decision.as_str()),
            inspections::review_comment.eq(comment),
            inspections::reviewed_by.eq(reviewer),
            inspections::reviewed_at.eq(at),
            inspections::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The head of minutes `id` and its establishment's unit path.
pub fn find_head(conn: &mut DbConnection, id: &str) -> Result<Option<(Head, String)>, ApiError> {
    Ok(inspections::table
        .inner_join(establishments::table)
        .filter(inspections::id.eq(id))
        .select((Head::as_select(), establishments::unit_path))
        .first(conn)
        .optional()?)
}

/// Version `version` of minutes `id`.
pub fn find_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
) -> Result<VersionRow, ApiError> {
    Ok(inspection_versions::table
        .find((id, version))
        .select(VersionRow::as_select())
        .first(conn)?)
}

/// Every version of minutes `id`, oldest first.
pub fn versions(conn: &mut DbConnection, id: &str) -> Result<Vec<VersionRow>, ApiError> {
    Ok(inspection_versions::table
        .filter(inspection_versions::inspection_id.eq(id))
        .order(inspection_versions::version)
        .select(VersionRow::as_select())
        .load(conn)?)
}

/// The hashes of the photos linked to minutes `id`, in the order linked.
pub fn attachment_shas(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, ApiError> {
    Ok(inspection_attachments::table
        .filter(inspection_attachments::inspection_id.eq(id))
        .select(inspection_attachments::sha256)
        .order(inspection_attachments::created_at)
        .load(conn)?)
}

/// The body hash minutes `id` were stored with, if they are.
pub fn stored_body_hash(conn: &mut DbConnection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(inspections::table
        .find(id)
        .select(inspections::body_hash)
        .first(conn)
        .optional()?)
}

/// (unit path, commune, business type), then the registered position.
pub type Place = ((String, String, String), Option<f64>, Option<f64>);

/// Where each of the establishments `ids` is, by id.
pub fn places(conn: &mut DbConnection, ids: &[&str]) -> Result<HashMap<String, Place>, ApiError> {
    Ok(establishments::table
        .filter(establishments::id.eq_any(ids))
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
        .collect())
}

/// An assignment as checking minutes needs it: (team, establishment,
/// status, plan, plan year).
pub type AssignmentFacts = (String, String, String, String, i32);

/// The assignments `ids`, by id.
pub fn assignments_of(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<HashMap<String, AssignmentFacts>, ApiError> {
    Ok(assignments::table
        .inner_join(plans::table)
        .filter(assignments::id.eq_any(ids))
        .select((
            assignments::id,
            (
                assignments::team_id,
                assignments::establishment_id,
                assignments::status,
                assignments::plan_id,
                plans::year,
            ),
        ))
        .load::<(String, AssignmentFacts)>(conn)?
        .into_iter()
        .collect())
}

/// The year of plan `id`, if there is such a plan.
pub fn plan_year(conn: &mut DbConnection, id: &str) -> Result<Option<i32>, ApiError> {
    Ok(plans::table
        .find(id)
        .select(plans::year)
        .first(conn)
        .optional()?)
}

/// Which of `ids` are stored already.
///
/// On PostgreSQL this is a statement diesel does not prepare and cache
/// (`sql_query`), so the server plans it for these very ids every time. A
/// cached statement switches to a generic plan after five executions, and
/// the writer's connection runs this one from the first minutes on: its
/// generic plan of `id = ANY($1)` was made while `inspections` was empty and
/// never analysed, a sequential scan, and kept as the table grew (most of
/// the writer's database time, see `docs/scaling.md`). Forcing custom plans
/// for the whole connection instead cost more than it saved: the
/// foreign-key checks of the batch's `COPY`s are cached plans too, and were
/// planned again for every row.
pub fn stored_among(conn: &mut DbConnection, ids: &[&str]) -> Result<HashSet<String>, ApiError> {
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

/// Whether minutes `id` are stored.
pub fn is_stored(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    Ok(inspections::table
        .find(id)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Completes assignment `a` if it is still open, with change number `seq`;
/// returns whether it did. The guarded update is the check: an assignment
/// cancelled or completed since it was read is left alone.
pub fn complete_assignment(
    conn: &mut DbConnection,
    a: &str,
    seq: i64,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let n = diesel::update(
        assignments::table
            .find(a)
            .filter(assignments::status.eq_any(AssignmentStatus::open_strs())),
    )
    .set((
        assignments::status.eq(AssignmentStatus::Completed.as_str()),
        assignments::version.eq(assignments::version + 1),
        assignments::change_seq.eq(seq),
        assignments::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// The status of assignment `a`, as stored.
pub fn assignment_status(conn: &mut DbConnection, a: &str) -> Result<String, ApiError> {
    Ok(assignments::table
        .find(a)
        .select(assignments::status)
        .first(conn)?)
}

/// Inserts new minutes: their heads, first versions and violations, one
/// statement per table (a `COPY` on PostgreSQL).
pub fn insert_new(
    conn: &mut DbConnection,
    heads: &[NewInspection],
    versions: &[VersionRow],
    violations_rows: &[NewViolation],
) -> Result<(), ApiError> {
    // 20, 16 and 5 columns a row: statements of 1,000 rows on SQLite.
    crate::bulk_insert!(conn, inspections::table, heads, 1000);
    crate::bulk_insert!(conn, inspection_versions::table, versions, 1000);
    crate::bulk_insert!(conn, violations::table, violations_rows, 1000);
    Ok(())
}

/// Sets the copies of the establishment's unit path, commune and business
/// type on minutes just inserted to the establishment as it is now: the
/// check read it before this transaction held the audit tail's lock, and it
/// may have moved since.
///
/// A write that moves an establishment or changes its type copies the new
/// values onto its inspections again while holding the audit tail's lock
/// (the establishments' `copy_to_inspections`, the org-unit import). This runs after the batch's audit entries were appended, under
/// the same lock (taken there, held to the commit), so either that write
/// commits first and this read sees it, or these minutes commit first and
/// its copy updates them. Nearly always nothing differs and nothing is
/// written.
pub fn refresh_establishment_copies(
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

/// What a page of `GET /inspections` selects.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Only this team's minutes (an inspector's).
    pub team_only: Option<String>,
    /// Only establishments under this unit path (the caller's area).
    pub scope: Option<String>,
    /// Only this plan's.
    pub plan_id: Option<String>,
    /// Only this team's.
    pub team_id: Option<String>,
    /// Only this establishment's.
    pub establishment_id: Option<String>,
    /// Finished at or after this instant.
    pub finished_from: Option<NaiveDateTime>,
    /// Finished before this instant.
    pub finished_before: Option<NaiveDateTime>,
    /// Ids after this one.
    pub after: Option<String>,
}

/// Up to `limit` minutes matching `f` with their current versions, by id.
pub fn list_page(
    conn: &mut DbConnection,
    f: ListFilter,
    limit: i64,
) -> Result<Vec<(Head, VersionRow)>, ApiError> {
    let mut query = inspections::table
        .inner_join(establishments::table)
        .inner_join(
            inspection_versions::table.on(inspection_versions::inspection_id
                .eq(inspections::id)
                .and(inspection_versions::version.eq(inspections::current_version))),
        )
        .select((Head::as_select(), VersionRow::as_select()))
        .order(inspections::id)
        .limit(limit)
        .into_boxed();
    if let Some(team) = f.team_only {
        query = query.filter(inspections::team_id.eq(team));
    }
    if let Some(scope) = &f.scope {
        query = query.filter(establishments::unit_path.like(format!("{scope}%")));
    }
    if let Some(p) = f.plan_id {
        query = query.filter(inspections::plan_id.eq(p));
    }
    if let Some(t) = f.team_id {
        query = query.filter(inspections::team_id.eq(t));
    }
    if let Some(e) = f.establishment_id {
        query = query.filter(inspections::establishment_id.eq(e));
    }
    if let Some(t) = f.finished_from {
        query = query.filter(inspections::finished_at.ge(t));
    }
    if let Some(t) = f.finished_before {
        query = query.filter(inspections::finished_at.lt(t));
    }
    if let Some(a) = f.after {
        query = query.filter(inspections::id.gt(a));
    }
    Ok(query.load(conn)?)
}

/// Records a stored photo's metadata, once per hash.
pub fn upsert_attachment(
    conn: &mut DbConnection,
    sha: &str,
    content_type: &str,
    size_bytes: i64,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    crate::per_backend!(conn, |c| diesel::insert_into(attachments::table)
        .values((
            attachments::sha256.eq(sha),
            attachments::content_type.eq(content_type),
            attachments::size_bytes.eq(size_bytes),
            attachments::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Links photo `sha` to minutes `id`; returns whether it was not linked yet.
pub fn link_attachment(
    conn: &mut DbConnection,
    id: &str,
    sha: &str,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let linked = crate::per_backend!(conn, |c| diesel::insert_into(inspection_attachments::table)
        .values((
            inspection_attachments::inspection_id.eq(id),
            inspection_attachments::sha256.eq(sha),
            inspection_attachments::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(linked > 0)
}

/// The content type of photo `sha` if it is linked to minutes `id`.
pub fn attachment_type(
    conn: &mut DbConnection,
    id: &str,
    sha: &str,
) -> Result<Option<String>, ApiError> {
    Ok(inspection_attachments::table
        .inner_join(attachments::table)
        .filter(inspection_attachments::inspection_id.eq(id))
        .filter(inspection_attachments::sha256.eq(sha))
        .select(attachments::content_type)
        .first::<String>(conn)
        .optional()?)
}

/// Whether a unique violation's constraint is the minutes' own key: the
/// same minutes id stored first by another writer (PostgreSQL names the
/// constraint, SQLite the column).
pub fn is_minutes_key(constraint: &str) -> bool {
    constraint == "inspections_pkey" || constraint.ends_with("inspections.id")
}

/// A review change of minutes, as a team's sync carries it: id, assignment,
/// establishment, version, review status, comment, when reviewed, change
/// number, the establishment's unit path.
pub type ReviewChange = (
    String,
    Option<String>,
    String,
    i32,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<i64>,
    String,
);

/// Numbers the minutes' latest review change (`seq` from the change
/// counter), for the team's delta sync.
pub fn set_review_seq(conn: &mut DbConnection, id: &str, seq: i64) -> Result<(), ApiError> {
    diesel::update(inspections::table.find(id))
        .set(inspections::review_seq.eq(seq))
        .execute(conn)?;
    Ok(())
}

/// Review changes of `team_id`'s minutes numbered in `(after, upto]`, in
/// change order; with `status`, only minutes whose review stands there.
pub fn review_changes(
    conn: &mut DbConnection,
    team_id: &str,
    after: i64,
    upto: i64,
    status: Option<&str>,
) -> Result<Vec<ReviewChange>, ApiError> {
    let mut q = inspections::table
        .filter(inspections::team_id.eq(team_id))
        .filter(inspections::review_seq.gt(after))
        .filter(inspections::review_seq.le(upto))
        .select((
            inspections::id,
            inspections::assignment_id,
            inspections::establishment_id,
            inspections::current_version,
            inspections::review_status,
            inspections::review_comment,
            inspections::reviewed_at,
            inspections::review_seq,
            inspections::unit_path,
        ))
        .order(inspections::review_seq.asc())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(inspections::review_status.eq(s.to_string()));
    }
    Ok(q.load(conn)?)
}
