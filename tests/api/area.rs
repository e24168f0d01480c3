//! Aggregates are cut to the caller's area: coverage (with its silent
//! devices) and the reports count and name only what lies in the area of a
//! district's inspector or supervisor; the province's supervisor and the
//! admin see every district.

use std::collections::{BTreeSet, HashMap};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{commune_of, TestApp, User};

/// The province's team and one per district, two establishments in 372
/// (`A-372`, `B-372`) and two in 373 (`A-373`, `B-373`), a drawn 2016
/// province plan (50 %), inspectors of teams 37, 372 and 373 who never
/// synced, and minutes of Q2: team 372 refused entry at `A-372`, team 373
/// found a violation at `A-373` and was refused entry at `B-373`.
struct Area {
    app: TestApp,
    plan: String,
    /// Access token by username: `admin`, `sup37`, `sup372`, `insp372`.
    tok: HashMap<&'static str, String>,
}

impl std::ops::Deref for Area {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn area() -> Area {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let mut est = HashMap::new();
    for (lic, d) in [
        ("A-372", "372"),
        ("B-372", "372"),
        ("A-373", "373"),
        ("B-373", "373"),
    ] {
        let e = app
            .establishment(&admin, lic, &commune_of(d), "karaoke")
            .await;
        est.insert(lic, e["id"].as_str().unwrap().to_string());
    }
    let plan = app
        .create_plan(&admin, json!({"name": "2016", "year": 2016, "org_unit_code": "37",
            "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.draw(&admin, &plan).await;
    app.inspector("insp37", "37").await;
    let i372 = app.inspector("insp372", "372").await;
    let i373 = app.inspector("insp373", "373").await;
    let minutes = |who: &User, team: &str, lic: &str, outcome: &str, violations: Value| {
        json!({"id": uuid::Uuid::new_v4().to_string(), "establishment_id": est[lic],
            "team_id": app.teams[team], "started_at": "2016-05-02T08:00:00+07:00",
            "finished_at": "2016-05-02T09:00:00+07:00", "members_present": [who.id],
            "outcome": outcome, "violations": violations})
    };
    for body in [
        minutes(&i372, "372", "A-372", "refused_entry", json!([])),
        minutes(
            &i373,
            "373",
            "A-373",
            "violations_found",
            json!([{"code": "KARAOKE_LIGHT", "sanction": "warning"}]),
        ),
        minutes(&i373, "373", "B-373", "refused_entry", json!([])),
    ] {
        let who = if body["team_id"] == app.teams["372"].as_str() {
            &i372.token
        } else {
            &i373.token
        };
        app.post_created("/api/v1/inspections", who, body).await;
    }
    let mut tok = HashMap::new();
    tok.insert("sup37", app.supervisor("sup37", "37").await);
    tok.insert("sup372", app.supervisor("sup372", "372").await);
    tok.insert("insp372", i372.token);
    tok.insert("admin", admin);
    Area { app, plan, tok }
}

impl Area {
    /// The plan's coverage grouped by `group_by`, as `who` reads it (200).
    async fn coverage(&self, who: &str, group_by: &str) -> Value {
        self.get_ok(
            &format!("/api/v1/plans/{}/coverage?group_by={group_by}", self.plan),
            &self.tok[who],
        )
        .await
    }

    /// The plan's Q2 report as JSON, as `who` reads it (200).
    async fn report(&self, who: &str) -> Value {
        self.get_ok(
            &format!("/api/v1/reports?plan_id={}&period=Q2", self.plan),
            &self.tok[who],
        )
        .await
    }

    /// The plan's Q2 report as CSV, as `who` reads it: its rows.
    async fn csv_report(&self, who: &str) -> Vec<Vec<String>> {
        let (s, bytes) = self
            .get_as(
                &format!("/api/v1/reports?plan_id={}&period=Q2", self.plan),
                &self.tok[who],
                "text/csv",
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(bytes.as_slice())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    /// The team ids of the builder's teams for `codes`.
    fn team_ids(&self, codes: &[&str]) -> BTreeSet<String> {
        codes.iter().map(|c| self.teams[*c].clone()).collect()
    }
}

/// The string `key` of every element of `items`, as a set.
fn set_of(items: &Value, key: &str) -> BTreeSet<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Coverage by unit shows `who` (of district 372) its district alone, with
/// totals and the quota over the district only.
async fn coverage_by_unit_is_the_district(who: &str) {
    let a = area().await;
    let c = a.coverage(who, "org_unit").await;
    assert_eq!(set_of(&c["groups"], "key"), set(&["372"]), "{c}");
    assert_eq!(c["eligible"], 2, "{c}");
    assert_eq!(c["quota"], 1, "{c}");
    // 372's only minutes are a refused entry: a visit, not an inspection.
    assert_eq!(c["inspected"], 0, "{c}");
    assert_eq!(c["violations"], 0, "{c}");
}

#[actix_web::test]
async fn coverage_by_unit_of_a_district_inspector_is_its_district() {
    coverage_by_unit_is_the_district("insp372").await;
}

#[actix_web::test]
async fn coverage_by_unit_of_a_district_supervisor_is_its_district() {
    coverage_by_unit_is_the_district("sup372").await;
}

#[actix_web::test]
async fn coverage_by_team_of_a_district_inspector_is_its_team() {
    let a = area().await;
    let c = a.coverage("insp372", "team").await;
    assert_eq!(set_of(&c["groups"], "key"), a.team_ids(&["372"]), "{c}");
}

#[actix_web::test]
async fn coverage_by_team_of_a_district_supervisor_is_the_districts_teams() {
    let a = area().await;
    let c = a.coverage("sup372", "team").await;
    assert_eq!(set_of(&c["groups"], "key"), a.team_ids(&["372"]), "{c}");
}

/// The silent devices `who` (of district 372) is shown: its district
/// team's only.
async fn silent_devices_are_the_districts(who: &str) {
    let a = area().await;
    let c = a.coverage(who, "org_unit").await;
    assert_eq!(set_of(&c["stale_devices"], "username"), set(&["insp372"]));
    assert_eq!(set_of(&c["stale_devices"], "team_id"), a.team_ids(&["372"]));
}

#[actix_web::test]
async fn silent_devices_of_a_district_inspector_are_its_teams() {
    silent_devices_are_the_districts("insp372").await;
}

#[actix_web::test]
async fn silent_devices_of_a_district_supervisor_are_its_districts() {
    silent_devices_are_the_districts("sup372").await;
}

/// The JSON report of `who` (of district 372) counts and names its
/// district only.
async fn json_report_is_the_districts(who: &str) {
    let a = area().await;
    let r = a.report(who).await;
    assert_eq!(set_of(&r["coverage_by_org_unit"], "key"), set(&["372"]));
    assert!(
        set_of(&r["coverage_by_team"], "key").is_subset(&a.team_ids(&["372"])),
        "{r}"
    );
    assert_eq!(
        set_of(&r["closed_or_refused"], "licence_no"),
        set(&["A-372"])
    );
    assert_eq!(r["violations_by_code"], json!([]));
    assert_eq!(r["summary"]["eligible"], 2);
    // A-372 refused entry: a visit, not an inspection.
    assert_eq!(r["summary"]["inspected"], 0);
}

#[actix_web::test]
async fn json_report_of_a_district_inspector_is_its_districts() {
    json_report_is_the_districts("insp372").await;
}

#[actix_web::test]
async fn json_report_of_a_district_supervisor_is_its_districts() {
    json_report_is_the_districts("sup372").await;
}

/// The CSV report of `who` (of district 372) has no cell of district 373:
/// not its establishments, its team, its unit or its violation.
async fn csv_report_is_the_districts(who: &str) {
    let a = area().await;
    let rows = a.csv_report(who).await;
    let foreign = [
        "A-373",
        "B-373",
        "373",
        "Đội 373",
        "Đội tỉnh",
        a.teams["373"].as_str(),
        "KARAOKE_LIGHT",
    ];
    for row in &rows {
        assert!(
            !row.iter().any(|cell| foreign.contains(&cell.as_str())),
            "{row:?}"
        );
    }
    assert!(rows.iter().any(|r| r.contains(&"A-372".to_string())));
}

#[actix_web::test]
async fn csv_report_of_a_district_inspector_is_its_districts() {
    csv_report_is_the_districts("insp372").await;
}

#[actix_web::test]
async fn csv_report_of_a_district_supervisor_is_its_districts() {
    csv_report_is_the_districts("sup372").await;
}

/// `who` (of the whole province) sees both districts everywhere.
async fn sees_every_district(who: &str) {
    let a = area().await;
    let c = a.coverage(who, "org_unit").await;
    assert_eq!(set_of(&c["groups"], "key"), set(&["372", "373"]), "{c}");
    assert_eq!(c["eligible"], 4);
    // Of the three visits, only 373's minutes with violations inspected.
    assert_eq!(c["inspected"], 1);
    assert_eq!(
        set_of(&c["stale_devices"], "username"),
        set(&["insp37", "insp372", "insp373"])
    );
    let t = a.coverage(who, "team").await;
    assert!(a
        .team_ids(&["37", "372", "373"])
        .is_subset(&set_of(&t["groups"], "key")));
    let r = a.report(who).await;
    assert_eq!(
        set_of(&r["closed_or_refused"], "licence_no"),
        set(&["A-372", "B-373"])
    );
    assert_eq!(
        set_of(&r["violations_by_code"], "code"),
        set(&["KARAOKE_LIGHT"])
    );
    assert_eq!(r["summary"]["eligible"], 4);
}

#[actix_web::test]
async fn a_province_supervisor_sees_every_district() {
    sees_every_district("sup37").await;
}

#[actix_web::test]
async fn an_admin_sees_every_district() {
    sees_every_district("admin").await;
}

/// A commune's supervisor reading the province's plan: one group, its
/// district, named, with the commune's counts.
#[actix_web::test]
async fn coverage_of_a_commune_supervisor_is_its_commune_under_its_named_district() {
    let a = area().await;
    let token = a.supervisor("sup-commune", &commune_of("372")).await;
    let c = a
        .get_ok(
            &format!("/api/v1/plans/{}/coverage?group_by=org_unit", a.plan),
            &token,
        )
        .await;
    assert_eq!(set_of(&c["groups"], "key"), set(&["372"]), "{c}");
    assert_eq!(c["groups"][0]["name"], "Huyện Nho Quan", "{c}");
    assert_eq!(c["eligible"], 2, "{c}");
    assert_eq!(c["stale_devices"], json!([]), "{c}");
}
