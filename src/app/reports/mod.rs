//! The quarterly, half-year and annual reports: built from one connection's
//! reads, then rendered as JSON, CSV or XLSX ([`render`]) with the connection
//! back in the pool.

mod render;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use crate::app::auth::AuthUser;
use crate::app::coverage::{ancestors, ceil_percent, year_fraction};
use crate::app::plans::{load_plan, Plan, Share};
use crate::app::policy::{counted_path, listed_team};
use crate::db::coverage as cov;
use crate::db::reports as rows;
use crate::db::{Db, DbConnection};
use crate::domain::status::{Outcome, Sanction};
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
#[derive(Debug, Serialize, Clone)]
pub struct ViolationLine {
    /// The catalogue's code.
    pub code: String,
    /// Its Vietnamese title.
    pub title: String,
    /// Its legal basis.
    pub legal_basis: String,
    /// Violations recorded.
    pub count: i64,
    /// Distinct establishments.
    pub establishments: i64,
    /// Sum of the fines proposed.
    pub fines_vnd: Option<i64>,
}

/// An establishment found closed, refusing entry or not found.
#[derive(Debug, Serialize, Clone)]
pub struct OutcomeLine {
    /// Its licence number.
    pub licence_no: String,
    /// Its name.
    pub name: String,
    /// Its commune.
    pub org_unit_code: String,
    /// The visit's outcome (code).
    pub outcome: String,
    /// The outcome in Vietnamese.
    pub outcome_label: String,
    /// The day of the visit (Vietnam).
    pub date: NaiveDate,
    /// When the visit finished (RFC 3339, with its offset).
    pub finished_at: String,
    /// The team's name.
    pub team: String,
}

/// What "inspected" means in every report, printed on it: a visit in which
/// the team went in and checked (no violation, or violations found). A
/// refusal at the door, an establishment found closed or not found is a
/// visit, counted on its own line, never an inspection. The rule itself is
/// [`Outcome::INSPECTED`], which coverage and the console count by too.
pub const INSPECTED_DEFINITION: &str =
    "“Đã kiểm tra” là cơ sở mà đoàn đã vào kiểm tra và lập biên bản \
(không vi phạm hoặc có vi phạm), mỗi cơ sở tính một lần. Cơ sở không chấp hành kiểm tra, \
đã đóng cửa hoặc không tìm thấy không tính là đã kiểm tra.";

/// The title block.
#[derive(Debug, Serialize, Clone)]
pub struct Title {
    /// The issuing body (two lines: its superior, itself).
    pub issuer: Vec<String>,
    /// `Số: …/BC-…`, left for the clerk to fill.
    pub number_line: String,
    /// `Ninh Bình, ngày … tháng … năm …`.
    pub place_date: String,
    /// `BÁO CÁO`.
    pub heading: String,
    /// `Kết quả thực hiện Kế hoạch … Quý II năm 2016`.
    pub subject: String,
    /// `Từ ngày 01/04/2016 đến ngày 30/06/2016`.
    pub period_dates: String,
}

/// A pair of counts: in the period and from the start of the year to the
/// period's end.
#[derive(Debug, Serialize, Clone, Copy, Default)]
pub struct Both {
    /// In the period.
    pub period: i64,
    /// Year to date (the period's end).
    pub year_to_date: i64,
}

/// Inspections of one level (or in all) against its quota.
#[derive(Debug, Serialize, Clone)]
pub struct LevelLine {
    /// `province`, `district` or `total`.
    pub level: String,
    /// Its Vietnamese name.
    pub label: String,
    /// The plan's share for the level, in percent.
    pub share_percent: f64,
    /// Establishments to inspect (ceil of share × eligible).
    pub quota: i64,
    /// Distinct establishments inspected.
    pub inspected: Both,
    /// year_to_date / quota, in percent.
    pub percent_of_quota: f64,
}

/// One row of the tables by district, business type or team.
#[derive(Debug, Serialize, Clone, Default)]
pub struct Group {
    /// Org unit code, business type code or team id.
    pub key: String,
    /// Its Vietnamese name.
    pub name: String,
    /// Active establishments.
    pub eligible: i64,
    /// Establishments to inspect.
    pub quota: i64,
    /// Open or completed assignments of the plan.
    pub assigned: i64,
    /// Distinct establishments inspected, year to date.
    pub inspected: i64,
    /// Distinct establishments inspected in the period.
    pub inspected_in_period: i64,
    /// inspected / quota, in percent.
    pub percent_of_quota: f64,
    /// inspected / eligible, in percent.
    pub inspected_percent: f64,
    /// Violations recorded in the period.
    pub violations: i64,
    /// Visits refused at the door in the period.
    pub refused_entry: i64,
    /// Whether the year-to-date count is where the date says it should be.
    pub on_track: bool,
}

