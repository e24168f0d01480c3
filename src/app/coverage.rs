//! Where a plan stands, for the plan and per child unit, team or business
//! type: counts loaded once ([`Counts`]) and grouped as often as needed.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use crate::app::auth::AuthUser;
use crate::app::plans::{load_plan, Plan, Share};
use crate::app::policy::{counted_path, listed_team};
use crate::db::coverage::{
    self as rows, AssignedRow, EligibleRow, Inspected, InspectedRow, Window,
};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// Days without a sync after which a device is listed as silent.
pub const STALE_DAYS: i64 = 14;

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
    /// Distinct establishments inspected in the plan's year: the team went
    /// in (no violation or violations found); a refusal at the door, a closed
    /// or missing establishment is a visit, not an inspection
    /// ([`crate::domain::status::Outcome::INSPECTED`], as in the reports).
    pub inspected: i64,
    /// inspected / eligible, in percent.
    pub inspected_percent: f64,
    /// Violations recorded in those inspections.
    pub violations: i64,
    /// Whether inspected_percent is at or above the share expected by today.
    pub on_track: bool,
}

/// The group of key `k`, created (named after the unit if `k` is one) if new.
fn entry<'a>(
    groups: &'a mut BTreeMap<String, Group>,
    name_of: &HashMap<&str, &str>,
    k: String,
) -> &'a mut Group {
    groups.entry(k).or_insert_with_key(|k| Group {
        name: name_of
            .get(k.as_str())
            .map_or_else(|| k.clone(), |n| n.to_string()),
        key: k.clone(),
        ..Default::default()
    })
}

