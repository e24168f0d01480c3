//! `GET /plans/{id}/coverage`: where the plan stands, for the plan and per
//! child unit, team or business type.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::db::schema::{org_units, teams};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::http::path_uuid;
use crate::routes::plans::{load_plan, Share};

/// Days without a sync after which a device is listed as silent.
pub const STALE_DAYS: i64 = 14;

/// `?group_by=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    group_by: Option<String>,
}

/// One group's numbers.
#[derive(Debug, Default, Serialize, Clone)]
pub struct Group {
    /// Org unit code, team id or business type.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Active establishments.
    pub eligible: i64,
    /// ceil(target × eligible) — for a team, its own level's share.
    pub quota: i64,
    /// Open or completed assignments of the plan.
    pub assigned: i64,
    /// Distinct establishments inspected in the plan's year.
    pub inspected: i64,
    /// inspected / eligible, in percent.
    pub inspected_percent: f64,
    /// Violations recorded in those inspections.
    pub violations: i64,
    /// Whether inspected_percent is at or above the share expected by today.
    pub on_track: bool,
}

#[derive(QueryableByName)]
struct EligibleRow {
    #[diesel(sql_type = Text)]
    org_unit_code: String,
    #[diesel(sql_type = Text)]
    business_type: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct AssignedRow {
    #[diesel(sql_type = Text)]
    team_id: String,
    #[diesel(sql_type = Text)]
    org_unit_code: String,
    #[diesel(sql_type = Text)]
    business_type: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct InspectedRow {
    #[diesel(sql_type = Text)]
    establishment_id: String,
    #[diesel(sql_type = Text)]
    team_id: String,
    #[diesel(sql_type = Text)]
    org_unit_code: String,
    #[diesel(sql_type = Text)]
    business_type: String,
    #[diesel(sql_type = Integer)]
    violations: i32,
}

fn ceil_percent(percent: f64, n: i64) -> i64 {
    let bp = crate::domain::draw::percent_to_basis_points(percent).unwrap_or(0) as i64;
    (bp * n + 9_999) / 10_000
}

/// The share of the year gone at `today` (1.0 after the year).
pub fn year_fraction(year: i32, today: NaiveDate) -> f64 {
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(today);
    if today <= start {
        0.0
    } else if today >= end {
        1.0
    } else {
        (today - start).num_days() as f64 / (end - start).num_days() as f64
    }
}

/// Computes the coverage of a plan (also used by the reports).
pub fn compute(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
    group_by: &str,
    until: Option<NaiveDate>,
) -> Result<serde_json::Value, ApiError> {
    let (plan, path) = load_plan(conn, user, plan_id)?;
    let shares: Vec<Share> = serde_json::from_str(&plan.shares).unwrap_or_default();
    let target: f64 = shares.iter().map(|s| s.percent).sum();
    let like = format!("{path}%");
    let year_start = NaiveDate::from_ymd_opt(plan.year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let year_end = match until {
        Some(d) => d
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        None => NaiveDate::from_ymd_opt(plan.year + 1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
    };
    let eligible: Vec<EligibleRow> = diesel::sql_query(
        "SELECT org_unit_code, business_type, COUNT(*) AS n FROM establishments \
         WHERE unit_path LIKE $1 AND status = 'active' GROUP BY org_unit_code, business_type",
    )
    .bind::<Text, _>(&like)
    .load(conn)?;
    let assigned: Vec<AssignedRow> = diesel::sql_query(
        "SELECT a.team_id, e.org_unit_code, e.business_type, COUNT(*) AS n FROM assignments a \
         JOIN establishments e ON e.id = a.establishment_id \
         WHERE a.plan_id = $1 AND a.status <> 'cancelled' GROUP BY a.team_id, e.org_unit_code, e.business_type",
    )
    .bind::<Text, _>(&plan.id)
    .load(conn)?;
    let inspected: Vec<InspectedRow> = diesel::sql_query(
        "SELECT i.establishment_id, i.team_id, e.org_unit_code, e.business_type, i.violation_count AS violations \
         FROM inspections i JOIN establishments e ON e.id = i.establishment_id \
         WHERE e.unit_path LIKE $1 AND i.finished_at >= $2 AND i.finished_at < $3",
    )
    .bind::<Text, _>(&like)
    .bind::<diesel::sql_types::Timestamp, _>(year_start)
    .bind::<diesel::sql_types::Timestamp, _>(year_end)
    .load(conn)?;

    // Each commune's place: the child of the plan's unit it lies under.
    let units: Vec<(String, String, String)> = org_units::table
        .filter(org_units::path.like(&like))
        .select((org_units::code, org_units::name, org_units::path))
        .load(conn)?;
    let name_of: HashMap<String, String> = units
        .iter()
        .map(|(c, n, _)| (c.clone(), n.clone()))
        .collect();
    let path_of: HashMap<&str, &str> = units
        .iter()
        .map(|(c, _, p)| (c.as_str(), p.as_str()))
        .collect();
    let depth = path.matches('/').count() - 1;
    let child_of: HashMap<String, String> = units
        .iter()
        .map(|(c, _, p)| {
            (
                c.clone(),
                p.trim_matches('/')
                    .split('/')
                    .nth(depth)
                    .unwrap_or(c)
                    .to_string(),
            )
        })
        .collect();
    let team_rows: Vec<(String, String, String, String)> = teams::table
        .inner_join(org_units::table)
        .filter(org_units::path.like(&like))
        .select((teams::id, teams::name, teams::level, org_units::path))
        .load(conn)?;

    let today = until.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let expected = target * year_fraction(plan.year, today);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let key_of = |unit: &str, btype: &str| -> String {
        match group_by {
            "business_type" => btype.to_string(),
            _ => child_of
                .get(unit)
                .cloned()
                .unwrap_or_else(|| unit.to_string()),
        }
    };
    let mut total = Group::default();
    let mut seen = std::collections::HashSet::new();
    if group_by == "team" {
        for (id, name, level, tpath) in &team_rows {
            let share = shares
                .iter()
                .find(|s| &s.level == level)
                .map(|s| s.percent)
                .unwrap_or(0.0);
            let eligible_here: i64 = eligible
                .iter()
                .filter(|r| {
                    path_of
                        .get(r.org_unit_code.as_str())
                        .is_some_and(|p| p.starts_with(tpath.as_str()))
                })
                .map(|r| r.n)
                .sum();
            groups.insert(
                id.clone(),
                Group {
                    key: id.clone(),
                    name: name.clone(),
                    eligible: eligible_here,
                    quota: ceil_percent(share, eligible_here),
                    ..Default::default()
                },
            );
        }
        for r in &assigned {
            if let Some(g) = groups.get_mut(&r.team_id) {
                g.assigned += r.n;
            }
        }
        let mut per_team = std::collections::HashSet::new();
        for r in &inspected {
            if let Some(g) = groups.get_mut(&r.team_id) {
                if per_team.insert((r.team_id.clone(), r.establishment_id.clone())) {
                    g.inspected += 1;
                }
                g.violations += r.violations as i64;
            }
        }
    } else {
        for r in &eligible {
            let k = key_of(&r.org_unit_code, &r.business_type);
            let g = groups.entry(k.clone()).or_insert_with(|| Group {
                name: name_of.get(&k).cloned().unwrap_or_else(|| k.clone()),
                key: k,
                ..Default::default()
            });
            g.eligible += r.n;
        }
        for r in &assigned {
            let k = key_of(&r.org_unit_code, &r.business_type);
            groups
                .entry(k.clone())
                .or_insert_with(|| Group {
                    name: name_of.get(&k).cloned().unwrap_or_else(|| k.clone()),
                    key: k,
                    ..Default::default()
                })
                .assigned += r.n;
        }
        let mut per_group = std::collections::HashSet::new();
        for r in &inspected {
            let k = key_of(&r.org_unit_code, &r.business_type);
            let g = groups.entry(k.clone()).or_insert_with(|| Group {
                name: name_of.get(&k).cloned().unwrap_or_else(|| k.clone()),
                key: k.clone(),
                ..Default::default()
            });
            if per_group.insert((k, r.establishment_id.clone())) {
                g.inspected += 1;
            }
            g.violations += r.violations as i64;
        }
        for g in groups.values_mut() {
            g.quota = ceil_percent(target, g.eligible);
        }
    }
    for r in &eligible {
        total.eligible += r.n;
    }
    for r in &assigned {
        total.assigned += r.n;
    }
    for r in &inspected {
        if seen.insert(r.establishment_id.clone()) {
            total.inspected += 1;
        }
        total.violations += r.violations as i64;
    }
    let pct = |a: i64, b: i64| {
        if b == 0 {
            0.0
        } else {
            (a as f64 * 10_000.0 / b as f64).round() / 100.0
        }
    };
    for g in groups.values_mut() {
        g.inspected_percent = pct(g.inspected, g.eligible);
        g.on_track = g.inspected_percent + 1e-9 >= if group_by == "team" { 0.0 } else { expected };
        if group_by == "team" {
            let share_expected = if g.quota == 0 {
                0.0
            } else {
                g.quota as f64 * year_fraction(plan.year, today)
            };
            g.on_track = g.inspected as f64 + 1e-9 >= share_expected.floor();
        }
    }
    let inspected_percent = pct(total.inspected, total.eligible);
    // Devices silent for 14 days: team members who never synced or not lately.
    let silent_since = crate::http::now() - chrono::Duration::days(STALE_DAYS);
    let stale: Vec<(
        String,
        String,
        String,
        String,
        Option<chrono::NaiveDateTime>,
    )> = crate::db::schema::users::table
        .inner_join(
            crate::db::schema::team_members::table
                .on(crate::db::schema::team_members::user_id.eq(crate::db::schema::users::id)),
        )
        .inner_join(teams::table.on(teams::id.eq(crate::db::schema::team_members::team_id)))
        .inner_join(org_units::table.on(org_units::code.eq(teams::org_unit_code)))
        .filter(org_units::path.like(&like))
        .filter(
            crate::db::schema::users::last_sync_at
                .is_null()
                .or(crate::db::schema::users::last_sync_at.lt(silent_since)),
        )
        .select((
            teams::id,
            teams::name,
            crate::db::schema::users::id,
            crate::db::schema::users::username,
            crate::db::schema::users::last_sync_at,
        ))
        .order((teams::name, crate::db::schema::users::username))
        .load(conn)?;
    let stale_devices: Vec<serde_json::Value> = stale
        .into_iter()
        .map(|(team_id, team_name, user_id, username, last)| {
            serde_json::json!({"team_id": team_id, "team_name": team_name, "user_id": user_id, "username": username,
                               "last_sync_at": last.as_ref().map(crate::http::rfc3339)})
        })
        .collect();
    Ok(serde_json::json!({
        "plan_id": plan.id,
        "year": plan.year,
        "as_of": today,
        "target_percent": target,
        "expected_percent": (expected * 100.0).round() / 100.0,
        "eligible": total.eligible,
        "quota": ceil_percent(target, total.eligible),
        "assigned": total.assigned,
        "inspected": total.inspected,
        "inspected_percent": inspected_percent,
        "violations": total.violations,
        "on_track": inspected_percent + 1e-9 >= expected,
        "group_by": group_by,
        "groups": groups.into_values().collect::<Vec<_>>(),
        "stale_devices": stale_devices,
    }))
}

/// `GET /plans/{id}/coverage?group_by=org_unit|team|business_type`.
pub async fn coverage(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let group_by = q.into_inner().group_by.unwrap_or_else(|| "org_unit".into());
    if !["org_unit", "team", "business_type"].contains(&group_by.as_str()) {
        return Err(ApiError::field(
            "group_by",
            "must be org_unit, team or business_type",
        ));
    }
    let body = db
        .run(move |conn| compute(conn, &user, &id, &group_by, None))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_fraction_bounds() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(year_fraction(2016, d(2015, 12, 31)), 0.0);
        assert_eq!(year_fraction(2016, d(2017, 1, 1)), 1.0);
        assert!((year_fraction(2016, d(2016, 7, 2)) - 183.0 / 366.0).abs() < 1e-9);
        assert_eq!(ceil_percent(10.0, 21), 3);
        assert_eq!(ceil_percent(40.0, 10), 4);
    }
}