/// Visits of one outcome.
#[derive(Debug, Serialize, Clone)]
pub struct OutcomeCount {
    /// The outcome's code.
    pub outcome: String,
    /// Its Vietnamese name.
    pub label: String,
    /// Whether it is an inspection (see [`INSPECTED_DEFINITION`]).
    pub counts_as_inspected: bool,
    /// Visits.
    pub visits: Both,
}

/// Violations of one proposed sanction.
#[derive(Debug, Serialize, Clone)]
pub struct SanctionLine {
    /// `warning`, `fine`, `suspension`, `referral` or `total`.
    pub sanction: String,
    /// Its Vietnamese name.
    pub label: String,
    /// How many.
    pub count: Both,
    /// Sum of the fines (VND), for fines and the total.
    pub fines_vnd: Both,
}

/// The whole report: the same content whatever the format.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The plan.
    pub plan_id: String,
    /// Its name.
    pub plan_name: String,
    /// Its document number (`20/KH-BCĐ`), if it has one.
    pub plan_number: Option<String>,
    /// The body that issued it, if given.
    pub issuing_body: Option<String>,
    /// Its year.
    pub year: i32,
    /// `Q1`…`Q4`, `H1` or `year`.
    pub period: String,
    /// The period's first day.
    pub from: NaiveDate,
    /// The period's last day.
    pub to: NaiveDate,
    /// The title block.
    pub title: Title,
    /// What "inspected" means here.
    pub inspected_definition: &'static str,
    /// The summary's headline numbers.
    pub summary: serde_json::Value,
    /// Inspections per level and in all, against the quotas.
    pub levels: Vec<LevelLine>,
    /// Visits per outcome.
    pub outcomes: Vec<OutcomeCount>,
    /// Violations per proposed sanction.
    pub sanctions: Vec<SanctionLine>,
    /// Per child unit of the plan's (district, or commune without districts).
    pub coverage_by_org_unit: Vec<Group>,
    /// Per team.
    pub coverage_by_team: Vec<Group>,
    /// Per business type.
    pub coverage_by_business_type: Vec<Group>,
    /// Violations per code in the period, with their legal basis.
    pub violations_by_code: Vec<ViolationLine>,
    /// Visits of the period that found the establishment closed, refusing or missing.
    pub closed_or_refused: Vec<OutcomeLine>,
    /// The plan's targets with their values on the period's end: the
    /// inspection target first, then the plan's indicators.
    pub indicators: Vec<crate::app::indicators::ReportIndicator>,
    /// The head of the audit chain when the report was made (`seq:hash`).
    pub audit_head: Option<String>,
    /// When the report was made (RFC 3339, Vietnam's offset).
    pub generated_at: String,
}

fn pct(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 * 10_000.0 / b as f64).round() / 100.0
    }
}

/// The short name of a plan for file names: `KH20` for a plan numbered
/// `20/KH-BCĐ` (or, without a number, whose name holds `20/KH-…`), else `KH`.
pub fn plan_slug(number: Option<&str>, name: &str) -> String {
    if let Some(n) = number {
        let digits: String = n
            .split('/')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() {
            return format!("KH{digits}");
        }
    }
    let digits: String = name
        .find("/KH")
        .map(|i| {
            name[..i]
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect()
        })
        .unwrap_or_default();
    format!("KH{digits}")
}

/// The report's file name: `bao-cao-KH20-2016-Q2.xlsx`.
pub fn file_name(r: &Report, format: Format) -> String {
    format!(
        "bao-cao-{}-{}-{}.{}",
        plan_slug(r.plan_number.as_deref(), &r.plan_name),
        r.year,
        r.period,
        format.extension()
    )
}

/// Now, in Vietnam's offset, RFC 3339.
pub fn now_vn() -> chrono::DateTime<chrono::FixedOffset> {
    let vn = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+07:00");
    chrono::Utc::now().with_timezone(&vn)
}