/// ceil(percent % × n): "at least" rounds up.
pub(crate) fn ceil_percent(percent: f64, n: i64) -> i64 {
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

/// What coverage counts for one plan up to one day, loaded once and then
/// grouped as often as needed ([`Counts::to_json`]; the reports group it three
/// ways). Every count is aggregated by the database: the rows here are per
/// commune and business type (and per team), never per establishment or
/// inspection, so the service's memory does not grow with the number of
/// minutes.
#[derive(Clone)]
pub struct Counts {
    plan_id: String,
    year: i32,
    path: String,
    shares: Vec<Share>,
    target: f64,
    today: NaiveDate,
    eligible: Vec<EligibleRow>,
    assigned: Vec<AssignedRow>,
    /// Per commune and business type (if loaded for `org_unit` or `business_type`).
    inspected: Vec<InspectedRow>,
    /// Per team (if loaded for `team`).
    inspected_by_team: Vec<InspectedRow>,
    /// Distinct establishments inspected and their violations, in all.
    inspected_total: (i64, i64),
    /// (code, name, path) of the plan's unit and every unit below it.
    units: Vec<(String, String, String)>,
    /// (id, name, level, unit path) of the teams inside the plan's unit.
    teams: Vec<(String, String, String, String)>,
    stale_devices: Vec<serde_json::Value>,
}

/// The unit counted (the plan's, narrowed to the caller's area: see
/// [`counted_path`]) and the span of time counted: from the start of the
/// plan's year to the end of `until` (default: the end of the year), days as
/// Vietnam counts them ([`crate::domain::calendar`]).
fn window(year: i32, path: &str, until: Option<NaiveDate>) -> Window {
    use crate::domain::calendar::{day_end, day_start};
    let start = NaiveDate::from_ymd_opt(year, 1, 1)
        .map(day_start)
        .unwrap_or_default();
    let end = match until.or_else(|| NaiveDate::from_ymd_opt(year, 12, 31)) {
        Some(d) => day_end(d),
        None => chrono::NaiveDateTime::MAX,
    };
    Window {
        like: format!("{path}%"),
        start,
        end,
    }
}

/// Loads the counts of a plan, up to the end of `until` (default: the end of
/// the plan's year), with what `to_json` needs for each of `group_bys`, on
/// one connection (the reports).
pub fn load(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan_id: &str,
    until: Option<NaiveDate>,
    group_bys: &[&str],
) -> Result<Counts, ApiError> {
    let (plan, path) = load_plan(conn, user, plan_id)?;
    let w = window(plan.year, &counted_path(user, &path), until);
    let inspected = load_inspected(conn, &w, group_bys)?;
    let by_type = group_bys.contains(&"business_type");
    load_rest(conn, user, plan, path, &w, until, inspected, by_type)
}

/// [`load_concurrently`], kept while nothing is written (`db::memo`): the
/// counts depend on the plan, the grouping, what the policy reads of the
/// caller and the day, besides the data.
pub async fn load_kept(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    group_by: &'static str,
) -> Result<std::sync::Arc<Counts>, ApiError> {
    let key = format!(
        "coverage|{plan_id}|{group_by}|{}|{}",
        crate::app::policy::policy_key(&user),
        crate::domain::calendar::today()
    );
    db.memo()
        .get_or(key, || load_concurrently(db, user, plan_id, group_by))
        .await
}

/// [`load`] up to the end of the plan's year, grouped one way, on two
/// connections at once: the inspections' counts, the longest query, beside
/// everything else. Each side checks that the caller may see the plan.
pub async fn load_concurrently(
    db: &Db,
    user: AuthUser,
    plan_id: String,
    group_by: &'static str,
) -> Result<Counts, ApiError> {
    let (user2, plan_id2) = (user.clone(), plan_id.clone());
    let inspected = db.run(move |conn| {
        let (plan, path) = load_plan(conn, &user2, &plan_id2)?;
        let w = window(plan.year, &counted_path(&user2, &path), None);
        load_inspected(conn, &w, &[group_by])
    });
    let rest = db.run(move |conn| {
        let (plan, path) = load_plan(conn, &user, &plan_id)?;
        let w = window(plan.year, &counted_path(&user, &path), None);
        load_rest(
            conn,
            &user,
            plan,
            path,
            &w,
            None,
            Default::default(),
            group_by == "business_type",
        )
    });
    let (inspected, rest) = futures_util::future::join(inspected, rest).await;
    let mut counts = rest?;
    counts.set_inspected(inspected?);
    Ok(counts)
}

/// The inspections' counts of [`Counts`], for `group_bys`.
fn load_inspected(
    conn: &mut DbConnection,
    w: &Window,
    group_bys: &[&str],
) -> Result<Inspected, ApiError> {
    let by_commune = group_bys.iter().any(|g| *g != "team");
    let by_type = group_bys.contains(&"business_type");
    rows::inspected(conn, w, by_commune, group_bys.contains(&"team"), by_type)
}

/// Everything of [`Counts`] but the inspections' counts (`inspected`),
/// counted under `w` (the caller's area within the plan's unit `path`); the
/// teams, and their silent devices, those the caller may list. Per commune
/// and business type if `by_type`, else per commune alone.
#[allow(clippy::too_many_arguments)]
fn load_rest(
    conn: &mut DbConnection,
    user: &AuthUser,
    plan: Plan,
    path: String,
    w: &Window,
    until: Option<NaiveDate>,
    inspected: Inspected,
    by_type: bool,
) -> Result<Counts, ApiError> {
    let shares: Vec<Share> = serde_json::from_str(&plan.shares).unwrap_or_default();
    let target: f64 = shares.iter().map(|s| s.percent).sum();
    let like = &w.like;
    // Narrowed to an area below the plan's unit, nothing outside it counts.
    let whole_plan = *like == format!("{path}%");
    let only_team = listed_team(user);
    let only_team = only_team.as_deref();
    let eligible = rows::eligible(conn, like, by_type)?;
    let assigned = rows::assigned(conn, like, &plan.id, whole_plan, by_type)?;
    let units = rows::units(conn, like, &ancestors(&path, like))?;
    let team_rows = rows::teams(conn, like, only_team)?;
    // Devices silent for STALE_DAYS: team members who never synced or not lately.
    let silent_since = crate::domain::values::now() - chrono::Duration::days(STALE_DAYS);
    let stale_devices: Vec<serde_json::Value> = rows::silent_devices(conn, like, only_team, silent_since)?
        .into_iter()
        .map(|d| {
            serde_json::json!({"team_id": d.team_id, "team_name": d.team_name, "user_id": d.user_id, "username": d.username,
                               "last_sync_at": d.last_sync_at.as_ref().map(crate::domain::values::rfc3339)})
        })
        .collect();
    let mut counts = Counts {
        plan_id: plan.id,
        year: plan.year,
        path,
        shares,
        target,
        today: until.unwrap_or_else(crate::domain::calendar::today),
        eligible,
        assigned,
        inspected: Vec::new(),
        inspected_by_team: Vec::new(),
        inspected_total: (0, 0),
        units,
        teams: team_rows,
        stale_devices,
    };
    counts.set_inspected(inspected);
    Ok(counts)
}

/// The paths of the units strictly between the plan's unit `path` and the
/// counted unit of `like`, so that the groups of an area narrowed below a
/// child of the plan's unit are named.
pub(crate) fn ancestors(path: &str, like: &str) -> Vec<String> {
    let counted = like.trim_end_matches('%');
    let mut out = Vec::new();
    let mut p = path.to_string();
    for seg in counted
        .get(path.len()..)
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
    {
        p.push_str(seg);
        p.push('/');
        if p != counted {
            out.push(p.clone());
        }
    }
    out
}

impl Counts {
    /// Sets the inspections' counts; the total, where the team query did
    /// not count it, is the sum over communes and business types (each
    /// establishment is in one of those).
    fn set_inspected(&mut self, (inspected, by_team, total): Inspected) {
        self.inspected_total = total.unwrap_or_else(|| {
            inspected
                .iter()
                .fold((0, 0), |(n, v), r| (n + r.n, v + r.violations))
        });
        self.inspected = inspected;
        self.inspected_by_team = by_team;
    }

    /// The coverage body, grouped by `org_unit`, `team` or `business_type`
    /// (one of those the counts were loaded for).
    pub fn to_json(&self, group_by: &str) -> serde_json::Value {
        let (shares, target, today) = (&self.shares, self.target, self.today);
        // Each commune's place: the child of the plan's unit it lies under.
        let name_of: HashMap<&str, &str> = self
            .units
            .iter()
            .map(|(c, n, _)| (c.as_str(), n.as_str()))
            .collect();
        let path_of: HashMap<&str, &str> = self
            .units
            .iter()
            .map(|(c, _, p)| (c.as_str(), p.as_str()))
            .collect();
        let depth = self.path.matches('/').count() - 1;
        let child_of: HashMap<&str, &str> = self
            .units
            .iter()
            .map(|(c, _, p)| {
                (
                    c.as_str(),
                    p.trim_matches('/').split('/').nth(depth).unwrap_or(c),
                )
            })
            .collect();
        let expected = target * year_fraction(self.year, today);
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let key_of = |unit: &str, btype: &str| -> String {
            match group_by {
                "business_type" => btype.to_string(),
                _ => child_of.get(unit).copied().unwrap_or(unit).to_string(),
            }
        };
        let mut total = Group::default();
        if group_by == "team" {
            for (id, name, level, tpath) in &self.teams {
                let share = shares
                    .iter()
                    .find(|s| &s.level == level)
                    .map(|s| s.percent)
                    .unwrap_or(0.0);
                let eligible_here: i64 = self
                    .eligible
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
            for r in &self.assigned {
                if let Some(g) = groups.get_mut(&r.team_id) {
                    g.assigned += r.n;
                }
            }
            for r in &self.inspected_by_team {
                if let Some(g) = r.team_id.as_ref().and_then(|t| groups.get_mut(t)) {
                    g.inspected += r.n;
                    g.violations += r.violations;
                }
            }
        } else {
            for r in &self.eligible {
                entry(
                    &mut groups,
                    &name_of,
                    key_of(&r.org_unit_code, &r.business_type),
                )
                .eligible += r.n;
            }
            for r in &self.assigned {
                entry(
                    &mut groups,
                    &name_of,
                    key_of(&r.org_unit_code, &r.business_type),
                )
                .assigned += r.n;
            }
            for r in &self.inspected {
                let (unit, btype) = (r.org_unit_code.as_deref(), r.business_type.as_deref());
                let g = entry(
                    &mut groups,
                    &name_of,
                    key_of(unit.unwrap_or_default(), btype.unwrap_or_default()),
                );
                g.inspected += r.n;
                g.violations += r.violations;
            }
            for g in groups.values_mut() {
                g.quota = ceil_percent(target, g.eligible);
            }
        }
        total.eligible = self.eligible.iter().map(|r| r.n).sum();
        total.assigned = self.assigned.iter().map(|r| r.n).sum();
        (total.inspected, total.violations) = self.inspected_total;
        let pct = |a: i64, b: i64| {
            if b == 0 {
                0.0
            } else {
                (a as f64 * 10_000.0 / b as f64).round() / 100.0
            }
        };
        for g in groups.values_mut() {
            g.inspected_percent = pct(g.inspected, g.eligible);
            g.on_track =
                g.inspected_percent + 1e-9 >= if group_by == "team" { 0.0 } else { expected };
            if group_by == "team" {
                let share_expected = if g.quota == 0 {
                    0.0
                } else {
                    g.quota as f64 * year_fraction(self.year, today)
                };
                g.on_track = g.inspected as f64 + 1e-9 >= share_expected.floor();
            }
        }
        let inspected_percent = pct(total.inspected, total.eligible);
        serde_json::json!({
            "plan_id": self.plan_id,
            "year": self.year,
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
            "stale_devices": self.stale_devices,
        })
    }
}

/// `GET /plans/{id}/coverage`: the coverage body grouped by `group_by`
/// (`org_unit`, `team` or `business_type`).
pub async fn coverage(
    db: &Db,
    user: AuthUser,
    id: String,
    group_by: &'static str,
) -> Result<serde_json::Value, ApiError> {
    let counts = load_kept(db, user, id, group_by).await?;
    Ok(counts.to_json(group_by))
}

/// The coverage of plan `id` counted inside unit `code` (the console's
/// drill-down: province → district → commune): the unit must lie inside
/// the caller's area or above it (404 otherwise); counted over the unit,
/// and grouped by its children, when it lies inside the area; over the
/// caller's area when above it.
pub async fn coverage_in(
    db: &Db,
    user: AuthUser,
    id: String,
    code: String,
    group_by: &'static str,
) -> Result<serde_json::Value, ApiError> {
    let path = db
        .run(move |conn| crate::db::plans::unit_path(conn, &code))
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::app::policy::found_if(crate::app::policy::sees_org_unit(&user, &path))?;
    let mut narrowed = user;
    let inside = narrowed.sees(&path);
    if inside {
        narrowed.scope_path = Some(path.clone());
    }
    let counts = load_kept(db, narrowed, id, group_by).await?;
    // Grouped by the unit's children (a district's communes) when the unit
    // lies below the plan's.
    if inside && path.starts_with(&counts.path) {
        let mut counts = Counts::clone(&counts);
        counts.path = path;
        return Ok(counts.to_json(group_by));
    }
    Ok(counts.to_json(group_by))
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

    #[test]
    fn ancestors_lie_strictly_between_the_plan_and_the_area() {
        assert!(ancestors("/37/", "/37/%").is_empty());
        assert!(ancestors("/37/", "/37/372/%").is_empty());
        assert_eq!(ancestors("/37/", "/37/372/14386/%"), ["/37/372/"]);
    }
}
