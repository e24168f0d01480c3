//! `GET /reports?plan_id=&period=`: the quarterly, half-year and annual
//! reports, as JSON, CSV or XLSX (one sheet per table, Vietnamese headers).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::app::coverage::{self, Group};
use crate::app::plans::load_plan;
use crate::app::auth::AuthUser;
use crate::db::{Db, DbConnection};
use crate::domain::text::vi_cmp;
use crate::error::ApiError;

/// Media type of XLSX.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `?plan_id=&period=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    plan_id: String,
    period: String,
}

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

/// Violations of one code in the period.
#[derive(Debug, Serialize, QueryableByName)]
pub struct ViolationLine {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    establishments: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    fines_vnd: Option<i64>,
}

/// An establishment found closed, refusing entry or not found.
#[derive(Debug, Serialize, QueryableByName)]
pub struct OutcomeLine {
    #[diesel(sql_type = Text)]
    licence_no: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    org_unit_code: String,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Timestamp)]
    finished_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Text)]
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
/// and outcomes are those of minutes finished inside the period).
pub fn build(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
    period: &str,
) -> Result<Report, ApiError> {
    let (plan, path) = load_plan(conn, user, plan_id)?;
    let (from, to) = period_bounds(plan.year, period)
        .ok_or_else(|| ApiError::field("period", "must be Q1, Q2, Q3, Q4, H1 or year"))?;
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
    let like = format!("{path}%");
    let start = crate::domain::calendar::day_start(from);
    let end = crate::domain::calendar::day_end(to);
    let violations: Vec<ViolationLine> = diesel::sql_query(
        "SELECT v.code, t.title, COUNT(*) AS count, COUNT(DISTINCT i.establishment_id) AS establishments, \
         CAST(SUM(v.fine_vnd) AS BIGINT) AS fines_vnd \
         FROM violations v JOIN inspections i ON i.id = v.inspection_id \
         JOIN establishments e ON e.id = i.establishment_id JOIN violation_types t ON t.code = v.code \
         WHERE e.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         GROUP BY v.code, t.title ORDER BY COUNT(*) DESC, v.code",
    )
    .bind::<Text, _>(&like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?;
    let mut outcomes: Vec<OutcomeLine> = diesel::sql_query(
        "SELECT e.licence_no, e.name, e.org_unit_code, i.outcome, i.finished_at, t.name AS team \
         FROM inspections i JOIN establishments e ON e.id = i.establishment_id JOIN teams t ON t.id = i.team_id \
         WHERE e.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3 \
         AND i.outcome IN ('closed', 'refused_entry', 'not_found')",
    )
    .bind::<Text, _>(&like)
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .load(conn)?;
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

/// Column headers of the coverage tables (Vietnamese, then the JSON key).
const COVERAGE_HEADERS: [&str; 9] = [
    "Mã",
    "Tên",
    "Số cơ sở",
    "Chỉ tiêu",
    "Đã phân công",
    "Đã kiểm tra",
    "Tỷ lệ kiểm tra (%)",
    "Số vi phạm",
    "Đúng tiến độ",
];
const VIOLATION_HEADERS: [&str; 5] = [
    "Mã vi phạm",
    "Hành vi vi phạm",
    "Số lượt",
    "Số cơ sở",
    "Tổng tiền phạt (VNĐ)",
];
const OUTCOME_HEADERS: [&str; 6] = [
    "Số giấy phép",
    "Tên cơ sở",
    "Mã xã",
    "Kết quả",
    "Ngày kiểm tra",
    "Đội kiểm tra",
];

/// One typed cell of a table.
enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Money(Option<i64>),
}

/// A table: sheet name, headers, rows.
type Table = (&'static str, &'static [&'static str], Vec<Vec<Cell>>);

fn tables(r: &Report) -> Vec<Table> {
    let cov = |gs: &[Group]| -> Vec<Vec<Cell>> {
        gs.iter()
            .map(|g| {
                vec![
                    Cell::Text(g.key.clone()),
                    Cell::Text(g.name.clone()),
                    Cell::Int(g.eligible),
                    Cell::Int(g.quota),
                    Cell::Int(g.assigned),
                    Cell::Int(g.inspected),
                    Cell::Num(g.inspected_percent),
                    Cell::Int(g.violations),
                    Cell::Text(if g.on_track { "Có" } else { "Không" }.into()),
                ]
            })
            .collect()
    };
    let outcome_vi = |o: &str| match o {
        "closed" => "Đã đóng cửa",
        "refused_entry" => "Không cho kiểm tra",
        "not_found" => "Không tìm thấy",
        _ => "",
    };
    vec![
        (
            "Theo địa bàn",
            &COVERAGE_HEADERS[..],
            cov(&r.coverage_by_org_unit),
        ),
        ("Theo đội", &COVERAGE_HEADERS[..], cov(&r.coverage_by_team)),
        (
            "Theo loại hình",
            &COVERAGE_HEADERS[..],
            cov(&r.coverage_by_business_type),
        ),
        (
            "Vi phạm",
            &VIOLATION_HEADERS[..],
            r.violations_by_code
                .iter()
                .map(|v| {
                    vec![
                        Cell::Text(v.code.clone()),
                        Cell::Text(v.title.clone()),
                        Cell::Int(v.count),
                        Cell::Int(v.establishments),
                        Cell::Money(v.fines_vnd),
                    ]
                })
                .collect(),
        ),
        (
            "Đóng cửa - từ chối",
            &OUTCOME_HEADERS[..],
            r.closed_or_refused
                .iter()
                .map(|o| {
                    vec![
                        Cell::Text(o.licence_no.clone()),
                        Cell::Text(o.name.clone()),
                        Cell::Text(o.org_unit_code.clone()),
                        Cell::Text(outcome_vi(&o.outcome).into()),
                        Cell::Text(crate::domain::calendar::date_of(o.finished_at).to_string()),
                        Cell::Text(o.team.clone()),
                    ]
                })
                .collect(),
        ),
    ]
}

fn to_csv(r: &Report) -> Result<Vec<u8>, ApiError> {
    // One CSV, the tables one after another; the first column names the table.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let err = |e: csv::Error| ApiError::Internal(e.to_string());
    for (name, headers, rows) in tables(r) {
        let mut h = vec!["Bảng"];
        h.extend_from_slice(headers);
        w.write_record(&h).map_err(err)?;
        for row in rows {
            let mut rec = vec![name.to_string()];
            rec.extend(row.iter().map(|c| match c {
                Cell::Text(s) => s.clone(),
                Cell::Int(i) => i.to_string(),
                Cell::Num(f) => format!("{f:.2}"),
                Cell::Money(m) => m.map(|m| m.to_string()).unwrap_or_default(),
            }));
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn to_xlsx(r: &Report) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let pct = Format::new().set_num_format("0.00");
    for (name, headers, rows) in tables(r) {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(err)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
            ws.set_column_width(c as u16, if c == 1 { 40 } else { 16 })
                .map_err(err)?;
        }
        for (i, row) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                    Cell::Int(n) => ws.write_number(r, c, *n as f64).map(|_| ()),
                    Cell::Num(f) => ws.write_number_with_format(r, c, *f, &pct).map(|_| ()),
                    Cell::Money(Some(m)) => ws
                        .write_number_with_format(r, c, *m as f64, &money)
                        .map(|_| ()),
                    Cell::Money(None) => Ok(()),
                }
                .map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

/// `GET /reports?plan_id=&period=Q1|Q2|Q3|Q4|H1|year` (`Accept` chooses JSON,
/// CSV or XLSX).
pub async fn report(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let Params { plan_id, period } = q.into_inner();
    let plan_id = crate::domain::values::parse_uuid("plan_id", &plan_id)?;
    if period_bounds(2000, &period).is_none() {
        return Err(ApiError::field(
            "period",
            "must be Q1, Q2, Q3, Q4, H1 or year",
        ));
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let format = if accept.contains(XLSX) {
        "xlsx"
    } else if accept.contains("text/csv") {
        "csv"
    } else if accept.contains("application/json") || accept.contains("*/*") || accept.is_empty() {
        "json"
    } else {
        return Err(ApiError::NotAcceptable(
            "Accept application/json, text/csv or the XLSX media type".into(),
        ));
    };
    let (body, ctype, period2) = db
        .run(move |conn| {
            let r = build(conn, &user, &plan_id, &period)?;
            let out = match format {
                "xlsx" => (to_xlsx(&r)?, XLSX),
                "csv" => (to_csv(&r)?, "text/csv; charset=utf-8"),
                _ => (
                    serde_json::to_vec(&r).map_err(|e| ApiError::Internal(e.to_string()))?,
                    "application/json",
                ),
            };
            Ok((out.0, out.1, period))
        })
        .await?;
    let mut resp = HttpResponse::Ok();
    resp.content_type(ctype);
    if format != "json" {
        resp.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"bao-cao-{period2}.{format}\""),
        ));
    }
    Ok(resp.body(body))
}