fn title(plan: &Plan, unit_name: &str, period: &str, from: NaiveDate, to: NaiveDate) -> Title {
    use crate::domain::labels::{date_vi, period_vi};
    let place = ["Tỉnh ", "Thành phố ", "TP. "]
        .iter()
        .find_map(|p| unit_name.strip_prefix(p))
        .unwrap_or(unit_name);
    let today = crate::domain::calendar::today();
    let plan_words = match &plan.number {
        Some(n) => format!("Kế hoạch số {n}"),
        None if plan.name.to_lowercase().starts_with("kế hoạch") => plan.name.clone(),
        None => format!("Kế hoạch {}", plan.name),
    };
    // The report goes out under the plan's issuing body, numbered in its
    // series: a plan `20/KH-BCĐ` reports as `…/BC-BCĐ`.
    let (body, series) = match &plan.issuing_body {
        Some(b) => (b.to_uppercase(), "BC".to_string()),
        None => (
            "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI".to_string(),
            "BC-SLĐTBXH".to_string(),
        ),
    };
    let series = plan
        .number
        .as_deref()
        .and_then(|n| n.split_once('/'))
        .and_then(|(_, kind)| kind.split_once('-'))
        .map_or(series, |(_, agency)| format!("BC-{agency}"));
    Title {
        issuer: vec![format!("UBND {}", unit_name.to_uppercase()), body],
        number_line: format!("Số:        /{series}"),
        place_date: format!(
            "{place}, ngày {} tháng {} năm {}",
            today.format("%d"),
            today.format("%m"),
            today.format("%Y")
        ),
        heading: "BÁO CÁO".into(),
        subject: format!(
            "Kết quả thực hiện {plan_words} {}",
            period_vi(period, plan.year)
        ),
        period_dates: format!("(Từ ngày {} đến ngày {})", date_vi(from), date_vi(to)),
    }
}

