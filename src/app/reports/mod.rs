//! The quarterly, half-year and annual reports: built from one connection's
//! reads, then rendered as JSON, CSV or XLSX ([`render`]) with the connection
//! back in the pool.

mod render;

use chrono::NaiveDate;
use serde::Serialize;

use crate::app::auth::AuthUser;
use crate::app::coverage;
pub use crate::app::coverage::Group;
use crate::app::plans::load_plan;
use crate::db::reports as rows;
use crate::db::{Db, DbConnection};
use crate::domain::text::vi_cmp;
use crate::error::ApiError;

/// Media type of XLSX.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// First and last day of a period of `year`.
pub fn period_bounds(year: i32, period: &str) -> Option<(NaiveDate, NaiveDate)> {
    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day);
    Some(match period {
        "Q1" => (d(1, 1)?, d(3, 31)?),
        "Q2" => (d(4, 1)?, d(6, 30)?),
        "Q3" => (d(7, 1)?, d(9, 30)?),
        "Q4" => (d(10, 1)?, d(12, 31)?),
        "H1" => (d(1, 1)?, d(6, 30)?),
        "year" => (d(1, 1)?, d(12, 31)?),
        _ => return None,
    })
}

/// The 422 of a period that is not one of [`period_bounds`]'.
pub fn bad_period() -> ApiError {
    ApiError::field("period", "must be Q1, Q2, Q3, Q4, H1 or year")
}

/// Violations of one code in the period.
#[derive(Debug, Serialize)]
pub struct ViolationLine {
    code: String,
    title: String,
    count: i64,
    establishments: i64,
    fines_vnd: Option<i64>,
}

/// An establishment found closed, refusing entry or not found.
#[derive(Debug, Serialize)]
pub struct OutcomeLine {
    licence_no: String,
    name: String,
    org_unit_code: String,
    outcome: String,
    finished_at: chrono::NaiveDateTime,
    team: String,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    plan_id: String,
    period: String,
    from: NaiveDate,
    to: NaiveDate,
    summary: serde_json::Value,
    coverage_by_org_unit: Vec<Group>,
    coverage_by_team: Vec<Group>,
    coverage_by_business_type: Vec<Group>,
    violations_by_code: Vec<ViolationLine>,
    closed_or_refused: Vec<OutcomeLine>,
}

fn groups(v: &serde_json::Value) -> Vec<Group> {
    let mut out: Vec<Group> = v["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| Group {
                    key: g["key"].as_str().unwrap_or_default().into(),
                    name: g["name"].as_str().unwrap_or_default().into(),
                    eligible: g["eligible"].as_i64().unwrap_or(0),
                    quota: g["quota"].as_i64().unwrap_or(0),
                    assigned: g["assigned"].as_i64().unwrap_or(0),
                    inspected: g["inspected"].as_i64().unwrap_or(0),
                    inspected_percent: g["inspected_percent"].as_f64().unwrap_or(0.0),
                    violations: g["violations"].as_i64().unwrap_or(0),
                    on_track: g["on_track"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    // Vietnamese alphabetical order, as the people reading it expect.
    out.sort_by(|a, b| vi_cmp(&a.name, &b.name).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Builds the report (coverage is cumulative to the period's end; violations
/// and outcomes are those of minutes finished inside the period, days as
/// Vietnam counts them).
pub fn build(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
    period: &str,
) -> Result<Report, ApiError> {
    let (plan, path) = load_plan(conn, user, plan_id)?;
    let (from, to) = period_bounds(plan.year, period).ok_or_else(bad_period)?;
    // Counted once, grouped three ways.
    let counts = coverage::load(
        conn,
        user,
        plan_id,
        Some(to),
        &["org_unit", "team", "business_type"],
    )?;
    let by_unit = counts.to_json("org_unit");
    let by_team = counts.to_json("team");
    let by_type = counts.to_json("business_type");
    // The caller's area inside the plan's unit, as coverage counts it.
    let like = format!("{}%", crate::app::policy::counted_path(user, &path));
    let start = crate::domain::calendar::day_start(from);
    let end = crate::domain::calendar::day_end(to);
    let violations = rows::violations_by_code(conn, &like, start, end)?
        .into_iter()
        .map(|v| ViolationLine {
            code: v.code,
            title: v.title,
            count: v.count,
            establishments: v.establishments,
            fines_vnd: v.fines_vnd,
        })
        .collect();
    let mut outcomes: Vec<OutcomeLine> = rows::closed_or_refused(conn, &like, start, end)?
        .into_iter()
        .map(|o| OutcomeLine {
            licence_no: o.licence_no,
            name: o.name,
            org_unit_code: o.org_unit_code,
            outcome: o.outcome,
            finished_at: o.finished_at,
            team: o.team,
        })
        .collect();
    outcomes.sort_by(|a, b| vi_cmp(&a.name, &b.name).then_with(|| a.licence_no.cmp(&b.licence_no)));
    let mut summary = by_unit.clone();
    if let Some(o) = summary.as_object_mut() {
        o.remove("groups");
        o.remove("group_by");
    }
    Ok(Report {
        plan_id: plan.id,
        period: period.into(),
        from,
        to,
        summary,
        coverage_by_org_unit: groups(&by_unit),
        coverage_by_team: groups(&by_team),
        coverage_by_business_type: groups(&by_type),
        violations_by_code: violations,
        closed_or_refused: outcomes,
    })
}

/// What the report is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv`: the tables one after another.
    Csv,
    /// XLSX: one sheet per table.
    Xlsx,
}

impl Format {
    /// The media type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX,
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// `GET /reports`: builds the report of `period` on one connection, then
/// renders it as `format` off the async workers, with the connection back
/// in the pool.
pub async fn report(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    period: String,
    format: Format,
) -> Result<Vec<u8>, ApiError> {
    let r = db
        .run(move |conn| build(conn, &user, &plan_id, &period))
        .await?;
    tokio::task::spawn_blocking(move || match format {
        Format::Xlsx => render::to_xlsx(&r),
        Format::Csv => render::to_csv(&r),
        Format::Json => serde_json::to_vec(&r).map_err(|e| ApiError::Internal(e.to_string())),
    })
    .await
    .map_err(|e| ApiError::Internal(format!("report task failed: {e}")))?
}