/// Builds the report. Inspected counts are distinct establishments really
/// inspected ([`INSPECTED_DEFINITION`]), in the period and from the start of
/// the plan's year to the period's end; visits, sanctions and violations of
/// minutes finished in those spans, days as Vietnam counts them; all within
/// the caller's area inside the plan's unit.
pub fn build(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
    period: &str,
) -> Result<Report, ApiError> {
    use crate::domain::calendar::{day_end, day_start};
    use crate::domain::labels::{business_type_vi, level_vi, outcome_vi, sanction_vi, title_vi};
    let (plan, path) = load_plan(conn, user, plan_id)?;
    let (from, to) = period_bounds(plan.year, period).ok_or_else(bad_period)?;
    let counted = counted_path(user, &path);
    let like = format!("{counted}%");
    let whole_plan = counted == path;
    let shares: Vec<Share> = serde_json::from_str(&plan.shares).unwrap_or_default();
    let target: f64 = shares.iter().map(|s| s.percent).sum();
    let only_team = listed_team(user);
    let eligible = cov::eligible(conn, &like, true)?;
    let registered = rows::registered(conn, &like)?;
    let assigned = cov::assigned(conn, &like, &plan.id, whole_plan, true)?;
    let units = cov::units(conn, &like, &ancestors(&path, &like))?;
    let teams = cov::teams(conn, &like, only_team.as_deref())?;
    let unit_name = crate::db::org_units::find(conn, &plan.org_unit_code)?
        .map(|u| u.name)
        .unwrap_or_default();
    let year_start = NaiveDate::from_ymd_opt(plan.year, 1, 1).unwrap_or(from);
    let (ps, ys, end) = (day_start(from), day_start(year_start), day_end(to));
    let visits_p = rows::visits(conn, &like, ps, end)?;
    let insp_p = rows::inspected(conn, &like, ps, end)?;
    let sanc_p = rows::sanctions(conn, &like, ps, end)?;
    // A period starting on 1 January (Q1, H1, year) is its own year to
    // date: its rows are read once, not twice.
    let starts_year = ps == ys;
    let (visits_y_own, insp_y_own, sanc_y_own);
    let (visits_y, insp_y, sanc_y): (
        &[rows::VisitRow],
        &[rows::InspectedRow],
        &[rows::SanctionRow],
    ) = if starts_year {
        (&visits_p, &insp_p, &sanc_p)
    } else {
        visits_y_own = rows::visits(conn, &like, ys, end)?;
        insp_y_own = rows::inspected(conn, &like, ys, end)?;
        sanc_y_own = rows::sanctions(conn, &like, ys, end)?;
        (&visits_y_own, &insp_y_own, &sanc_y_own)
    };
    let legal: HashMap<String, String> = rows::legal_bases(conn)?.into_iter().collect();
    let violations = rows::violations_by_code(conn, &like, ps, end)?;
    let refused = rows::closed_or_refused(conn, &like, ps, end)?;
    let audit_head = crate::db::audit::tail(conn)?.map(|(seq, hash)| format!("{seq}:{hash}"));

    // Each commune's group: the child of the plan's unit it lies under.
    let depth = path.matches('/').count().saturating_sub(1);
    let name_of: HashMap<&str, &str> = units
        .iter()
        .map(|(c, n, _)| (c.as_str(), n.as_str()))
        .collect();
    let path_of: HashMap<&str, &str> = units
        .iter()
        .map(|(c, _, p)| (c.as_str(), p.as_str()))
        .collect();
    let child_of = |commune: &str| -> String {
        path_of
            .get(commune)
            .and_then(|p| p.trim_matches('/').split('/').nth(depth))
            .unwrap_or(commune)
            .to_string()
    };
    let mut by_unit: BTreeMap<String, Group> = BTreeMap::new();
    let mut by_type: BTreeMap<String, Group> = BTreeMap::new();
    let mut by_team: BTreeMap<String, Group> = BTreeMap::new();
    fn get<'a>(
        m: &'a mut BTreeMap<String, Group>,
        k: &str,
        name: impl FnOnce() -> String,
    ) -> &'a mut Group {
        m.entry(k.to_string()).or_insert_with(|| Group {
            key: k.to_string(),
            name: name(),
            ..Default::default()
        })
    }
    let uname = |k: &str| {
        name_of
            .get(k)
            .map_or_else(|| k.to_string(), |n| n.to_string())
    };
    let tname = |k: &str| business_type_vi(k).to_string();
    for (id, name, _, _) in &teams {
        get(&mut by_team, id, || name.clone());
    }
    for r in &eligible {
        let d = child_of(&r.org_unit_code);
        get(&mut by_unit, &d, || uname(&d)).eligible += r.n;
        get(&mut by_type, &r.business_type, || tname(&r.business_type)).eligible += r.n;
    }
    for r in &assigned {
        let d = child_of(&r.org_unit_code);
        get(&mut by_unit, &d, || uname(&d)).assigned += r.n;
        get(&mut by_type, &r.business_type, || tname(&r.business_type)).assigned += r.n;
        if let Some(g) = by_team.get_mut(&r.team_id) {
            g.assigned += r.n;
        }
    }
    let mut total = Both::default();
    for (rows_, ytd) in [(insp_y, true), (&insp_p[..], false)] {
        for r in rows_.iter() {
            let bump = |g: &mut Group| {
                if ytd {
                    g.inspected += r.n
                } else {
                    g.inspected_in_period += r.n
                }
            };
            match (&r.team_id, &r.org_unit_code, &r.business_type) {
                (Some(t), _, _) => {
                    if let Some(g) = by_team.get_mut(t) {
                        bump(g);
                    }
                }
                (None, Some(c), Some(bt)) => {
                    let d = child_of(c);
                    bump(get(&mut by_unit, &d, || uname(&d)));
                    bump(get(&mut by_type, bt, || tname(bt)));
                    if ytd {
                        total.year_to_date += r.n;
                    } else {
                        total.period += r.n;
                    }
                }
                _ => {}
            }
        }
    }
    for r in &visits_p {
        let d = child_of(&r.org_unit_code);
        let refused = i64::from(r.outcome == Outcome::RefusedEntry.as_str()) * r.n;
        for g in [
            get(&mut by_unit, &d, || uname(&d)),
            get(&mut by_type, &r.business_type, || tname(&r.business_type)),
        ] {
            g.violations += r.violations;
            g.refused_entry += refused;
        }
        if let Some(g) = by_team.get_mut(&r.team_id) {
            g.violations += r.violations;
            g.refused_entry += refused;
        }
    }
    // Quotas: a child unit's and a business type's at the plan's whole
    // target; a team's at its level's share of what lies in its area.
    let share_of = |level: &str| {
        shares
            .iter()
            .find(|s| s.level == level)
            .map_or(0.0, |s| s.percent)
    };
    for g in by_unit.values_mut().chain(by_type.values_mut()) {
        g.quota = ceil_percent(target, g.eligible);
    }
    let team_info: HashMap<&str, (&str, &str)> = teams
        .iter()
        .map(|(id, _, level, p)| (id.as_str(), (level.as_str(), p.as_str())))
        .collect();
    for g in by_team.values_mut() {
        let (level, tpath) = team_info.get(g.key.as_str()).copied().unwrap_or_default();
        g.eligible = eligible
            .iter()
            .filter(|r| {
                path_of
                    .get(r.org_unit_code.as_str())
                    .is_some_and(|p| p.starts_with(tpath))
            })
            .map(|r| r.n)
            .sum();
        g.quota = ceil_percent(share_of(level), g.eligible);
    }
    let as_of = to.min(crate::domain::calendar::today());
    let fraction = year_fraction(plan.year, as_of);
    for g in by_unit
        .values_mut()
        .chain(by_type.values_mut())
        .chain(by_team.values_mut())
    {
        g.percent_of_quota = pct(g.inspected, g.quota);
        g.inspected_percent = pct(g.inspected, g.eligible);
        g.on_track = g.inspected as f64 + 1e-9 >= (g.quota as f64 * fraction).floor();
    }
    // Levels: the plan unit's own level counted over the whole unit, the
    // others unit by unit below it (each district team's quota).
    let total_eligible: i64 = eligible.iter().map(|r| r.n).sum();
    let mut levels: Vec<LevelLine> = shares
        .iter()
        .map(|s| {
            let quota = if s.level == "province" {
                ceil_percent(s.percent, total_eligible)
            } else {
                by_unit
                    .values()
                    .map(|g| ceil_percent(s.percent, g.eligible))
                    .sum()
            };
            let mut inspected = Both::default();
            for g in by_team.values() {
                if team_info
                    .get(g.key.as_str())
                    .is_some_and(|(l, _)| *l == s.level)
                {
                    inspected.period += g.inspected_in_period;
                    inspected.year_to_date += g.inspected;
                }
            }
            LevelLine {
                level: s.level.clone(),
                label: level_vi(&s.level).to_string(),
                share_percent: s.percent,
                quota,
                percent_of_quota: pct(inspected.year_to_date, quota),
                inspected,
            }
        })
        .collect();
    let total_quota: i64 = levels.iter().map(|l| l.quota).sum();
    levels.push(LevelLine {
        level: "total".into(),
        label: "Tổng cộng".into(),
        share_percent: target,
        quota: total_quota,
        inspected: total,
        percent_of_quota: pct(total.year_to_date, total_quota),
    });
    let outcomes = [
        Outcome::NoViolation,
        Outcome::ViolationsFound,
        Outcome::Closed,
        Outcome::RefusedEntry,
        Outcome::NotFound,
    ]
    .iter()
    .map(|o| {
        let sum = |v: &[rows::VisitRow]| {
            v.iter()
                .filter(|r| r.outcome == o.as_str())
                .map(|r| r.n)
                .sum()
        };
        OutcomeCount {
            outcome: o.as_str().into(),
            label: outcome_vi(o.as_str()).into(),
            counts_as_inspected: o.counts_as_inspected(),
            visits: Both {
                period: sum(&visits_p),
                year_to_date: sum(visits_y),
            },
        }
    })
    .collect();
    let mut sanctions: Vec<SanctionLine> = [
        Sanction::Warning,
        Sanction::Fine,
        Sanction::Suspension,
        Sanction::Referral,
    ]
    .iter()
    .map(|s| {
        let pick = |v: &[rows::SanctionRow]| {
            v.iter()
                .filter(|r| r.sanction == s.as_str())
                .fold((0, 0), |(n, f), r| {
                    (n + r.count, f + r.fines_vnd.unwrap_or(0))
                })
        };
        let (p, y) = (pick(&sanc_p), pick(sanc_y));
        SanctionLine {
            sanction: s.as_str().into(),
            label: sanction_vi(s.as_str()).into(),
            count: Both {
                period: p.0,
                year_to_date: y.0,
            },
            fines_vnd: Both {
                period: p.1,
                year_to_date: y.1,
            },
        }
    })
    .collect();
    let sum_both = |f: &dyn Fn(&SanctionLine) -> Both| {
        sanctions.iter().fold(Both::default(), |a, l| {
            let b = f(l);
            Both {
                period: a.period + b.period,
                year_to_date: a.year_to_date + b.year_to_date,
            }
        })
    };
    let (count_all, fines_all) = (sum_both(&|l| l.count), sum_both(&|l| l.fines_vnd));
    sanctions.push(SanctionLine {
        sanction: "total".into(),
        label: "Tổng cộng".into(),
        count: count_all,
        fines_vnd: fines_all,
    });
    let violations_by_code = violations
        .into_iter()
        .map(|v| ViolationLine {
            title: title_vi(&v.title).to_string(),
            legal_basis: legal.get(&v.code).cloned().unwrap_or_default(),
            code: v.code,
            count: v.count,
            establishments: v.establishments,
            fines_vnd: v.fines_vnd,
        })
        .collect();
    let mut closed_or_refused: Vec<OutcomeLine> = refused
        .into_iter()
        .map(|o| OutcomeLine {
            outcome_label: outcome_vi(&o.outcome).into(),
            date: crate::domain::calendar::date_of(o.finished_at),
            finished_at: o
                .finished_at
                .and_utc()
                .with_timezone(&now_vn().timezone())
                .to_rfc3339(),
            licence_no: o.licence_no,
            name: o.name,
            org_unit_code: o.org_unit_code,
            outcome: o.outcome,
            team: o.team,
        })
        .collect();
    closed_or_refused
        .sort_by(|a, b| vi_cmp(&a.name, &b.name).then_with(|| a.licence_no.cmp(&b.licence_no)));
    let sorted = |m: BTreeMap<String, Group>| {
        let mut v: Vec<Group> = m.into_values().collect();
        // Vietnamese alphabetical order, as the people reading it expect.
        v.sort_by(|a, b| vi_cmp(&a.name, &b.name).then_with(|| a.key.cmp(&b.key)));
        v
    };
    let total_line = levels.last().cloned();
    let summary = serde_json::json!({
        "registered": registered,
        "eligible": total_eligible,
        "target_percent": target,
        "quota": total_quota,
        "assigned": assigned.iter().map(|r| r.n).sum::<i64>(),
        "inspected": total.year_to_date,
        "inspected_in_period": total.period,
        "inspected_percent": pct(total.year_to_date, total_eligible),
        "percent_of_quota": total_line.map_or(0.0, |l| l.percent_of_quota),
        "violations": visits_p.iter().map(|r| r.violations).sum::<i64>(),
        "on_track": total.year_to_date as f64 + 1e-9 >= (total_quota as f64 * fraction).floor(),
    });
    Ok(Report {
        title: title(&plan, &unit_name, period, from, to),
        plan_id: plan.id,
        plan_name: plan.name,
        plan_number: plan.number,
        issuing_body: plan.issuing_body,
        year: plan.year,
        period: period.into(),
        from,
        to,
        inspected_definition: INSPECTED_DEFINITION,
        summary,
        levels,
        outcomes,
        sanctions,
        coverage_by_org_unit: sorted(by_unit),
        coverage_by_team: sorted(by_team),
        coverage_by_business_type: sorted(by_type),
        violations_by_code,
        closed_or_refused,
        indicators: Vec::new(),
        audit_head,
        generated_at: now_vn().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

/// What the report is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv`: the tables one after another.
    Csv,
    /// XLSX: the summary sheet, then one sheet per table.
    Xlsx,
    /// PDF, for signing and archiving.
    Pdf,
}

impl Format {
    /// The media type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX,
            Format::Pdf => "application/pdf",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }
}

/// `GET /reports`: builds the report of `period` on one connection, then
/// renders it as `format` off the async workers, with the connection back
/// in the pool. Returns the body and the file's name.
pub async fn report(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    period: String,
    format: Format,
) -> Result<(Vec<u8>, String), ApiError> {
    let r = db
        .run(move |conn| {
            let mut r = build(conn, &user, &plan_id, &period)?;
            r.indicators = crate::app::indicators::for_report(conn, &user, &r)?;
            Ok(r)
        })
        .await?;
    tokio::task::spawn_blocking(move || {
        let name = file_name(&r, format);
        let body = match format {
            Format::Xlsx => render::to_xlsx(&r),
            Format::Csv => render::to_csv(&r),
            Format::Pdf => render::to_pdf(&r),
            Format::Json => serde_json::to_vec(&r).map_err(|e| ApiError::Internal(e.to_string())),
        }?;
        Ok((body, name))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("report task failed: {e}")))?
}
